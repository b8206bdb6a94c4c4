import net from 'node:net';
import tls from 'node:tls';
import { WardenError, toWardenError, type AdapterContext, type Classification, type Logger, type Session } from '@warden/core';
import { authentication, backendKeyData, errorResponse, negotiateProtocolVersion, parameterStatus, readyForQuery, type ErrorFields } from './backend-messages';
import type { CancelKeys } from './cancel-keys';
import { decodePassword, decodeStartupRequest, type StartupRequest } from './frontend-messages';
import { AuthenticationCode, FrontendCode, SqlState } from './message-codes';
import { MessageSplitter, Visit, type VisitResult } from './message-splitter';
import type { PostgresTarget } from './postgres-target';
import { Relay } from './relay';
import { columnResolverFor } from './column-resolver';
import { estimateImpact } from './impact-estimate';
import { firstUnanalysableSetting, unanalysableParameterStatus } from './lexer-settings';
import { functionCatalogFor } from './function-catalog';
import { FunctionCheckedSession } from './function-checked-session';
import { SettingsBarrierSession } from './settings-barrier-session';
import { cancelOnTarget, connectTarget } from './target-connection';

export interface ClientConnectionOptions {
  readonly context: AdapterContext<PostgresTarget>;
  readonly secureContext: tls.SecureContext | undefined;
  readonly cancelKeys: CancelKeys;
  readonly maxClientMessageSize: number;
  /** Time allowed from connect to a completed login (slow clients hold resources). */
  readonly startupTimeoutMs: number;
  /** A session without client traffic for this long is closed; 0 = never. */
  readonly idleTimeoutMs: number;
  /** Called when the connection is gone, for the adapter's bookkeeping. */
  readonly onClose: (connection: ClientConnection) => void;
  /** Test-only (see `PostgresAdapterOptions.testOnlyClassifier`). */
  readonly classify?: (sql: string) => Classification;
}

/** Startup-phase messages are small; anything larger is an attack or a bug. */
const MAX_STARTUP_MESSAGE = 16 * 1024;

/**
 * One client, from the first byte to the end of the session: the startup phase (SSLRequest,
 * GSSENCRequest, CancelRequest, StartupMessage), token authentication through the core, the
 * target session, then the relay.
 */
export class ClientConnection {
  private socket: net.Socket;
  private readonly log: Logger;
  private readonly address: string;
  private splitter: MessageSplitter;
  private startup: Extract<StartupRequest, { kind: 'StartupMessage' }> | undefined;
  private relay: Relay | undefined;
  private session: Session | undefined;
  private readonly startupTimer: NodeJS.Timeout;
  private done = false;

  constructor(socket: net.Socket, private readonly options: ClientConnectionOptions) {
    this.socket = socket;
    this.address = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    this.log = options.context.log.child({ client: this.address });
    socket.setNoDelay(true);
    this.splitter = this.startupSplitter(true);
    this.attach(socket);
    this.startupTimer = setTimeout(() => this.refuse({ severity: 'FATAL', code: SqlState.ProtocolViolation, message: `Warden: login timed out (the limit is ${options.startupTimeoutMs / 1000} s from connect to a completed login)` }, 'login timed out'), options.startupTimeoutMs);
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
    else this.refuse({ severity: 'FATAL', code: SqlState.AdminShutdown, message: 'Warden is shutting down' }, 'shutdown');
  }

  private startupSplitter(startup: boolean): MessageSplitter {
    return new MessageSplitter({ maxMessageSize: MAX_STARTUP_MESSAGE, startup }, (code, buffer, start, end) => this.onStartupMessage(code, buffer, start, end));
  }

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
    } catch (error) {
      const wardenError = toWardenError(error);
      this.refuse({ severity: 'FATAL', code: SqlState.ProtocolViolation, message: `Warden: ${wardenError.message}` }, wardenError.message);
    }
  };

  private readonly onError = (error: Error): void => {
    this.log.warn('client connection error during login', { error: error.message });
    this.finish();
  };

  private readonly onSocketClose = (): void => this.finish();

  private onStartupMessage(code: number, buffer: Buffer, start: number, end: number): VisitResult {
    if (code === 0) return this.onStartupRequest(decodeStartupRequest(buffer, start, end), end < buffer.length);
    if (code !== FrontendCode.PasswordMessage || !this.startup) {
      throw new WardenError('protocol', `unexpected message type 0x${code.toString(16)} during login`);
    }
    const token = decodePassword(buffer, start, end);
    void this.login(this.startup, token);
    return Visit.Pause;
  }

  private onStartupRequest(request: StartupRequest, moreBytesFollow: boolean): VisitResult {
    switch (request.kind) {
      case 'SSLRequest':
        if (!this.options.secureContext || this.socket instanceof tls.TLSSocket) {
          this.socket.write('N');
          this.splitter.expectStartupMessage();
          return Visit.Continue;
        }
        // Bytes after an SSLRequest, before the handshake, would be injected plaintext (CVE-2021-23214).
        if (moreBytesFollow) throw new WardenError('protocol', 'unexpected data after SSLRequest');
        this.socket.write('S');
        this.upgradeToTls(this.options.secureContext);
        return Visit.Pause;
      case 'GSSENCRequest':
        this.socket.write('N');
        this.splitter.expectStartupMessage();
        return Visit.Continue;
      case 'CancelRequest':
        void this.options.cancelKeys.cancel(request.processId, request.secretKey, this.address);
        this.finish();
        return Visit.Pause;
      case 'StartupMessage':
        return this.onStartup(request);
    }
  }

  private upgradeToTls(secureContext: tls.SecureContext): void {
    const plain = this.socket;
    this.detach(plain);
    const secure = new tls.TLSSocket(plain, { isServer: true, secureContext });
    this.socket = secure;
    this.splitter = this.startupSplitter(true);
    this.attach(secure);
    secure.once('secure', () => secure.setNoDelay(true));
  }

  private onStartup(request: Extract<StartupRequest, { kind: 'StartupMessage' }>): VisitResult {
    const { connection } = this.options.context;
    const database = request.parameters.get('database') ?? request.parameters.get('user') ?? '';
    if (database !== connection.name && database !== connection.target.database) {
      this.refuse(
        { severity: 'FATAL', code: SqlState.InvalidCatalogName, message: `Warden: database "${database}" is not served on this port; use dbname=${connection.name}` },
        'unknown database',
      );
      return Visit.Pause;
    }
    const encrypted = this.socket instanceof tls.TLSSocket;
    if (!encrypted && !connection.allowInsecureAuth && !isLoopback(this.socket.remoteAddress)) {
      this.refuse(
        { severity: 'FATAL', code: SqlState.InvalidAuthorizationSpecification, message: 'Warden: a token is only accepted over TLS from this address; connect with sslmode=require' },
        'cleartext credential over a non-loopback connection',
      );
      return Visit.Pause;
    }
    this.startup = request;
    const unrecognized = [...request.parameters.keys()].filter((name) => name.startsWith('_pq_.'));
    if (request.minorVersion > 0 || unrecognized.length > 0) this.socket.write(negotiateProtocolVersion(0, unrecognized));
    this.socket.write(authentication(AuthenticationCode.CleartextPassword));
    return Visit.Continue;
  }

  private async login(startup: Extract<StartupRequest, { kind: 'StartupMessage' }>, token: string): Promise<void> {
    const { context } = this.options;
    const application = startup.parameters.get('application_name');
    const claimedUser = startup.parameters.get('user');
    let session: Session;
    try {
      session = await context.gateway.admit(context.connection.name, { kind: 'bearer', token }, {
        address: this.address,
        tls: this.socket instanceof tls.TLSSocket,
        ...(claimedUser ? { claimedUser } : {}),
        ...(application ? { application } : {}),
      });
    } catch (error) {
      const wardenError = toWardenError(error);
      const code =
        wardenError.code === 'unauthenticated'
          ? SqlState.InvalidPassword
          : wardenError.code === 'forbidden'
            ? SqlState.InvalidAuthorizationSpecification
            : wardenError.code === 'limit'
              ? SqlState.TooManyConnections
              : SqlState.SystemError;
      this.refuse({ severity: 'FATAL', code, message: `Warden: ${wardenError.message}` }, wardenError.code);
      return;
    }
    this.session = session;
    if (this.done) {
      await session.end('client-closed', 'client left during login');
      return;
    }

    const parameters: Record<string, string> = {};
    if (application) parameters['application_name'] = application;
    // Defence in depth: a read-only grant is also a read-only target session.
    if (session.access === 'read-only') parameters['default_transaction_read_only'] = 'on';
    let target;
    try {
      target = await connectTarget({ target: context.connection.target, parameters, timeoutMs: context.connection.target.connectTimeoutMs });
    } catch (error) {
      const wardenError = toWardenError(error);
      this.log.error('target unavailable', { session: session.id, error: wardenError.message });
      // Ended before the refusal closes the socket, so the record says why.
      const ended = session.end('error', wardenError.message);
      this.refuse({ severity: 'FATAL', code: SqlState.ConnectionFailure, message: `Warden: ${wardenError.message}` }, wardenError.message);
      await ended;
      return;
    }
    if (this.done) {
      target.socket.destroy();
      await session.end('client-closed', 'client left during login');
      return;
    }
    clearTimeout(this.startupTimer);
    // A database or role default can start the target session in a state Warden's parser does not
    // read statements in (standard_conforming_strings off): below full access it is refused.
    const unanalysable = session.access === 'full' ? undefined : firstUnanalysableSetting(target.parameters);
    if (unanalysable !== undefined) {
      target.socket.destroy();
      const ended = session.end('error', unanalysable);
      this.refuse({ severity: 'FATAL', code: SqlState.InsufficientPrivilege, message: `Warden: ${unanalysable}; ${session.access} sessions are refused until it is reset` }, 'target setting Warden cannot analyse under');
      await ended;
      return;
    }

    const key = this.options.cancelKeys.register(session, target.processId, target.secretKey);
    const greeting = [authentication(AuthenticationCode.Ok)];
    for (const [name, value] of target.parameters) greeting.push(parameterStatus(name, value));
    greeting.push(backendKeyData(key.processId, key.secretKey), readyForQuery(target.status));
    this.socket.write(Buffer.concat(greeting));

    this.detach(this.socket);
    const relay = new Relay({
      client: this.socket,
      target: target.socket,
      session: this.relaySession(session),
      log: this.log.child({ session: session.id }),
      maxClientMessageSize: this.options.maxClientMessageSize,
      idleTimeoutMs: this.options.idleTimeoutMs,
      ...(this.options.classify ? { classify: this.options.classify } : {}),
      ...(session.access === 'full' ? {} : { refuseParameterStatus: unanalysableParameterStatus }),
      columnResolver: columnResolverFor(context.connection.target),
      estimate: (statement) => estimateImpact(context.connection.target, statement),
      cancelOnTarget: () => {
        const spec = context.connection.target;
        return cancelOnTarget(spec, target.processId, target.secretKey, spec.connectTimeoutMs).catch((error: unknown) =>
          this.log.warn('cancel could not reach the target', { session: session.id, error: (error as Error).message }),
        );
      },
      onClose: () => {
        this.options.cancelKeys.unregister(key.processId);
        this.finish();
      },
    });
    this.relay = relay;
    relay.start();
  }

  /**
   * The session as the relay uses it: a read calls only functions the target's catalog says cannot
   * write (read-only-functions.ts); below full access, a pipelined Query waits for the one before it,
   * so that a setting Warden cannot read statements under ends the session first (settings-barrier-session.ts).
   */
  private relaySession(session: Session): Session {
    const checked = new FunctionCheckedSession(session, functionCatalogFor(this.options.context.connection.target));
    return session.access === 'full' ? checked : new SettingsBarrierSession(checked);
  }

  /** Send a FATAL error, log one line, close. */
  private refuse(fields: ErrorFields, logReason: string): void {
    if (this.done) return;
    this.log.warn('connection refused', { reason: logReason, code: fields.code });
    this.socket.end(errorResponse(fields));
    this.finish();
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.startupTimer);
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
