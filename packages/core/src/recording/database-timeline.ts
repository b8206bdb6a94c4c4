/**
 * Database session recordings: a timeline of what the client sent and what it saw, one JSON object
 * per line (JSON lines), appended while the session runs. `t` is milliseconds since the session's
 * start. The lines, by `type`:
 *
 * - `header` (first line): `format` (`warden-database-timeline`), `version` (1), `session`,
 *   `identity` (subject, issuer, kind, groups), `connection`, `protocol`, `clientAddress`, `start`
 *   (ISO-8601), `resultBytesPerCommand` (the cap in force);
 * - `command`: `seq`, `t`, `at` (ISO-8601), `text` (the statement as the audit log has it: detected
 *   values already redacted), `decision` (`effect`, and `rule`, `reason`, `approval`, `requestId`
 *   when it has them);
 * - `columns`: `seq`, `t`, `names` — a result set begins (a command may return several);
 * - `rows`: `seq`, `t`, `rows` — rows as the client received them after masking, each an array of
 *   values as text (`null` for NULL); a command's rows are written in batches as they stream;
 * - `result`: `seq`, `t`, `rows` (the count the audit record has, always exact), `recordedRows`
 *   (rows whose values are in the file), `truncated` (values stopped at the cap), `status`,
 *   `error`, `masked`, `timings` (`start`: the decision, `firstRow`, `end`, `ms`: the command's
 *   duration as the adapter measured it);
 * - `end` (last line): `t`, `reason`.
 *
 * Lines of pipelined commands may interleave; `seq` ties them to their command. The values of one
 * command are capped at `resultBytesPerCommand` bytes of JSON (0: no values, counts only): the row
 * that would cross it and every row after it are counted, not recorded. So a command never holds
 * more than the cap in memory, and the recording never holds a whole result set.
 */
import { createHash, type Hash } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import type { ResultRecording } from '../adapter';
import { WardenError } from '../errors';
import type { Decision, Identity, Protocol, ResultSummary, SessionEndReason } from '../events';
import type { RecordingSummary } from './asciicast-recorder';
import { whenDrained } from './when-drained';

/** The recording format's name in the header line. */
export const DATABASE_TIMELINE_FORMAT = 'warden-database-timeline';

/** The default cap on recorded result values per command: 64 KiB. */
export const DEFAULT_RESULT_BYTES_PER_COMMAND = 64 * 1024;

/** A batch of rows is written once its values reach this many bytes (or when the result ends). */
const ROWS_BATCH_BYTES = 16 * 1024;
/** Recorded lines are written at least this often … */
const FLUSH_INTERVAL_MS = 200;
/** … or as soon as this much is waiting. */
const FLUSH_BYTES = 256 * 1024;

export interface DatabaseTimelineHeader {
  readonly session: string;
  readonly identity: Pick<Identity, 'subject' | 'issuer' | 'kind' | 'groups'>;
  readonly connection: string;
  readonly protocol: Protocol;
  readonly clientAddress: string;
  readonly start: Date;
}

export interface DatabaseTimelineOptions {
  /** Bytes of result values recorded per command (JSON text); 0 = row counts only. */
  readonly resultBytesPerCommand: number;
}

/** The lines of a timeline, as `parseDatabaseTimeline` returns them. */
export type DatabaseTimelineLine =
  | {
      readonly type: 'header';
      readonly format: string;
      readonly version: number;
      readonly session: string;
      readonly identity: { readonly subject: string; readonly issuer: string; readonly kind: string; readonly groups: readonly string[] };
      readonly connection: string;
      readonly protocol: string;
      readonly clientAddress: string;
      readonly start: string;
      readonly resultBytesPerCommand: number;
    }
  | { readonly type: 'command'; readonly seq: number; readonly t: number; readonly at: string; readonly text: string; readonly decision: TimelineDecision }
  | { readonly type: 'columns'; readonly seq: number; readonly t: number; readonly names: readonly string[] }
  | { readonly type: 'rows'; readonly seq: number; readonly t: number; readonly rows: ReadonlyArray<ReadonlyArray<string | null>> }
  | {
      readonly type: 'result';
      readonly seq: number;
      readonly t: number;
      readonly rows: number;
      readonly recordedRows: number;
      readonly truncated: boolean;
      readonly status?: string;
      readonly error?: { readonly code: string; readonly message: string };
      readonly masked?: Readonly<Record<string, number>>;
      readonly timings: { readonly start: number; readonly firstRow?: number; readonly end: number; readonly ms: number };
    }
  | { readonly type: 'end'; readonly t: number; readonly reason: string };

export interface TimelineDecision {
  readonly effect: Decision['effect'];
  readonly rule?: string;
  readonly reason?: string;
  readonly approval?: string;
  readonly requestId?: string;
}

/** The recording state of one allowed command, from its decision to its result. */
class CommandTrack implements ResultRecording {
  recordedBytes = 0;
  recordedRows = 0;
  truncated = false;
  firstRow: number | undefined;
  private pending: string[] = [];
  private pendingBytes = 0;

  constructor(
    private readonly timeline: DatabaseTimelineRecorder,
    readonly seq: number,
    readonly start: number,
    private readonly cap: number,
  ) {}

  columns(names: readonly string[]): void {
    this.timeline.assertWritable();
    this.flush();
    this.timeline.line({ type: 'columns', seq: this.seq, t: this.timeline.now(), names: names.map(String) });
  }

  row(values: ReadonlyArray<string | null>): void {
    this.timeline.assertWritable();
    this.firstRow ??= this.timeline.now();
    if (this.truncated) return;
    if (this.cap === 0) {
      this.truncated = true;
      return;
    }
    const json = JSON.stringify(values.map((value) => (value === null ? null : String(value))));
    const bytes = Buffer.byteLength(json, 'utf8');
    if (this.recordedBytes + bytes > this.cap) {
      this.truncated = true;
      return;
    }
    this.recordedBytes += bytes;
    this.recordedRows++;
    this.pending.push(json);
    this.pendingBytes += bytes;
    if (this.pendingBytes >= ROWS_BATCH_BYTES) this.flush();
  }

  get wantsValues(): boolean {
    return !this.truncated;
  }

  get backedUp(): boolean {
    return this.timeline.backedUp;
  }

  drained(): Promise<void> {
    return this.timeline.drained();
  }

  /** Writes the rows gathered so far as one `rows` line. */
  flush(): void {
    if (this.pending.length === 0) return;
    // The row texts are JSON already: joined, not encoded again.
    this.timeline.raw(`{"type":"rows","seq":${this.seq},"t":${this.timeline.now()},"rows":[${this.pending.join(',')}]}\n`);
    this.pending = [];
    this.pendingBytes = 0;
  }
}

/**
 * Records one database session to a file (see the file comment for its lines). The session's
 * core calls `command` once per decided command and `result` once per result; the adapter feeds
 * the rows through the `ResultRecording` it gets on the ruling. A write failure is reported once
 * through `onError`; after it every call that would record throws `audit-unavailable`: a session
 * that cannot be recorded does not go on.
 */
export class DatabaseTimelineRecorder {
  private readonly out: WriteStream;
  private readonly hash: Hash = createHash('sha256');
  private readonly started = performance.now();
  private readonly tracks = new Map<number, CommandTrack>();
  private readonly cap: number;
  private bytes = 0;
  private commands = 0;
  private closing = false;
  private finished: { readonly summary: RecordingSummary | undefined; readonly flushed: Promise<void> } | undefined;
  private failure: Error | undefined;
  /** Lines not yet written (see `raw`), their length, and the timer that writes them. */
  private pending: string[] = [];
  private pendingLength = 0;
  private flushTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly file: string,
    header: DatabaseTimelineHeader,
    options: DatabaseTimelineOptions,
    private readonly onError: (error: Error) => void,
  ) {
    this.cap = Math.max(0, Math.floor(options.resultBytesPerCommand));
    this.out = createWriteStream(file, { flags: 'wx', mode: 0o600 });
    this.out.on('error', (error) => {
      if (this.failure) return;
      this.failure = error;
      this.onError(error);
    });
    this.line({
      type: 'header',
      format: DATABASE_TIMELINE_FORMAT,
      version: 1,
      session: header.session,
      identity: { subject: header.identity.subject, issuer: header.identity.issuer, kind: header.identity.kind, groups: header.identity.groups },
      connection: header.connection,
      protocol: header.protocol,
      clientAddress: header.clientAddress,
      start: header.start.toISOString(),
      resultBytesPerCommand: this.cap,
    });
  }

  /** Whether a write failed (the recording is incomplete). */
  get failed(): boolean {
    return this.failure !== undefined;
  }

  /**
   * Records a decided command. `text` must be the statement as audited (values redacted). For an
   * allowed command, returns the recording its result streams into.
   */
  command(seq: number, at: Date, text: string, decision: Decision): ResultRecording | undefined {
    this.assertWritable();
    this.commands++;
    const t = this.now();
    this.line({ type: 'command', seq, t, at: at.toISOString(), text, decision: timelineDecision(decision) });
    if (decision.effect !== 'allow') return undefined;
    const track = new CommandTrack(this, seq, t, this.cap);
    this.tracks.set(seq, track);
    return track;
  }

  /** Ends a command's entry with its result: the row count is the summary's, always. */
  result(seq: number, summary: ResultSummary): void {
    const track = this.tracks.get(seq);
    if (!track || this.closing) return;
    this.tracks.delete(seq);
    if (this.failure) return;
    track.flush();
    const end = this.now();
    this.line({
      type: 'result',
      seq,
      t: end,
      rows: summary.rows,
      recordedRows: track.recordedRows,
      truncated: track.truncated,
      ...(summary.status === undefined ? {} : { status: summary.status }),
      ...(summary.error ? { error: summary.error } : {}),
      ...(summary.masked && Object.keys(summary.masked).length > 0 ? { masked: summary.masked } : {}),
      timings: { start: track.start, ...(track.firstRow === undefined ? {} : { firstRow: track.firstRow }), end, ms: summary.durationMs },
    });
  }

  /** Whether the file's write buffer is over its high-water mark (pause the result until `drained`). */
  get backedUp(): boolean {
    return this.failure === undefined && this.out.writableNeedDrain;
  }

  /** Resolves once the write buffer has drained (at once when it is not backed up, or after a failure). */
  drained(): Promise<void> {
    return this.backedUp ? whenDrained(this.out) : Promise.resolve();
  }

  /**
   * Writes the `end` line and closes the file. The summary (SHA-256 and size of everything
   * written) is known at once, so that its audit record takes its place in the log before the
   * session's end; `flushed` resolves once the file is on its way to disk and rejects if the
   * recording is incomplete. The summary is undefined when a write already failed.
   */
  finish(reason: SessionEndReason): { readonly summary: RecordingSummary | undefined; readonly flushed: Promise<void> } {
    if (this.finished) return this.finished;
    for (const track of this.tracks.values()) track.flush();
    this.tracks.clear();
    this.line({ type: 'end', t: this.now(), reason });
    this.flushPending();
    this.closing = true;
    const summary = this.failure ? undefined : { file: this.file, sha256: this.hash.digest('hex'), bytes: this.bytes, events: this.commands };
    const flushed = new Promise<void>((resolve, reject) => {
      this.out.end(() => (this.failure ? reject(this.failure) : resolve()));
    });
    flushed.catch(() => undefined);
    this.finished = { summary, flushed };
    return this.finished;
  }

  /** `finish`, then resolves with the summary once the file is flushed; rejects if the recording is incomplete. */
  async close(reason: SessionEndReason): Promise<RecordingSummary> {
    const { summary, flushed } = this.finish(reason);
    await flushed;
    if (!summary) throw this.failure ?? new Error('the recording is incomplete');
    return summary;
  }

  /** Throws when nothing more can be recorded (a write failed, or the recording is closed). */
  assertWritable(): void {
    if (this.failure) throw new WardenError('audit-unavailable', 'the session recording cannot be written', { cause: this.failure });
    if (this.closing) throw new WardenError('audit-unavailable', 'the session recording is closed');
  }

  /** Milliseconds since the start, to the microsecond. */
  now(): number {
    return Math.round((performance.now() - this.started) * 1000) / 1000;
  }

  line(value: DatabaseTimelineLine): void {
    this.raw(`${JSON.stringify(value)}\n`);
  }

  /**
   * Lines are gathered and written every `FLUSH_INTERVAL_MS`, or at once past `FLUSH_BYTES`, and at
   * the end: a command is several lines (command, columns, rows, result), and a file write per
   * command would cost as much as the command's own trip through Warden. The recording is complete
   * only when the session ends (that is when its hash enters the audit log), so holding lines for a
   * moment loses nothing the log vouches for.
   */
  raw(line: string): void {
    if (this.failure) return;
    this.pending.push(line);
    this.pendingLength += line.length;
    if (this.pendingLength >= FLUSH_BYTES) this.flushPending();
    else if (!this.flushTimer) {
      this.flushTimer = setTimeout(() => this.flushPending(), FLUSH_INTERVAL_MS);
      this.flushTimer.unref();
    }
  }

  private flushPending(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.pendingLength = 0;
    if (this.pending.length === 0) return;
    const text = this.pending.length === 1 ? this.pending[0]! : this.pending.join('');
    this.pending = [];
    if (this.failure) return;
    const buffer = Buffer.from(text, 'utf8');
    this.hash.update(buffer);
    this.bytes += buffer.length;
    this.out.write(buffer);
  }
}

function timelineDecision(decision: Decision): TimelineDecision {
  return {
    effect: decision.effect,
    ...('rule' in decision && decision.rule !== undefined ? { rule: decision.rule } : {}),
    ...('reason' in decision ? { reason: decision.reason } : {}),
    ...(decision.effect === 'allow' && decision.approval !== undefined ? { approval: decision.approval } : {}),
    ...(decision.effect === 'review' ? { requestId: decision.requestId } : {}),
  };
}

/** Reads a timeline back, for replay and tests. Throws on a line that is not JSON or a first line that is not its header. */
export function parseDatabaseTimeline(text: string): DatabaseTimelineLine[] {
  const lines = text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as DatabaseTimelineLine);
  const header = lines[0];
  if (header?.type !== 'header' || header.format !== DATABASE_TIMELINE_FORMAT) throw new Error('not a database timeline recording');
  return lines;
}

/** Whether a recording file name is a database timeline (terminal recordings end in `.cast`). */
export function isDatabaseTimelineFile(file: string): boolean {
  return file.endsWith('.timeline.jsonl');
}
