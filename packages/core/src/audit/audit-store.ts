/**
 * The audit store contract: what the gateway and the evidence tools (`warden audit verify`,
 * `prove`, `export`, `sessions`) need from wherever the hash-chained log lives. The embedded store
 * is `FileAuditLog` (segmented JSON Lines files under the data directory); a PostgreSQL-backed store
 * for several gateway replicas implements the same two interfaces (see docs/architecture.md).
 *
 * Contract:
 * - **Order.** `append` gives the record its `seq` (1, 2, 3, … with no gap) and its `prev` (the
 *   previous record's hash) synchronously, in call order; records are stored and read back in
 *   that order. Readers see records in `seq` order only.
 * - **Durable.** `append` resolves once the record is as durable as the store promises
 *   (`FileAuditLog`: `disk` = written and `fdatasync`ed, survives a power loss; `os` = handed to
 *   the operating system, survives a crash of the process, synced within an interval). A
 *   database store resolves once its transaction has committed. Nothing that resolved may later
 *   be missing; a record whose append rejected may or may not be stored (a reader decides by the
 *   chain, not by the caller's belief).
 * - **Fail closed.** Once a write fails the store stays `failed`: every later append rejects with
 *   `WardenError('audit-unavailable')`, and the gateway refuses commands.
 * - **One writer.** One `AuditStore` appends to one log at a time: two writers would continue the
 *   chain from the same record and fork it. The file store enforces this with `audit.lock`; a
 *   database store with a lock on the log's head row (replicas then serialize their appends
 *   through it, or each replica writes its own log).
 * - **Readers never write.** An `AuditLogReader` may run in another process while the writer
 *   appends; it sees a prefix of the log, possibly ending in a record whose write is in flight
 *   (an unterminated line in the file store), which verification reports rather than trusts.
 */
import type { AuditReceipt, AuditSink } from './audit-event';

/**
 * Where a stored line is. `seq` is authoritative; `segment`/`offset` let the file store seek
 * instead of scanning (a database store ignores them and seeks by `seq`).
 */
export interface AuditPosition {
  /** The last record before the position (0: the start of the log). */
  readonly seq: number;
  /** File store: the segment number the position is in (1 = the first file). */
  readonly segment?: number;
  /** File store: the byte offset in that segment just after record `seq`. */
  readonly offset?: number;
}

/** One stored record, as stored: the exact bytes its hash was computed over. */
export interface AuditLogLine {
  readonly kind: 'line';
  /** The line without its newline. */
  readonly bytes: Buffer;
  /** A human name of where it is, for messages: `audit.log`, `audit/000002.jsonl`, a table name. */
  readonly where: string;
  /** Segment number (1-based; always 1 for a store without segments). */
  readonly segment: number;
  /** 1-based line number within the segment. */
  readonly line: number;
  /** Byte offset just past this line's newline within its segment (the resume offset after it). */
  readonly end: number;
  /** False for bytes after a segment's last newline: a write cut short, or one in flight. */
  readonly terminated: boolean;
  /** True for the last segment (only there can a tail be a write in flight). */
  readonly lastSegment: boolean;
}

/** A piece of the log that should be there and is not (a removed segment file). */
export interface AuditLogGap {
  readonly kind: 'gap';
  readonly where: string;
  readonly segment: number;
  readonly reason: string;
}

export type AuditLogItem = AuditLogLine | AuditLogGap;

/** Read access to a log: what verification, proofs, exports and the session index use. */
export interface AuditLogReader {
  /** Where the log is, for messages (the first segment's path, a database table). */
  readonly location: string;
  /**
   * The stored lines in log order, from `after` (default: the start), streamed: a large log is
   * never held in memory. Gaps are reported where they are. Throws an `ENOENT` error when there is
   * no log at all.
   */
  read(options?: { readonly after?: AuditPosition }): AsyncIterable<AuditLogItem>;
  /** The stored lines last first (the end of the log is where a writer resumes). */
  readBackward(): AsyncIterable<AuditLogLine>;
  /** How many records the log holds: the seq of its last complete record (0 when empty or absent). */
  size(): Promise<number>;
  /** The `where` of a segment by number, for messages about one that is not there (a store with segments). */
  segmentName?(segment: number): string;
}

/** A log a gateway appends to. See the contract above. */
export interface AuditStore extends AuditSink, AuditLogReader {
  /** Give the event its place in the chain now; resolve once it is durable. */
  append: AuditSink['append'];
  /** The seq of the last record known to be durable. */
  readonly durableSeq: number;
  /** Write what is queued, make it durable, release the writer's lock. */
  close(): Promise<void>;
}

export type { AuditReceipt };
