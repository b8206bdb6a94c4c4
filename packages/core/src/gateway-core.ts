import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { decodeJwt } from 'jose';
import type { AccessLevel, ClientInfo, Credential, GatewayServices, ResultRecording, Ruling, Session, SessionLimits, TimelineOptions } from './adapter';
import { AuthThrottle } from './auth-throttle';
import { DEFAULT_LIMITS, type GatewayLimits } from './limits';
import type { AuditEvent, AuditSink } from './audit/audit-event';
import { systemClock, type Clock } from './clock';
import { WardenError, toWardenError } from './errors';
import type { ApprovalService } from './approvals/approval-service';
import type { ImpactEstimate } from './approvals/approval-request';
import type { Classification, CommandEvent, CommandInput, Decision, Identity, Protocol, ResultSummary, ReviewDecision, SessionEndReason, StatementClass } from './events';
import type { Logger } from './log';
import type { BudgetConfig } from './policy/policy-config';
import type { PolicyEngine } from './policy/policy-engine';
import type { MaskingPolicy } from './masking/masking-policy';
import type { Masker } from './masking/masker';
import { DatabaseTimelineRecorder } from './recording/database-timeline';
import { looksLikeToken, safeClaimedName, safeClientInfo } from './identity/claimed-name';

/** Anything that turns a bearer token into a verified identity (the core's `TokenVerifier`). */
export interface IdentityVerifier {
  verify(token: string): Promise<Identity>;
}

export interface GatewayCoreOptions {
  readonly verifier: IdentityVerifier;
  readonly policy: PolicyEngine;
  readonly audit: AuditSink;
  /** Configured connections by name. */
  readonly connections: ReadonlyMap<string, { readonly protocol: Protocol }>;
  readonly log: Logger;
  readonly clock?: Clock;
  /** Just-in-time approvals for commands a `review` rule holds; without it such commands are refused. */
  readonly approvals?: ApprovalService;
  /** PHI masking: plans for allowed commands, and redaction of statement text in the audit log. */
  readonly masking?: MaskingPolicy;
  /** Resource limits; `DEFAULT_LIMITS` when absent. The core enforces sessions per identity and failed-login throttling. */
  readonly limits?: GatewayLimits;
  /**
   * Where database timeline recordings go (`<dataDir>/recordings`) and how much of each command's
   * result they keep (see `Session.recordTimeline`); without it, sessions are not recorded.
   */
  readonly recordings?: { readonly dir: string; readonly resultBytesPerCommand: number };
}

/**
 * The services every adapter gets: admission (identity + grant) and sessions whose `decide` is the
 * single point where policy is enforced and every command is audited.
 */
export class GatewayCore implements GatewayServices {
  private readonly clock: Clock;
  private readonly limits: GatewayLimits;
  private readonly throttle: AuthThrottle;
  /** Open sessions per identity (issuer and subject). */
  private readonly openSessions = new Map<string, number>();
  /** Open sessions of every identity together (`limits.maxSessionsTotal`). */
  private sessionsOpen = 0;

  constructor(private readonly options: GatewayCoreOptions) {
    this.clock = options.clock ?? systemClock;
    this.limits = options.limits ?? DEFAULT_LIMITS;
    this.throttle = new AuthThrottle(this.limits.authFailures, this.clock);
  }

  /** The limits in force (for the gateway to pass on to adapters). */
  get effectiveLimits(): GatewayLimits {
    return this.limits;
  }

  async admit(connection: string, credential: Credential, client: ClientInfo): Promise<Session> {
    return this.open(connection, safeClientInfo(client), () => this.options.verifier.verify(credential.token), () => unverifiedSubject(credential.token), true);
  }

  /**
   * Admit an identity the adapter already verified from a credential Warden itself issued (an SSH
   * certificate signed by Warden's CA, whose identity snapshot Warden recorded when it issued it).
   * Never for identities read from anything a client could forge. The grant check, the expiry
   * check and the audit records are the same as for `admit`.
   */
  async admitIdentity(connection: string, identity: Identity, client: ClientInfo): Promise<Session> {
    const verified = (): Promise<Identity> =>
      identity.expiresAt.getTime() <= this.clock.now().getTime()
        ? Promise.reject(new WardenError('unauthenticated', 'the credential has expired'))
        : Promise.resolve(identity);
    return this.open(connection, safeClientInfo(client), verified, () => identity.subject, false);
  }

  /** See `GatewayServices.recordRefusal`: an `auth.failure` record for a credential the adapter refused itself. */
  async recordRefusal(connection: string, unsafeClient: ClientInfo, reason: string, unsafeSubject?: string): Promise<void> {
    const { audit, log } = this.options;
    // Names the client chose may be a pasted token: never stored or logged as given.
    const client = safeClientInfo(unsafeClient);
    const subject = unsafeSubject === undefined ? undefined : safeClaimedName(unsafeSubject);
    const spec = this.options.connections.get(connection);
    if (!spec) throw new WardenError('internal', `unknown connection ${connection}`);
    log.warn('authentication refused', { connection, client: client.address, code: 'unauthenticated', reason, subject });
    if (audit.failed) throw new WardenError('audit-unavailable', 'the audit log cannot be written');
    await audit.append({
      type: 'auth.failure',
      connection,
      protocol: spec.protocol,
      clientAddress: client.address,
      code: 'unauthenticated',
      reason,
      ...(client.claimedUser === undefined ? {} : { claimedUser: client.claimedUser }),
      ...(subject === undefined ? {} : { subject: subject.slice(0, 200) }),
    });
  }

  private async open(connection: string, client: ClientInfo, verify: () => Promise<Identity>, unverified: () => string | undefined, throttled: boolean): Promise<Session> {
    const { audit, log, policy } = this.options;
    const spec = this.options.connections.get(connection);
    if (!spec) throw new WardenError('internal', `unknown connection ${connection}`);
    if (audit.failed) throw new WardenError('audit-unavailable', 'the audit log cannot be written; Warden refuses new sessions');

    const refuse = async (code: 'unauthenticated' | 'forbidden' | 'limit', reason: string, subject?: string, auditCode: string = code): Promise<never> => {
      log.warn('authentication refused', { connection, client: client.address, code: auditCode, reason, subject });
      const event: AuditEvent = {
        type: 'auth.failure',
        connection,
        protocol: spec.protocol,
        clientAddress: client.address,
        code: auditCode,
        reason,
        ...(client.claimedUser === undefined ? {} : { claimedUser: client.claimedUser }),
        ...(subject === undefined ? {} : { subject }),
      };
      await audit.append(event);
      throw new WardenError(code, reason);
    };

    // Failed-login throttling (see AuthThrottle): only for credentials a client presents.
    const claimed = throttled ? (unverified() ?? client.claimedUser) : undefined;
    if (throttled) {
      const gate = this.throttle.check(client.address, claimed);
      if (gate.refuseForSeconds !== undefined) {
        return refuse('unauthenticated', `too many failed logins from this address; try again in ${gate.refuseForSeconds} s`, claimed, 'rate-limited');
      }
      if (gate.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, gate.delayMs));
    }

    let identity: Identity;
    try {
      identity = await verify();
    } catch (error) {
      const wardenError = toWardenError(error);
      const reason = wardenError.code === 'unauthenticated' ? wardenError.message : 'the credential could not be verified';
      if (wardenError.code !== 'unauthenticated') log.error('token verification failed', { connection, error: wardenError.message });
      if (throttled) this.throttle.failed(client.address, claimed);
      return refuse('unauthenticated', reason, unverified());
    }

    const access = policy.accessFor(identity, connection);
    if (access === undefined) {
      return refuse('forbidden', `${identity.subject} has no grant for connection ${connection}`, identity.subject);
    }

    const identityKey = `${identity.issuer} ${identity.subject}`;
    const open = this.openSessions.get(identityKey) ?? 0;
    if (open >= this.limits.maxSessionsPerIdentity) {
      return refuse('limit', `${identity.subject} already has ${open} open sessions, the limit per identity; close one and try again`, identity.subject);
    }
    if (this.sessionsOpen >= this.limits.maxSessionsTotal) {
      return refuse('limit', `the gateway already holds ${this.sessionsOpen} open sessions, its limit; try again later`, identity.subject);
    }
    // Counted before the first await, so that concurrent logins cannot all slip under the limits.
    this.openSessions.set(identityKey, open + 1);
    this.sessionsOpen++;
    const released = (): void => {
      this.sessionsOpen--;
      const count = (this.openSessions.get(identityKey) ?? 1) - 1;
      if (count <= 0) this.openSessions.delete(identityKey);
      else this.openSessions.set(identityKey, count);
    };

    const session = new CoreSession({
      id: randomUUID(),
      identity,
      connection,
      protocol: spec.protocol,
      access,
      budget: policy.budgetFor(identity, connection),
      clientAddress: client.address,
      core: this.options,
      clock: this.clock,
      onEnd: released,
    });
    try {
      await audit.append({
        type: 'session.start',
        sessionId: session.id,
        identity,
        connection,
        protocol: spec.protocol,
        clientAddress: client.address,
        access,
        ...(client.application ? { clientApplication: client.application } : {}),
      });
    } catch (error) {
      released();
      throw error;
    }
    log.info('session started', { session: session.id, connection, subject: identity.subject, kind: identity.kind, access });
    return session;
  }
}

/** Reads `sub` from a token without trusting it, so that refusals name who claimed to connect. */
function unverifiedSubject(token: string): string | undefined {
  try {
    const sub = decodeJwt(token).sub;
    if (typeof sub !== 'string') return undefined;
    // A sub may itself be a pasted token: never stored as given.
    const cut = sub.slice(0, 200);
    return looksLikeToken(cut) ? safeClaimedName(sub) : cut;
  } catch {
    return undefined;
  }
}

interface CoreSessionInit {
  readonly id: string;
  readonly identity: Identity;
  readonly connection: string;
  readonly protocol: Protocol;
  readonly access: AccessLevel;
  readonly budget: BudgetConfig | undefined;
  readonly clientAddress: string;
  readonly core: GatewayCoreOptions;
  readonly clock: Clock;
  /** Called once when the session ends (releases its place in the per-identity count). */
  readonly onEnd: () => void;
}

class CoreSession implements Session {
  readonly id: string;
  readonly identity: Identity;
  readonly connection: string;
  readonly access: AccessLevel;
  readonly limits?: SessionLimits;
  private readonly budget: BudgetConfig | undefined;
  private readonly startedAt: number;
  /** Times of the commands decided in the last minute, oldest first (statement-rate budget). */
  private readonly recent: number[] = [];
  private readonly protocol: Protocol;
  private readonly core: GatewayCoreOptions;
  private readonly clock: Clock;
  private readonly onEnd: () => void;
  private seq = 0;
  private blocked = 0;
  private rows = 0;
  private ending: Promise<void> | undefined;
  private readonly clientAddress: string;
  /** The session's database timeline, once the adapter asked for it. */
  private timeline: DatabaseTimelineRecorder | undefined;
  /** Aborted when the session ends: a command held for approval stops waiting. */
  private readonly aborted = new AbortController();

  constructor(init: CoreSessionInit) {
    this.id = init.id;
    this.identity = init.identity;
    this.connection = init.connection;
    this.access = init.access;
    this.budget = init.budget;
    if (init.budget?.rowsPerStatement !== undefined || init.budget?.rowsPerSession !== undefined) {
      this.limits = {
        ...(init.budget.rowsPerStatement !== undefined ? { rowsPerStatement: init.budget.rowsPerStatement } : {}),
        ...(init.budget.rowsPerSession !== undefined ? { rowsPerSession: init.budget.rowsPerSession } : {}),
      };
    }
    this.startedAt = init.clock.now().getTime();
    this.clientAddress = init.clientAddress;
    this.protocol = init.protocol;
    this.core = init.core;
    this.clock = init.clock;
    this.onEnd = init.onEnd;
  }

  async decide(input: CommandInput): Promise<Ruling> {
    const { audit, policy } = this.core;
    if (this.ending) throw new WardenError('protocol', 'the session has ended');
    if (audit.failed) throw new WardenError('audit-unavailable', 'the audit log cannot be written; Warden refuses commands');
    this.timeline?.assertWritable();

    const seq = ++this.seq;
    const context = { identity: this.identity, connection: this.connection, protocol: this.protocol, access: this.access };
    const overBudget = this.budgetExceeded();
    const proposed = overBudget ?? policy.decide(context, input.classification, input.text);
    let decision = proposed.effect === 'review' ? await this.resolveReview(input, proposed) : proposed;
    if (this.ending) throw new WardenError('protocol', 'the session has ended');
    // Masking: the plan rides on the allow decision (and so is audited); the compiled masker on the ruling.
    const maskingPlan = decision.effect === 'allow' ? this.core.masking?.planFor(this.identity, this.connection) : undefined;
    const masker: Masker | undefined = maskingPlan ? this.core.masking!.maskerFor(maskingPlan) : undefined;
    if (masker?.active && !masker.exemptFromAll && input.classification.statements.some((statement) => statement.copiesToSession === true)) {
      // What a session variable holds comes back later as a value without a table: its masking rules could not follow it.
      const refused: Decision = { effect: 'block', rule: 'masking', reason: 'on a connection with masking, a statement may not copy table data into a session variable (it would be read back unmasked)' };
      return this.audited(input, seq, refused, undefined);
    }
    if (masker?.hasColumnRules && !masker.exemptFromAll && input.classification.statements.some((statement) => statement.copiesRows === true && touchesMaskedColumn(statement, masker))) {
      // A masked column written into another table would be read back from a table its rules do not cover.
      const refused: Decision = { effect: 'block', rule: 'masking', reason: 'on a connection with masking, a statement may not copy a masked column into a table (it would be read back unmasked)' };
      return this.audited(input, seq, refused, undefined);
    }
    if (maskingPlan && decision.effect === 'allow') decision = { ...decision, masking: maskingPlan };
    return this.audited(input, seq, decision, masker);
  }

  refuse(input: CommandInput, reason: string): Ruling {
    if (this.ending) throw new WardenError('protocol', 'the session has ended');
    if (this.core.audit.failed) throw new WardenError('audit-unavailable', 'the audit log cannot be written; Warden refuses commands');
    this.timeline?.assertWritable();
    return this.audited(input, ++this.seq, { effect: 'block', rule: PROTOCOL_RULE, reason }, undefined);
  }

  /** The command's audit record (and timeline entry), queued now: records keep the order of the calls. */
  private audited(input: CommandInput, seq: number, decision: Decision, masker: Masker | undefined): Ruling {
    const { audit } = this.core;
    if (decision.effect !== 'allow') this.blocked++;

    const command: CommandEvent = { ...input, sessionId: this.id, seq, protocol: this.protocol, connection: this.connection, at: this.clock.now() };
    const auditedText = this.core.masking ? this.core.masking.redactStatement(this.connection, this.protocol, input.text) : input.text;
    // The recording gets the statement as audited: never its literals unredacted.
    const recording: ResultRecording | undefined = this.timeline?.command(seq, command.at, auditedText, decision);
    const durable = audit
      .append({
        type: 'command',
        sessionId: this.id,
        commandSeq: seq,
        text: auditedText,
        // Objects can quote arguments too (an exec's argv: `printf … 412-55-7301`).
        classification: this.core.masking ? redactObjects(input.classification, (object) => this.core.masking!.redactMessage(this.connection, object)) : input.classification,
        decision,
        ...(input.detail ? { detail: input.detail } : {}),
      })
      .then(() => undefined);
    // The adapter observes `durable`; this keeps an unobserved failure from crashing the process.
    durable.catch(() => undefined);
    return { command, decision, durable, ...(masker ? { masker } : {}), ...(recording ? { recording } : {}) };
  }

  get rowsSent(): number {
    return this.rows;
  }

  /**
   * The budget limit this command would go over, as a refusal (also audited as `budget.exceeded`),
   * or undefined. Every command counts towards the statement rate, refused ones included: an agent
   * retrying in a loop is what the limit is for.
   */
  private budgetExceeded(): Decision | undefined {
    const budget = this.budget;
    if (!budget) return undefined;
    const now = this.clock.now().getTime();
    while (this.recent.length > 0 && this.recent[0]! <= now - 60_000) this.recent.shift();
    this.recent.push(now);
    let exceeded: { limit: string; value: number; max: number; reason: string } | undefined;
    if (budget.sessionSeconds !== undefined && now - this.startedAt > budget.sessionSeconds * 1000) {
      exceeded = { limit: 'session-seconds', value: Math.round((now - this.startedAt) / 1000), max: budget.sessionSeconds, reason: `the session's budget of ${budget.sessionSeconds} s is used up; no further commands run in it` };
    } else if (budget.rowsPerSession !== undefined && this.rows >= budget.rowsPerSession) {
      exceeded = { limit: 'rows-per-session', value: this.rows, max: budget.rowsPerSession, reason: `the session's budget of ${budget.rowsPerSession} rows is used up; no further commands run in it` };
    } else if (budget.statementsPerMinute !== undefined && this.recent.length > budget.statementsPerMinute) {
      exceeded = { limit: 'statements-per-minute', value: this.recent.length, max: budget.statementsPerMinute, reason: `over the budget of ${budget.statementsPerMinute} statements per minute; slow down and try again` };
    }
    if (!exceeded) return undefined;
    this.core.audit
      .append({ type: 'budget.exceeded', sessionId: this.id, limit: exceeded.limit, value: exceeded.value, max: exceeded.max })
      .catch(() => undefined);
    this.core.log.warn('budget exceeded', { session: this.id, subject: this.identity.subject, limit: exceeded.limit, max: exceeded.max });
    return { effect: 'block', rule: `budget:${exceeded.limit}`, reason: exceeded.reason };
  }

  /**
   * A command a rule holds for review: run it on an approval this identity already has for it;
   * otherwise open (or find) its request and, in `wait` mode, hold the command until it is decided.
   */
  private async resolveReview(input: CommandInput, review: ReviewDecision): Promise<Decision> {
    const approvals = this.core.approvals;
    if (!approvals) return withoutUnavailableReview(review);
    const approved = await approvals.takeApproval(this.identity, this.connection, input.text, this.id);
    if (approved) return { effect: 'allow', rule: review.rule, approval: approved.id };

    const estimate = input.estimateImpact ? await estimateWithin(input.estimateImpact, ESTIMATE_TIMEOUT_MS) : undefined;
    let request;
    try {
      request = await approvals.hold({
        sessionId: this.id,
        identity: this.identity,
        connection: this.connection,
        protocol: this.protocol,
        text: input.text,
        classification: input.classification,
        decision: review,
        ...(estimate ? { estimate } : {}),
      });
    } catch (error) {
      const wardenError = toWardenError(error);
      // Too many requests pending: refuse this command, keep the session (it is not broken).
      if (wardenError.code === 'limit') return { effect: 'block', rule: 'limit:pending-approvals', reason: wardenError.message };
      throw error;
    }
    const settings = approvals.settingsFor(review.rule);
    const held = { effect: 'review' as const, rule: review.rule, requestId: request.id, approvers: review.approvers };
    if (settings.mode !== 'wait') {
      return { ...held, reason: `${review.reason}: held for approval as request ${request.id}; once it is approved, run the same command again` };
    }
    const outcome = await approvals.waitForDecision(request.id, settings.waitSeconds * 1000, this.aborted.signal);
    if (outcome.status === 'approved') {
      const used = await approvals.useApproval(request.id, this.id);
      if (used) return { effect: 'allow', rule: review.rule, approval: request.id };
    }
    if (outcome.status === 'denied') {
      return { effect: 'block', rule: review.rule, reason: `approval request ${request.id} was denied by ${outcome.decidedBy ?? 'an approver'}: ${outcome.decisionReason ?? 'no reason given'}` };
    }
    if (outcome.status === 'expired') return { effect: 'block', rule: review.rule, reason: `approval request ${request.id} expired before it was decided` };
    return {
      ...held,
      reason: `${review.reason}: approval request ${request.id} was not decided within ${settings.waitSeconds} s; once it is approved, run the same command again`,
    };
  }

  recordResult(seq: number, summary: ResultSummary): void {
    this.rows += summary.rows;
    // A target's error message can quote a value (`invalid input syntax …: "123-45-6789"`).
    const masking = this.core.masking;
    const recorded = masking && summary.error ? { ...summary, error: { ...summary.error, message: masking.redactMessage(this.connection, summary.error.message) } } : summary;
    this.core.audit.append({ type: 'result', sessionId: this.id, commandSeq: seq, summary: recorded }).catch(() => undefined);
    this.timeline?.result(seq, recorded);
  }

  recordEvent(name: string, detail?: Readonly<Record<string, string | number | boolean>>): void {
    this.core.audit.append({ type: 'session.event', sessionId: this.id, name, ...(detail ? { detail } : {}) }).catch(() => undefined);
  }

  recordTimeline(options: TimelineOptions): boolean {
    const settings = this.core.recordings;
    if (!settings) return false;
    if (this.timeline) throw new WardenError('internal', 'the session already records a timeline');
    if (this.ending) throw new WardenError('protocol', 'the session has ended');
    const file = path.join(settings.dir, `${this.id}.timeline.jsonl`);
    try {
      mkdirSync(settings.dir, { recursive: true, mode: 0o700 });
    } catch (error) {
      throw new WardenError('audit-unavailable', `the session recording cannot be written: ${(error as Error).message}`, { cause: error });
    }
    const header = { session: this.id, identity: this.identity, connection: this.connection, protocol: this.protocol, clientAddress: this.clientAddress, start: new Date(this.startedAt) };
    this.timeline = new DatabaseTimelineRecorder(file, header, { resultBytesPerCommand: settings.resultBytesPerCommand }, (error) => {
      this.core.log.error('recording failed', { session: this.id, error: error.message });
      options.onFailure(new WardenError('audit-unavailable', 'the session recording cannot be written; Warden ends the session', { cause: error }));
    });
    return true;
  }

  /**
   * Closes the timeline, if any, and audits its file and SHA-256 (or that it is incomplete). The
   * record is queued at once, before the session's end record (adapters do not wait for `end`
   * before the gateway writes its last record); resolves once the file is flushed. Never rejects.
   */
  private closeTimeline(reason: SessionEndReason): Promise<void> {
    const timeline = this.timeline;
    if (!timeline) return Promise.resolve();
    const { summary, flushed } = timeline.finish(reason);
    const incomplete = (error: unknown) =>
      this.core.audit.append({ type: 'session.event', sessionId: this.id, name: 'recording incomplete', detail: { error: toWardenError(error).message } }).then(
        () => undefined,
        () => undefined,
      );
    if (!summary) return flushed.then(() => incomplete(new Error('a write failed')), incomplete);
    const recorded = this.core.audit
      .append({
        type: 'session.event',
        sessionId: this.id,
        name: 'recording',
        detail: { format: 'database-timeline', file: path.basename(summary.file), sha256: summary.sha256, bytes: summary.bytes, commands: summary.events },
      })
      .then(
        () => undefined,
        () => undefined,
      );
    return Promise.all([recorded, flushed.catch(incomplete)]).then(() => undefined);
  }

  end(reason: SessionEndReason, error?: string): Promise<void> {
    this.aborted.abort();
    if (!this.ending) {
      this.onEnd();
      // Queued in this order now: the recording's record, then the end record.
      const recorded = this.closeTimeline(reason);
      const ended = this.core.audit
        .append({
          type: 'session.end',
          sessionId: this.id,
          reason,
          totals: { commands: this.seq, blocked: this.blocked, rows: this.rows },
          ...(error ? { error } : {}),
        })
        .then(
          () => this.core.log.info('session ended', { session: this.id, reason, commands: this.seq }),
          (cause: unknown) => this.core.log.error('session end not audited', { session: this.id, error: toWardenError(cause).message }),
        );
      this.ending = Promise.all([recorded, ended]).then(() => undefined);
    }
    return this.ending;
  }
}

/**
 * The classification with detected values in its objects replaced by placeholders, for the audit
 * log (the same object when nothing was found). Policy has already decided on the original.
 */
function redactObjects(classification: Classification, redact: (text: string) => string): Classification {
  let changed = false;
  const objects = (list: readonly string[]): readonly string[] =>
    list.map((object) => {
      const redacted = redact(object);
      if (redacted !== object) changed = true;
      return redacted;
    });
  const redacted: Classification = {
    ...classification,
    objects: objects(classification.objects),
    statements: classification.statements.map((statement) => ({ ...statement, objects: objects(statement.objects) })),
  };
  return changed ? redacted : classification;
}

/**
 * Whether a statement touches a column the masker masks. Unknown columns, and a star, count as
 * touching one (fail closed): the classifier names `table.*`, not the columns behind it.
 */
function touchesMaskedColumn(statement: StatementClass, masker: Masker): boolean {
  if (statement.columns === undefined) return true;
  return statement.columns.some((name) => {
    const parts = name.split('.');
    const column = parts[parts.length - 1]!;
    const table = parts[parts.length - 2];
    if (column === '*' || table === undefined) return true;
    const schema = parts.length > 2 ? parts[parts.length - 3] : undefined;
    return masker.ruleOverSource({ ...(schema === undefined ? {} : { schema }), table, column }) === 'masked';
  });
}

/** The rule a command refused by the adapter for a protocol reason (`Session.refuse`) is audited under. */
const PROTOCOL_RULE = 'protocol';

/** How long an adapter's impact estimate (e.g. the planner's row count) may take before the request is made without it. */
const ESTIMATE_TIMEOUT_MS = 3000;

async function estimateWithin(estimate: () => Promise<ImpactEstimate>, timeoutMs: number): Promise<ImpactEstimate> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<ImpactEstimate>((resolve) => {
    timer = setTimeout(() => resolve({ source: `no estimate within ${timeoutMs} ms` }), timeoutMs);
  });
  try {
    return await Promise.race([estimate().catch((error: unknown) => ({ source: `no estimate: ${toWardenError(error).message}` })), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Without an approvals service, a command that needs an approval cannot get one, so it
 * is refused (fail closed) with a reason that says so.
 */
function withoutUnavailableReview(decision: ReviewDecision): Decision {
  return {
    effect: 'block',
    rule: decision.rule,
    reason: `${decision.reason}: it requires an approval, and approvals are not enabled on this gateway`,
  };
}
