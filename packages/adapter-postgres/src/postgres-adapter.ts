import net from 'node:net';
import tls from 'node:tls';
import { DEFAULT_LIMITS, type Adapter, type AdapterContext, type AdapterFactory, type Classification, type ListenAddress } from '@warden/core';
import { listenOn } from '@warden/adapter-kit';
import { loadSqlParsers } from '@warden/sql';
import { CancelKeys } from './cancel-keys';
import { ClientConnection } from './client-connection';
import { errorResponse } from './backend-messages';
import { SqlState } from './message-codes';
import { parsePostgresTarget, type PostgresTarget } from './postgres-target';
import { inspectPostgresTarget } from './target-account';

export interface PostgresAdapterOptions {
  /**
   * TEST-ONLY. Replaces the statement classifier, so that a test can make it misjudge (a write
   * called a read) and prove that the target-side guards hold on their own. Production wiring
   * never sets it: `postgresAdapter` is `createPostgresAdapter()`.
   */
  readonly testOnlyClassifier?: (sql: string) => Classification;
}

/** A Postgres adapter factory; `postgresAdapter` is the one the gateway registers. */
export function createPostgresAdapter(options: PostgresAdapterOptions = {}): AdapterFactory<PostgresTarget> {
  return {
    protocol: 'postgres',
    parseTarget: parsePostgresTarget,
    create: (context) => new PostgresAdapter(context, options),
    inspectTarget: inspectPostgresTarget,
  };
}

/** The Postgres adapter, registered under protocol `postgres`. */
export const postgresAdapter: AdapterFactory<PostgresTarget> = createPostgresAdapter();

class PostgresAdapter implements Adapter {
  private server: net.Server | undefined;
  private readonly connections = new Set<ClientConnection>();
  private readonly cancelKeys: CancelKeys;
  private readonly secureContext: tls.SecureContext | undefined;

  constructor(
    private readonly context: AdapterContext<PostgresTarget>,
    private readonly options: PostgresAdapterOptions,
  ) {
    this.cancelKeys = new CancelKeys(context.connection.target, context.log);
    const material = context.connection.tls;
    this.secureContext = material ? tls.createSecureContext({ cert: material.cert, key: material.key, minVersion: 'TLSv1.2' }) : undefined;
  }

  async start(): Promise<ListenAddress> {
    await loadSqlParsers();
    const { listen } = this.context.connection;
    // Limits from the configuration (`limits:`); the defaults are documented in @warden/core's limits.ts.
    const limits = this.context.limits ?? DEFAULT_LIMITS;
    const server = net.createServer((socket) => {
      if (this.connections.size >= limits.maxConnectionsPerListener) {
        this.context.log.warn('connection refused: listener full', { client: `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`, limit: limits.maxConnectionsPerListener });
        socket.on('error', () => undefined);
        socket.end(errorResponse({ severity: 'FATAL', code: SqlState.TooManyConnections, message: `Warden: too many connections on this listener (the limit is ${limits.maxConnectionsPerListener}); try again later` }));
        setTimeout(() => socket.destroy(), 1000).unref();
        return;
      }
      const connection = new ClientConnection(socket, {
        context: this.context,
        secureContext: this.secureContext,
        cancelKeys: this.cancelKeys,
        maxClientMessageSize: limits.maxMessageBytes,
        startupTimeoutMs: limits.loginTimeoutSeconds * 1000,
        idleTimeoutMs: limits.idleTimeoutSeconds * 1000,
        ...(this.options.testOnlyClassifier ? { classify: this.options.testOnlyClassifier } : {}),
        onClose: (closed) => this.connections.delete(closed),
      });
      this.connections.add(connection);
    });
    this.server = server;
    return listenOn(server, listen, this.context.log, { protocol: 'postgres', tls: this.secureContext !== undefined });
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // New connections are refused from here (the listener is closed); commands in flight get
    // `limits.drainTimeoutSeconds` to finish, then every session still open ends with 57P01.
    const drainTimeoutMs = (this.context.limits ?? DEFAULT_LIMITS).drainTimeoutSeconds * 1000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<void>((resolve) => (timer = setTimeout(resolve, drainTimeoutMs)));
    await Promise.race([Promise.all([...this.connections].map((connection) => connection.drain())), timedOut]);
    clearTimeout(timer);
    for (const connection of [...this.connections]) connection.shutdown();
    await closed;
  }
}
