import { randomBytes } from 'node:crypto';
import type { AuditSink } from '../audit/audit-event';
import { systemClock, type Clock } from '../clock';
import { WardenError } from '../errors';
import type { Classification, Identity, Protocol, ReviewDecision } from '../events';
import type { Logger } from '../log';
import { approvalBinding } from './approval-binding';
import { DEFAULT_APPROVAL_SETTINGS, type ApprovalRequest, type ApprovalSettings, type ImpactEstimate } from './approval-request';
import type { ApprovalStore } from './approval-store';

export interface ApprovalServiceOptions {
  readonly store: ApprovalStore;
  readonly audit: AuditSink;
  readonly log: Logger;
  readonly clock?: Clock;
  /** Settings by rule name (a connection default's rule is `default:<connection>`); others get `defaults`. */
  readonly rules?: ReadonlyMap<string, Partial<ApprovalSettings>>;
  readonly defaults?: Partial<ApprovalSettings>;
  /** Told about each new request (a webhook); failures are logged, never fatal. */
  readonly onRequested?: (request: ApprovalRequest) => Promise<void>;
  /** How often pending requests are checked for expiry. Default 1 s; 0 turns the timer off (tests). */
  readonly sweepIntervalMs?: number;
  /**
   * Requests one identity may have pending at once (default 10): a held agent cannot flood the
   * approvers. A new request over it is refused with a `limit` error (the core turns it into a block).
   */
  readonly maxPendingPerIdentity?: number;
}

/** What a session asks the approvals service for. */
export interface HoldInput {
  readonly sessionId: string;
  readonly identity: Identity;
  readonly connection: string;
  readonly protocol: Protocol;
  readonly text: string;
  readonly classification: Classification;
  readonly decision: ReviewDecision;
  readonly estimate?: ImpactEstimate;
}

type Waiter = (request: ApprovalRequest) => void;

const FINAL: ReadonlySet<ApprovalRequest['status']> = new Set(['denied', 'expired', 'used']);
const RETENTION_MS = 7 * 24 * 3600 * 1000;
const DEFAULT_MAX_PENDING_PER_IDENTITY = 10;

/**
 * Just-in-time approvals: requests for commands a `review` rule holds, decided by someone else.
 *
 * A request is bound to the requester, the connection and the exact command text (whitespace
 * aside). Only members of the rule's approver groups decide, never the requester. A request expires
 * `ttlSeconds` after it was made; an approval is used at most once. Every step is audited.
 */
export class ApprovalService {
  private readonly requests = new Map<string, ApprovalRequest>();
  private readonly waiters = new Map<string, Set<Waiter>>();
  private readonly clock: Clock;
  private readonly sweepTimer: ReturnType<typeof setInterval> | undefined;

  private constructor(private readonly options: ApprovalServiceOptions, loaded: readonly ApprovalRequest[]) {
    this.clock = options.clock ?? systemClock;
    for (const request of loaded) this.requests.set(request.id, request);
    const interval = options.sweepIntervalMs ?? 1000;
    if (interval > 0) {
      this.sweepTimer = setInterval(() => void this.expireDue().catch(() => undefined), interval);
      this.sweepTimer.unref?.();
    }
  }

  /** Load the stored requests (those that expired while the gateway was down are expired now). */
  static async open(options: ApprovalServiceOptions): Promise<ApprovalService> {
    const service = new ApprovalService(options, await options.store.load());
    await service.expireDue();
    return service;
  }

  settingsFor(rule: string): ApprovalSettings {
    return { ...DEFAULT_APPROVAL_SETTINGS, ...this.options.defaults, ...this.options.rules?.get(rule) };
  }

  /**
   * An approval the identity may use now for exactly this command, consumed (used once); or
   * undefined.
   */
  async takeApproval(identity: Identity, connection: string, text: string, sessionId: string): Promise<ApprovalRequest | undefined> {
    await this.expireDue();
    const binding = approvalBinding(identity.subject, identity.issuer, connection, text);
    for (const request of this.requests.values()) {
      if (request.binding !== binding || request.status !== 'approved') continue;
      return this.markUsed(request, sessionId);
    }
    return undefined;
  }

  /** Open a request for a held command, or return the pending one for the same binding. */
  async hold(input: HoldInput): Promise<ApprovalRequest> {
    await this.expireDue();
    const { identity, decision } = input;
    const binding = approvalBinding(identity.subject, identity.issuer, input.connection, input.text);
    let pending = 0;
    for (const request of this.requests.values()) {
      if (request.binding === binding && request.status === 'pending') return request;
      if (request.status === 'pending' && request.requester.subject === identity.subject && request.requester.issuer === identity.issuer) pending++;
    }
    const maxPending = this.options.maxPendingPerIdentity ?? DEFAULT_MAX_PENDING_PER_IDENTITY;
    if (pending >= maxPending) {
      throw new WardenError('limit', `${identity.subject} already has ${pending} approval requests pending, the limit; wait until they are decided or expire`);
    }
    const settings = this.settingsFor(decision.rule);
    const now = this.clock.now();
    const request: ApprovalRequest = {
      id: `apr_${randomBytes(6).toString('hex')}`,
      status: 'pending',
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + settings.ttlSeconds * 1000).toISOString(),
      requester: {
        subject: identity.subject,
        issuer: identity.issuer,
        groups: identity.groups,
        kind: identity.kind,
        ...(identity.name ? { name: identity.name } : {}),
      },
      connection: input.connection,
      protocol: input.protocol,
      sessionId: input.sessionId,
      text: input.text,
      binding,
      action: input.classification.action,
      objects: input.classification.objects,
      ...(input.classification.columns ? { columns: input.classification.columns } : {}),
      bulk: input.classification.bulk,
      rule: decision.rule,
      reason: decision.reason,
      approvers: decision.approvers,
      mode: settings.mode,
      ...(input.estimate ? { estimate: input.estimate } : {}),
    };
    this.requests.set(request.id, request);
    await this.persist();
    await this.options.audit.append({
      type: 'approval.requested',
      requestId: request.id,
      sessionId: input.sessionId,
      connection: request.connection,
      subject: identity.subject,
      rule: request.rule,
      approvers: request.approvers,
      mode: request.mode,
      expiresAt: request.expiresAt,
      objects: request.objects,
      ...(request.estimate ? { estimate: request.estimate } : {}),
    });
    this.options.log.info('approval requested', { request: request.id, connection: request.connection, subject: identity.subject, rule: request.rule });
    if (this.options.onRequested) {
      this.options.onRequested(request).catch((error: unknown) =>
        this.options.log.warn('approval notification failed', { request: request.id, error: error instanceof Error ? error.message : String(error) }),
      );
    }
    return request;
  }

  /**
   * Resolves with the request once it is decided or expired, or with it still pending after
   * `waitMs` (or when `signal` aborts: the client went away).
   */
  waitForDecision(id: string, waitMs: number, signal?: AbortSignal): Promise<ApprovalRequest> {
    const request = this.requests.get(id);
    if (!request) return Promise.reject(new WardenError('not-found', `no approval request ${id}`));
    if (request.status !== 'pending') return Promise.resolve(request);
    return new Promise((resolve) => {
      const waiters = this.waiters.get(id) ?? new Set<Waiter>();
      this.waiters.set(id, waiters);
      const finish: Waiter = (current) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        waiters.delete(finish);
        resolve(current);
      };
      const onAbort = (): void => finish(this.requests.get(id) ?? request);
      const timer = setTimeout(() => finish(this.requests.get(id) ?? request), waitMs);
      signal?.addEventListener('abort', onAbort);
      waiters.add(finish);
    });
  }

  /** Use an approval the caller waited for (wait mode): the command now runs, once. */
  async useApproval(id: string, sessionId: string): Promise<ApprovalRequest | undefined> {
    const request = this.requests.get(id);
    if (!request || request.status !== 'approved') return undefined;
    return this.markUsed(request, sessionId);
  }

  async approve(id: string, approver: Identity, reason?: string): Promise<ApprovalRequest> {
    return this.decide(id, approver, 'approved', reason);
  }

  async deny(id: string, approver: Identity, reason: string): Promise<ApprovalRequest> {
    if (reason.trim() === '') throw new WardenError('config', 'a denial needs a reason');
    return this.decide(id, approver, 'denied', reason);
  }

  /** Requests this identity may see: those it may decide, and its own. Newest first. */
  async visibleTo(identity: Identity, filter: { status?: ApprovalRequest['status'] } = {}): Promise<ApprovalRequest[]> {
    await this.expireDue();
    return [...this.requests.values()]
      .filter((request) => this.mayDecide(request, identity) || isRequester(request, identity))
      .filter((request) => filter.status === undefined || request.status === filter.status)
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  async get(id: string, identity: Identity): Promise<ApprovalRequest> {
    await this.expireDue();
    const request = this.requests.get(id);
    if (!request || !(this.mayDecide(request, identity) || isRequester(request, identity))) {
      throw new WardenError('not-found', `no approval request ${id} visible to ${identity.subject}`);
    }
    return request;
  }

  /** Expire pending requests and unused approvals past their time. */
  async expireDue(): Promise<void> {
    const now = this.clock.now().getTime();
    // Decided requests stay visible for a week; the audit log keeps them for good.
    for (const request of this.requests.values()) {
      if (FINAL.has(request.status) && Date.parse(request.expiresAt) + RETENTION_MS <= now) this.requests.delete(request.id);
    }
    const due = [...this.requests.values()].filter(
      (request) => (request.status === 'pending' || request.status === 'approved') && Date.parse(request.expiresAt) <= now,
    );
    if (due.length === 0) return;
    for (const request of due) this.requests.set(request.id, { ...request, status: 'expired' });
    await this.persist();
    for (const request of due) {
      await this.options.audit.append({ type: 'approval.expired', requestId: request.id, previousStatus: request.status });
      this.wake(request.id);
    }
  }

  close(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    for (const id of [...this.waiters.keys()]) this.wake(id);
  }

  private async decide(id: string, approver: Identity, outcome: 'approved' | 'denied', reason: string | undefined): Promise<ApprovalRequest> {
    await this.expireDue();
    const request = this.requests.get(id);
    if (!request) throw new WardenError('not-found', `no approval request ${id}`);
    const refuse = async (why: string): Promise<never> => {
      await this.options.audit.append({ type: 'approval.refused', requestId: id, by: approver.subject, byIssuer: approver.issuer, outcome, reason: why });
      this.options.log.warn('approval decision refused', { request: id, by: approver.subject, reason: why });
      throw new WardenError('forbidden', why);
    };
    if (isRequester(request, approver)) return refuse(`${approver.subject} requested ${id} and cannot decide it`);
    if (!this.mayDecide(request, approver)) return refuse(`${approver.subject} is not in an approver group of ${id} (${request.approvers.join(', ')})`);
    if (request.status !== 'pending') throw new WardenError('conflict', `approval request ${id} is ${request.status}, not pending`);
    const decided: ApprovalRequest = {
      ...request,
      status: outcome,
      decidedBy: approver.subject,
      decidedAt: this.clock.now().toISOString(),
      ...(reason ? { decisionReason: reason } : {}),
    };
    this.requests.set(id, decided);
    await this.persist();
    await this.options.audit.append({
      type: 'approval.decided',
      requestId: id,
      outcome,
      by: approver.subject,
      byIssuer: approver.issuer,
      ...(reason ? { reason } : {}),
    });
    this.options.log.info(`approval ${outcome}`, { request: id, by: approver.subject });
    this.wake(id);
    return decided;
  }

  private async markUsed(request: ApprovalRequest, sessionId: string): Promise<ApprovalRequest> {
    const used: ApprovalRequest = { ...request, status: 'used', usedBy: sessionId };
    this.requests.set(request.id, used);
    await this.persist();
    await this.options.audit.append({ type: 'approval.used', requestId: request.id, sessionId });
    return used;
  }

  private mayDecide(request: ApprovalRequest, identity: Identity): boolean {
    return !isRequester(request, identity) && identity.groups.some((group) => request.approvers.includes(group));
  }

  private wake(id: string): void {
    const waiters = this.waiters.get(id);
    const request = this.requests.get(id);
    if (!waiters || !request) return;
    this.waiters.delete(id);
    for (const waiter of [...waiters]) waiter(request);
  }

  private async persist(): Promise<void> {
    try {
      await this.options.store.save([...this.requests.values()]);
    } catch (error) {
      throw new WardenError('internal', `approval requests cannot be saved: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  }
}

function isRequester(request: ApprovalRequest, identity: Identity): boolean {
  return request.requester.subject === identity.subject && request.requester.issuer === identity.issuer;
}
