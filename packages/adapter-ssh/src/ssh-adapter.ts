import { mkdir } from 'node:fs/promises';
import net from 'node:net';
import { DEFAULT_LIMITS, WardenError, type Adapter, type AdapterContext, type AdapterFactory, type GatewayLimits, type ListenAddress } from '@warden/core';
import { listenOn } from '@warden/adapter-kit';
import { Server } from 'ssh2';
import { ClientConnection, parseBoundKeys, recordingsDirOf } from './client-connection';
import { SshCertificateAuthority } from './certificate-authority';
import { DISCONNECT_REASON, earlyDisconnect } from './early-disconnect';
import { loadOrCreateHostKey } from './host-key';
import { loadShellParser } from './shell-classifier';
import { parseSshTarget, type SshTarget } from './ssh-target';
import { coalesceWrites } from './write-coalescing';

/** The SSH adapter, registered under protocol `ssh`. */
export const sshAdapter: AdapterFactory<SshTarget> = {
  protocol: 'ssh',
  parseTarget: parseSshTarget,
  create: (context) => new SshAdapter(context),
};

/** What the server says it is (`SSH-2.0-Warden`). */
const IDENT = 'Warden';

class SshAdapter implements Adapter {
  /** Accepts TCP connections and hands them to ssh2 (`injectSocket`), or turns them away itself. */
  private listener: net.Server | undefined;
  private readonly connections = new Set<ClientConnection>();
  /** Client sockets handed to ssh2, logins included, by `ip:port`. */
  private readonly sockets = new Map<string, net.Socket>();
  private readonly limits: GatewayLimits;
  private stopping: Promise<void> | undefined;

  constructor(private readonly context: AdapterContext<SshTarget>) {
    this.limits = context.limits ?? DEFAULT_LIMITS;
  }

  async start(): Promise<ListenAddress> {
    const { connection, dataDir } = this.context;
    // The host key must survive restarts and recordings need a home: no data directory, no SSH.
    if (dataDir === undefined) throw new WardenError('config', `connection ${connection.name}: the ssh adapter needs a data directory (host key, recordings)`);
    loadShellParser();
    const hostKey = await loadOrCreateHostKey(dataDir, connection.name);
    const certificates = await SshCertificateAuthority.open(dataDir);
    const recordingsDir = recordingsDirOf(dataDir);
    const boundKeys = parseBoundKeys(connection.target.publicKeys);
    await mkdir(recordingsDir, { recursive: true, mode: 0o700 });

    const { limits } = this;
    const server = new Server({ hostKeys: [hostKey], ident: IDENT }, (client, info) => {
      const address = `${info.ip}:${info.port}`;
      const handled = new ClientConnection(client, {
        context: this.context,
        recordingsDir,
        certificates,
        boundKeys,
        address,
        software: info.header.versions.software,
        idleTimeoutMs: limits.idleTimeoutSeconds * 1000,
        draining: () => this.stopping !== undefined,
        onClose: (closed) => this.connections.delete(closed),
      });
      this.connections.add(handled);
    });
    const listener = net.createServer((socket) => this.accept(server, socket));
    this.listener = listener;
    const { listen } = connection;
    return listenOn(listener, listen, this.context.log, { protocol: 'ssh' });
  }

  /** A new TCP connection: refused with a reason while stopping or when the listener is full; else SSH. */
  private accept(server: Server, socket: net.Socket): void {
    const { limits } = this;
    const address = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    socket.on('error', () => undefined);
    if (this.stopping) return this.turnAway(socket, DISCONNECT_REASON.SSH_DISCONNECT_BY_APPLICATION, 'Warden is shutting down; connect again once it is back');
    if (this.sockets.size >= limits.maxConnectionsPerListener) {
      this.context.log.warn('connection refused: listener full', { client: address, limit: limits.maxConnectionsPerListener });
      return this.turnAway(socket, DISCONNECT_REASON.SSH_DISCONNECT_TOO_MANY_CONNECTIONS, `Warden: too many connections on this listener (the limit is ${limits.maxConnectionsPerListener}); try again later`);
    }
    this.sockets.set(address, socket);
    // Slow-loris: a client that has not logged in within the login timeout is cut off, whatever
    // stage it is at (no identification line, key exchange, an authentication left hanging).
    const loginTimer = setTimeout(() => {
      const connection = [...this.connections].find((candidate) => candidate.address === address);
      if (connection?.authenticated) return;
      this.context.log.warn('login timed out: connection closed', { client: address, limitSeconds: limits.loginTimeoutSeconds });
      if (connection) connection.loginTimedOut();
      setTimeout(() => socket.destroy(), 1000).unref();
    }, limits.loginTimeoutSeconds * 1000);
    loginTimer.unref();
    socket.once('close', () => {
      clearTimeout(loginTimer);
      this.sockets.delete(address);
    });
    coalesceWrites(socket);
    server.injectSocket(socket);
  }

  private turnAway(socket: net.Socket, reason: (typeof DISCONNECT_REASON)[keyof typeof DISCONNECT_REASON], description: string): void {
    socket.end(earlyDisconnect(IDENT, reason, description));
    // Read and drop what the client sends, so that its end of the connection is seen. The timer
    // stays referenced: while stopping, the listener closes only once this socket has, and a
    // socket nobody reads from does not keep the process alive that long on its own.
    socket.resume();
    setTimeout(() => socket.destroy(), 1000);
  }

  stop(): Promise<void> {
    return (this.stopping ??= this.drain());
  }

  /**
   * New clients are turned away from here; each session closes its shells and sftp channels at
   * once and its running exec commands finish, up to `limits.drainTimeoutSeconds`; then every
   * connection still open is ended.
   */
  private async drain(): Promise<void> {
    const listener = this.listener;
    if (!listener) return;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.limits.drainTimeoutSeconds * 1000)));
    await Promise.race([Promise.all([...this.connections].map((connection) => connection.drain())), timedOut]);
    clearTimeout(timer);
    await Promise.all([...this.connections].map((connection) => connection.shutdown()));
    for (const socket of this.sockets.values()) socket.destroy();
    await new Promise<void>((resolve) => listener.close(() => resolve()));
  }
}
