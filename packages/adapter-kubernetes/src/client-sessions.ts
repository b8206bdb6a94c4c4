/**
 * Sessions per client TCP connection. kubectl and client-node keep connections alive and send many
 * requests on each: the bearer token is verified (`gateway.admit`) once per connection and token,
 * and the session lives as long as the TCP connection; a second token on the same connection (rare)
 * gets its own session. A session whose token has expired is ended and the token admitted again
 * (which then fails): an expired token never keeps working on an old connection.
 */
import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import type { AdapterContext, Clock, Session, SessionEndReason } from '@warden/core';

interface Entry {
  readonly session: Promise<Session>;
}

/** A connection rarely carries more than one token; more than this many is refused. */
const MAX_TOKENS_PER_CONNECTION = 4;

export class ClientSessions {
  private readonly bySocket = new Map<Socket, Map<string, Entry>>();
  /** Work that must finish before a connection's sessions end (recording summaries). */
  private readonly pending = new Map<Socket, Set<Promise<unknown>>>();

  constructor(
    private readonly context: AdapterContext<unknown>,
    private readonly clock: Clock,
  ) {}

  /** The admitted session for this connection and token; rejects as `gateway.admit` does. */
  async sessionFor(socket: Socket, token: string, application: string | undefined): Promise<Session> {
    const key = createHash('sha256').update(token).digest('hex');
    let entries = this.bySocket.get(socket);
    if (!entries) {
      entries = new Map();
      this.bySocket.set(socket, entries);
      socket.once('close', () => {
        const idle = this.idle.get(socket);
        this.idle.delete(socket);
        if (idle !== undefined) void this.endAll(socket, 'error', idle);
        else void this.endAll(socket, this.stopping ? 'shutdown' : 'client-closed');
      });
    }
    const existing = entries.get(key);
    if (existing) {
      const session = await existing.session;
      if (session.identity.expiresAt.getTime() > this.clock.now().getTime()) return session;
      entries.delete(key);
      await session.end('refused', 'token expired');
    }
    if (entries.size >= MAX_TOKENS_PER_CONNECTION) throw new Error('too many tokens on one connection');
    const admitted = this.context.gateway.admit(
      this.context.connection.name,
      { kind: 'bearer', token },
      {
        address: `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`,
        ...(application === undefined ? {} : { application: application.slice(0, 200) }),
        tls: true,
      },
    );
    const entry = { session: admitted };
    entries.set(key, entry);
    // A refused token is not remembered: the next request tries again (and is audited again).
    admitted.catch(() => {
      if (entries.get(key) === entry) entries.delete(key);
    });
    return admitted;
  }

  /** Registers work that must be audited before the connection's sessions end. */
  track(socket: Socket, work: Promise<unknown>): void {
    let set = this.pending.get(socket);
    if (!set) this.pending.set(socket, (set = new Set()));
    set.add(work);
    void work.finally(() => set.delete(work));
  }

  /** The connection is being closed for being idle: its sessions end with `error` and this reason. */
  closedIdle(socket: Socket, reason: string): void {
    if (this.bySocket.has(socket)) this.idle.set(socket, reason);
  }

  private readonly idle = new Map<Socket, string>();

  /** Ends every session of a connection. */
  async endAll(socket: Socket, reason: SessionEndReason, error?: string): Promise<void> {
    const entries = this.bySocket.get(socket);
    if (!entries) return;
    this.bySocket.delete(socket);
    await Promise.allSettled([...(this.pending.get(socket) ?? [])]);
    this.pending.delete(socket);
    await Promise.all([...entries.values()].map((entry) => entry.session.then((session) => session.end(reason, error), () => undefined)));
  }

  /** The gateway is stopping: connections that close from now on end their sessions with `shutdown`. */
  draining(): void {
    this.stopping = true;
  }

  private stopping = false;

  /** Gateway shutdown. */
  async shutdown(): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.bySocket.keys()].map((socket) => this.endAll(socket, 'shutdown')));
  }
}
