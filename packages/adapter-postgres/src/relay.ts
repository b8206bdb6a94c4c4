import { randomBytes } from 'node:crypto';
import type net from 'node:net';
import { WardenError, toWardenError, type Classification, type CommandInput, type Decision, type ImpactEstimate, type Logger, type Masker, type Ruling, type Session } from '@warden/core';
import { classifyPostgres } from '@warden/sql';
import { serialize } from 'pg-protocol';
import { errorResponse, readErrorFields } from './backend-messages';
import { redactNoticeMessage, redactNotificationMessage, redactParameterStatus } from './error-redaction';
import { decodeQuery } from './frontend-messages';
import { BackendCode, FrontendCode, SqlState } from './message-codes';
import { MessageSplitter, Visit, type VisitResult } from './message-splitter';
import { IdleTimer, RangeWriter } from '@warden/adapter-kit';
import type { ColumnResolver } from './column-resolver';
import { ResultMasker, type MaskedExecution } from './result-masker';
import { PgResultRecording } from './result-recording';
import { SqlSessionObjects, type SessionEffect } from './sql-session-objects';
import { StatementNames, type RefuseStep } from './statement-names';
import { cannotAnalyseReply, isMultipleCommandsError, isParseError, syntaxProbe } from './syntax-probe';

/** A command forwarded to the target whose result is being counted for the audit record. */
interface Execution extends MaskedExecution {
  readonly seq: number;
  readonly startedAt: number;
  readonly simple: boolean;
  rows: number;
  status?: string;
  error?: { code: string; message: string };
  /** Its result as the client receives it, into the session's timeline recording. */
  recording?: PgResultRecording;
  /** What its statements change in the session's SQL-level objects, one per statement, applied on their CommandComplete. */
  readonly effects?: ReadonlyArray<SessionEffect | undefined>;
  effectAt: number;
  /** Where the protocol names were when it was decided (what DEALLOCATE ALL / CLOSE ALL / DISCARD ALL end). */
  readonly namesMark: number;
}

/**
 * The target's answers up to one ReadyForQuery: what a Query, or the extended-protocol messages up
 * to a Sync, produce. Answers reach the client only once the audit records of the commands in the
 * segment are durable.
 */
interface Segment {
  closed: boolean;
  readonly executions: Execution[];
  durable: Promise<void> | undefined;
  durableDone: boolean;
  /** A refusal: the target was sent a statement that fails with `marker`; its error is replaced. */
  refusal?: { readonly marker: string; readonly reply: Buffer };
  /** A syntax probe of command `seq` (syntax-probe.ts): its ParseComplete is Warden's, the target's syntax error the client's. */
  syntaxProbe?: { readonly seq: number };
}

export interface RelayOptions {
  readonly client: net.Socket;
  readonly target: net.Socket;
  readonly session: Session;
  readonly log: Logger;
  readonly maxClientMessageSize: number;
  /** Close the session after this long without client traffic while nothing is running; 0 or absent = never. */
  readonly idleTimeoutMs?: number;
  /** Called once when the relay ends, for whatever reason. */
  readonly onClose: () => void;
  /** Ask the target to stop the command it is running (a CancelRequest on a new connection). */
  /** Cancels the statement running on the target; resolves once the target has taken the cancel (never rejects). */
  readonly cancelOnTarget?: () => Promise<void>;
  /** The planner's estimate of what a statement would touch, without running it (for approvers). */
  readonly estimate?: (statement: string) => Promise<ImpactEstimate>;
  /** Resolves result columns to tables for masking (shared per target); masking fails closed without it. */
  readonly columnResolver?: ColumnResolver;
  /** Test-only (see `PostgresAdapterOptions.testOnlyClassifier`); `classifyPostgres` otherwise. */
  readonly classify?: (sql: string) => Classification;
  /**
   * Looks at each ParameterStatus from the target: a reason ends the session at once (FATAL). Set
   * below `full` access, where a setting Warden cannot analyse statements under must never stay on.
   */
  readonly refuseParameterStatus?: (buffer: Buffer, start: number, end: number) => string | undefined;
}

/** Unacknowledged client bytes above which Warden stops reading from the client. */
const CLIENT_BACKLOG_LIMIT = 1 << 20;

/**
 * The steady state of a Postgres session: every Query and Execute is decided by the core before it
 * reaches the target; refusals are answered with an ErrorResponse in the right place of the stream
 * and leave the target session in the state the client expects (an error aborts the transaction);
 * everything else is forwarded untouched.
 *
 * A refusal is routed through the target on purpose: Warden sends it a statement that fails with a
 * unique marker, and replaces the target's error with its own. That keeps the order of answers
 * right under pipelining and puts the target in the same error state a real failure would (an
 * open transaction becomes aborted; an implicit extended-protocol transaction rolls back).
 *
 * Protocol state follows the target, not the client: prepared statements and portals reach the
 * target under names Warden makes (`StatementNames`), and SQL-level ones (PREPARE, DECLARE) are
 * known once the target confirmed them (`SqlSessionObjects`), so that what is decided is what runs.
 */
export class Relay {
  private readonly client: net.Socket;
  private readonly target: net.Socket;
  private readonly session: Session;
  private readonly log: Logger;
  private readonly classify: (sql: string) => Classification;
  private readonly toTarget: RangeWriter;
  private readonly toClient: RangeWriter;
  private readonly fromClient: MessageSplitter;
  private readonly fromTarget: MessageSplitter;
  /** The extended protocol's statements and portals: Warden names them on the target (see StatementNames). */
  private readonly names: StatementNames;
  /** SQL-level prepared statements and cursors (PREPARE, DECLARE …), by name. */
  private readonly sqlObjects: SqlSessionObjects;
  private readonly segments: Segment[] = [];
  /** After a refused extended-protocol message: drop client messages until Sync, as Postgres does. */
  private skippingToSync = false;
  private readonly results: ResultMasker;
  /** The session's masking (one identity on one connection: the same on every ruling), for error and notice text. */
  private errorMasker: Masker | undefined;
  private closed = false;
  /** The client sent Terminate: the target's close that follows is the client's doing. */
  private terminated = false;
  /** A command is being decided: client messages before it wait in `toTarget` (see decideAndForward). */
  private deciding = false;
  /** A result was cut at the session's row budget: drop the target's answers up to ReadyForQuery. */
  private cutting = false;
  /** After a cut: the cancel sent to the target, until the target has taken it. */
  private cancelling: Promise<void> | undefined;
  /** Busy while answers are pending or the client's input is held (a decision, an approval). */
  private readonly idle: IdleTimer;
  /** The recording written to last: its file's back-pressure pauses the target. */
  private recording: PgResultRecording | undefined;

  constructor(private readonly options: RelayOptions) {
    this.client = options.client;
    this.target = options.target;
    this.session = options.session;
    this.log = options.log;
    this.classify = options.classify ?? classifyPostgres;
    this.toTarget = new RangeWriter(this.target);
    this.toClient = new RangeWriter(this.client);
    this.results = new ResultMasker(options.columnResolver ?? unavailableColumnResolver);
    this.names = new StatementNames(this.classify, (portal) => this.results.forgetPortal(portal));
    this.sqlObjects = new SqlSessionObjects(this.classify, (name) => this.names.statement(name)?.target);
    this.idle = new IdleTimer(options.idleTimeoutMs ?? 0, () => this.segments.length > 0 || this.fromClient.paused, (seconds) => this.idleClosed(seconds));
    this.fromClient = new MessageSplitter(
      { maxMessageSize: options.maxClientMessageSize, startup: false },
      (code, buffer, start, end) => this.onClientMessage(code, buffer, start, end),
      () => this.afterClientBatch(),
    );
    // Results can legitimately be large (a 1 GB bytea); only the protocol's own limit applies.
    this.fromTarget = new MessageSplitter(
      { maxMessageSize: 0x7fffffff, startup: false },
      (code, buffer, start, end) => this.onTargetMessage(code, buffer, start, end),
      () => this.afterTargetBatch(),
    );
  }

  start(): void {
    // What the client sees is recorded; a session that cannot be recorded does not go on.
    try {
      this.session.recordTimeline({ onFailure: (error) => this.failClosed(error) });
    } catch (error) {
      this.failClosed(error);
      return;
    }
    this.client.on('data', (chunk: Buffer) => {
      this.idle.touch();
      this.guard(() => this.fromClient.push(chunk));
    });
    this.target.on('data', (chunk: Buffer) => {
      this.idle.touch();
      this.guard(() => this.fromTarget.push(chunk));
    });
    this.client.on('drain', () => {
      if (!this.fromTarget.paused) this.target.resume();
    });
    this.target.on('drain', () => {
      if (!this.fromClient.paused) this.client.resume();
    });
    this.client.on('close', () => this.close('client-closed'));
    // Named while the socket is open: a closed socket no longer knows its peer.
    const targetName = `${this.target.remoteAddress ?? '?'}:${this.target.remotePort ?? '?'}`;
    // After the client's Terminate the target closes as asked: the client ended the session.
    this.target.on('close', () => (this.terminated ? this.close('client-closed') : this.close('target-closed', `the target ${targetName} closed the connection`)));
    this.client.on('error', (error) => this.close('error', `client connection: ${error.message}`));
    this.target.on('error', (error) => this.close('error', `target connection: ${error.message}`));
  }

  /** The session ends when the client sends nothing for the idle limit while no command runs. */
  private idleClosed(seconds: number): void {
    if (this.closed) return;
    this.log.info('session idle: closed', { session: this.session.id, idleSeconds: seconds });
    this.client.write(errorResponse({ severity: 'FATAL', code: SqlState.IdleSessionTimeout, message: `Warden: the session was idle for ${seconds} s (the limit); reconnect to continue` }));
    this.close('error', `idle for ${seconds} s`);
  }

  /**
   * Gateway shutdown, gently: the command in flight finishes and its result reaches the client,
   * then the session ends with 57P01; a command sent from now on ends it at once. Resolves when
   * the session has ended (the caller bounds the wait and then calls `shutdown`).
   */
  drain(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.draining ??= new Promise<void>((resolve) => (this.drained = resolve));
    this.shutdownIfIdle();
    return this.draining;
  }

  private draining: Promise<void> | undefined;
  private drained: (() => void) | undefined;

  private shutdownIfIdle(): void {
    if (this.draining && !this.closed && !this.deciding && this.segments.length === 0) this.shutdown();
  }

  /** Ends the session from outside (gateway shutdown). */
  shutdown(): void {
    if (this.closed) return;
    this.client.write(errorResponse({ severity: 'FATAL', code: SqlState.AdminShutdown, message: 'Warden is shutting down' }));
    this.close('shutdown');
  }

  // ---- client → target -------------------------------------------------------------------------

  private onClientMessage(code: number, buffer: Buffer, start: number, end: number): VisitResult {
    if (this.skippingToSync) {
      if (code === FrontendCode.Sync) {
        this.skippingToSync = false;
        this.toTarget.forward(buffer, start, end);
        this.names.sync();
        this.openSegment().closed = true;
      } else if (code === FrontendCode.Terminate) {
        this.terminated = true;
        this.toTarget.forward(buffer, start, end);
      }
      return Visit.Continue;
    }
    switch (code) {
      case FrontendCode.Query:
        this.names.sync(true);
        return this.decideAndForward(buffer, start, end, decodeQuery(buffer, start, end), true, { message: 'Query' });
      case FrontendCode.Parse:
        return this.sendNamed(this.names.parse(buffer, start, end));
      case FrontendCode.Bind: {
        const step = this.names.bind(buffer, start, end);
        // Formats by Warden's portal name: a rebound client name never mixes two Binds' formats.
        if (step.action === 'send') this.results.noteBind(buffer, start, end, step.portal.target);
        return this.sendNamed(step);
      }
      case FrontendCode.Execute: {
        const step = this.names.execute(buffer, start, end);
        if (step.action === 'refuse') return this.refuseAudited(step.command, step.reason, step.reply, false);
        const { portal } = step;
        // The audited text is the prepared text the target runs under Warden's portal name.
        const detail = { message: 'Execute', statement: portal.statement.client || '(unnamed)', portal: portal.client || '(unnamed)' };
        return this.decideAndForward(step.bytes, 0, step.bytes.length, portal.statement.text, false, detail, portal.statement.classification, portal.target);
      }
      case FrontendCode.Describe:
      case FrontendCode.Close:
        return this.sendNamed(code === FrontendCode.Describe ? this.names.describe(buffer, start, end) : this.names.close(buffer, start, end));
      case FrontendCode.Sync:
        this.forward(buffer, start, end);
        this.names.sync();
        this.openSegment().closed = true;
        return Visit.Continue;
      case FrontendCode.Flush:
      case FrontendCode.CopyData:
      case FrontendCode.CopyDone:
      case FrontendCode.CopyFail:
        return this.forward(buffer, start, end);
      case FrontendCode.Terminate:
        this.terminated = true;
        this.toTarget.forward(buffer, start, end);
        return Visit.Continue;
      case FrontendCode.FunctionCall: {
        this.names.sync(true);
        // FunctionCall: 'F' | int32 len | int32 function OID | … The fast-path interface calls any
        // function by OID (lo_open, lowrite, …): unknown here; the OID rides along in the detail for
        // the adapter's function catalog to judge (function-checked-session.ts).
        if (end - start < 9) throw new WardenError('protocol', 'FunctionCall message too short');
        const functionOid = String(buffer.readUInt32BE(start + 5));
        return this.decideAndForward(buffer, start, end, 'FunctionCall (fast-path interface)', true, { message: 'FunctionCall', functionOid }, {
          action: 'unknown',
          objects: [],
          bulk: false,
          statementCount: 1,
          statements: [{ action: 'unknown', objects: [], bulk: false, note: 'fast-path function call' }],
        });
      }
      default:
        throw new WardenError('protocol', `unexpected message type 0x${code.toString(16)} from client`);
    }
  }

  private forward(buffer: Buffer, start: number, end: number): VisitResult {
    this.toTarget.forward(buffer, start, end);
    this.openSegment();
    return Visit.Continue;
  }

  /** A message with Warden's names in place of the client's, or a refusal of a name the client does not have. */
  private sendNamed(step: { readonly action: 'send'; readonly bytes: Buffer } | RefuseStep): VisitResult {
    if (step.action === 'refuse') return this.refuseAudited(step.command, step.reason, step.reply, false);
    this.openSegment();
    this.toTarget.append(step.bytes);
    return Visit.Continue;
  }

  /**
   * Refuses a message for a protocol reason (a name the client does not have) as a command: the
   * core audits it as refused, and only once that record is durable does the target get the
   * refusal marker (so records and markers keep one order, and nothing goes on unaudited).
   * Reading from the client pauses meanwhile, as for a decision.
   */
  private refuseAudited(command: CommandInput, reason: string, reply: Buffer, endsSegment: boolean): VisitResult {
    let ruling: Ruling;
    try {
      ruling = this.session.refuse(command, reason);
    } catch (error) {
      this.failClosed(error);
      return Visit.Pause;
    }
    this.deciding = true;
    ruling.durable.then(
      () => {
        if (this.closed) return;
        this.deciding = false;
        const segment = this.openSegment();
        if (endsSegment) segment.closed = true;
        this.refuse(segment, reply, endsSegment);
        this.resumeClient();
      },
      (error: unknown) => this.failClosed(error),
    );
    return Visit.Pause;
  }

  /**
   * Decide on a Query, Execute or FunctionCall and forward it or refuse it. Pauses reading from the
   * client until the decision is in, so that messages keep their order.
   */
  private decideAndForward(
    buffer: Buffer,
    start: number,
    end: number,
    text: string,
    endsSegment: boolean,
    detail: Readonly<Record<string, string>>,
    classification?: Classification,
    portal?: string,
  ): VisitResult {
    if (this.draining) {
      // The gateway is stopping: no new command starts.
      this.shutdown();
      return Visit.Pause;
    }
    let classified = classification ?? this.classify(text);
    let effects: ReadonlyArray<SessionEffect | undefined> | undefined;
    if (detail['message'] !== 'FunctionCall') {
      // EXECUTE and FETCH are decided on what they run; unknown names get PostgreSQL's own error.
      const resolved = this.sqlObjects.resolve(text, classified, endsSegment);
      if (resolved.action === 'refuse') return this.refuseAudited({ text, classification: classified, detail }, resolved.reason, resolved.reply, endsSegment);
      if (resolved.detail) detail = { ...detail, ...resolved.detail };
      text = resolved.text;
      classified = resolved.classification;
      effects = resolved.effects;
      if (resolved.rewritten !== undefined) {
        buffer = serialize.query(resolved.rewritten);
        start = 0;
        end = buffer.length;
      }
    }
    const namesMark = this.names.mark();
    // A simple Query belongs to no batch: what is queued before it (an earlier Query) leaves now,
    // since its decision may wait for that Query's answer (settings-barrier-session.ts).
    if (endsSegment) this.toTarget.flush();
    // What the client sent before this command (a Bind) stays queued until the decision: the
    // target then gets the batch (Bind, Execute, Sync) in one write, not one per message.
    this.deciding = true;
    const estimate = this.options.estimate;
    // Only a single statement that changes something is worth planning for an approver.
    const estimable = estimate && classified.statementCount === 1 && (classified.action === 'write' || classified.action === 'ddl');
    const input = { text, classification: classified, detail, ...(estimable ? { estimateImpact: () => estimate(text) } : {}) };
    this.session
      .decide(input)
      // Fail closed: a command reaches the target only once its audit record is written, so a full
      // or unwritable audit store can never let one run unaudited; a refused one's marker (or its
      // syntax probe) waits too, so that every marker the target sees has its record.
      .then((ruling) => ruling.durable.then(() => ruling))
      .then(
        (ruling) => {
          if (this.closed) return;
          this.deciding = false;
          // A Query sent inside an unfinished extended-protocol batch shares its segment (and its answers).
          const alone = this.segments[this.segments.length - 1]?.closed !== false;
          const segment = this.openSegment();
          if (endsSegment) segment.closed = true;
          this.attachDurable(segment, ruling.durable);
          if (ruling.masker?.active) this.errorMasker = ruling.masker;
          if (ruling.decision.effect === 'allow') {
            const execution: Execution = { seq: ruling.command.seq, startedAt: performance.now(), simple: endsSegment, rows: 0, text, effectAt: 0, namesMark, ...(effects ? { effects } : {}), ...(ruling.masker ? { masker: ruling.masker } : {}), ...(portal === undefined ? {} : { portal }), ...(detail['message'] === 'FunctionCall' ? { fastPathFunction: ruling.command.classification.statements[0]?.functions?.[0] ?? '' } : {}) };
            if (ruling.recording) {
              execution.recording = new PgResultRecording(ruling.recording, () => this.results.exemptColumns(execution), portal === undefined ? undefined : () => this.results.resultFormats(portal));
            }
            segment.executions.push(execution);
            this.toTarget.forward(buffer, start, end);
          } else {
            if (effects) this.sqlObjects.settle(effects);
            const unparsed = ruling.decision.effect === 'block' && isParseError(classified);
            if (unparsed && detail['message'] === 'Query' && alone) {
              // The client gets the target's own syntax error, or, if the target accepts the text, a refusal.
              // (Alone: the probe's ParseComplete is then the only one in its segment.)
              this.probeSyntax(segment, ruling.command.seq, buffer, start, end, cannotAnalyseReply(classified, ruling.decision.rule));
            } else {
              // An Execute of a text Warden cannot parse is reached only if the target accepted its Parse.
              this.refuse(segment, unparsed && !endsSegment ? cannotAnalyseReply(classified, ruling.decision.rule) : refusalReply(ruling.decision), endsSegment);
            }
          }
          this.resumeClient();
        },
        (error: unknown) => this.failClosed(error),
      );
    return Visit.Pause;
  }

  /**
   * Answers `reply` (an ErrorResponse) in place of a client message: the target is sent a statement
   * that fails with a unique marker, whose error is then replaced, so the reply arrives in its place
   * in the stream and the target is left in the error state a failure of the client's own message
   * would leave (an aborted transaction; the extended protocol skipping to Sync).
   */
  private refuse(segment: Segment, reply: Buffer, simple: boolean): void {
    const marker = `warden-refused-${randomBytes(8).toString('hex')}`;
    segment.refusal = { marker, reply };
    const failing = `"${marker}"`;
    if (simple) {
      this.toTarget.write(serialize.query(failing));
    } else {
      this.toTarget.write(serialize.parse({ name: '', text: failing, types: [] }));
      this.skippingToSync = true;
    }
  }

  /**
   * Refuses a Query Warden's parser cannot read by asking the target only to parse it (see
   * syntax-probe.ts): its syntax error, or `accepted` if it has none, answers in the Query's place.
   */
  private probeSyntax(segment: Segment, seq: number, buffer: Buffer, start: number, end: number, accepted: Buffer): void {
    const marker = `warden-refused-${randomBytes(8).toString('hex')}`;
    segment.refusal = { marker, reply: accepted };
    segment.syntaxProbe = { seq };
    this.toTarget.write(syntaxProbe(buffer, start, end, marker));
  }

  private afterClientBatch(): void {
    if (!this.deciding && !this.toTarget.flush()) this.client.pause();
    if (this.fromClient.paused && this.fromClient.pendingBytes > CLIENT_BACKLOG_LIMIT) this.client.pause();
  }

  private resumeClient(): void {
    this.guard(() => {
      this.fromClient.resume();
      if (!this.fromClient.paused && this.client.isPaused() && this.target.writableNeedDrain === false) this.client.resume();
    });
  }

  // ---- target → client -------------------------------------------------------------------------

  private onTargetMessage(code: number, buffer: Buffer, start: number, end: number): VisitResult {
    // First of all (a result being cut drops messages): the session must not go on in this state.
    if (code === BackendCode.ParameterStatus && this.endsOnParameterStatus(buffer, start, end)) return Visit.Pause;
    const segment = this.segments[0];
    if (segment && !segment.durableDone && segment.durable) {
      // Nothing of a command's result reaches the client before its audit record is durable.
      const waitFor = segment.durable;
      this.toClient.flush();
      this.target.pause();
      waitFor.then(
        () => {
          if (segment.durable === waitFor) segment.durableDone = true;
          this.guard(() => {
            this.fromTarget.resume();
            if (!this.fromTarget.paused && this.client.writableNeedDrain === false) this.target.resume();
          });
        },
        (error: unknown) => this.failClosed(error),
      );
      return Visit.Wait;
    }
    const execution = segment?.executions[0];
    if (this.cutting) return this.afterCut(code, buffer, start, end, segment);
    if (code === BackendCode.DataRow && execution && this.overRowBudget(execution)) {
      this.cutResult(execution);
      return Visit.Continue;
    }
    // Masking: decided once per result column, applied per row; untouched rows are forwarded as they came.
    const masked = this.results.visit(code, buffer, start, end, execution);
    if (masked.action === 'wait') {
      this.toClient.flush();
      this.target.pause();
      masked.ready.then(() =>
        this.guard(() => {
          this.fromTarget.resume();
          if (!this.fromTarget.paused && this.client.writableNeedDrain === false) this.target.resume();
        }),
      );
      return Visit.Wait;
    }
    // The probe's Parse succeeded: the client sent no Parse (and StatementNames awaits none).
    if (code === BackendCode.ParseComplete && segment?.syntaxProbe) return Visit.Continue;
    // Consumed from here on: the names follow the target's answers once, in order.
    const named = this.names.target(code, buffer, start, end);
    if (named.action === 'swallow') return Visit.Continue;
    if (named.action === 'replace') {
      buffer = named.bytes;
      start = 0;
      end = named.bytes.length;
    }
    if (masked.action === 'fail') {
      // One line per withheld result: the reason is Warden's own text, never a value.
      this.log.warn('result withheld: masking failed', { session: this.session.id, error: masked.error.message });
      if (execution) execution.error = masked.error;
    }
    /** What the recording gets instead of an error or notice an exempt identity receives raw. */
    let recordedError: Buffer | undefined;
    switch (code) {
      case BackendCode.DataRow:
        if (execution) execution.rows++;
        break;
      case BackendCode.CommandComplete:
        if (execution) {
          execution.status = buffer.toString('utf8', start + 5, end - 1);
          this.sqlObjects.completed(execution.status);
          if (execution.effects) this.confirmEffect(execution, execution.status);
          if (!execution.simple) this.complete(segment);
        }
        break;
      case BackendCode.EmptyQueryResponse:
      case BackendCode.PortalSuspended:
        if (execution && !execution.simple) this.complete(segment);
        break;
      case BackendCode.ErrorResponse: {
        this.sqlObjects.failed();
        let fields = readErrorFields(buffer, start, end);
        const marked = segment?.refusal !== undefined && fields.message.includes(segment.refusal.marker);
        // A probed text the target accepts: its Parse succeeded (the marker failed), or it holds several statements.
        const accepted = segment?.syntaxProbe !== undefined && (marked || isMultipleCommandsError(buffer, start, end));
        if (segment?.syntaxProbe) {
          // What the target said of a refused command's text: a SQLSTATE, never a message (it can quote values).
          this.session.recordEvent('syntax-check', { commandSeq: segment.syntaxProbe.seq, targetAccepted: accepted, ...(marked ? {} : { targetError: fields.code }) });
        }
        if (segment?.refusal && (accepted || marked)) {
          this.toClient.write(segment.refusal.reply);
          return Visit.Continue;
        }
        const redaction = this.errorRedaction(execution);
        if (redaction) {
          // The values the target quoted never reach the audit log or a recording; nor the client, unless exempt from every column.
          const redacted = redactNoticeMessage(buffer, start, end);
          fields = readErrorFields(redacted, 0, redacted.length);
          if (redaction === 'everywhere') {
            buffer = redacted;
            start = 0;
            end = redacted.length;
          } else {
            recordedError = redacted;
          }
        }
        if (execution) {
          execution.error = fields;
          if (!execution.simple) {
            // Postgres skips the rest of the batch after an error: those commands never ran.
            this.complete(segment);
            while (segment.executions.length > 0) this.complete(segment, { code: fields.code, message: 'not executed: an earlier message in the batch failed' });
          }
        }
        break;
      }
      case BackendCode.NoticeResponse:
      case BackendCode.NotificationResponse: {
        const redaction = this.errorRedaction(execution);
        const redact = code === BackendCode.NoticeResponse ? redactNoticeMessage : redactNotificationMessage;
        if (redaction === 'everywhere') {
          buffer = redact(buffer, start, end);
          start = 0;
          end = buffer.length;
        } else if (redaction === 'audit') {
          recordedError = redact(buffer, start, end);
        }
        break;
      }
      case BackendCode.ParameterStatus: {
        // A setting a statement set from a column (a function calling set_config('application_name', ssn, …)).
        const redaction = this.errorRedaction(execution);
        const redacted = redaction ? redactParameterStatus(buffer, start, end) : undefined;
        if (redacted && redaction === 'everywhere') {
          buffer = redacted;
          start = 0;
          end = redacted.length;
        } else if (redacted) {
          recordedError = redacted;
        }
        break;
      }
      case BackendCode.ReadyForQuery:
        if (buffer[start + 5] === 0x49 /* I */) this.sqlObjects.transactionEnded();
        if (segment) {
          while (segment.executions.length > 0) this.complete(segment);
          this.segments.shift();
        }
        break;
      default:
        break;
    }
    if (masked.action === 'forward') {
      this.toClient.forward(buffer, start, end);
      if (recordedError) this.record(execution, code, recordedError, 0, recordedError.length);
      else this.record(execution, code, buffer, start, end);
    } else if (masked.action !== 'drop') {
      // Masked rows are new buffers: appended, a batch of them leaves in one write, not one write each.
      this.toClient.append(masked.bytes);
      if (masked.action === 'replace') this.record(execution, code, masked.bytes, 0, masked.bytes.length);
    }
    return Visit.Continue;
  }

  /**
   * Where a target error, notice or notification is redacted on a connection with masking: `everywhere` (client,
   * recording, audit), or only in the audit log for an identity exempt from every column.
   */
  private errorRedaction(execution: Execution | undefined): 'everywhere' | 'audit' | undefined {
    const masker = execution?.masker ?? this.errorMasker;
    if (!masker?.active) return undefined;
    return masker.exemptFromAll ? 'audit' : 'everywhere';
  }

  /** Ends the session when the target reports a setting it must not go on under (see `refuseParameterStatus`). */
  private endsOnParameterStatus(buffer: Buffer, start: number, end: number): boolean {
    const reason = this.options.refuseParameterStatus?.(buffer, start, end);
    if (reason === undefined || this.closed) return false;
    this.log.warn('session ended: target setting', { session: this.session.id, reason });
    this.toClient.flush();
    this.client.end(errorResponse({ severity: 'FATAL', code: SqlState.InsufficientPrivilege, message: `Warden: ${reason}; the session is ended` }));
    this.close('error', reason);
    return true;
  }

  /** One statement of `execution` completed with `tag`: what it changed in the session's objects now holds. */
  private confirmEffect(execution: Execution, tag: string): void {
    const effect = execution.effects?.[execution.effectAt++];
    if (!effect) return;
    const outcome = this.sqlObjects.confirm(effect, tag);
    if (outcome.protocolStatementsGone) this.names.forget('statement', execution.namesMark);
    if (outcome.protocolPortalsGone) this.names.forget('portal', execution.namesMark);
    if (outcome.protocolStatementGone) this.names.deallocated(outcome.protocolStatementGone.name, outcome.protocolStatementGone.target);
  }

  /** Records a message of `execution`'s result exactly as it was written to the client. */
  private record(execution: Execution | undefined, code: number, buffer: Buffer, start: number, end: number): void {
    const recording = execution?.recording;
    if (!recording) return;
    recording.sent(code, buffer, start, end);
    this.recording = recording;
  }

  /** Whether one more row of `execution` would go over the session's row budget. */
  private overRowBudget(execution: Execution): boolean {
    const limits = this.session.limits;
    if (!limits) return false;
    if (limits.rowsPerStatement !== undefined && execution.rows >= limits.rowsPerStatement) return true;
    return limits.rowsPerSession !== undefined && this.session.rowsSent + execution.rows >= limits.rowsPerSession;
  }

  /**
   * End a result at the row budget: the client gets an ErrorResponse after the rows it may have
   * (never a CommandComplete it would take for the whole result), the target is asked to stop, and
   * its remaining answers are dropped up to ReadyForQuery.
   */
  private cutResult(execution: Execution): void {
    const limits = this.session.limits ?? {};
    const perStatement = limits.rowsPerStatement !== undefined && execution.rows >= limits.rowsPerStatement;
    const message = perStatement
      ? `Warden: the result was cut after ${execution.rows} rows, the budget per statement; it is incomplete`
      : `Warden: the result was cut after ${execution.rows} rows: the session's budget of ${limits.rowsPerSession ?? 0} rows is used up; it is incomplete`;
    this.toClient.write(errorResponse({ severity: 'ERROR', code: SqlState.ProgramLimitExceeded, message, detail: `rule "budget:${perStatement ? 'rows-per-statement' : 'rows-per-session'}"` }));
    execution.error = { code: SqlState.ProgramLimitExceeded, message: message.replace(/^Warden: /, '') };
    this.cutting = true;
    this.session.recordEvent('budget.cut', { rows: execution.rows, limit: perStatement ? 'rows-per-statement' : 'rows-per-session' });
    this.log.warn('result cut at the row budget', { session: this.session.id, rows: execution.rows });
    this.cancelling = this.options.cancelOnTarget?.();
  }

  private afterCut(code: number, buffer: Buffer, start: number, end: number, segment: Segment | undefined): VisitResult {
    if (code !== BackendCode.ReadyForQuery) {
      // Dropped, but the names still follow what the target did.
      this.names.target(code, buffer, start, end);
      if (code === BackendCode.ErrorResponse) this.sqlObjects.failed();
      return Visit.Continue;
    }
    const cancelling = this.cancelling;
    if (cancelling) {
      // The statement may have ended before the cancel reached the target: hold the client's next
      // command (it waits for this ReadyForQuery) until the cancel has landed, or it would cancel that.
      this.cancelling = undefined;
      this.toClient.flush();
      this.target.pause();
      void cancelling.then(() =>
        this.guard(() => {
          this.fromTarget.resume();
          if (!this.fromTarget.paused && this.client.writableNeedDrain === false) this.target.resume();
        }),
      );
      return Visit.Wait;
    }
    this.cutting = false;
    this.names.target(code, buffer, start, end);
    if (buffer[start + 5] === 0x49 /* I */) this.sqlObjects.transactionEnded();
    if (segment) {
      // The cut command keeps its error; commands after it in the batch were not seen by the client.
      const cut = segment.executions[0];
      if (cut) this.complete(segment);
      while (segment.executions.length > 0) this.complete(segment, { code: SqlState.ProgramLimitExceeded, message: 'its result was withheld after an earlier result was cut at the row budget' });
      this.segments.shift();
    }
    this.toClient.forward(buffer, start, end);
    return Visit.Continue;
  }

  private afterTargetBatch(): void {
    const flushed = this.toClient.flush();
    if (!flushed || this.client.writableNeedDrain) this.target.pause();
    const recording = this.recording;
    if (recording?.backedUp) {
      // The recording's disk is slower than the network: read no more than it can take.
      this.target.pause();
      void recording.drained().then(() => {
        if (!this.closed && !this.fromTarget.paused && !this.client.writableNeedDrain) this.target.resume();
      });
    }
    this.shutdownIfIdle();
  }

  private complete(segment: Segment | undefined, override?: { code: string; message: string }): void {
    const execution = segment?.executions.shift();
    if (!execution) return;
    if (execution.effects) this.sqlObjects.settle(execution.effects);
    const error = override ?? execution.error;
    const counts = execution.masker ? this.results.takeCounts(execution) : {};
    this.session.recordResult(execution.seq, {
      ...counts,
      rows: execution.rows,
      durationMs: Math.round((performance.now() - execution.startedAt) * 1000) / 1000,
      ...(execution.status === undefined ? {} : { status: execution.status }),
      ...(error ? { error } : {}),
    });
  }

  // ---- bookkeeping -----------------------------------------------------------------------------

  private openSegment(): Segment {
    const last = this.segments[this.segments.length - 1];
    if (last && !last.closed) return last;
    const segment: Segment = { closed: false, executions: [], durable: undefined, durableDone: true };
    this.segments.push(segment);
    return segment;
  }

  private attachDurable(segment: Segment, durable: Promise<void>): void {
    segment.durable = durable;
    segment.durableDone = false;
    durable.then(
      () => {
        if (segment.durable === durable) segment.durableDone = true;
      },
      () => undefined,
    );
  }

  private guard(work: () => void): void {
    try {
      work();
    } catch (error) {
      const wardenError = toWardenError(error);
      if (wardenError.code === 'protocol' || wardenError.code === 'limit') {
        this.log.warn('client protocol error', { session: this.session.id, error: wardenError.message });
        this.client.end(errorResponse({ severity: 'FATAL', code: SqlState.ProtocolViolation, message: `Warden: ${wardenError.message}` }));
        this.close('error', wardenError.message);
      } else {
        this.failClosed(wardenError);
      }
    }
  }

  /** Warden cannot decide or audit: tell the client why and end the session. */
  private failClosed(error: unknown): void {
    if (this.closed) return;
    const wardenError = toWardenError(error);
    this.log.error('session refused: fail closed', { session: this.session.id, code: wardenError.code, error: wardenError.message });
    this.client.end(errorResponse({ severity: 'FATAL', code: SqlState.SystemError, message: `Warden: ${wardenError.message}` }));
    this.close('error', wardenError.message);
  }

  private close(reason: 'client-closed' | 'target-closed' | 'error' | 'shutdown', error?: string): void {
    if (this.closed) return;
    this.closed = true;
    this.idle.stop();
    if (reason === 'target-closed' && !this.client.destroyed) {
      this.client.end(errorResponse({ severity: 'FATAL', code: SqlState.ConnectionFailure, message: `Warden: ${error ?? 'the target closed the connection'}` }));
    }
    for (const segment of this.segments) while (segment.executions.length > 0) this.complete(segment, { code: 'closed', message: 'connection closed before the command finished' });
    this.client.end();
    // A client that does not close its side within a grace period is cut off.
    setTimeout(() => this.client.destroy(), 2000).unref();
    this.target.destroy();
    void this.session.end(reason, error);
    this.options.onClose();
    this.drained?.();
  }
}

/** The ErrorResponse a client gets for a command Warden refused or sent for review. */
function refusalReply(decision: Exclude<Decision, { effect: 'allow' }>): Buffer {
  return errorResponse({
    severity: 'ERROR',
    code: SqlState.InsufficientPrivilege,
    message: `Warden: ${decision.reason}`,
    detail: decision.effect === 'review' ? `approval request ${decision.requestId} (rule "${decision.rule}")` : `rule "${decision.rule}"`,
  });
}

/** Without a resolver, masked columns cannot be identified: every lookup fails (closed). */
const unavailableColumnResolver: ColumnResolver = {
  cached: () => undefined,
  resolve: () => Promise.reject(new WardenError('masking', 'result columns cannot be resolved on this connection')),
  describe: () => Promise.reject(new WardenError('masking', 'result columns cannot be resolved on this connection')),
  invalidate: () => undefined,
};
