import net, { type AddressInfo } from 'node:net';
import tls from 'node:tls';
import { WardenError, type Adapter, type AdapterContext, type AdapterFactory, type ListenAddress } from '@warden/core';
import { loadSqlParsers } from '@warden/sql';
import { CancelKeys } from './cancel-keys';
import { ClientConnection } from './client-connection';
import { parsePostgresTarget, type PostgresTarget } from './postgres-target';

/** Largest client message accepted (a Query or Parse text, a COPY data chunk). */
const MAX_CLIENT_MESSAGE = 64 * 1024 * 1024;
const STARTUP_TIMEOUT_MS = 30_000;

/** The Postgres adapter, registered under protocol `postgres`. */
export const postgresAdapter: AdapterFactory<PostgresTarget> = {
  protocol: 'postgres',
  parseTarget: parsePostgresTarget,
  create: (context) => new PostgresAdapter(context),
};

class PostgresAdapter implements Adapter {
  private server: net.Server | undefined;
  private readonly connections = new Set<ClientConnection>();
  private readonly cancelKeys: CancelKeys;
  private readonly secureContext: tls.SecureContext | undefined;

  constructor(private readonly context: AdapterContext<PostgresTarget>) {
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
