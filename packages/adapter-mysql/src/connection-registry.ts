import type { Session } from '@warden/core';

/** A live client session, as another connection may stop it. */
export interface KillableSession {
  readonly session: Session;
  /** Stop the statement running on the target (KILL QUERY on its thread). */
  killQuery(): Promise<void>;
  /** End the client's session (KILL CONNECTION). */
  killConnection(): void;
}

export type KillMode = 'query' | 'connection';

/**
 * The connection ids Warden announces to clients (in the handshake, `CONNECTION_ID()` excepted),
 * mapped to their sessions, so that `KILL QUERY <id>` from a client's second connection (the
 * mariadb CLI on Ctrl-C, mysql2 on a query timeout) reaches the target thread that serves that
 * client. Only the same identity may kill a session: MySQL has no cancel secret, the token is it.
 */
export class ConnectionRegistry {
  private readonly entries = new Map<number, KillableSession>();

  register(connectionId: number, entry: KillableSession): void {
    this.entries.set(connectionId, entry);
  }

  unregister(connectionId: number): void {
    this.entries.delete(connectionId);
  }

  /** Kills for `requester`; false when there is no such connection it may see. */
  async kill(connectionId: number, requester: Session, mode: KillMode): Promise<boolean> {
    const entry = this.entries.get(connectionId);
    if (!entry) return false;
    const owner = entry.session.identity;
    if (owner.subject !== requester.identity.subject || owner.issuer !== requester.identity.issuer || entry.session.connection !== requester.connection) return false;
    entry.session.recordEvent(mode === 'query' ? 'cancel' : 'kill', { from: requester.id });
    if (mode === 'query') await entry.killQuery();
    else entry.killConnection();
    return true;
  }
}
