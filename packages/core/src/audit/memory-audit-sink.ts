import { systemClock, type Clock } from '../clock';
import { WardenError } from '../errors';
import type { AuditEvent, AuditEventType, AuditReceipt, AuditRecord, AuditSink } from './audit-event';
import { GENESIS_HASH, sealRecord } from './hash-chain';

/**
 * An audit sink for tests: records stay in memory, chained and hashed exactly as the file log
 * chains them. `fail(reason)` puts it in the failed state so tests can check that callers fail
 * closed.
 *
 * @example
 * const audit = new MemoryAuditSink();
 * audit.fail('disk full');
 * await expect(session.decide(command)).rejects.toMatchObject({ code: 'audit-unavailable' });
 */
export class MemoryAuditSink implements AuditSink {
  private readonly clock: Clock;
  private readonly stored: AuditRecord[] = [];
  private failure: string | undefined;
  private closed = false;

  constructor(options: { readonly clock?: Clock } = {}) {
    this.clock = options.clock ?? systemClock;
  }

  /** Every record appended so far, in chain order. */
  get records(): readonly AuditRecord[] {
    return this.stored;
  }

  /** The records of one event type, typed accordingly. */
  ofType<T extends AuditEventType>(type: T): Extract<AuditRecord, { readonly type: T }>[] {
    return this.stored.filter((record): record is Extract<AuditRecord, { readonly type: T }> => record.type === type);
  }

  get failed(): boolean {
    return this.failure !== undefined;
  }

  /** From now on every append rejects, as the file log does after a failed write. */
  fail(reason: string): void {
    this.failure ??= reason;
  }

  append(event: AuditEvent): Promise<AuditReceipt> {
    if (this.failure !== undefined) {
      return Promise.reject(new WardenError('audit-unavailable', `the audit log cannot be written: ${this.failure}`));
    }
    if (this.closed) return Promise.reject(new WardenError('audit-unavailable', 'the audit log is closed'));
    const last = this.stored.at(-1);
    try {
      const { record } = sealRecord(event, (last?.seq ?? 0) + 1, this.clock.now().toISOString(), last?.hash ?? GENESIS_HASH);
      this.stored.push(record);
      return Promise.resolve({ seq: record.seq, hash: record.hash });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}
