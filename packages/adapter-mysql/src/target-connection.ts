/**
 * Warden as a client of the target: opens a session with Warden's own credentials
 * (mysql_native_password or caching_sha2_password, with an auth switch when the server asks),
 * optional TLS, then prepares the session (read-only when the grant is).
 * https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_connection_phase.html
 */
import net from 'node:net';
import tls from 'node:tls';
import { WardenError } from '@warden/core';
import { cachingSha2Proof, nativePasswordProof, rsaEncryptedPassword } from './auth-scramble';
import { PayloadWriter, payloadOf } from './packet-codec';
import { PacketSplitter, Visit, type Packet } from './packet-splitter';
import { AuthPlugin, CachingSha2, Capability, Command, FRAMING_CAPABILITIES, PacketHeader } from './protocol';
import type { MysqlTarget } from './mysql-target';
import { readErr } from './server-messages';
import { readOkSessionState, sessionTrackingSetup } from './session-state';

export interface TargetConnection {
  readonly socket: net.Socket;
  /** The target's id for this session (what `KILL` takes). */
  readonly connectionId: number;
  readonly serverVersion: string;
  /** Capabilities in force on the session. */
  readonly capabilities: number;
  /** Every statement of the session setup, in order: what to run again after COM_RESET_CONNECTION. */
  readonly setup: readonly string[];
  /** The tracked variables' values at the end of the setup, as the target reported them (see `session-state.ts`). */
  readonly reported: ReadonlyMap<string, string>;
  /** The statement that makes the target report its reading settings again (`sessionTrackingSetup().check`). */
  readonly settingsCheck: string;
}

export interface ConnectTargetOptions {
  readonly target: MysqlTarget;
  /** Capabilities the client negotiated with Warden; framing-relevant ones must hold on the target too. */
  readonly clientCapabilities: number;
  readonly collation: number;
  readonly database: string;
  /** Statements run before the session is handed over (`SET SESSION TRANSACTION READ ONLY`). */
  readonly setup: readonly string[];
  readonly attributes: ReadonlyMap<string, string>;
}

/**
 * What Warden always asks of the target, whatever the client asked. SESSION_TRACK: the target
 * reports changes of the settings that decide how it reads statements (never passed on to clients).
 */
const REQUIRED =
  Capability.LongPassword | Capability.Protocol41 | Capability.SecureConnection | Capability.PluginAuth | Capability.PluginAuthLenencClientData | Capability.Transactions | Capability.SessionTrack;
/** Client capabilities passed on to the target. */
const PASSED = Capability.FoundRows | Capability.LongFlag | Capability.Interactive | Capability.IgnoreSigpipe | Capability.Odbc | FRAMING_CAPABILITIES;

export async function connectTarget(options: ConnectTargetOptions): Promise<TargetConnection> {
  const { target } = options;
  const plain = await openSocket(target.host, target.port, target.connectTimeoutMs);
  const reader = new PacketReader(plain);
  let socket: net.Socket = plain;
  const timer = setTimeout(() => reader.fail(new WardenError('target-unavailable', `target did not complete login within ${target.connectTimeoutMs} ms`)), target.connectTimeoutMs);
  try {
    const greeting = parseGreeting(await reader.next());
    const wanted = REQUIRED | (options.clientCapabilities & PASSED) | Capability.ConnectWithDb | Capability.ConnectAttrs;
    const missing = wanted & FRAMING_CAPABILITIES & ~greeting.capabilities;
    if (missing !== 0) throw new WardenError('target-unavailable', `the target lacks protocol capabilities the client uses (0x${missing.toString(16)})`);
    if ((greeting.capabilities & Capability.SessionTrack) === 0) {
      throw new WardenError('target-unavailable', 'the target does not report session-state changes (CLIENT_SESSION_TRACK), which Warden needs to follow how it reads statements');
    }
    let capabilities = wanted & greeting.capabilities;
    let sequence = 1;
    let secure = false;
    if (target.ssl !== 'disable') {
      if (greeting.capabilities & Capability.Ssl) {
        capabilities |= Capability.Ssl;
        plain.write(handshakeResponseHead(capabilities, options.collation).packet(sequence++));
        socket = await startTls(reader, plain, target);
        secure = true;
      } else if (target.ssl !== 'prefer') {
        throw new WardenError('target-unavailable', 'target does not accept TLS, and the connection requires it');
      }
    }
    const password = target.password ?? '';
    let plugin = greeting.plugin;
    let nonce = greeting.nonce;
    const response = handshakeResponseHead(capabilities, options.collation)
      .cstring(target.user)
      .lenencBytes(proof(plugin, password, nonce, secure))
      .cstring(options.database)
      .cstring(plugin);
    const attributes = new PayloadWriter();
    for (const [key, value] of options.attributes) attributes.lenencBytes(key).lenencBytes(value);
    const attributeBytes = attributes.payload();
    if (capabilities & Capability.ConnectAttrs) response.lenenc(attributeBytes.length).bytes(attributeBytes);
    socket.write(response.packet(sequence++));

    for (;;) {
      const packet = await reader.next();
      sequence = (packet.sequenceId + 1) & 0xff;
      const payload = payloadOf(packet.buffer, packet.start, packet.end);
      const header = packet.buffer[packet.start + 4];
      if (header === PacketHeader.OK) break;
      if (header === PacketHeader.ERR) {
        const error = readErr(payload);
        throw new WardenError('target-unavailable', `target refused Warden's session: ${error.message} (${error.code})`);
      }
      if (header === PacketHeader.EOF) {
        // AuthSwitchRequest: 0xfe | plugin name | nonce (NUL-terminated for the built-in plugins).
        payload.u8();
        plugin = payload.cstring();
        const data = payload.rest();
        nonce = data.length > 0 && data[data.length - 1] === 0 ? data.subarray(0, data.length - 1) : data;
        socket.write(framed(proof(plugin, password, nonce, secure), sequence));
        continue;
      }
      if (header === PacketHeader.AuthMoreData && plugin === AuthPlugin.CachingSha2) {
        const code = packet.buffer[packet.start + 5];
        if (code === CachingSha2.FastAuthSuccess) continue;
        if (code === CachingSha2.PerformFullAuthentication) {
          if (secure) {
            socket.write(framed(Buffer.from(`${password}\0`, 'utf8'), sequence));
          } else {
            socket.write(framed(Buffer.from([CachingSha2.RequestPublicKey]), sequence));
            const key = await reader.next();
            const pem = key.buffer.toString('utf8', key.start + 5, key.end);
            socket.write(framed(rsaEncryptedPassword(password, nonce, pem), (key.sequenceId + 1) & 0xff));
          }
          continue;
        }
      }
      throw new WardenError('target-unavailable', `unexpected packet 0x${(header ?? 0).toString(16)} from the target during login`);
    }
    const tracking = sessionTrackingSetup(greeting.serverVersion);
    const setup = [tracking.enable, ...options.setup, tracking.report];
    const reported = new Map<string, string>();
    for (const statement of setup) {
      socket.write(new PayloadWriter().u8(Command.COM_QUERY).bytes(statement).packet(0));
      const answer = await reader.next();
      if (answer.buffer[answer.start + 4] !== PacketHeader.OK) {
        const error = readErr(payloadOf(answer.buffer, answer.start, answer.end));
        throw new WardenError('target-unavailable', `target refused session setup "${statement}": ${error.message} (${error.code})`);
      }
      for (const [name, value] of readOkSessionState(answer.buffer, answer.start + 4, answer.end).variables) reported.set(name, value);
    }
    reader.release();
    return { socket, connectionId: greeting.connectionId, serverVersion: greeting.serverVersion, capabilities, setup, reported, settingsCheck: tracking.check };
  } catch (error) {
    socket.destroy();
    plain.destroy();
    throw error instanceof WardenError ? error : new WardenError('target-unavailable', `target ${target.host}:${target.port}: ${(error as Error).message}`, { cause: error });
  } finally {
    clearTimeout(timer);
  }
}

function proof(plugin: string, password: string, nonce: Buffer, secure: boolean): Buffer {
  switch (plugin) {
    case AuthPlugin.NativePassword:
      return nativePasswordProof(password, nonce);
    case AuthPlugin.CachingSha2:
      return cachingSha2Proof(password, nonce);
    case AuthPlugin.ClearPassword:
      if (!secure) throw new WardenError('target-unavailable', 'the target asks for mysql_clear_password without TLS; configure ssl: require');
      return Buffer.from(`${password}\0`, 'utf8');
    default:
      throw new WardenError('target-unavailable', `the target asks for authentication plugin ${plugin}, which Warden does not support`);
  }
}

/** int<4> capabilities | int<4> max packet size | int<1> collation | string[23] filler */
function handshakeResponseHead(capabilities: number, collation: number): PayloadWriter {
  return new PayloadWriter().u32(capabilities).u32(0x40000000).u8(collation).zeros(23);
}

function framed(payload: Buffer, sequence: number): Buffer {
  return new PayloadWriter().bytes(payload).packet(sequence);
}

interface Greeting {
  readonly serverVersion: string;
  readonly connectionId: number;
  readonly capabilities: number;
  readonly nonce: Buffer;
  readonly plugin: string;
}

/** Protocol::HandshakeV10 (see `handshakeV10` in server-messages.ts for the layout). */
function parseGreeting(packet: Packet): Greeting {
  const reader = payloadOf(packet.buffer, packet.start, packet.end);
  const protocol = reader.u8();
  if (protocol === PacketHeader.ERR) {
    reader.offset--;
    const error = readErr(reader);
    throw new WardenError('target-unavailable', `target refused the connection: ${error.message} (${error.code})`);
  }
  if (protocol !== 10) throw new WardenError('target-unavailable', `target speaks protocol version ${protocol}, not 10`);
  const serverVersion = reader.cstring();
  const connectionId = reader.u32();
  const part1 = Buffer.from(reader.bytes(8));
  reader.skip(1);
  let capabilities = reader.u16();
  reader.u8();
  reader.u16();
  capabilities |= reader.u16() << 16;
  capabilities >>>= 0;
  const nonceLength = reader.u8();
  reader.skip(10);
  const part2Length = Math.max(13, nonceLength - 8);
  const part2 = Buffer.from(reader.bytes(part2Length));
  const plugin = capabilities & Capability.PluginAuth ? reader.cstring() : AuthPlugin.NativePassword;
  const nonce = Buffer.concat([part1, part2.subarray(0, part2.length - 1)]);
  return { serverVersion, connectionId, capabilities, nonce, plugin };
}

function openSocket(host: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    socket.setNoDelay(true);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new WardenError('target-unavailable', `target ${host}:${port} did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new WardenError('target-unavailable', `target ${host}:${port} is unreachable (${error.code ?? error.message})`, { cause: error }));
    });
  });
}

function startTls(reader: PacketReader, plain: net.Socket, target: MysqlTarget): Promise<net.Socket> {
  reader.detach();
  return new Promise((resolve, reject) => {
    const secure = tls.connect({
      socket: plain,
      servername: net.isIP(target.host) ? undefined : target.host,
      rejectUnauthorized: target.ssl === 'verify-full',
      ...(target.ca ? { ca: target.ca } : {}),
    });
    secure.once('secureConnect', () => {
      reader.attach(secure);
      resolve(secure);
    });
    secure.once('error', (error) => reject(new WardenError('target-unavailable', `TLS to target failed: ${error.message}`, { cause: error })));
  });
}

/** Packets of the login phase, one at a time, as promises. */
class PacketReader {
  private readonly queue: Packet[] = [];
  private waiting: { resolve: (packet: Packet) => void; reject: (error: Error) => void } | undefined;
  private error: Error | undefined;
  private socket: net.Socket | undefined;
  private readonly splitter = new PacketSplitter((packet) => {
    // Login packets are small; copy them out of the chunk.
    const bytes = Buffer.from(packet.buffer.subarray(packet.start, packet.end));
    this.deliver({ ...packet, buffer: bytes, start: 0, end: bytes.length });
    return Visit.Continue;
  });

  constructor(socket: net.Socket) {
    this.attach(socket);
  }

  attach(socket: net.Socket): void {
    this.socket = socket;
    socket.on('data', this.onData);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
  }

  detach(): void {
    const socket = this.socket;
    if (!socket) return;
    socket.removeListener('data', this.onData);
    socket.removeListener('error', this.onError);
    socket.removeListener('close', this.onClose);
    this.socket = undefined;
  }

  /** Stop reading: the relay takes over the socket. */
  release(): void {
    this.detach();
  }

  next(): Promise<Packet> {
    const packet = this.queue.shift();
    if (packet) return Promise.resolve(packet);
    if (this.error) return Promise.reject(this.error);
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }

  fail(error: Error): void {
    this.error ??= error;
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.reject(error);
  }

  private deliver(packet: Packet): void {
    const waiting = this.waiting;
    if (waiting) {
      this.waiting = undefined;
      waiting.resolve(packet);
    } else {
      this.queue.push(packet);
    }
  }

  private readonly onData = (chunk: Buffer): void => {
    try {
      this.splitter.push(chunk);
    } catch (error) {
      this.fail(error as Error);
    }
  };

  private readonly onError = (error: Error): void => this.fail(new WardenError('target-unavailable', `target connection failed: ${error.message}`, { cause: error }));
  private readonly onClose = (): void => this.fail(new WardenError('target-unavailable', 'target closed the connection during login'));
}
