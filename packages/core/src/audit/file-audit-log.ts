import { writeSync } from 'node:fs';
import { mkdir, open, realpath, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { systemClock, type Clock } from '../clock';
import { WardenError } from '../errors';
import type { AuditEvent, AuditReceipt } from './audit-event';
import { checkAuditLine } from './audit-line';
import type { AuditLogItem, AuditLogLine, AuditPosition, AuditStore } from './audit-store';
import type { AuditSigningKey, Checkpoint } from './checkpoint';
import { acquireAuditLock, type AuditLock } from './audit-lock';
import { CHECKPOINTS_FILE, CheckpointWriter, readLastCheckpoint, type DurableTreeState } from './checkpoint-log';
import { GENESIS_HASH, sealRecord } from './hash-chain';
import { IncrementalMerkleTree, leafHash } from './merkle-tree';
import { readLinesBackward } from './read-lines-backward';
import { DEFAULT_SEGMENT_BYTES, FileAuditReader, listSegments, segmentDirOf, segmentName, segmentPath } from './file-segments';

export interface FileAuditLogOptions {
  /** Directory of the log; created with mode 0700 when missing (an existing one is left as it is). */
  readonly dir: string;
  readonly clock?: Clock;
  /**
   * A plain file name inside `dir`: the first segment. Default `audit.log`; later segments go to
   * `<dir>/<name without extension>/000002.jsonl`, … (see `file-segments.ts`).
   */
  readonly fileName?: string;
  /** Start a new segment once the current one would grow past this many bytes. Default 64 MiB. */
  readonly segmentBytes?: number;
  /**
   * When `append` resolves, i.e. how durable a record is before the client sees the command's result.
   * - `disk` (default): written and `fdatasync`ed — it survives a power loss.
   * - `os`: written to the operating system — it survives a crash (even `kill -9`) of the gateway
   *   process, and is `fdatasync`ed within `syncIntervalMs`; a power loss or kernel crash can lose
   *   that interval. Throughput is then no longer bounded by the disk's sync latency.
   */
  readonly durability?: AuditDurability;
  /** With `durability: 'os'`: the longest time a written record waits for its `fdatasync`. Default 100. */
  readonly syncIntervalMs?: number;
  /** Who holds the cross-process lock (`audit.lock`), for the message another writer sees. Default `a warden process`. */
  readonly lockOwner?: string;
  /** Signed Merkle tree checkpoints (see `checkpoint.ts`); none when absent. */
  readonly checkpoints?: AuditCheckpointOptions;
}

export interface AuditCheckpointOptions {
  readonly key: AuditSigningKey;
  /** Checkpoint once this many records are durable since the last one. Default 1000. */
  readonly everyRecords?: number;
  /** …and at least this often while records arrive. Default 60. */
  readonly everySeconds?: number;
  /** A plain file name inside the log's directory. Default `checkpoints.log`. */
  readonly fileName?: string;
  /** An external copy of each checkpoint (a file on another volume, a webhook). */
  readonly witness?: (checkpoint: Checkpoint) => Promise<void>;
  /** A checkpoint or witness failure (the log itself keeps working). */
  readonly onError?: (error: WardenError) => void;
}

/** The Merkle tree side of the log: where the tree stands and what is durable. */
interface TreeState {
  readonly tree: IncrementalMerkleTree;
  readonly writer: CheckpointWriter;
  readonly everyRecords: number;
  /** The segment the last written record is in. */
  segment: number;
  /** Bytes of that segment up to the last written record. */
  fileEnd: number;
  lastWrittenHash: string;
  /** The tree as of the last record known to be on stable storage. */
  durable: DurableTreeState;
  checkpointedSize: number;
  timer: ReturnType<typeof setInterval> | undefined;
}

export type AuditDurability = 'disk' | 'os';

interface PendingAppend {
  readonly line: string;
  /** The segment the record goes to (decided at append time, so the chain and the files agree). */
  readonly segment: number;
  readonly receipt: AuditReceipt;
  readonly resolve: (receipt: AuditReceipt) => void;
  readonly reject: (error: WardenError) => void;
}

/** Where the chain continues, and what must be cut off the end first. */
interface ChainHead {
  readonly seq: number;
  readonly hash: string;
  /** The last segment: the one appended to. */
  readonly segment: number;
  /** That segment's length once a torn tail is cut off (its current length when there is none). */
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
 * The embedded audit store: JSON Lines, one hash-chained `AuditRecord` per line, in append-only
 * segments of at most `segmentBytes` (see `file-segments.ts`; the chain runs across them).
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
export class FileAuditLog implements AuditStore {
  /** Absolute path of the log's first segment (`<dir>/audit.log`): the name the log goes by. */
  readonly path: string;
  private handle: FileHandle;
  /** The segment `handle` is open on. */
  private handleSegment: number;
  /** The segment and its size as of the last `append` call (queued records included). */
  private appendSegment: number;
  private appendBytes: number;
  private readonly segmentBytes: number;
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
  private readonly durability: AuditDurability;
  private readonly syncIntervalMs: number;
  /** With `os` durability: the pending timer that syncs written records, if any. */
  private syncTimer: ReturnType<typeof setTimeout> | undefined;
  /** With `os` durability: the sync in flight, if any. */
  private syncing: Promise<void> | undefined;
  private writtenSeq: number;
  private syncedSeqValue: number;
  private treeState: TreeState | undefined;
  private lock: AuditLock | undefined;

  private constructor(path: string, handle: FileHandle, openKey: string, head: ChainHead, options: FileAuditLogOptions) {
    this.path = path;
    this.handle = handle;
    this.handleSegment = head.segment;
    this.appendSegment = head.segment;
    this.appendBytes = head.validEnd;
    this.segmentBytes = Math.max(1, options.segmentBytes ?? DEFAULT_SEGMENT_BYTES);
    this.openKey = openKey;
    this.clock = options.clock ?? systemClock;
    this.durability = options.durability ?? 'disk';
    this.syncIntervalMs = options.syncIntervalMs ?? 100;
    this.lastSeq = head.seq;
    this.lastHash = head.hash;
    this.writtenSeq = head.seq;
    this.syncedSeqValue = head.seq;
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
    let segment: number;
    try {
      await mkdir(options.dir, { recursive: true, mode: 0o700 });
      // Appends go to the last segment; a new log starts with the first.
      segment = (await listSegments(path)).at(-1) ?? 1;
      handle = await open(segmentPath(path, segment), 'a', 0o600);
    } catch (error) {
      throw unavailable(`cannot open the audit log at ${path}: ${messageOf(error)}`, error);
    }
    try {
      openKey = join(await realpath(dirname(path)), basename(path));
    } catch (error) {
      await handle.close().catch(() => undefined);
      throw unavailable(`cannot open the audit log at ${path}: ${messageOf(error)}`, error);
    }
    // The cross-process lock first: its refusal names the holder (the gateway, a CLI).
    let lock: AuditLock;
    try {
      lock = await acquireAuditLock(options.dir, options.lockOwner ?? 'a warden process');
    } catch (error) {
      await handle.close().catch(() => undefined);
      // The lock's own error (code `conflict`, naming the holder) stays available as the cause.
      throw unavailable(error instanceof Error ? error.message : String(error), error);
    }
    if (openFiles.has(openKey)) {
      await lock.release();
      await handle.close().catch(() => undefined);
      throw unavailable(`the audit log at ${path} is already open in this process`);
    }
    openFiles.add(openKey);

    let log: FileAuditLog | undefined;
    try {
      const head = await findChainHead(path, segment);
      if (head.tornBytes > 0) await handle.truncate(head.validEnd);
      log = new FileAuditLog(path, handle, openKey, head, options);
      log.lock = lock;
      if (options.checkpoints) await log.startTree(options.checkpoints, head);
      if (head.tornBytes > 0) {
        // Awaited: the open only succeeds once the repair is itself on record (and the truncation durable).
        await log.append({ type: 'audit.repair', truncatedBytes: head.tornBytes, reason: head.tornReason ?? 'torn tail' });
      }
      return log;
    } catch (error) {
      if (log) await log.close().catch(() => undefined);
      else {
        openFiles.delete(openKey);
        await lock.release();
        await handle.close().catch(() => undefined);
      }
      if (error instanceof WardenError) throw error;
      throw unavailable(`cannot open the audit log at ${path}: ${messageOf(error)}`, error);
    }
  }

  /** The store's reader side (`AuditLogReader`): reads what is written, across segments. */
  get location(): string {
    return this.path;
  }

  read(options?: { readonly after?: AuditPosition }): AsyncIterable<AuditLogItem> {
    return new FileAuditReader(this.path).read(options);
  }

  readBackward(): AsyncIterable<AuditLogLine> {
    return new FileAuditReader(this.path).readBackward();
  }

  /** Records written so far (the last ones possibly not yet synced, with `os` durability). */
  size(): Promise<number> {
    return Promise.resolve(this.writtenSeq);
  }

  /** The last record known to be on stable storage. */
  get durableSeq(): number {
    return this.syncedSeqValue;
  }

  /** The segment appended to now (1 = the first file). */
  get segment(): number {
    return this.handleSegment;
  }

  /** The checkpoints file, when checkpoints are on. */
  get checkpointsPath(): string | undefined {
    return this.treeState ? resolve(this.path, '..', this.checkpointsFileName) : undefined;
  }

  private checkpointsFileName = CHECKPOINTS_FILE;

  /** How many checkpoints this process stored (0 without checkpoints). */
  get checkpointCount(): number {
    return this.treeState?.writer.count ?? 0;
  }

  private async startTree(options: AuditCheckpointOptions, head: ChainHead): Promise<void> {
    const fileName = options.fileName ?? CHECKPOINTS_FILE;
    if (fileName === '' || basename(fileName) !== fileName) throw new WardenError('config', `the checkpoints file name must be a plain file name, not '${fileName}'`);
    this.checkpointsFileName = fileName;
    const file = resolve(this.path, '..', fileName);
    const { tree, checkpointedSize } = await resumeTree(this.path, file, head);
    const writer = new CheckpointWriter({ file, key: options.key, clock: this.clock, ...(options.witness ? { witness: options.witness } : {}), ...(options.onError ? { onError: options.onError } : {}) });
    const state: TreeState = {
      tree,
      writer,
      everyRecords: Math.max(1, options.everyRecords ?? 1000),
      segment: head.segment,
      fileEnd: head.validEnd,
      lastWrittenHash: head.hash,
      durable: { ...tree.snapshot(), segment: head.segment, offset: head.validEnd, lastHash: head.hash },
      checkpointedSize,
      timer: undefined,
    };
    this.treeState = state;
    state.timer = setInterval(() => {
      if (this.closing || this.failure) return;
      // With `os` durability, sync first so the checkpoint covers every record written so far.
      void this.syncWritten().then(() => this.checkpointIfDue(true));
    }, Math.max(0.01, options.everySeconds ?? 60) * 1000);
    state.timer.unref?.();
  }

  /** Called once records up to `writtenSeq` are written: grow the tree (two hashes per record, amortized). */
  private growTree(batch: readonly PendingAppend[], bytes: number): void {
    const state = this.treeState;
    if (!state) return;
    for (const pending of batch) state.tree.append(leafHash(pending.receipt.hash));
    state.fileEnd += bytes;
    state.lastWrittenHash = batch.at(-1)?.receipt.hash ?? state.lastWrittenHash;
  }

  /** The tree as written so far; becomes `durable` once a sync that started after it completes. */
  private writtenTree(): DurableTreeState | undefined {
    const state = this.treeState;
    return state ? { ...state.tree.snapshot(), segment: state.segment, offset: state.fileEnd, lastHash: state.lastWrittenHash } : undefined;
  }

  private markDurable(snapshot: DurableTreeState | undefined): void {
    const state = this.treeState;
    if (!state || !snapshot || snapshot.size <= state.durable.size) return;
    state.durable = snapshot;
    this.checkpointIfDue(false);
  }

  /** Checkpoint the durable tree when enough records arrived (or on the timer / at close: when any did). */
  private checkpointIfDue(force: boolean): Promise<void> {
    const state = this.treeState;
    if (!state || this.failure) return Promise.resolve();
    const { durable } = state;
    if (durable.size === 0 || durable.size <= state.checkpointedSize) return Promise.resolve();
    if (!force && durable.size - state.checkpointedSize < state.everyRecords) return Promise.resolve();
    state.checkpointedSize = durable.size;
    return state.writer.write(durable);
  }

  /** True once a write or sync has failed; every append rejects from then on. */
  get failed(): boolean {
    return this.failure !== undefined;
  }

  /** The last record known to be on stable storage (`fdatasync` done). */
  get syncedSeq(): number {
    return this.syncedSeqValue;
  }

  /** How many write (+ datasync, with `disk` durability) batches have completed (for observability and tests). */
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
    // A segment is never empty of records, nor split inside one: a record that would take it past
    // the limit opens the next segment (a record larger than the limit gets a segment of its own).
    const bytes = Buffer.byteLength(sealed.line);
    if (this.appendBytes > 0 && this.appendBytes + bytes > this.segmentBytes) {
      this.appendSegment++;
      this.appendBytes = 0;
    }
    this.appendBytes += bytes;
    const segment = this.appendSegment;
    const receipt: AuditReceipt = { seq: sealed.record.seq, hash: sealed.record.hash };
    return new Promise<AuditReceipt>((resolvePending, rejectPending) => {
      this.queue.push({ line: sealed.line, segment, receipt, resolve: resolvePending, reject: rejectPending });
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
    if (this.syncTimer) clearTimeout(this.syncTimer);
    this.syncTimer = undefined;
    if (this.treeState?.timer) clearInterval(this.treeState.timer);
    await this.syncWritten();
    if (this.treeState) {
      // A clean stop leaves every record under a signed checkpoint.
      await this.checkpointIfDue(true);
      await this.treeState.writer.close();
    }
    openFiles.delete(this.openKey);
    await this.lock?.release();
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
      // With `os` durability the write is synchronous: it waits for the end of this turn of the
      // event loop, so that the caller's own work (forwarding the command) goes first.
      if (this.durability === 'os') await new Promise((resolve) => setImmediate(resolve));
      else await Promise.resolve();
      while (this.queue.length > 0) {
        const queued = this.queue;
        this.queue = [];
        // One write per segment the queued records go to (almost always one).
        for (let from = 0; from < queued.length; ) {
          let to = from + 1;
          while (to < queued.length && queued[to]!.segment === queued[from]!.segment) to++;
          const batch = from === 0 && to === queued.length ? queued : queued.slice(from, to);
          try {
            if (batch[0]!.segment !== this.handleSegment) await this.rotate(batch[0]!.segment);
            const bytes = Buffer.from(batch.map((pending) => pending.line).join(''), 'utf8');
            // Without a sync to wait for, a thread-pool round trip would cost more than the write:
            // a write into the page cache takes microseconds, so it is made synchronously.
            if (this.durability === 'os') writeFullySync(this.handle.fd, bytes);
            else await writeFully(this.handle, bytes);
            this.writtenSeq = batch.at(-1)?.receipt.seq ?? this.writtenSeq;
            this.growTree(batch, bytes.length);
            if (this.durability === 'disk') {
              const snapshot = this.writtenTree();
              await this.handle.datasync();
              this.syncedSeqValue = this.writtenSeq;
              this.markDurable(snapshot);
            } else {
              this.scheduleSync();
            }
          } catch (error) {
            this.fail(error, queued.slice(from));
            return;
          }
          this.batchCount++;
          for (const pending of batch) pending.resolve(pending.receipt);
          from = to;
        }
        await Promise.resolve();
      }
    } finally {
      // Cleared synchronously with the empty-queue check, so a later append starts a new loop.
      this.writer = undefined;
    }
  }

  /**
   * Move on to segment `segment`: what was written to the current one is made durable first (the
   * sync timer only ever syncs the current file), then the new file is created and its directory
   * entry synced, so that a crash cannot leave a later segment without the one before it.
   */
  private async rotate(segment: number): Promise<void> {
    while (this.syncing) await this.syncing;
    if (this.writtenSeq !== this.syncedSeqValue) {
      const snapshot = this.writtenTree();
      const written = this.writtenSeq;
      this.syncing = this.handle.datasync();
      try {
        await this.syncing;
      } finally {
        this.syncing = undefined;
      }
      this.syncedSeqValue = written;
      this.markDurable(snapshot);
    }
    const dir = segmentDirOf(this.path);
    const created = await mkdir(dir, { recursive: true, mode: 0o700 });
    const next = await open(segmentPath(this.path, segment), 'a', 0o600);
    try {
      await syncDirectory(dir);
      if (created !== undefined) await syncDirectory(dirname(this.path));
    } catch (error) {
      await next.close().catch(() => undefined);
      throw error;
    }
    const previous = this.handle;
    this.handle = next;
    this.handleSegment = segment;
    if (this.treeState) {
      this.treeState.segment = segment;
      this.treeState.fileEnd = 0;
    }
    await previous.close();
  }

  /** `os` durability: sync what was written within `syncIntervalMs`, one sync at a time. */
  private scheduleSync(): void {
    if (this.syncTimer || this.failure) return;
    this.syncTimer = setTimeout(() => {
      this.syncTimer = undefined;
      void this.syncWritten();
    }, this.syncIntervalMs);
    this.syncTimer.unref?.();
  }

  private async syncWritten(): Promise<void> {
    if (this.durability !== 'os' || this.failure) return;
    while (this.syncing) await this.syncing;
    const written = this.writtenSeq;
    if (written === this.syncedSeqValue) return;
    // Taken in the same turn as `written`: the tree then holds exactly the records this sync covers.
    const snapshot = this.writtenTree();
    this.syncing = this.handle.datasync().then(
      () => {
        this.syncedSeqValue = Math.max(this.syncedSeqValue, written);
        this.markDurable(snapshot);
      },
      (error: unknown) => this.fail(error, []),
    );
    try {
      await this.syncing;
    } finally {
      this.syncing = undefined;
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

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function writeFullySync(fd: number, buffer: Buffer): void {
  let offset = 0;
  while (offset < buffer.length) {
    const bytesWritten = writeSync(fd, buffer, offset, buffer.length - offset);
    if (bytesWritten <= 0) throw new Error('the write made no progress');
    offset += bytesWritten;
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
 * Read the end of the log — its last segment: the last record (checked against its own hash and
 * the record before it, which may be the previous segment's last) and any torn tail. A torn tail is
 * what a crash during a write leaves: bytes after the last newline, and at most one
 * newline-terminated line that is not JSON (when the file system kept a later block of the write
 * but not an earlier one). Anything else is damage for `verify` to locate.
 */
async function findChainHead(firstPath: string, segment: number): Promise<ChainHead> {
  const path = segmentPath(firstPath, segment);
  const reader = await open(path, 'r');
  try {
    // A character device such as /dev/full reports size 0 and is treated as empty.
    const { size } = await reader.stat();
    const lines = readLinesBackward(reader, size);
    const refuse = (what: string): WardenError =>
      unavailable(`the audit log at ${firstPath} is damaged (${what}); it will not be appended to. Run \`warden audit verify\` to locate the problem.`);
    const where = segment === 1 ? '' : ` of ${segmentName(firstPath, segment)}`;

    let validEnd = size;
    const tornParts: string[] = [];
    let next = await lines.next();
    if (!next.done && next.value.bytes.length > 0) {
      validEnd = next.value.start;
      tornParts.push('an incomplete last line');
    }
    next = await lines.next();
    if (next.done) return fromPreviousSegment();

    let last = checkAuditLine(next.value.bytes);
    if (!last.ok && last.unparseable) {
      validEnd = next.value.start;
      tornParts.push('an unparseable last line');
      next = await lines.next();
      if (next.done) return fromPreviousSegment();
      last = checkAuditLine(next.value.bytes);
    }
    if (!last.ok) throw refuse(`the last record${where}: ${last.reason}`);

    const record = last.record;
    next = await lines.next();
    if (next.done) {
      const before = segment === 1 ? undefined : await lastRecordOf(firstPath, segment - 1, refuse);
      if (record.seq !== (before?.seq ?? 0) + 1 || record.prev !== (before?.hash ?? GENESIS_HASH)) {
        throw refuse(segment === 1 ? `the first line is record ${record.seq}, not the start of a chain` : `the first record${where} (seq ${record.seq}) does not follow the last record of ${segmentName(firstPath, segment - 1)}`);
      }
    } else {
      const before = checkAuditLine(next.value.bytes);
      if (!before.ok) throw refuse(`the record before the last${where}: ${before.reason}`);
      if (before.record.seq !== record.seq - 1 || before.record.hash !== record.prev) {
        throw refuse(`the last record (seq ${record.seq}) does not follow the record before it (seq ${before.record.seq})`);
      }
    }
    return head(record.seq, record.hash);

    /** The last segment holds no record (a crash right after it was created): the chain ends in the one before. */
    async function fromPreviousSegment(): Promise<ChainHead> {
      if (segment === 1) return head(0, GENESIS_HASH);
      const before = await lastRecordOf(firstPath, segment - 1, refuse);
      return head(before.seq, before.hash);
    }

    function head(seq: number, hash: string): ChainHead {
      const tornBytes = size - validEnd;
      return tornBytes === 0
        ? { seq, hash, segment, validEnd, tornBytes }
        : { seq, hash, segment, validEnd, tornBytes, tornReason: `torn write (crash during an append?): removed ${tornParts.join(' and ')}${where}` };
    }
  } finally {
    await reader.close();
  }
}

/** The last record of a segment that is no longer written to: it must end cleanly. */
async function lastRecordOf(firstPath: string, segment: number, refuse: (what: string) => WardenError): Promise<{ seq: number; hash: string }> {
  const name = segmentName(firstPath, segment);
  let reader: FileHandle;
  try {
    reader = await open(segmentPath(firstPath, segment), 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw refuse(`segment ${name} is missing`);
    throw error;
  }
  try {
    const lines = readLinesBackward(reader, (await reader.stat()).size);
    const tail = await lines.next();
    if (!tail.done && tail.value.bytes.length > 0) throw refuse(`${name} ends in an incomplete line`);
    const next = await lines.next();
    if (next.done) throw refuse(`${name} holds no record`);
    const checked = checkAuditLine(next.value.bytes);
    if (!checked.ok) throw refuse(`the last record of ${name}: ${checked.reason}`);
    return { seq: checked.record.seq, hash: checked.record.hash };
  } finally {
    await reader.close();
  }
}

/**
 * Rebuild the tree at open: from the last checkpoint's resume state plus the records after it, or
 * (no checkpoint yet) from the whole log. The records read are checked like `verify` does, and a
 * log that no longer holds what the last checkpoint covered is refused: appending to it, and
 * signing the result, would launder a truncation.
 */
async function resumeTree(logPath: string, checkpointsFile: string, head: ChainHead): Promise<{ tree: IncrementalMerkleTree; checkpointedSize: number }> {
  const refuse = (what: string): WardenError =>
    unavailable(`the audit log at ${logPath} does not match its checkpoints (${what}); it will not be appended to. Run \`warden audit verify\` to locate the problem.`);
  const last = await readLastCheckpoint(checkpointsFile);
  let tree = new IncrementalMerkleTree();
  let after: AuditPosition = { seq: 0 };
  let prevHash = GENESIS_HASH;
  if (last?.resume) {
    try {
      tree = new IncrementalMerkleTree(last.size, last.resume.frontier.map((node) => Buffer.from(node, 'hex')));
    } catch {
      throw refuse(`the last checkpoint's tree state is malformed`);
    }
    if (tree.root().toString('hex') !== last.root) throw refuse(`the last checkpoint's tree state does not match its root`);
    const segment = last.resume.segment ?? 1;
    if (head.seq < last.size || segment > head.segment || (segment === head.segment && head.validEnd < last.resume.offset)) {
      throw refuse(`the log ends at record ${head.seq}, but checkpoint covers ${last.size} records: the log was cut short`);
    }
    after = { seq: last.size, segment, offset: last.resume.offset };
    prevHash = last.resume.lastHash;
  }
  let problem: string | undefined;
  for await (const item of new FileAuditReader(logPath).read({ after })) {
    const expected = tree.size + 1;
    if (item.kind === 'gap') problem = item.reason;
    else if (item.segment === head.segment && item.end > head.validEnd) break;
    else {
      const checked = checkAuditLine(item.bytes);
      if (!item.terminated) problem = `record ${expected}: an incomplete line in ${item.where}`;
      else if (!checked.ok) problem = `record ${expected}: ${checked.reason}`;
      else if (checked.record.seq !== expected) problem = `record ${expected} expected, found ${checked.record.seq}`;
      else if (checked.record.prev !== prevHash) problem = `record ${expected} does not follow the record before it`;
      if (!problem && checked.ok) {
        tree.append(leafHash(checked.record.hash));
        prevHash = checked.record.hash;
      }
    }
    if (problem) break;
  }
  if (problem) throw refuse(problem);
  if (tree.size !== head.seq || prevHash !== head.hash) throw refuse(`the records after the last checkpoint do not lead to the last record`);
  return { tree, checkpointedSize: last?.size ?? 0 };
}

function unavailable(message: string, cause?: unknown): WardenError {
  return new WardenError('audit-unavailable', message, cause === undefined ? undefined : { cause });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
