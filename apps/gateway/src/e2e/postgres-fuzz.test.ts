/**
 * Hostile bytes through a real gateway socket: a fuzzing client sends random and mutated frames
 * (in the startup phase, and after a valid login) while a well-behaved node-postgres client keeps
 * running queries on the same gateway. Each fuzzed connection must end with a protocol-native
 * answer or a plain close, never hang; the good client must not notice; the audit log must verify.
 */
import net from 'node:net';
import path from 'node:path';
import fc from 'fast-check';
import { verifyAuditLog } from '@warden/core';
import { fuzzParameters, mutatedFrame } from '@warden/testing';
import { Client } from 'pg';
import { createTestDatabase, startTestGateway, type TestGateway } from './harness';

// Frame builders (https://www.postgresql.org/docs/current/protocol-message-formats.html); the
// adapter's own live in its package, which an app may not reach into.
const cstring = (text: string): Buffer => Buffer.concat([Buffer.from(text, 'utf8'), Buffer.from([0])]);
function int32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeInt32BE(value);
  return buffer;
}
function typedMessage(code: number, ...payload: readonly Buffer[]): Buffer {
  const body = Buffer.concat(payload);
  return Buffer.concat([Buffer.from([code]), int32(body.length + 4), body]);
}
function untypedMessage(...payload: readonly Buffer[]): Buffer {
  const body = Buffer.concat(payload);
  return Buffer.concat([int32(body.length + 4), body]);
}
const startupMessage = (parameters: Record<string, string>): Buffer =>
  untypedMessage(int32(3 << 16), ...Object.entries(parameters).flatMap(([name, value]) => [cstring(name), cstring(value)]), Buffer.from([0]));
const sslRequest = (): Buffer => untypedMessage(int32(80877103));
const cancelRequest = (pid: number, key: number): Buffer => untypedMessage(int32(80877102), int32(pid), int32(key));
const passwordMessage = (password: string): Buffer => typedMessage(0x70, cstring(password));
const query = (text: string): Buffer => typedMessage(0x51, cstring(text));
const parse = (text: string): Buffer => typedMessage(0x50, cstring(''), cstring(text), Buffer.from([0, 0]));
const bind = (parameter: string): Buffer =>
  typedMessage(0x42, cstring(''), cstring(''), Buffer.from([0, 0, 0, 1]), int32(Buffer.byteLength(parameter)), Buffer.from(parameter), Buffer.from([0, 0]));
const execute = (): Buffer => typedMessage(0x45, cstring(''), int32(0));
const sync = (): Buffer => typedMessage(0x53);
const terminate = (): Buffer => typedMessage(0x58);

let database: { name: string; drop(): Promise<void> };
/** The fuzzer sends many bad passwords from one address; throttling (tested elsewhere) would stop it testing the parsers. */
const NO_THROTTLE = 'limits: { authFailures: { perAddressBurst: 1000000, perIdentityMaxDelaySeconds: 0 } }';
let gateway: TestGateway;
let token: string;

beforeAll(async () => {
  database = await createTestDatabase();
  gateway = await startTestGateway({ database: database.name, extraTopLevel: NO_THROTTLE });
  token = await gateway.token('agent-1', ['coding-agents']);
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  await database?.drop();
});

interface Exchange {
  /** Everything the gateway sent. */
  readonly received: Buffer;
  /** Whether the gateway closed the connection within the time allowed. */
  readonly closed: boolean;
}

/** Connects, optionally logs in, sends `bytes`, half-closes, and collects the answer until the gateway closes. */
function exchange(bytes: Buffer, options: { login?: boolean; keepOpen?: boolean; timeoutMs?: number } = {}): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(gateway.port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let loggedIn = !options.login;
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ received: Buffer.concat(chunks), closed: false });
    }, options.timeoutMs ?? 5000);
    const send = (): void => {
      socket.write(bytes);
      if (!options.keepOpen) socket.end();
    };
    socket.on('connect', () => {
      if (options.login) socket.write(Buffer.concat([startupMessage({ user: 'agent-1', database: 'clinic' }), passwordMessage(token)]));
      else send();
    });
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (!loggedIn) {
        const all = Buffer.concat(chunks);
        // ReadyForQuery ends the greeting: 'Z' | int32 5 | status.
        if (all.length >= 6 && all[all.length - 6] === 0x5a) {
          loggedIn = true;
          chunks.length = 0;
          send();
        }
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      if (!loggedIn) return reject(new Error(`login failed: ${Buffer.concat(chunks).toString('latin1')}`));
      resolve({ received: Buffer.concat(chunks), closed: true });
    });
  });
}

interface BackendMessage {
  readonly type: string;
  readonly fields: Map<string, string>;
}

/**
 * Parses what the gateway sent: single-byte answers to SSL/GSS requests ('N'), then typed messages.
 * Throws when the bytes are not a well-framed backend stream.
 */
function backendMessages(bytes: Buffer): BackendMessage[] {
  let answers = 0;
  while (answers < bytes.length && (bytes[answers] === 0x4e || bytes[answers] === 0x53)) answers++;
  let lastError: Error | undefined;
  for (let skip = 0; skip <= answers; skip++) {
    try {
      const single = [...bytes.subarray(0, skip)].map((byte) => ({ type: String.fromCharCode(byte), fields: new Map<string, string>() }));
      return [...single, ...typedBackendMessages(bytes, skip)];
    } catch (error) {
      lastError = error as Error;
    }
  }
  throw lastError!;
}

function typedBackendMessages(bytes: Buffer, from: number): BackendMessage[] {
  let offset = from;
  const messages: BackendMessage[] = [];
  while (offset < bytes.length) {
    if (offset + 5 > bytes.length) throw new Error(`truncated backend message at ${offset}: ${bytes.toString('hex')}`);
    const type = String.fromCharCode(bytes[offset]!);
    const length = bytes.readInt32BE(offset + 1);
    if (length < 4 || offset + 1 + length > bytes.length) throw new Error(`bad backend message ${type} length ${length}`);
    const fields = new Map<string, string>();
    if (type === 'E' || type === 'N') {
      let at = offset + 5;
      while (at < offset + 1 + length && bytes[at] !== 0) {
        const zero = bytes.indexOf(0, at + 1);
        fields.set(String.fromCharCode(bytes[at]!), bytes.toString('utf8', at + 1, zero));
        at = zero + 1;
      }
    }
    messages.push({ type, fields });
    offset += 1 + length;
  }
  return messages;
}

/** Every error Warden itself raised names itself and carries a SQLSTATE. */
function expectNativeErrors(messages: readonly BackendMessage[]): void {
  for (const message of messages.filter((m) => m.type === 'E')) {
    expect(message.fields.get('C')).toMatch(/^[0-9A-Z]{5}$/);
    expect(message.fields.get('M')).toBeTruthy();
  }
}

const startupFrames = fc.oneof(
  fc.constant(startupMessage({ user: 'agent-1', database: 'clinic' })),
  fc.constant(sslRequest()),
  fc.constant(cancelRequest(1, 2)),
  fc.uint8Array({ maxLength: 40 }).map((bytes) => untypedMessage(Buffer.from(bytes))),
  fc.constant(Buffer.concat([startupMessage({ user: 'agent-1', database: 'clinic' }), passwordMessage('not-a-token')])),
);
const sessionFrames = fc.oneof(
  fc.constant(query('SELECT count(*) FROM patients')),
  fc.constant(Buffer.concat([parse('SELECT $1::int'), bind('1'), execute(), sync()])),
  fc.uint8Array({ maxLength: 40 }).map((bytes) => typedMessage(0x51, Buffer.from(bytes))),
  fc.tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 24 })).map(([code, bytes]) => typedMessage(code, Buffer.from(bytes))),
);

describe('fuzzing a real gateway while a well-behaved client works', () => {
  it('hostile frames end their own connection with a native error or a close; the other session is unaffected', async () => {
    const good = new Client({ host: '127.0.0.1', port: gateway.port, user: 'agent-1', database: 'clinic', password: token });
    good.on('error', () => undefined);
    await good.connect();
    let goodQueries = 0;
    let fuzzing = true;
    const goodLoop = (async () => {
      while (fuzzing) {
        const result = await good.query('SELECT count(*)::int AS n FROM patients');
        expect(result.rows[0]).toEqual({ n: 50 });
        goodQueries++;
      }
    })();
    // Observed below; a failure of the good client must not surface as an unhandled rejection first.
    goodLoop.catch(() => undefined);

    let startupCases = 0;
    let sessionCases = 0;
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(mutatedFrame(startupFrames), { minLength: 1, maxLength: 3 }), async (frames) => {
          const { received, closed } = await exchange(Buffer.concat(frames));
          expect(closed).toBe(true);
          expectNativeErrors(backendMessages(received));
          startupCases++;
        }),
        fuzzParameters(150),
      );
      await fc.assert(
        fc.asyncProperty(fc.array(mutatedFrame(sessionFrames), { minLength: 1, maxLength: 3 }), async (frames) => {
          const { received, closed } = await exchange(Buffer.concat([...frames, terminate()]), { login: true });
          expect(closed).toBe(true);
          expectNativeErrors(backendMessages(received));
          sessionCases++;
        }),
        fuzzParameters(40),
      );
    } finally {
      fuzzing = false;
    }
    await goodLoop;
    expect(startupCases).toBeGreaterThanOrEqual(150);
    expect(sessionCases).toBeGreaterThanOrEqual(40);
    expect(goodQueries).toBeGreaterThan(0);
    // The good session is still usable after all of it.
    expect((await good.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await good.end();
    await gateway.gateway.stop();
    const verification = await verifyAuditLog(path.join(gateway.dataDir, 'audit.log'));
    expect(verification.ok).toBe(true);
    gateway = await startTestGateway({ database: database.name, extraTopLevel: NO_THROTTLE });
    token = await gateway.token('agent-1', ['coding-agents']);
  }, 120_000);

  it('names what is wrong: a length below the header, an oversized message, an unsupported protocol', async () => {
    const tooShort = backendMessages((await exchange(Buffer.from([0, 0, 0, 3, 0, 3, 0, 0]))).received);
    expect(tooShort.map((m) => [m.fields.get('S'), m.fields.get('C'), m.fields.get('M')])).toEqual([['FATAL', '08P01', 'Warden: invalid message length 3']]);

    const oldProtocol = backendMessages((await exchange(untypedMessage(int32(2 << 16), Buffer.from([0])))).received);
    expect(oldProtocol[0]?.fields.get('M')).toBe('Warden: unsupported frontend protocol 2.0');

    const huge = Buffer.from([0x51, 0x7f, 0xff, 0xff, 0xff]);
    const oversized = backendMessages((await exchange(huge, { login: true, keepOpen: true })).received);
    expect(oversized.map((m) => [m.fields.get('C'), m.fields.get('M')])).toEqual([['08P01', expect.stringMatching(/^Warden: message of 2147483648 bytes exceeds the limit of \d+ bytes$/)]]);
  });
});
