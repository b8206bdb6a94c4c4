import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { WardenError } from '../errors';
import type { ApprovalRequest } from './approval-request';

/** Where approval requests live, so that they survive a restart of the gateway. */
export interface ApprovalStore {
  load(): Promise<ApprovalRequest[]>;
  /** Replace the stored set. Resolves once it is durable. */
  save(requests: readonly ApprovalRequest[]): Promise<void>;
}

/**
 * The embedded store: one JSON file in the data directory, replaced atomically (written to a
 * temporary file, synced, renamed) on every change. Approvals are few and small; the audit log,
 * not this file, is the evidence of what happened.
 */
export class FileApprovalStore implements ApprovalStore {
  readonly path: string;
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly dir: string, fileName = 'approvals.json') {
    this.path = join(dir, fileName);
  }

  async load(): Promise<ApprovalRequest[]> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new WardenError('internal', `cannot read the approval store ${this.path}: ${(error as Error).message}`, { cause: error });
    }
    try {
      const parsed = JSON.parse(text) as { requests?: unknown };
      if (!Array.isArray(parsed.requests)) throw new Error('no "requests" list');
      return parsed.requests as ApprovalRequest[];
    } catch (error) {
      throw new WardenError('internal', `the approval store ${this.path} is damaged: ${(error as Error).message}`, { cause: error });
    }
  }

  save(requests: readonly ApprovalRequest[]): Promise<void> {
    // Saves are serialized, so the last call's content is what ends up on disk.
    const snapshot = `${JSON.stringify({ version: 1, requests }, null, 1)}\n`;
    const next = this.writing.then(() => this.write(snapshot));
    this.writing = next.catch(() => undefined);
    return next;
  }

  private async write(content: string): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const temporary = `${this.path}.tmp`;
    const handle = await open(temporary, 'w', 0o600);
    try {
      await handle.writeFile(content, 'utf8');
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await rename(temporary, this.path);
  }
}

/** For tests and for gateways that do not need approvals to survive a restart. */
export class MemoryApprovalStore implements ApprovalStore {
  private requests: ApprovalRequest[] = [];

  load(): Promise<ApprovalRequest[]> {
    return Promise.resolve([...this.requests]);
  }

  save(requests: readonly ApprovalRequest[]): Promise<void> {
    this.requests = [...requests];
    return Promise.resolve();
  }
}
