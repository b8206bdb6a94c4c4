import net, { type AddressInfo } from 'node:net';
import tls from 'node:tls';
import { WardenError, type Adapter, type AdapterContext, type AdapterFactory, type Classification, type ListenAddress } from '@warden/core';
import { loadSqlParsers } from '@warden/sql';
import { CancelKeys } from './cancel-keys';
import { ClientConnection } from './client-connection';
import { parsePostgresTarget, type PostgresTarget } from './postgres-target';

/** Largest client message accepted (a Query or Parse text, a COPY data chunk). */
const MAX_CLIENT_MESSAGE = 64 * 1024 * 1024;
const STARTUP_TIMEOUT_MS = 30_000;

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
    const server = net.createServer((socket) => {
      const connection = new ClientConnection(socket, {
        context: this.context,
        secureContext: this.secureContext,
        cancelKeys: this.cancelKeys,
        maxClientMessageSize: MAX_CLIENT_MESSAGE,
        startupTimeoutMs: STARTUP_TIMEOUT_MS,
        ...(this.options.testOnlyClassifier ? { classify: this.options.testOnlyClassifier } : {}),
        onClose: (closed) => this.connections.delete(closed),
      });
      this.connections.add(connection);
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) =>
        reject(new WardenError('config', `cannot listen on ${listen.host}:${listen.port}: ${error.code ?? error.message}`, { cause: error })),
      );
      server.listen(listen.port, listen.host, () => resolve());
    });
    const address = server.address() as AddressInfo;
    this.context.log.info('listening', { protocol: 'postgres', address: `${address.address}:${address.port}`, tls: this.secureContext !== undefined });
    return { host: address.address, port: address.port };
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const connection of [...this.connections]) connection.shutdown();
    await closed;
  }
}
