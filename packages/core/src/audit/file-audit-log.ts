import { mkdir, open, realpath, type FileHandle } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { systemClock, type Clock } from '../clock';
import { WardenError } from '../errors';
import type { AuditEvent, AuditReceipt, AuditSink } from './audit-event';
import { checkAuditLine } from './audit-line';
import { GENESIS_HASH, sealRecord } from './hash-chain';
import { readLinesBackward } from './read-lines-backward';

export interface FileAuditLogOptions {
  /** Directory of the log; created with mode 0700 when missing (an existing one is left as it is). */
  readonly dir: string;
  readonly clock?: Clock;
  /** A plain file name inside `dir`. Default `audit.log`. */
  readonly fileName?: string;
}

interface PendingAppend {
  readonly line: string;
  readonly receipt: AuditReceipt;
  readonly resolve: (receipt: AuditReceipt) => void;
  readonly reject: (error: WardenError) => void;
}

/** Where the chain continues, and what must be cut off the end first. */
interface ChainHead {
  readonly seq: number;
  readonly hash: string;
  /** The file's length once a torn tail is cut off (its current length when there is none). */
  readonly validEnd: number;
  readonly tornBytes: number;
  readonly tornReason?: string;
}

/**
 * Files open in this process. Two writers on one file would both continue the chain from the same
 * record and fork it, so a second `open` of the same file is refused. (Another process is not
 * detected: one gateway process per data directory.)
 */
const openFiles = new Set<string>();

/**
 * The embedded audit store: JSON Lines, one hash-chained `AuditRecord` per line.
 *
 * `append` places the record in the chain at once and resolves once it is on disk. Appends made
 * while a write is in flight are written together by the next write and `fdatasync` (group commit),
 * so many concurrent sessions share one sync instead of queueing for one each. When a write or a
 * sync fails the log fails closed: that batch, everything queued and every later append reject with
 * `WardenError('audit-unavailable')`, and `failed` stays true.
 *
 * @example
 * const log = await FileAuditLog.open({ dir: '/var/lib/warden/audit' });
 * const { seq } = await log.append({ type: 'gateway.start', version: '0.1.0', connections: ['clinic-db'] });
 */
export class FileAuditLog implements AuditSink {
  /** Absolute path of the log file. */
  readonly path: string;
  private readonly handle: FileHandle;
  private readonly clock: Clock;
  private readonly openKey: string;
  private lastSeq: number;
  private lastHash: string;
  private queue: PendingAppend[] = [];
  /** The running batch loop, if any; there is never more than one. */
  private writer: Promise<void> | undefined;
  private failure: { readonly message: string; readonly cause: unknown } | undefined;
  private closing: Promise<void> | undefined;
  private batchCount = 0;

  private constructor(path: string, handle: FileHandle, openKey: string, clock: Clock, head: ChainHead) {
    this.path = path;
    this.handle = handle;
    this.openKey = openKey;
    this.clock = clock;
    this.lastSeq = head.seq;
    this.lastHash = head.hash;
  }

  /**
   * Open (or create) the log and find where the chain continues by reading its end. A torn last
   * line, left by a crash in the middle of a write, is cut off and an `audit.repair` record says so.
   * Any other damage at the end refuses the open: appending to a broken chain would bury evidence.
   */
  static async open(options: FileAuditLogOptions): Promise<FileAuditLog> {
    const fileName = options.fileName ?? 'audit.log';
    if (fileName === '' || fileName === '.' || fileName === '..' || basename(fileName) !== fileName) {
      throw new WardenError('config', `the audit log file name must be a plain file name, not '${fileName}'`);
    }
    const path = resolve(options.dir, fileName);

    let handle: FileHandle;
    let openKey: string;
    try {
      await mkdir(options.dir, { recursive: true, mode: 0o700 });
      handle = await open(path, 'a', 0o600);
    } catch (error) {
      throw unavailable(`cannot open the audit log at ${path}: ${messageOf(error)}`, error);
    }
    try {
      openKey = await realpath(path);
    } catch (error) {
      await handle.close().catch(() => undefined);
      throw unavailable(`cannot open the audit log at ${path}: ${messageOf(error)}`, error);
    }
    if (openFiles.has(openKey)) {
      await handle.close().catch(() => undefined);
      throw unavailable(`the audit log at ${path} is already open in this process`);
    }
    openFiles.add(openKey);

    let log: FileAuditLog | undefined;
    try {
      const head = await findChainHead(path);
      if (head.tornBytes > 0) await handle.truncate(head.validEnd);
      log = new FileAuditLog(path, handle, openKey, options.clock ?? systemClock, head);
      if (head.tornBytes > 0) {
        // Awaited: the open only succeeds once the repair is itself on record (and the truncation durable).
        await log.append({ type: 'audit.repair', truncatedBytes: head.tornBytes, reason: head.tornReason ?? 'torn tail' });
      }
      return log;
    } catch (error) {
      if (log) await log.close().catch(() => undefined);
      else {
        openFiles.delete(openKey);
        await handle.close().catch(() => undefined);
      }
      if (error instanceof WardenError) throw error;
      throw unavailable(`cannot open the audit log at ${path}: ${messageOf(error)}`, error);
    }
  }

  /** True once a write or sync has failed; every append rejects from then on. */
  get failed(): boolean {
    return this.failure !== undefined;
  }

  /** How many write + datasync batches have completed (for observability and tests). */
  get batches(): number {
    return this.batchCount;
  }

  append(event: AuditEvent): Promise<AuditReceipt> {
    if (this.failure) return Promise.reject(this.failedError());
    if (this.closing) return Promise.reject(unavailable(`the audit log at ${this.path} is closed`));
    let sealed;
    try {
      sealed = sealRecord(event, this.lastSeq + 1, this.clock.now().toISOString(), this.lastHash);
    } catch (error) {
      return Promise.reject(error);
    }
    // The chain advances synchronously, so records keep the order of the calls.
    this.lastSeq = sealed.record.seq;
    this.lastHash = sealed.record.hash;
    const receipt: AuditReceipt = { seq: sealed.record.seq, hash: sealed.record.hash };
    return new Promise<AuditReceipt>((resolvePending, rejectPending) => {
      this.queue.push({ line: sealed.line, receipt, resolve: resolvePending, reject: rejectPending });
      this.writer ??= this.writeBatches();
    });
  }

  /** Write what is queued, then close the file. Appends made after `close` reject. */
  close(): Promise<void> {
    this.closing ??= this.finish();
    return this.closing;
  }

  private async finish(): Promise<void> {
    while (this.writer) await this.writer;
    openFiles.delete(this.openKey);
    try {
      await this.handle.close();
    } catch (error) {
      // Everything acknowledged was synced already; only report a close error on a healthy log.
      if (!this.failure) throw unavailable(`closing the audit log at ${this.path} failed: ${messageOf(error)}`, error);
    }
  }

  private async writeBatches(): Promise<void> {
    try {
      // Promise hops, not setImmediate: they let appends made in this turn (and by callers resuming
      // from the previous batch) join the batch, and they keep working under jest's fake timers.
      await Promise.resolve();
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        try {
          await writeFully(this.handle, Buffer.from(batch.map((pending) => pending.line).join(''), 'utf8'));
          await this.handle.datasync();
        } catch (error) {
          this.fail(error, batch);
          return;
        }
        this.batchCount++;
        for (const pending of batch) pending.resolve(pending.receipt);
        await Promise.resolve();
      }
    } finally {
      // Cleared synchronously with the empty-queue check, so a later append starts a new loop.
      this.writer = undefined;
    }
  }

  private fail(error: unknown, inFlight: readonly PendingAppend[]): void {
    this.failure = { message: `the audit log cannot be written: ${messageOf(error)}`, cause: error };
    const rejected = [...inFlight, ...this.queue];
    this.queue = [];
    for (const pending of rejected) pending.reject(this.failedError());
  }

  private failedError(): WardenError {
    const failure = this.failure ?? { message: 'the audit log cannot be written', cause: undefined };
    return unavailable(failure.message, failure.cause);
  }
}

async function writeFully(handle: FileHandle, buffer: Buffer): Promise<void> {
  let offset = 0;
  while (offset < buffer.length) {
    const { bytesWritten } = await handle.write(buffer, offset, buffer.length - offset);
    if (bytesWritten <= 0) throw new Error('the write made no progress');
    offset += bytesWritten;
  }
}

/**
 * Read the end of the log: the last record (checked against its own hash and the record before
 * it) and any torn tail. A torn tail is what a crash during a write leaves: bytes after the last
 * newline, and at most one newline-terminated line that is not JSON (when the file system kept a
 * later block of the write but not an earlier one). Anything else is damage for `verify` to locate.
 */
async function findChainHead(path: string): Promise<ChainHead> {
  const reader = await open(path, 'r');
  try {
    // A character device such as /dev/full reports size 0 and is treated as empty.
    const { size } = await reader.stat();
    const lines = readLinesBackward(reader, size);
    const refuse = (what: string): WardenError =>
      unavailable(`the audit log at ${path} is damaged (${what}); it will not be appended to. Run \`warden audit verify\` to locate the problem.`);

    let validEnd = size;
    const tornParts: string[] = [];
    let next = await lines.next();
    if (!next.done && next.value.bytes.length > 0) {
      validEnd = next.value.start;
      tornParts.push('an incomplete last line');
    }
    next = await lines.next();
    if (next.done) return head(0, GENESIS_HASH);

    let last = checkAuditLine(next.value.bytes);
    if (!last.ok && last.unparseable) {
      validEnd = next.value.start;
      tornParts.push('an unparseable last line');
      next = await lines.next();
      if (next.done) return head(0, GENESIS_HASH);
      last = checkAuditLine(next.value.bytes);
    }
    if (!last.ok) throw refuse(`the last record: ${last.reason}`);

    const record = last.record;
    next = await lines.next();
    if (next.done) {
      if (record.seq !== 1 || record.prev !== GENESIS_HASH) {
        throw refuse(`the first line is record ${record.seq}, not the start of a chain`);
      }
    } else {
      const before = checkAuditLine(next.value.bytes);
      if (!before.ok) throw refuse(`the record before the last: ${before.reason}`);
      if (before.record.seq !== record.seq - 1 || before.record.hash !== record.prev) {
        throw refuse(`the last record (seq ${record.seq}) does not follow the record before it (seq ${before.record.seq})`);
      }
    }
    return head(record.seq, record.hash);

    function head(seq: number, hash: string): ChainHead {
      const tornBytes = size - validEnd;
      return tornBytes === 0
        ? { seq, hash, validEnd, tornBytes }
        : { seq, hash, validEnd, tornBytes, tornReason: `torn write (crash during an append?): removed ${tornParts.join(' and ')}` };
    }
  } finally {
    await reader.close();
  }
}

function unavailable(message: string, cause?: unknown): WardenError {
  return new WardenError('audit-unavailable', message, cause === undefined ? undefined : { cause });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
