import { randomInt, timingSafeEqual } from 'node:crypto';
import type { Logger, Session } from '@warden/core';
import type { PostgresTarget } from './postgres-target';
import { cancelOnTarget } from './target-connection';

interface Entry {
  readonly secretKey: number;
  readonly session: Session;
  readonly targetProcessId: number;
  readonly targetSecretKey: number;
}

/**
 * Warden gives each client its own BackendKeyData, so clients never learn the target's keys, and
 * routes a client's CancelRequest to the target backend that serves that client.
 */
export class CancelKeys {
  private readonly entries = new Map<number, Entry>();

  constructor(
    private readonly target: PostgresTarget,
    private readonly log: Logger,
  ) {}

  register(session: Session, targetProcessId: number, targetSecretKey: number): { processId: number; secretKey: number } {
    let processId = randomInt(1, 0x7fffffff);
    while (this.entries.has(processId)) processId = randomInt(1, 0x7fffffff);
    const secretKey = randomInt(0, 0x7fffffff);
    this.entries.set(processId, { secretKey, session, targetProcessId, targetSecretKey });
    return { processId, secretKey };
  }

  unregister(processId: number): void {
    this.entries.delete(processId);
  }

  /** Cancel requests carry no reply by protocol design; failures are logged, never reported. */
  async cancel(processId: number, secretKey: Buffer, from: string): Promise<void> {
    const entry = this.entries.get(processId);
    const expected = Buffer.alloc(4);
    if (entry) expected.writeInt32BE(entry.secretKey);
    if (!entry || secretKey.length !== 4 || !timingSafeEqual(expected, secretKey)) {
      this.log.warn('cancel request with an unknown key ignored', { client: from });
      return;
    }
    entry.session.recordEvent('cancel', { from });
    try {
      await cancelOnTarget(this.target, entry.targetProcessId, entry.targetSecretKey, this.target.connectTimeoutMs);
    } catch (error) {
      this.log.warn('cancel could not reach the target', { session: entry.session.id, error: (error as Error).message });
    }
  }
}
