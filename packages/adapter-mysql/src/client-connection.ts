import type net from 'node:net';
import tls from 'node:tls';
import { toWardenError, type AdapterContext, type Logger, type Session } from '@warden/core';
import { classifyMysql } from '@warden/sql';
import type { HandshakeResponse } from './client-messages';
import type { ConnectionRegistry } from './connection-registry';
import { estimateImpact } from './impact-estimate';
import { killQueryOnTarget } from './kill-query';
import type { MysqlTarget } from './mysql-target';
import { PacketSplitter, Visit, type Packet, type VisitResult } from './packet-splitter';
import { ErrorCode } from './protocol';
import { Relay } from './relay';
import { READ_ONLY_SETUP } from './read-only-session';
import { TargetSessionSettings, isAnalysableCollation } from './session-settings';
import { ViewCatalog } from './view-catalog';
import type { RsaKeyExchange } from './rsa-key-exchange';
import { ServerLogin } from './server-login';
import { connectTarget } from './target-connection';

export interface ClientConnectionOptions {
  readonly context: AdapterContext<MysqlTarget>;
  readonly secureContext: tls.SecureContext | undefined;
  readonly connectionId: number;
  readonly serverVersion: string;
  readonly maxCommandSize: number;
  readonly loginTimeoutMs: number;
  /** Close a session after this long without a client command (0: never). */
  readonly idleTimeoutMs: number;
  readonly registry: ConnectionRegistry;
  /** caching_sha2_password's RSA key exchange for clients without TLS; absent when not configured. */
  readonly rsaKey?: () => Promise<RsaKeyExchange>;
  readonly onClose: (connection: ClientConnection) => void;
}

/**
 * One client, from the greeting to the end of the session: the connection phase (TLS, token
 * authentication through the core), the target session, then the relay. Socket glue around the
 * socket-free `ServerLogin` and `Relay`.
 */
/** Largest packet accepted during login (a handshake response with connection attributes). */
const MAX_LOGIN_PACKET = 64 * 1024;

export class ClientConnection {
  private socket: net.Socket;
  private readonly log: Logger;
  private readonly address: string;
  private splitter: PacketSplitter;
  private readonly login: ServerLogin;
  private relay: Relay | undefined;
  private session: Session | undefined;
  private readonly loginTimer: NodeJS.Timeout;
  private done = false;

  constructor(socket: net.Socket, private readonly options: ClientConnectionOptions) {
    this.socket = socket;
    this.address = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    this.log = options.context.log.child({ client: this.address });
    socket.setNoDelay(true);
    const { connection } = options.context;
    this.login = new ServerLogin(
      {
        connectionId: options.connectionId,
        serverVersion: options.serverVersion,
        tlsAvailable: options.secureContext !== undefined,
        cleartextAllowed: connection.allowInsecureAuth || isLoopback(socket.remoteAddress),
        ...(options.rsaKey ? { rsaKey: options.rsaKey } : {}),
      },
      {
        write: (bytes) => this.socket.write(bytes),
        startTls: () => {
          this.upgrading = true;
        },
        credential: (token, response) => void this.admit(token, response),
        failed: () => this.finish(),
        credentialRefused: (reason) => this.auditRefusal(reason),
      },
    );
    this.splitter = this.loginSplitter();
    this.attach(socket);
    this.loginTimer = setTimeout(() => this.login.refuse(ErrorCode.HandshakeError, `Warden: login timed out (the limit is ${options.loginTimeoutMs / 1000} s from connect to a completed login)`), options.loginTimeoutMs);
    this.login.greet();
  }

  /** The gateway stops: a session lets its command in flight finish (see `Relay.drain`); a login in progress is refused. */
  drain(): Promise<void> {
    if (this.relay) return this.relay.drain();
    this.shutdown();
    return Promise.resolve();
  }

  /** Ends the connection because the gateway stops. */
  shutdown(): void {
    if (this.relay) this.relay.shutdown();
    else this.login.refuse(ErrorCode.ServerShutdown, 'Warden is shutting down');
  }

  private loginSplitter(): PacketSplitter {
    // Login packets are small; a larger one is refused before it is buffered.
    return new PacketSplitter((packet) => this.onLoginPacket(packet), undefined, MAX_LOGIN_PACKET);
  }

  private onLoginPacket(packet: Packet): VisitResult {
    this.login.receive(packet);
    // After an SSLRequest the rest of the stream is TLS; after the token, the next bytes are commands.
    return this.done || this.upgrading || this.deciding ? Visit.Pause : Visit.Continue;
  }

  private upgrading = false;
  private deciding = false;

  private attach(socket: net.Socket): void {
    socket.on('data', this.onData);
    socket.on('error', this.onError);
    socket.on('close', this.onSocketClose);
  }

  private detach(socket: net.Socket): void {
    socket.removeListener('data', this.onData);
    socket.removeListener('error', this.onError);
    socket.removeListener('close', this.onSocketClose);
  }

  private readonly onData = (chunk: Buffer): void => {
    try {
      this.splitter.push(chunk);
      // Upgraded once the splitter has stepped past the SSLRequest.
      if (this.upgrading && !(this.socket instanceof tls.TLSSocket)) this.upgradeToTls();
    } catch (error) {
      const wardenError = toWardenError(error);
      this.login.refuse(ErrorCode.HandshakeError, `Warden: ${wardenError.message}`);
    }
  };

  private readonly onError = (error: Error): void => {
    this.log.warn('client connection error during login', { error: error.message });
    if (!this.done && !this.relay) this.login.clientLeft();
    this.finish();
  };

  private readonly onSocketClose = (): void => {
    if (!this.done && !this.relay) this.login.clientLeft();
    this.finish();
  };

  /** A credential Warden refused before the core saw it: an `auth.failure` record. */
  private auditRefusal(reason: string): void {
    const { connection, gateway } = this.options.context;
    const user = this.login.claimedUser;
    const client = { address: this.address, tls: this.socket instanceof tls.TLSSocket, ...(user ? { claimedUser: user } : {}) };
    // recordRefusal writes the one log line.
    gateway.recordRefusal(connection.name, client, reason.replace(/^Warden: /, '')).catch((error: unknown) => {
      this.log.error('cannot audit a refused login', { error: toWardenError(error).message });
    });
  }

  private upgradeToTls(): void {
    const secureContext = this.options.secureContext!;
    const plain = this.socket;
    // The client sends its TLS ClientHello right after the SSLRequest, possibly in the same chunk.
    const rest = this.splitter.takeRemainder();
    this.detach(plain);
    plain.pause();
    if (rest.length > 0) plain.unshift(rest);
    const secure = new tls.TLSSocket(plain, { isServer: true, secureContext });
    this.socket = secure;
    this.splitter = this.loginSplitter();
    this.attach(secure);
    secure.once('secure', () => {
      secure.setNoDelay(true);
      this.upgrading = false;
      this.login.tlsEstablished();
    });
  }

  private async admit(token: string, response: HandshakeResponse): Promise<void> {
    this.deciding = true;
    const { context } = this.options;
    const { connection } = context;
    const application = response.attributes.get('program_name') ?? response.attributes.get('_client_name');
    if (!isAnalysableCollation(response.collation)) {
      this.login.refuse(ErrorCode.HandshakeError, `Warden: the client's character set (collation ${response.collation}) is not one Warden can analyse statements in; use utf8mb4 (or utf8, latin1, ascii)`);
      return;
    }
    let session: Session;
    try {
      session = await context.gateway.admit(connection.name, { kind: 'bearer', token }, {
        address: this.address,
        tls: this.socket instanceof tls.TLSSocket,
        ...(response.user ? { claimedUser: response.user } : {}),
        ...(application ? { application } : {}),
      });
    } catch (error) {
      const wardenError = toWardenError(error);
      const code = wardenError.code === 'unauthenticated' || wardenError.code === 'forbidden' ? ErrorCode.AccessDenied : wardenError.code === 'limit' ? ErrorCode.TooManyConnections : ErrorCode.Unknown;
      this.login.refuse(code, `Warden: ${wardenError.message}`);
      return;
    }
    this.session = session;
    if (this.done) {
      await session.end('client-closed', 'client left during login');
      return;
    }
    // The database asked for at login is a decision like USE, unless it is the connection's own.
    const asked = response.database;
    let database = connection.target.database;
    if (asked && asked !== connection.name && asked !== connection.target.database) {
      const text = `USE \`${asked.replace(/`/g, '``')}\``;
      try {
        const ruling = await session.decide({ text, classification: classifyMysql(text), detail: { command: 'connect-with-db' } });
        await ruling.durable;
        if (ruling.decision.effect !== 'allow') {
          const ended = session.end('refused', ruling.decision.reason);
          this.login.refuse(ErrorCode.CommandDenied, `Warden: ${ruling.decision.reason} (rule "${ruling.decision.rule}")`);
          await ended;
          return;
        }
      } catch (error) {
        const wardenError = toWardenError(error);
        const ended = session.end('error', wardenError.message);
        this.login.refuse(ErrorCode.Unknown, `Warden: ${wardenError.message}`);
        await ended;
        return;
      }
      database = asked;
    }

    let target;
    try {
      target = await connectTarget({
        target: connection.target,
        clientCapabilities: this.login.negotiated,
        collation: response.collation,
        database,
        // Defence in depth: a read-only grant is also a read-only target session.
        setup: session.access === 'read-only' ? [READ_ONLY_SETUP] : [],
        attributes: new Map([['program_name', `warden:${application ?? 'client'}`]]),
      });
    } catch (error) {
      const wardenError = toWardenError(error);
      this.log.error('target unavailable', { session: session.id, error: wardenError.message });
      const ended = session.end('error', wardenError.message);
      this.login.refuse(ErrorCode.TargetUnavailable, `Warden: ${wardenError.message}`);
      await ended;
      return;
    }
    if (this.done) {
      target.socket.destroy();
      await session.end('client-closed', 'client left during login');
      return;
    }
    // The session starts in the settings the target reports; one Warden cannot analyse refuses the login.
    const settings = new TargetSessionSettings(session.access === 'read-only');
    const unanalysable = settings.apply(target.reported);
    if (unanalysable !== undefined) {
      target.socket.destroy();
      this.log.error('session refused: fail closed', { session: session.id, error: unanalysable });
      const ended = session.end('error', unanalysable);
      this.login.refuse(ErrorCode.Unknown, `Warden: ${unanalysable}; the session is refused`);
      await ended;
      return;
    }
    clearTimeout(this.loginTimer);
    this.login.accept();

    const rest = this.splitter.takeRemainder();
    this.detach(this.socket);
    if (rest.length > 0) this.socket.unshift(rest);
    const relay = new Relay({
      client: this.socket,
      target: target.socket,
      session,
      log: this.log.child({ session: session.id }),
      capabilities: this.login.negotiated & target.capabilities,
      maxCommandSize: this.options.maxCommandSize,
      idleTimeoutMs: this.options.idleTimeoutMs,
      killQueryOnTarget: () => killQueryOnTarget(connection.target, target.connectionId),
      registry: this.options.registry,
      onClose: () => this.finish(),
      database,
      settings,
      sessionSetup: target.setup,
      settingsCheck: target.settingsCheck,
      views: ViewCatalog.forTarget(connection.target),
      estimateImpact: (statement, inDatabase) => estimateImpact(connection.target, inDatabase, statement),
    });
    this.relay = relay;
    this.options.registry.register(this.options.connectionId, {
      session,
      killQuery: () => killQueryOnTarget(connection.target, target.connectionId),
      killConnection: () => relay.kill(),
    });
    relay.start();
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.loginTimer);
    this.options.registry.unregister(this.options.connectionId);
    if (!this.relay) {
      this.socket.end();
      setTimeout(() => this.socket.destroy(), 1000).unref();
      if (this.session) void this.session.end('client-closed', 'client left during login');
    }
    this.options.onClose(this);
  }
}

function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}
