/**
 * Property-based fuzzing of the MySQL client-side parsers: the packet splitter, the handshake
 * response decoder and the login state machine, fed random and mutated packets (wrong lengths,
 * truncated, oversized, invalid UTF-8, huge length-encoded counts). `tools/bench/fuzz.mjs` runs the
 * same properties with ≥ 100k cases each.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { WardenError } from '@warden/core';
import { chunksAt, fuzzParameters, hostileText, mutatedFrame } from '@warden/testing';
import { decodeAuthData, decodeHandshakeResponse } from './client-messages';
import { PayloadWriter } from './packet-codec';
import { PacketSplitter, Visit, type Packet } from './packet-splitter';
import { AuthPlugin, Capability } from './protocol';
import { RsaKeyExchange } from './rsa-key-exchange';
import { ServerLogin } from './server-login';

const RUNS = 1500;

const CLIENT = Capability.Protocol41 | Capability.SecureConnection | Capability.PluginAuth | Capability.PluginAuthLenencClientData | Capability.ConnectWithDb | Capability.ConnectAttrs;
const text = fc.string({ maxLength: 20 }).map((value) => value.replace(/\0/g, ''));

/** HandshakeResponse41 (or an SSLRequest), well-formed, with arbitrary capabilities and attributes. */
const handshakeResponse: fc.Arbitrary<Buffer> = fc
  .record({
    capabilities: fc.oneof(fc.constant(CLIENT), fc.constant(CLIENT | Capability.Ssl), fc.integer({ min: 0, max: 0xffffffff })),
    user: text,
    auth: fc.uint8Array({ maxLength: 40 }),
    database: text,
    plugin: fc.constantFrom(AuthPlugin.CachingSha2, AuthPlugin.ClearPassword, 'mysql_native_password', ''),
    attributes: fc.array(fc.tuple(text, hostileText), { maxLength: 3 }),
    sslOnly: fc.boolean(),
  })
  .map(({ capabilities, user, auth, database, plugin, attributes, sslOnly }) => {
    const writer = new PayloadWriter().u32(capabilities).u32(1 << 24).u8(45).zeros(23);
    if (sslOnly) return writer.packet(1);
    writer.cstring(user).lenencBytes(Buffer.from(auth)).cstring(database).cstring(plugin);
    const attrs = new PayloadWriter();
    for (const [key, value] of attributes) attrs.lenencBytes(key).lenencBytes(value);
    const payload = attrs.payload();
    writer.lenenc(payload.length).bytes(payload);
    return writer.packet(1);
  });

/** Any packet: a handshake response, or arbitrary bytes behind a header. */
const anyPacket: fc.Arbitrary<Buffer> = fc.oneof(
  handshakeResponse,
  fc.tuple(fc.uint8Array({ maxLength: 80 }), fc.integer({ min: 0, max: 255 })).map(([payload, sequence]) => new PayloadWriter().bytes(Buffer.from(payload)).packet(sequence)),
);

function assertWardenError(error: unknown, ...codes: string[]): void {
  if (!(error instanceof WardenError) || !codes.includes(error.code)) throw error;
}

interface Outcome {
  readonly packets: string[];
  readonly error?: string;
}

function split(chunks: readonly Buffer[]): Outcome {
  const packets: string[] = [];
  const splitter = new PacketSplitter((packet: Packet) => {
    assert.ok(packet.start >= 0 && packet.end <= packet.buffer.length);
    assert.equal(packet.end - packet.start, 4 + packet.buffer.readUIntLE(packet.start, 3));
    packets.push(packet.buffer.toString('hex', packet.start, packet.end));
    return Visit.Continue;
  });
  try {
    for (const chunk of chunks) splitter.push(chunk);
    return { packets };
  } catch (error) {
    assertWardenError(error, 'protocol', 'limit');
    return { packets, error: (error as Error).message };
  }
}

describe('fuzzing the MySQL client-side parsers', () => {
  it('the packet splitter: chunking never changes what is split', () => {
    fc.assert(
      fc.property(fc.array(mutatedFrame(anyPacket), { maxLength: 6 }), fc.array(fc.nat(), { maxLength: 8 }), (packets, cuts) => {
        const stream = Buffer.concat(packets);
        assert.deepEqual(split(chunksAt(stream, cuts)), split([stream]));
      }),
      fuzzParameters(RUNS),
    );
  });

  it('decodeHandshakeResponse: only protocol errors, and reads nothing past the packet', () => {
    fc.assert(
      fc.property(mutatedFrame(handshakeResponse), fc.uint8Array({ maxLength: 16 }), (frame, after) => {
        const buffer = Buffer.concat([frame, Buffer.from([0]), after]);
        try {
          const decoded = decodeHandshakeResponse(buffer, 0, frame.length);
          if (!('sslRequest' in decoded)) {
            assert.ok(decoded.authResponse.length <= frame.length);
            let attributeBytes = 0;
            for (const [key, value] of decoded.attributes) attributeBytes += Buffer.byteLength(key) + Buffer.byteLength(value);
            assert.ok(attributeBytes <= frame.length * 3);
          }
        } catch (error) {
          assertWardenError(error, 'protocol');
        }
        assert.ok(decodeAuthData(buffer, 0, Math.max(4, frame.length)).length <= Math.max(0, frame.length - 4));
      }),
      fuzzParameters(RUNS),
    );
  });

  it('the login state machine with the RSA key exchange: hostile packets end in an ERR packet or a protocol error', async () => {
    const rsa = new RsaKeyExchange(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey);
    await fc.assert(
      fc.asyncProperty(fc.array(mutatedFrame(anyPacket), { minLength: 1, maxLength: 4 }), fc.boolean(), async (packets, tlsAvailable) => {
        const written: Buffer[] = [];
        let credential: string | undefined;
        const login = new ServerLogin(
          { connectionId: 1, serverVersion: '8.0.99-Warden', tlsAvailable, cleartextAllowed: false, rsaKey: () => Promise.resolve(rsa) },
          {
            write: (bytes) => written.push(bytes),
            startTls: () => login.tlsEstablished(),
            credential: (token) => (credential = token),
            failed: () => undefined,
            credentialRefused: (reason) => assert.match(reason, /^Warden: /),
          },
        );
        login.greet();
        const splitter = new PacketSplitter((packet) => {
          login.receive(packet);
          return Visit.Continue;
        });
        try {
          // One packet per turn: the key and the decryption are asynchronous.
          for (const packet of packets) {
            splitter.push(packet);
            await new Promise((resolve) => setImmediate(resolve));
          }
        } catch (error) {
          assertWardenError(error, 'protocol');
        }
        login.clientLeft();
        if (credential !== undefined) assert.notEqual(credential, '');
        for (const bytes of written) assert.equal(bytes.length, 4 + bytes.readUIntLE(0, 3));
      }),
      // Fewer runs: each packet waits a turn.
      fuzzParameters(RUNS / 5),
    );
  });

  it('the login state machine: hostile packets end in an ERR packet or a protocol error, never a crash', () => {
    fc.assert(
      fc.property(fc.array(mutatedFrame(anyPacket), { minLength: 1, maxLength: 4 }), fc.boolean(), fc.boolean(), (packets, tlsAvailable, cleartextAllowed) => {
        const written: Buffer[] = [];
        let credential: string | undefined;
        const login = new ServerLogin(
          { connectionId: 1, serverVersion: '8.0.99-Warden', tlsAvailable, cleartextAllowed },
          {
            write: (bytes) => written.push(bytes),
            startTls: () => login.tlsEstablished(),
            credential: (token) => (credential = token),
            failed: () => undefined,
            credentialRefused: () => undefined,
          },
        );
        login.greet();
        const splitter = new PacketSplitter((packet) => {
          login.receive(packet);
          return Visit.Continue;
        });
        try {
          splitter.push(Buffer.concat(packets));
        } catch (error) {
          assertWardenError(error, 'protocol');
        }
        // A token handed to the core is never empty, and every packet Warden wrote is framed.
        if (credential !== undefined) assert.notEqual(credential, '');
        for (const bytes of written) assert.equal(bytes.length, 4 + bytes.readUIntLE(0, 3));
      }),
      fuzzParameters(RUNS),
    );
  });
});
