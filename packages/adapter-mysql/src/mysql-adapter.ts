import net from 'node:net';
import tls from 'node:tls';
import { DEFAULT_LIMITS, type Adapter, type AdapterContext, type AdapterFactory, type ListenAddress } from '@warden/core';
import { listenOn } from '@warden/adapter-kit';
import { loadMysqlParser } from '@warden/sql';
import { ClientConnection } from './client-connection';
import { ConnectionRegistry } from './connection-registry';
import { parseMysqlTarget, type MysqlTarget } from './mysql-target';
import { ErrorCode } from './protocol';
import { errPacket } from './server-messages';

/** What clients see as the server version; MySQL 8 clients expect caching_sha2_password from it. */
const SERVER_VERSION = '8.0.99-Warden';

/** The MySQL/MariaDB adapter, registered under protocol `mysql`. */
export const mysqlAdapter: AdapterFactory<MysqlTarget> = {
  protocol: 'mysql',
  parseTarget: parseMysqlTarget,
  create: (context) => new MysqlAdapter(context),
};

class MysqlAdapter implements Adapter {
  private server: net.Server | undefined;
  private readonly connections = new Set<ClientConnection>();
  private readonly secureContext: tls.SecureContext | undefined;
  private nextConnectionId = 1;
  private readonly registry = new ConnectionRegistry();

  constructor(private readonly context: AdapterContext<MysqlTarget>) {
    const material = context.connection.tls;
    this.secureContext = material ? tls.createSecureContext({ cert: material.cert, key: material.key, minVersion: 'TLSv1.2' }) : undefined;
  }

  async start(): Promise<ListenAddress> {
    await loadMysqlParser();
    const { listen } = this.context.connection;
    // Limits from the configuration (`limits:`); defaults in @warden/core's limits.ts.
    const limits = this.context.limits ?? DEFAULT_LIMITS;
    const server = net.createServer((socket) => {
      if (this.connections.size >= limits.maxConnectionsPerListener) {
        // What MySQL itself does: an ERR packet instead of the greeting.
        socket.on('error', () => undefined);
        socket.end(errPacket(0, ErrorCode.TooManyConnections, `Warden: too many connections on this listener (the limit is ${limits.maxConnectionsPerListener}); try again later`));
        setTimeout(() => socket.destroy(), 1000).unref();
        return;
      }
      const connection = new ClientConnection(socket, {
        context: this.context,
        secureContext: this.secureContext,
        connectionId: this.nextConnectionId++,
        serverVersion: SERVER_VERSION,
        maxCommandSize: limits.maxMessageBytes,
        loginTimeoutMs: limits.loginTimeoutSeconds * 1000,
        registry: this.registry,
        onClose: (closed) => this.connections.delete(closed),
      });
      this.connections.add(connection);
    });
    this.server = server;
    return listenOn(server, listen, this.context.log, { protocol: 'mysql', tls: this.secureContext !== undefined });
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const connection of [...this.connections]) connection.shutdown();
    await closed;
  }
}
