import { createHash } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { WardenError } from '@warden/core';
import { Parser } from 'pg-protocol/dist/parser';
import { serialize } from 'pg-protocol';
import type { BackendMessage } from 'pg-protocol/dist/messages';
import type { PostgresTarget } from './postgres-target';

// pg's SCRAM-SHA-256 client (untyped CommonJS module).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const sasl = require('pg/lib/crypto/sasl') as {
  startSession(mechanisms: string[], stream?: unknown): { mechanism: string; response: string };
  continueSession(session: object, password: string, serverData: string, stream?: unknown): Promise<void>;
  finalizeSession(session: object, serverData: string): void;
};

/** A target session after authentication, ready for queries. */
export interface TargetConnection {
  readonly socket: net.Socket;
  /** ParameterStatus pairs the target sent during startup, to pass on to the client. */
  readonly parameters: ReadonlyArray<readonly [string, string]>;
  readonly processId: number;
  readonly secretKey: number;
  /** Transaction status from the first ReadyForQuery ('I'). */
  readonly status: number;
}

export interface ConnectTargetOptions {
  readonly target: PostgresTarget;
  /** Extra startup parameters (application_name, default_transaction_read_only, …). */
  readonly parameters: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
}

/**
 * Opens a session to the target with Warden's own credentials: optional TLS, then trust, cleartext,
 * md5 or SCRAM-SHA-256 authentication. Resolves after the first ReadyForQuery.
 */
export async function connectTarget(options: ConnectTargetOptions): Promise<TargetConnection> {
  const { target } = options;
  let socket: net.Socket = await openSocket(target.host, target.port, options.timeoutMs);
  try {
    if (target.ssl !== 'disable') socket = await negotiateTls(socket, target, options.timeoutMs);
    return await authenticate(socket, options);
  } catch (error) {
    socket.destroy();
    throw error instanceof WardenError ? error : new WardenError('target-unavailable', `target ${target.host}:${target.port}: ${(error as Error).message}`, { cause: error });
  }
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

/** SSLRequest, then a TLS handshake on 'S'; 'N' is an error unless the target's ssl mode is `prefer`. */
function negotiateTls(socket: net.Socket, target: PostgresTarget, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new WardenError('target-unavailable', 'target did not answer the SSLRequest')), timeoutMs);
    socket.once('data', (answer) => {
      clearTimeout(timer);
      if (answer.length !== 1) return reject(new WardenError('target-unavailable', 'unexpected answer to SSLRequest'));
      if (answer[0] === 0x4e /* N */) {
        if (target.ssl === 'prefer') return resolve(socket);
        return reject(new WardenError('target-unavailable', 'target does not accept TLS, and the connection requires it'));
      }
      const secure = tls.connect({
        socket,
        servername: net.isIP(target.host) ? undefined : target.host,
        rejectUnauthorized: target.ssl === 'verify-full',
        ...(target.ca ? { ca: target.ca } : {}),
      });
      secure.once('secureConnect', () => resolve(secure));
      secure.once('error', (error) => reject(new WardenError('target-unavailable', `TLS to target failed: ${error.message}`, { cause: error })));
    });
    socket.write(serialize.requestSsl());
  });
}

function authenticate(socket: net.Socket, options: ConnectTargetOptions): Promise<TargetConnection> {
  const { target } = options;
  return new Promise((resolve, reject) => {
    const parser = new Parser();
    const parameters: Array<[string, string]> = [];
    let processId = 0;
    let secretKey = 0;
    let saslSession: object | undefined;
    const timer = setTimeout(() => fail(new WardenError('target-unavailable', `target did not complete startup within ${options.timeoutMs} ms`)), options.timeoutMs);

    const cleanup = () => {
      clearTimeout(timer);
      socket.removeListener('data', onData);
      socket.removeListener('error', onError);
      socket.removeListener('close', onClose);
    };
    const fail = (error: Error) => {
      cleanup();
      reject(error);
    };
    const password = () => {
      if (target.password === undefined) throw new WardenError('target-unavailable', 'target asks for a password, and none is configured for it');
      return target.password;
    };

    const onMessage = async (message: BackendMessage) => {
      switch (message.name) {
        case 'authenticationCleartextPassword':
          socket.write(serialize.password(password()));
          break;
        case 'authenticationMD5Password': {
          const salt = (message as unknown as { salt: Buffer }).salt;
          const inner = createHash('md5').update(password() + target.user).digest('hex');
          const outer = createHash('md5').update(Buffer.concat([Buffer.from(inner), salt])).digest('hex');
          socket.write(serialize.password(`md5${outer}`));
          break;
        }
        case 'authenticationSASL': {
          const mechanisms = (message as unknown as { mechanisms: string[] }).mechanisms;
          const session = sasl.startSession(mechanisms);
          saslSession = session;
          socket.write(serialize.sendSASLInitialResponseMessage(session.mechanism, session.response));
          break;
        }
        case 'authenticationSASLContinue': {
          if (!saslSession) throw new WardenError('target-unavailable', 'unexpected SASLContinue');
          await sasl.continueSession(saslSession, password(), (message as unknown as { data: string }).data);
          socket.write(serialize.sendSCRAMClientFinalMessage((saslSession as { response: string }).response));
          break;
        }
        case 'authenticationSASLFinal':
          if (!saslSession) throw new WardenError('target-unavailable', 'unexpected SASLFinal');
          sasl.finalizeSession(saslSession, (message as unknown as { data: string }).data);
          break;
        case 'authenticationOk':
          break;
        case 'parameterStatus': {
          const m = message as unknown as { parameterName: string; parameterValue: string };
          parameters.push([m.parameterName, m.parameterValue]);
          break;
        }
        case 'backendKeyData': {
          const m = message as unknown as { processID: number; secretKey: number };
          processId = m.processID;
          secretKey = m.secretKey;
          break;
        }
        case 'readyForQuery':
          cleanup();
          resolve({ socket, parameters, processId, secretKey, status: (message as unknown as { status: string }).status.charCodeAt(0) });
          break;
        case 'error': {
          const m = message as unknown as { message: string; code?: string };
          throw new WardenError('target-unavailable', `target refused Warden's session: ${m.message}${m.code ? ` (${m.code})` : ''}`);
        }
        case 'notice':
          break;
        default:
          throw new WardenError('target-unavailable', `unexpected ${message.name} from target during startup`);
      }
    };

    // Messages are handled one at a time: SCRAM's proof is computed asynchronously.
    let chain = Promise.resolve();
    const onData = (chunk: Buffer) => {
      parser.parse(chunk, (message) => {
        chain = chain.then(() => onMessage(message)).catch((error: Error) => fail(error));
      });
    };
    const onError = (error: Error) => fail(new WardenError('target-unavailable', `target connection failed: ${error.message}`, { cause: error }));
    const onClose = () => fail(new WardenError('target-unavailable', 'target closed the connection during startup'));

    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    const startup: Record<string, string> = { ...options.parameters, user: target.user, database: target.database, client_encoding: 'UTF8' };
    socket.write(serialize.startup(startup));
  });
}

/** Sends a CancelRequest for a target backend on a fresh connection (the protocol's way). */
export async function cancelOnTarget(target: PostgresTarget, processId: number, secretKey: number, timeoutMs: number): Promise<void> {
  const socket = await openSocket(target.host, target.port, timeoutMs);
  // The server closes the connection once it has signalled the backend: resolved then (or after
  // `timeoutMs`), so a caller can hold the session's next command until the cancel has landed.
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    timer.unref();
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.on('error', () => undefined);
    socket.end(serialize.cancel(processId, secretKey));
  });
  socket.destroy();
}
