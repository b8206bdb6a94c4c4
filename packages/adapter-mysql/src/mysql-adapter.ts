import net from 'node:net';
import tls from 'node:tls';
import { DEFAULT_LIMITS, type Adapter, type AdapterContext, type AdapterFactory, type ListenAddress } from '@warden/core';
import { listenOn } from '@warden/adapter-kit';
import { loadMysqlParser } from '@warden/sql';
import { ClientConnection } from './client-connection';
import { ConnectionRegistry } from './connection-registry';
import { parseMysqlTarget, type MysqlTarget } from './mysql-target';
import { ErrorCode } from './protocol';
import { rsaKeySource, type RsaKeyExchange } from './rsa-key-exchange';
import { errPacket } from './server-messages';
import { inspectMysqlTarget } from './target-account';

/** What clients see as the server version; MySQL 8 clients expect caching_sha2_password from it. */
const SERVER_VERSION = '8.0.99-Warden';

/** The MySQL/MariaDB adapter, registered under protocol `mysql`. */
export const mysqlAdapter: AdapterFactory<MysqlTarget> = {
  protocol: 'mysql',
  parseTarget: parseMysqlTarget,
  create: (context) => new MysqlAdapter(context),
  inspectTarget: inspectMysqlTarget,
};

class MysqlAdapter implements Adapter {
  private server: net.Server | undefined;
  private readonly connections = new Set<ClientConnection>();
  private readonly secureContext: tls.SecureContext | undefined;
  private nextConnectionId = 1;
  private readonly registry = new ConnectionRegistry();
  /** caching_sha2_password's RSA key exchange (target `rsaKeyExchange: true`). */
  private readonly rsaKey: (() => Promise<RsaKeyExchange>) | undefined;
  private stopping = false;
  private stopped: Promise<void> | undefined;

  constructor(private readonly context: AdapterContext<MysqlTarget>) {
    const material = context.connection.tls;
    this.secureContext = material ? tls.createSecureContext({ cert: material.cert, key: material.key, minVersion: 'TLSv1.2' }) : undefined;
    const rsa = context.connection.target.rsaKeyExchange;
    this.rsaKey = rsa ? rsaKeySource({ settings: rsa, connection: context.connection.name, dataDir: context.dataDir, log: context.log }) : undefined;
  }

  async start(): Promise<ListenAddress> {
    await loadMysqlParser();
    // Load (or generate, once, off the event loop) the RSA key now rather than for the first client.
    this.rsaKey?.().catch(() => undefined);
    const { listen } = this.context.connection;
    // Limits from the configuration (`limits:`); defaults in @warden/core's limits.ts.
    const limits = this.context.limits ?? DEFAULT_LIMITS;
    const server = net.createServer((socket) => {
      if (this.stopping) {
        // The listener stays open while sessions drain, so that a new client learns why natively.
        socket.on('error', () => undefined);
        socket.end(errPacket(0, ErrorCode.ServerShutdown, 'Warden is shutting down; connect again once it is back'));
        setTimeout(() => socket.destroy(), 1000).unref();
        return;
      }
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
        idleTimeoutMs: limits.idleTimeoutSeconds * 1000,
        registry: this.registry,
        ...(this.rsaKey ? { rsaKey: this.rsaKey } : {}),
        onClose: (closed) => this.connections.delete(closed),
      });
      this.connections.add(connection);
    });
    this.server = server;
    return listenOn(server, listen, this.context.log, { protocol: 'mysql', tls: this.secureContext !== undefined });
  }

  stop(): Promise<void> {
    return (this.stopped ??= this.drain());
  }

  private async drain(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.stopping = true;
    // New clients get ER_SERVER_SHUTDOWN from here; commands in flight get
    // `limits.drainTimeoutSeconds` to finish, then every session still open ends with it too.
    const drainTimeoutMs = (this.context.limits ?? DEFAULT_LIMITS).drainTimeoutSeconds * 1000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<void>((resolve) => (timer = setTimeout(resolve, drainTimeoutMs)));
    await Promise.race([Promise.all([...this.connections].map((connection) => connection.drain())), timedOut]);
    clearTimeout(timer);
    for (const connection of [...this.connections]) connection.shutdown();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
