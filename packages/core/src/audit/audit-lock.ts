import { readFile, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { WardenError } from '../errors';

/** The lock file next to the log. */
export const AUDIT_LOCK_FILE = 'audit.lock';

interface LockContent {
  readonly pid: number;
  readonly host: string;
  readonly owner: string;
  readonly since: string;
}

export interface AuditLock {
  readonly file: string;
  release(): Promise<void>;
}

/**
 * One writer per log, across processes. Two processes appending to one file would both continue
 * the chain from the same record and fork it; so whoever appends — the gateway for as long as it
 * runs, the CLI for the moment it records an `evidence.read` — first creates `audit.lock`
 * exclusively (O_EXCL), with its pid, and removes it when done.
 *
 * A lock left by a process that died (kill -9, a crash) is taken over: same host and that pid no
 * longer runs, or it is this very pid (a restarted container's pid 1). A lock from another host (a
 * shared volume) is never taken over: remove it by hand once that gateway is surely stopped.
 */
export async function acquireAuditLock(dir: string, owner: string): Promise<AuditLock> {
  const file = path.join(dir, AUDIT_LOCK_FILE);
  const content: LockContent = { pid: process.pid, host: hostname(), owner, since: new Date().toISOString() };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await writeFile(file, `${JSON.stringify(content)}\n`, { flag: 'wx', mode: 0o600 });
      heldHere.add(file);
      return { file, release: () => release(file, content) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw new WardenError('audit-unavailable', `cannot create the audit lock ${file}: ${(error as Error).message}`, { cause: error });
    }
    const holder = await readHolder(file);
    if (holder && !isStale(holder, file)) {
      throw new WardenError(
        'conflict',
        `the audit log in ${dir} is in use by ${holder.owner} (pid ${holder.pid} on ${holder.host}, since ${holder.since}); if that process is surely gone, remove ${file}`,
      );
    }
    // Stale (or unreadable: a holder that died while writing it): remove and try again.
    await unlink(file).catch(() => undefined);
  }
  throw new WardenError('conflict', `the audit lock ${file} could not be taken`);
}

async function readHolder(file: string): Promise<LockContent | undefined> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as Partial<LockContent>;
    if (typeof parsed.pid !== 'number' || typeof parsed.host !== 'string') return undefined;
    return { pid: parsed.pid, host: parsed.host, owner: String(parsed.owner ?? 'unknown'), since: String(parsed.since ?? '?') };
  } catch {
    return undefined;
  }
}

function isStale(holder: { readonly pid: number; readonly host: string }, file: string): boolean {
  if (holder.host !== hostname()) return false;
  if (holder.pid === process.pid) return !heldHere.has(file);
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Lock files held by this process (a second holder in the same process is refused, not taken over). */
const heldHere = new Set<string>();

async function release(file: string, content: LockContent): Promise<void> {
  heldHere.delete(file);
  const holder = await readHolder(file);
  // Only remove our own lock: never one another process took over after deciding ours was stale.
  if (holder && holder.pid === content.pid && holder.host === content.host) await unlink(file).catch(() => undefined);
}
