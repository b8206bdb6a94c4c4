import type net from 'node:net';
import { WardenError, toWardenError, type Classification, type CommandInput, type Decision, type ImpactEstimate, type Logger, type Ruling, type Session, type SessionEndReason } from '@warden/core';
import { classifyMysql } from '@warden/sql';
import type { ConnectionRegistry, KillMode } from './connection-registry';
import { PacketSplitter, Visit, type Packet, type VisitResult } from './packet-splitter';
import { Capability, Command, ErrorCode, MAX_PACKET_PAYLOAD, PacketHeader } from './protocol';
import { IdleTimer, RangeWriter } from '@warden/adapter-kit';
import { ResponseTracker, type ResponseKind, type ResponseOutcome } from './response-tracker';
import { ResultRows, type ResultError, type RowBudget } from './result-rows';
import { MysqlResultRecording } from './result-recording';
import { errPacket, okPacket, type WardenErrorCode } from './server-messages';
import { redactErrPacket, redactErrorText } from './error-redaction';
import { PayloadWriter, framePacket } from './packet-codec';
import { mayChangeReading, readOkSessionState } from './session-state';
import { closeProbePacket, isSyntaxError, prepareProbePacket, wantsSyntaxProbe } from './syntax-probe';
import { SqlPreparedStatements, protocolPreparedClassification, unknownClassification, type PreparedEffect } from './sql-prepared-statements';
import type { TargetSessionSettings } from './session-settings';
import type { ViewCatalog } from './view-catalog';

export interface RelayOptions {
  readonly client: net.Socket;
  readonly target: net.Socket;
  readonly session: Session;
  readonly log: Logger;
  /** Capabilities in force between client and target. */
  readonly capabilities: number;
  readonly maxCommandSize: number;
  /** Close the session after this long without a client command (0 or absent: never). */
  readonly idleTimeoutMs?: number;
  /** Stops the statement running on this session's target thread (a second connection). */
  readonly killQueryOnTarget: () => Promise<void>;
  /** Where `KILL [QUERY] <id>` from this client finds the session it names. */
  readonly registry: ConnectionRegistry;
  readonly onClose: () => void;
  /**
   * For approvers: the target's row estimate for a write held for review (EXPLAIN on a second
   * connection, never executing it), in the session's database. Absent: no estimates.
   */
  readonly estimateImpact?: (statement: string, database: string) => Promise<ImpactEstimate>;
  /** The session's database at login (for `estimateImpact`). */
  readonly database?: string;
  /** The target session's settings as it reports them: how to read the next command, and what ends the session. */
  readonly settings: TargetSessionSettings;
  /** The statements that prepared the target session at login, run again after COM_RESET_CONNECTION. */
  readonly sessionSetup: readonly string[];
  /** Makes the target report its reading settings (run after a command that may have changed them). */
  readonly settingsCheck: string;
  /** Views whose reading calls functions a read may not call (read-only grants). Absent: not checked. */
  readonly views?: ViewCatalog;
}

/** A prepared statement the target knows, by the id it gave it. */
interface Prepared {
  readonly text: string;
  readonly classification: Classification;
}

/** The command whose response is on its way. */
interface InFlight {
  readonly kind: ResponseKind;
  /** Set for commands decided by the core: their result is recorded. */
  readonly seq?: number;
  readonly startedAt: number;
  /** Nothing reaches the client before the command's audit record is durable. */
  durable: Promise<void> | undefined;
  /** For COM_STMT_PREPARE: the text, to map to the statement id in the answer. */
  readonly prepareText?: string;
  /** Masking and row budget of the result, when either applies. */
  readonly rows?: ResultRows;
  /** Warden cut or withheld the result: the error recorded for it. */
  error?: ResultError;
  /** The result as the client receives it, into the session's timeline recording. */
  readonly recording?: MysqlResultRecording;
  /** The statement is being stopped on the target: the next command waits for it. */
  killed?: Promise<void>;
  /** COM_RESET_CONNECTION: prepared statements are gone, and the session setup (tracking, read-only) must run again. */
  readonly resetsSession?: boolean;
  /** A command Warden sent itself (after a reset): its answer is not the client's. */
  readonly internal?: boolean;
  /** The command may have changed how the target reads statements: ask it before the next command. */
  readonly checkSettings?: boolean;
  /** An allowed command: what it does to SQL-level prepared statements once the target answered it. */
  readonly sqlPrepared?: { readonly effects: readonly PreparedEffect[]; readonly classification: Classification };
  /** A COM_STMT_PREPARE Warden sent to learn whether the target can parse a statement it could not. */
  readonly probe?: { readonly decision: Exclude<Decision, { effect: 'allow' }>; errPacket?: Buffer };
}

/** `KILL [QUERY | CONNECTION] <id>`, the form clients send to stop a statement or a session. */
const KILL_STATEMENT = /^\s*KILL\s+(?:(QUERY|CONNECTION)\s+)?(\d{1,10})\s*;?\s*$/i;

/** Cursor flags of COM_STMT_EXECUTE (CURSOR_TYPE_*): results would then arrive through COM_STMT_FETCH. */
const CURSOR_TYPE_MASK = 0x0f;

/**
 * The command phase of a MySQL session. MySQL answers one command at a time, so the relay reads
 * one client command, decides on it, forwards it untouched (or answers with an ERR packet), follows
 * the target's response to its end while forwarding it untouched, then reads the next command.
 *
 * Decided: COM_QUERY, COM_STMT_EXECUTE (on the prepared text), COM_INIT_DB, COM_FIELD_LIST. SQL
 * `EXECUTE s` is decided and audited as the text s was prepared from (`SqlPreparedStatements`).
 * Forwarded as they are: COM_STMT_PREPARE / CLOSE / RESET / SEND_LONG_DATA, COM_PING,
 * COM_STATISTICS, COM_SET_OPTION, COM_QUIT. `KILL [QUERY] <id>` and COM_PROCESS_KILL name a
 * connection id Warden announced: mapped to that session's target thread (same identity only).
 * COM_RESET_CONNECTION is forwarded; on a read-only session Warden then makes the target session
 * read-only again before it reads the client's next command.
 * Refused: COM_CHANGE_USER (the identity is the token's), COM_STMT_FETCH and cursors, anything else.
 *
 * The target reports changes of the settings that decide how it reads statements (session-state
 * tracking, see `session-state.ts`): the relay classifies each command with them, removes the
 * reports before the client sees the OK packet, and ends the session on a value it cannot analyse.
 * A COM_QUERY refused because Warden could not parse it is prepared (never run) on the target: the
 * client gets the target's own syntax error, or Warden's refusal when the target accepts it.
 *
 * Rows of a result pass through `ResultRows` when masking or a row budget applies: masked rows
 * are rewritten, a cut or a masking failure ends the result with an ERR, stops the statement on
 * the target (KILL QUERY through a second connection) and drops the rest of the response.
 */
export class Relay {
  private readonly client: net.Socket;
  private readonly target: net.Socket;
  private readonly session: Session;
  private readonly log: Logger;
  private readonly toClient: RangeWriter;
  private readonly fromClient: PacketSplitter;
  private readonly fromTarget: PacketSplitter;
  private readonly tracker: ResponseTracker;
  private readonly statements = new Map<number, Prepared>();
  /** SQL-level PREPARE/EXECUTE, by name. */
  private readonly sqlPrepared = new SqlPreparedStatements(classifyMysql);
  private inFlight: InFlight | undefined;
  /** The session's masking (one identity on one connection: the same on every ruling), for target error text. */
  private errorMasker: Ruling['masker'];
  /** Packets of a command of 16 MiB or more, until its last packet arrives. */
  private commandParts: Buffer[] = [];
  private commandPartsLength = 0;
  private closed = false;
  private idle: IdleTimer | undefined;
  /** Set once the gateway stops: the session ends as soon as no command is in flight. */
  private draining: Promise<void> | undefined;
  private drained: (() => void) | undefined;
  /** The session's database, while Warden knows it (a USE makes it unknown: no more estimates). */
  private database: string | undefined;
  /** Setup statements still to send after a COM_RESET_CONNECTION, or the settings check. */
  private pendingSetup: string[] = [];
  /** Why Warden is sending commands of its own now. */
  private internalPurpose: 'reset' | 'settings-check' = 'reset';
  /**
   * Values reported while the session is being set up again after a reset, judged together once
   * the setup is done (the reset itself reports the server's defaults, e.g. read-only off).
   */
  private resetReports: Map<string, string> | undefined;

  constructor(private readonly options: RelayOptions) {
    this.client = options.client;
    this.target = options.target;
    this.session = options.session;
    this.log = options.log;
    this.database = options.database;
    this.toClient = new RangeWriter(this.client);
    this.tracker = new ResponseTracker((options.capabilities & Capability.DeprecateEof) !== 0);
    // A single packet over the command limit is refused at its header (longer commands span packets and are counted as they are gathered).
    this.fromClient = new PacketSplitter((packet) => this.onClientPacket(packet), undefined, Math.min(options.maxCommandSize + 4, 4 + MAX_PACKET_PAYLOAD));
    this.fromTarget = new PacketSplitter(
      (packet) => this.onTargetPacket(packet),
      () => {
        const flushed = this.toClient.flush();
        if (!flushed || this.client.writableNeedDrain) this.target.pause();
        const recording = this.inFlight?.recording;
        if (recording?.backedUp) {
          // The recording's disk is slower than the network: read no more than it can take.
          this.target.pause();
          void recording.drained().then(() => {
            if (!this.closed && !this.fromTarget.paused && !this.client.writableNeedDrain) this.target.resume();
          });
        }
      },
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
    // Busy while an answer is pending or the client's input is held (a decision, an approval).
    const idle = new IdleTimer(this.options.idleTimeoutMs ?? 0, () => this.inFlight !== undefined || this.fromClient.paused, (seconds) => this.idleClosed(seconds));
    this.idle = idle;
    this.client.on('data', (chunk: Buffer) => {
      idle.touch();
      this.guard(() => this.fromClient.push(chunk));
    });
    this.target.on('data', (chunk: Buffer) => this.guard(() => this.fromTarget.push(chunk)));
    this.client.on('drain', () => {
      if (!this.fromTarget.paused) this.target.resume();
    });
    this.client.on('close', () => this.close('client-closed'));
    this.target.on('close', () => this.close('target-closed', 'the target closed the connection'));
    this.client.on('error', (error) => this.close('error', `client connection: ${error.message}`));
    this.target.on('error', (error) => this.close('error', `target connection: ${error.message}`));
  }

  /** The session ends when the client sends nothing for the idle limit while no command runs. */
  private idleClosed(seconds: number): void {
    if (this.closed) return;
    this.log.info('session idle: closed', { session: this.session.id, idleSeconds: seconds });
    // What MySQL 8 sends at wait_timeout: an unsolicited ERR, then the connection closes.
    this.client.write(errPacket(0, ErrorCode.ClientInteractionTimeout, `Warden: the client was disconnected because of inactivity (idle for ${seconds} s, the limit); reconnect to continue`));
    this.close('error', `idle for ${seconds} s`);
  }

  /**
   * Gateway shutdown, gently: the command in flight finishes and its result reaches the client,
   * then the session ends with ER_SERVER_SHUTDOWN; an idle session ends at once. Resolves once the
   * session has ended (the caller bounds the wait and then calls `shutdown`).
   */
  drain(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.draining ??= new Promise<void>((resolve) => (this.drained = resolve));
    if (!this.inFlight && !this.fromClient.paused) this.shutdown();
    return this.draining;
  }

  /** Reads the next client command, or ends the session when the gateway is stopping. */
  private readNext(): void {
    if (this.draining) this.shutdown();
    else this.fromClient.resume();
  }

  /** Ends the session from outside (gateway shutdown). */
  shutdown(): void {
    if (this.closed) return;
    this.client.write(errPacket(this.inFlight ? 1 : 0, ErrorCode.ServerShutdown, 'Warden is shutting down'));
    this.close('shutdown');
  }

  /** Ends the session because the same identity asked for it (KILL CONNECTION from another connection). */
  kill(): void {
    if (this.closed) return;
    this.toClient.flush();
    this.client.write(errPacket(this.inFlight ? 1 : 0, ErrorCode.ConnectionKilled, 'Warden: the connection was killed'));
    this.close('client-closed', 'killed from another connection of the same identity');
  }

  // ---- client → target -------------------------------------------------------------------------

  private onClientPacket(packet: Packet): VisitResult {
    if (this.inFlight) throw new WardenError('protocol', 'a command arrived before the previous one was answered');
    if (this.draining && !packet.continuation) {
      this.client.write(errPacket(1, ErrorCode.ServerShutdown, 'Warden is shutting down'));
      this.close('shutdown');
      return Visit.Pause;
    }
    if (packet.continues || packet.continuation) return this.collectLongCommand(packet);
    return this.onCommand(packet.buffer, packet.start, packet.end, packet.buffer.subarray(packet.start + 4, packet.end));
  }

  /** A command of 16 MiB or more spans packets: gather it whole before deciding on it. */
  private collectLongCommand(packet: Packet): VisitResult {
    const bytes = Buffer.from(packet.buffer.subarray(packet.start, packet.end));
    this.commandParts.push(bytes);
    this.commandPartsLength += bytes.length;
    if (this.commandPartsLength > this.options.maxCommandSize) throw new WardenError('limit', `command larger than ${this.options.maxCommandSize} bytes`);
    if (packet.continues) return Visit.Continue;
    const raw = Buffer.concat(this.commandParts);
    const payload = Buffer.concat(this.commandParts.map((part) => part.subarray(4)));
    this.commandParts = [];
    this.commandPartsLength = 0;
    return this.onCommand(raw, 0, raw.length, payload);
  }

  /** `raw[start, end)` is the command as it came (all its packets); `payload` its bytes. */
  private onCommand(raw: Buffer, start: number, end: number, payload: Buffer): VisitResult {
    const command = payload[0];
    const forward = (kind: ResponseKind | undefined, extra: Partial<InFlight> = {}): VisitResult => {
      this.target.write(raw.subarray(start, end));
      if (kind === undefined) return Visit.Continue;
      this.expect({ kind, startedAt: performance.now(), durable: undefined, ...extra });
      return Visit.Pause;
    };
    switch (command) {
      case Command.COM_QUERY: {
        const text = payload.toString('utf8', 1);
        const kill = KILL_STATEMENT.exec(text);
        if (kill) return this.killOther(Number(kill[2]), kill[1]?.toUpperCase() === 'QUERY' ? 'query' : 'connection');
        if (/\bUSE\b/i.test(text)) this.database = undefined;
        const classification = classifyMysql(text, this.options.settings.lexer);
        const step = this.sqlPrepared.resolve(text, classification, this.options.settings.lexer);
        if (step.action === 'unknown-name') return this.refuseUnknownName({ text, classification, detail: { command: 'COM_QUERY' } }, step.message, step.reason);
        const input: CommandInput = {
          text: step.text,
          classification: step.classification,
          detail: { command: 'COM_QUERY', ...(step.execute !== undefined ? { execute: step.execute } : {}) },
          // The prepared text has placeholders: no estimate for EXECUTE.
          ...(step.execute === undefined ? this.estimateFor(step.text, step.classification) : {}),
        };
        return this.decideAndForward(raw, start, end, input, 'result', step.effects);
      }
      case Command.COM_STMT_PREPARE:
        return forward('prepare', { prepareText: payload.toString('utf8', 1) });
      case Command.COM_STMT_EXECUTE: {
        if (payload.length < 6) throw new WardenError('protocol', 'short COM_STMT_EXECUTE');
        const id = payload.readUInt32LE(1);
        if ((payload[5]! & CURSOR_TYPE_MASK) !== 0) return this.answer(ErrorCode.NotSupported, 'Warden: server-side cursors are not supported; execute without a cursor');
        const prepared = this.statements.get(id);
        // An id Warden did not see prepared is never passed on: MariaDB reads 0xFFFFFFFF as "the
        // statement prepared last", which would run undecided and unmasked.
        if (!prepared) {
          const input: CommandInput = { text: `COM_STMT_EXECUTE ${id}`, classification: unknownClassification('a statement id not prepared in this session'), detail: { command: 'COM_STMT_EXECUTE', statement: id } };
          return this.refuseUnknownName(input, `Unknown prepared statement handler (${id}) given to mysqld_stmt_execute`, `statement id ${id} was not prepared in this session`);
        }
        const input: CommandInput = { text: prepared.text, classification: prepared.classification, detail: { command: 'COM_STMT_EXECUTE', statement: id } };
        return this.decideAndForward(raw, start, end, input, 'result');
      }
      case Command.COM_STMT_CLOSE:
        if (payload.length >= 5) this.statements.delete(payload.readUInt32LE(1));
        return forward(undefined);
      case Command.COM_STMT_SEND_LONG_DATA:
        return forward(undefined);
      case Command.COM_INIT_DB: {
        const database = payload.toString('utf8', 1);
        const text = `USE ${quoteIdentifier(database)}`;
        this.database = undefined;
        return this.decideAndForward(raw, start, end, { text, classification: classifyMysql(text), detail: { command: 'COM_INIT_DB' } }, 'single');
      }
      case Command.COM_FIELD_LIST: {
        const zero = payload.indexOf(0, 1);
        const table = payload.toString('utf8', 1, zero === -1 ? payload.length : zero);
        const text = `SHOW COLUMNS FROM ${quoteIdentifier(table)}`;
        return this.decideAndForward(raw, start, end, { text, classification: classifyMysql(text), detail: { command: 'COM_FIELD_LIST' } }, 'field-list');
      }
      case Command.COM_PING:
      case Command.COM_STATISTICS:
      case Command.COM_SET_OPTION:
      case Command.COM_STMT_RESET:
        return forward('single');
      case Command.COM_RESET_CONNECTION:
        return forward('single', { resetsSession: true });
      case Command.COM_QUIT:
        this.target.write(raw.subarray(start, end));
        this.close('client-closed');
        return Visit.Pause;
      case Command.COM_CHANGE_USER:
        return this.answer(ErrorCode.AccessDenied, 'Warden: changing user is not supported; the identity is the token\'s: reconnect with another token');
      case Command.COM_STMT_FETCH:
        return this.answer(ErrorCode.NotSupported, 'Warden: server-side cursors are not supported');
      case Command.COM_PROCESS_KILL:
        if (payload.length < 5) throw new WardenError('protocol', 'short COM_PROCESS_KILL');
        return this.killOther(payload.readUInt32LE(1), 'connection');
      default:
        return this.answer(ErrorCode.UnknownCommand, `Warden: command 0x${(command ?? 0).toString(16)} is not supported`);
    }
  }

  /**
   * Decides on a command, then forwards it or refuses it. Reading from the client stops until the
   * answer is complete.
   */
  private decideAndForward(raw: Buffer, start: number, end: number, asked: CommandInput, kind: ResponseKind, effects: readonly PreparedEffect[] = []): VisitResult {
    // Statements that may change the sql_mode or character set, and whatever Warden cannot judge
    // in detail (admin: CALL runs code; unknown allowed by a rule), are followed by a settings check.
    const checkSettings = mayChangeReading(asked.text) || asked.classification.statements.some((statement) => statement.action === 'admin' || statement.action === 'unknown');
    let input = asked;
    this.judgeViews(asked)
      .then((judged) => {
        input = judged;
        return this.session.decide(judged);
      })
      // Fail closed: an allowed command reaches the target only once its audit record is written,
      // so a full or unwritable audit store can never let one run unaudited.
      .then((ruling) => (ruling.decision.effect === 'allow' ? ruling.durable.then(() => ruling) : ruling))
      .then(
        (ruling) => {
          if (this.closed) return;
          if (ruling.masker?.active) this.errorMasker = ruling.masker;
          if (ruling.decision.effect === 'allow') {
            const rows = kind === 'result' ? this.resultRows(input, ruling.masker) : undefined;
            const recording =
              kind === 'result' && ruling.recording ? new MysqlResultRecording(ruling.recording, input.detail?.['command'] === 'COM_STMT_EXECUTE', () => rows?.exemptColumns()) : undefined;
            this.expect({
              kind,
              seq: ruling.command.seq,
              startedAt: performance.now(),
              durable: ruling.durable,
              ...(rows ? { rows } : {}),
              ...(recording ? { recording } : {}),
              ...(checkSettings ? { checkSettings } : {}),
              sqlPrepared: { effects, classification: input.classification },
            });
            this.target.write(raw.subarray(start, end));
            return;
          }
          const decision = ruling.decision;
          ruling.durable.then(
            () =>
              this.guard(() => {
                // Fail closed on a statement Warden could not parse: the client learns whether it is a syntax error.
                if (decision.effect === 'block' && decision.rule === 'fail-closed' && input.detail?.['command'] === 'COM_QUERY' && wantsSyntaxProbe(input.classification)) {
                  this.probeSyntax(raw.subarray(start, end), decision);
                } else {
                  this.refuse(decision);
                }
              }),
            (error: unknown) => this.failClosed(error),
          );
        },
        (error: unknown) => this.failClosed(error),
      );
    return Visit.Pause;
  }

  /**
   * On a read-only grant, a read of a view that calls what a read may not call is a write (see
   * `ViewCatalog`); when the views cannot be checked, the statement is unknown (refused).
   */
  private async judgeViews(input: CommandInput): Promise<CommandInput> {
    const views = this.options.views;
    if (views === undefined || this.session.access !== 'read-only') return input;
    try {
      const classification = await views.judge(input.classification);
      return classification === input.classification ? input : { ...input, classification };
    } catch (error) {
      const note = `the views it may read could not be checked: ${toWardenError(error).message}`;
      const statements = input.classification.statements.map((statement) => (statement.action === 'read' ? { ...statement, action: 'unknown' as const, note } : statement));
      return { ...input, classification: { ...input.classification, action: 'unknown', statements } };
    }
  }

  /** Only a single statement that writes is worth an estimate for an approver (only asked for when a rule holds it). */
  private estimateFor(text: string, classification: Classification): Pick<CommandInput, 'estimateImpact'> {
    const { estimateImpact } = this.options;
    const database = this.database;
    if (!estimateImpact || database === undefined || classification.statementCount !== 1 || classification.action !== 'write') return {};
    return { estimateImpact: () => estimateImpact(text, database) };
  }

  /** What watches the rows of an allowed command's result, when masking or a row budget applies. */
  private resultRows(input: CommandInput, masker: Ruling['masker']): ResultRows | undefined {
    const limits = this.session.limits;
    const budget: RowBudget | undefined =
      limits && (limits.rowsPerStatement !== undefined || limits.rowsPerSession !== undefined)
        ? {
            ...(limits.rowsPerStatement !== undefined ? { perStatement: limits.rowsPerStatement } : {}),
            ...(limits.rowsPerSession !== undefined ? { sessionRemaining: Math.max(0, limits.rowsPerSession - this.session.rowsSent), sessionLimit: limits.rowsPerSession } : {}),
          }
        : undefined;
    if (!budget && !masker?.active) return undefined;
    return new ResultRows({
      binary: input.detail?.['command'] === 'COM_STMT_EXECUTE',
      objects: input.classification.objects,
      ...(masker?.active ? { masker } : {}),
      ...(masker?.active ? { diagnostics: masker.exemptFromAll ? ('exempt' as const) : ('redact' as const) } : {}),
      ...(budget ? { budget } : {}),
    });
  }

  /**
   * `KILL [QUERY] <id>` names a connection id Warden announced: stop that session's statement (or
   * the session) when it belongs to the same identity; otherwise the id is unknown, as MySQL says.
   */
  private killOther(connectionId: number, mode: KillMode): VisitResult {
    this.options.registry.kill(connectionId, this.session, mode).then(
      (done) =>
        this.guard(() => {
          if (this.closed) return;
          this.session.recordEvent('kill', { connection: connectionId, mode, done });
          this.client.write(done ? okPacket(1) : errPacket(1, ErrorCode.NoSuchThread, `Unknown thread id: ${connectionId}`));
          this.readNext();
        }),
      (error: unknown) =>
        this.guard(() => {
          if (this.closed) return;
          this.log.warn('kill could not reach the target', { session: this.session.id, error: toWardenError(error).message });
          this.session.recordEvent('kill', { connection: connectionId, mode, done: false });
          this.client.write(errPacket(1, ErrorCode.Unknown, 'Warden: the statement could not be stopped on the target'));
          this.readNext();
        }),
    );
    return Visit.Pause;
  }

  /**
   * EXECUTE of a prepared statement name (or COM_STMT_EXECUTE of a statement id) the session does not have: audited as a refusal, answered
   * with MySQL's own error (nothing reaches the target).
   */
  private refuseUnknownName(input: CommandInput, message: string, reason: string): VisitResult {
    const ruling = this.session.refuse(input, reason);
    ruling.durable.then(
      () =>
        this.guard(() => {
          if (this.closed) return;
          this.client.write(errPacket(1, ErrorCode.UnknownStmtHandler, message));
          this.readNext();
        }),
      (error: unknown) => this.failClosed(error),
    );
    return Visit.Pause;
  }

  /** Asks the target to parse (not run) the statement in `command` (a whole COM_QUERY, header included). */
  private probeSyntax(command: Buffer, decision: Exclude<Decision, { effect: 'allow' }>): void {
    if (this.closed) return;
    const statement = this.commandPayload(command).subarray(1);
    this.expect({ kind: 'prepare', startedAt: performance.now(), durable: undefined, internal: true, probe: { decision } });
    this.target.write(prepareProbePacket(statement));
  }

  /** The payload of a command as it came (one or more packets). */
  private commandPayload(command: Buffer): Buffer {
    const parts: Buffer[] = [];
    let offset = 0;
    while (offset + 4 <= command.length) {
      const length = command.readUIntLE(offset, 3);
      parts.push(command.subarray(offset + 4, offset + 4 + length));
      offset += 4 + length;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  /** The target's answer to a syntax probe: its own syntax error, or Warden's refusal. */
  private completeProbe(probe: NonNullable<InFlight['probe']>, outcome: ResponseOutcome): void {
    this.inFlight = undefined;
    if (outcome.statementId !== undefined && !outcome.error) this.target.write(closeProbePacket(outcome.statementId));
    const targetSyntaxError = outcome.error !== undefined && isSyntaxError(outcome.error.code) && probe.errPacket !== undefined;
    this.session.recordEvent('syntax-check', { targetAccepted: !outcome.error, ...(outcome.error ? { targetError: outcome.error.code } : {}) });
    if (targetSyntaxError) {
      // The target's ERR as it sent it (sequence id 1, the answer to a new command), as if the client had asked.
      this.client.write(probe.errPacket!);
      this.readNext();
      return;
    }
    const reason = outcome.error ? probe.decision.reason : `${probe.decision.reason.replace(/; it is refused$/, '')}; the target accepts it, but Warden cannot analyse it, so it is refused`;
    this.refuseWith(ErrorCode.CommandDenied, `Warden: ${reason} (rule "${probe.decision.rule}")`);
  }

  private refuse(decision: Exclude<Decision, { effect: 'allow' }>): void {
    const where = decision.effect === 'review' ? `approval request ${decision.requestId}, rule "${decision.rule}"` : `rule "${decision.rule}"`;
    this.refuseWith(ErrorCode.CommandDenied, `Warden: ${decision.reason} (${where})`);
  }

  /** Answers a decided command with ERR instead of running it; the session goes on. */
  private refuseWith(code: WardenErrorCode, message: string): void {
    if (this.closed) return;
    this.client.write(errPacket(1, code, message));
    this.readNext();
  }

  /** Warden answers the command itself; the session goes on. */
  private answer(code: WardenErrorCode, message: string): VisitResult {
    this.client.write(errPacket(1, code, message));
    return Visit.Continue;
  }

  private expect(inFlight: InFlight): void {
    this.inFlight = inFlight;
    this.tracker.begin(inFlight.kind);
  }

  // ---- target → client -------------------------------------------------------------------------

  private onTargetPacket(packet: Packet): VisitResult {
    const inFlight = this.inFlight;
    if (!inFlight) throw new WardenError('target-unavailable', 'the target sent a packet nobody asked for');
    if (inFlight.durable) {
      const waitFor = inFlight.durable;
      this.toClient.flush();
      this.target.pause();
      waitFor.then(
        () => {
          if (inFlight.durable === waitFor) inFlight.durable = undefined;
          this.guard(() => {
            this.fromTarget.resume();
            if (!this.fromTarget.paused && !this.client.writableNeedDrain) this.target.resume();
          });
        },
        (error: unknown) => this.failClosed(error),
      );
      return Visit.Wait;
    }
    const outcome = this.tracker.feed(packet);
    // What the client gets instead of the packet: OK packets carry the target's session-state reports,
    // which the client never asked for; ERR packets can quote values (below).
    let rewritten: Buffer | undefined;
    if (this.tracker.lastOk) {
      const state = readOkSessionState(packet.buffer, packet.start + 4, packet.end);
      if (state.clientPayload !== undefined) rewritten = framePacket(state.clientPayload, packet.sequenceId);
      if (state.variables.size > 0) {
        if (this.resetReports !== undefined || inFlight.resetsSession) {
          this.resetReports ??= new Map();
          for (const [name, value] of state.variables) this.resetReports.set(name, value);
        } else {
          const reason = this.options.settings.apply(state.variables);
          if (reason !== undefined) {
            this.failClosed(new WardenError('forbidden', `${reason}; the session is closed`));
            return Visit.Pause;
          }
        }
      }
    }
    const targetErr = !packet.continuation && packet.buffer[packet.start + 4] === PacketHeader.ERR;
    /** What the recording gets instead of an error an exempt identity receives raw. */
    let recordedErr: Buffer | undefined;
    if (targetErr && rewritten === undefined && this.errorMasker?.active) {
      // On a connection with masking, the values a target error quotes never reach a recording; nor the client, unless exempt from every column.
      if (this.errorMasker.exemptFromAll) recordedErr = redactErrPacket(packet.buffer, packet.start, packet.end);
      else rewritten = redactErrPacket(packet.buffer, packet.start, packet.end);
    }
    if (inFlight.internal) {
      if (inFlight.probe && targetErr) {
        inFlight.probe.errPacket = rewritten ?? Buffer.from(packet.buffer.subarray(packet.start, packet.end));
      }
      if (outcome) {
        if (inFlight.probe) this.completeProbe(inFlight.probe, outcome);
        else this.completeInternal(outcome);
      }
      return Visit.Continue;
    }
    const rows = inFlight.rows;
    const role = this.tracker.lastRole;
    // The recording gets each packet as it was written to the client: masked rows, never the target's.
    const recording = inFlight.recording;
    if (!rows) {
      if (rewritten !== undefined) {
        this.toClient.append(rewritten);
        recording?.sent(rewritten, 0, rewritten.length, role, false);
      } else {
        this.toClient.forward(packet.buffer, packet.start, packet.end);
        if (recordedErr) recording?.sent(recordedErr, 0, recordedErr.length, role, false);
        else recording?.sent(packet.buffer, packet.start, packet.end, role, packet.continues);
      }
    } else {
      const result = rows.visit(packet, role);
      switch (result.action) {
        case 'forward':
          if (rewritten !== undefined) {
            this.toClient.append(rewritten);
            recording?.sent(rewritten, 0, rewritten.length, role, false);
            break;
          }
          this.toClient.forward(packet.buffer, packet.start, packet.end);
          if (recordedErr) recording?.sent(recordedErr, 0, recordedErr.length, role, false);
          else recording?.sent(packet.buffer, packet.start, packet.end, role, packet.continues);
          break;
        case 'drop':
          break;
        case 'replace':
          // Masked rows are new buffers: appended, a batch of them leaves in one write.
          this.toClient.append(result.bytes);
          recording?.sent(result.bytes, 0, result.bytes.length, role, false);
          break;
        case 'cut':
          this.toClient.write(result.bytes);
          inFlight.error = result.error;
          this.session.recordEvent('budget.cut', { rows: rows.sent, limit: result.limit });
          this.log.warn('result cut at the row budget', { session: this.session.id, rows: rows.sent });
          if (!outcome) this.stopOnTarget(inFlight);
          break;
        case 'fail':
          this.toClient.write(result.bytes);
          inFlight.error = result.error;
          this.log.warn('result withheld: masking failed', { session: this.session.id, error: result.error.message });
          if (!outcome) this.stopOnTarget(inFlight);
          break;
      }
    }
    if (outcome) this.complete(inFlight, outcome);
    return Visit.Continue;
  }

  /** KILL QUERY on the target; the client's next command waits until the target has taken it. */
  private stopOnTarget(inFlight: InFlight): void {
    inFlight.killed = this.options.killQueryOnTarget().catch((error: unknown) => {
      this.log.warn('the statement could not be stopped on the target', { session: this.session.id, error: toWardenError(error).message });
    });
  }

  private complete(inFlight: InFlight, outcome: ResponseOutcome): void {
    this.inFlight = undefined;
    if (inFlight.prepareText !== undefined && outcome.statementId !== undefined && !outcome.error) {
      const lexer = this.options.settings.lexer;
      this.statements.set(outcome.statementId, { text: inFlight.prepareText, classification: protocolPreparedClassification(inFlight.prepareText, classifyMysql(inFlight.prepareText, lexer), lexer) });
    }
    if (inFlight.sqlPrepared) this.sqlPrepared.confirm(inFlight.sqlPrepared.effects, !outcome.error && !inFlight.error, inFlight.sqlPrepared.classification);
    if (inFlight.seq !== undefined) {
      const rows = inFlight.rows ? inFlight.rows.sent : outcome.rows;
      const targetError = outcome.error ? { code: `${outcome.error.code}/${outcome.error.sqlState}`, message: redactErrorText(outcome.error.message) } : undefined;
      const error = inFlight.error ?? targetError;
      this.session.recordResult(inFlight.seq, {
        ...(inFlight.rows ? inFlight.rows.counts() : {}),
        rows,
        durationMs: Math.round((performance.now() - inFlight.startedAt) * 1000) / 1000,
        status: error ? 'ERR' : outcome.results > 1 ? `OK ${outcome.results} results, ${rows} rows, ${outcome.affectedRows} affected` : `OK ${rows} rows, ${outcome.affectedRows} affected`,
        ...(error ? { error } : {}),
      });
    }
    if (inFlight.resetsSession && outcome.error) this.resetReports = undefined;
    if (inFlight.resetsSession && !outcome.error) {
      this.statements.clear();
      this.sqlPrepared.forgetAll();
      // The reset undid session tracking and SET SESSION TRANSACTION READ ONLY: redo the setup
      // before the client's next command is read.
      this.toClient.flush();
      this.internalPurpose = 'reset';
      this.pendingSetup = [...this.options.sessionSetup];
      this.sendNextSetup();
      return;
    }
    // The next command may be read once this answer has left, and once a KILL QUERY Warden sent
    // has landed (so that it cannot stop the next statement instead); after a command that may
    // have changed how the target reads statements, once the target has said how it reads them now.
    this.toClient.flush();
    const next = inFlight.checkSettings
      ? () =>
          setImmediate(() =>
            this.guard(() => {
              if (this.closed) return;
              this.internalPurpose = 'settings-check';
              this.pendingSetup = [this.options.settingsCheck];
              this.sendNextSetup();
            }),
          )
      : () => setImmediate(() => this.guard(() => this.readNext()));
    if (inFlight.killed) void inFlight.killed.then(next);
    else next();
  }

  /** Sends the next setup statement after a reset, as a command of Warden's own. */
  private sendNextSetup(): void {
    const statement = this.pendingSetup.shift()!;
    this.resetReports ??= new Map();
    this.expect({ kind: 'single', startedAt: performance.now(), durable: undefined, internal: true });
    this.target.write(new PayloadWriter().u8(Command.COM_QUERY).bytes(statement).packet(0));
  }

  /** The answer to a command Warden sent itself: the session goes on only if the whole setup succeeded. */
  private completeInternal(outcome: ResponseOutcome): void {
    this.inFlight = undefined;
    if (outcome.error) {
      const what = this.internalPurpose === 'reset' ? 'set up again after COM_RESET_CONNECTION' : 'asked for its character set and sql_mode';
      this.failClosed(new WardenError('target-unavailable', `the target session could not be ${what}: ${outcome.error.message} (${outcome.error.code})`));
      return;
    }
    if (this.pendingSetup.length > 0) {
      this.sendNextSetup();
      return;
    }
    const reports = this.resetReports ?? new Map<string, string>();
    this.resetReports = undefined;
    const reason = this.options.settings.apply(reports);
    if (reason !== undefined) {
      this.failClosed(new WardenError('forbidden', `${reason}; the session is closed`));
      return;
    }
    if (this.internalPurpose === 'reset') this.session.recordEvent('reset-connection', { readOnlyReapplied: this.session.access === 'read-only' });
    setImmediate(() => this.guard(() => this.readNext()));
  }

  // ---- bookkeeping -----------------------------------------------------------------------------

  private guard(work: () => void): void {
    try {
      work();
    } catch (error) {
      const wardenError = toWardenError(error);
      if (wardenError.code === 'protocol' || wardenError.code === 'limit') {
        this.log.warn('protocol error', { session: this.session.id, error: wardenError.message });
        const code = wardenError.code === 'limit' ? ErrorCode.PacketTooLarge : ErrorCode.HandshakeError;
        this.client.end(errPacket(this.inFlight ? 1 : 0, code, `Warden: ${wardenError.message}`));
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
    this.client.end(errPacket(1, ErrorCode.Unknown, `Warden: ${wardenError.message}`));
    this.close('error', wardenError.message);
  }

  private close(reason: SessionEndReason, error?: string): void {
    if (this.closed) return;
    this.closed = true;
    this.idle?.stop();
    if (reason === 'target-closed' && !this.client.destroyed) {
      this.client.end(errPacket(1, ErrorCode.TargetUnavailable, 'Warden: the target closed the connection'));
    }
    const inFlight = this.inFlight;
    if (inFlight?.seq !== undefined) {
      this.session.recordResult(inFlight.seq, {
        ...(inFlight.rows ? inFlight.rows.counts() : {}),
        rows: inFlight.rows ? inFlight.rows.sent : 0,
        durationMs: Math.round((performance.now() - inFlight.startedAt) * 1000) / 1000,
        error: { code: 'closed', message: 'connection closed before the command finished' },
      });
    }
    this.toClient.flush();
    this.client.end();
    setTimeout(() => this.client.destroy(), 2000).unref();
    this.target.destroy();
    void this.session.end(reason, error);
    this.options.onClose();
    this.drained?.();
  }
}

function quoteIdentifier(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}
