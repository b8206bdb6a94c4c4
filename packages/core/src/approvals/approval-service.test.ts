import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClientInfo, Session } from '../adapter';
import { MemoryAuditSink } from '../audit/memory-audit-sink';
import type { Clock } from '../clock';
import { WardenError } from '../errors';
import type { Classification, CommandInput, Identity, ReviewDecision } from '../events';
import { GatewayCore, type IdentityVerifier } from '../gateway-core';
import { silentLogger } from '../log';
import { PolicyEngine } from '../policy/policy-engine';
import { approvalBinding, normalizeCommandText } from './approval-binding';
import type { ApprovalSettings } from './approval-request';
import { ApprovalService } from './approval-service';
import { FileApprovalStore, MemoryApprovalStore, type ApprovalStore } from './approval-store';

/** A clock the test moves by hand. */
function manualClock(start = '2026-01-10T09:00:00.000Z'): Clock & { advance(seconds: number): void } {
  let now = new Date(start).getTime();
  return { now: () => new Date(now), advance: (seconds) => void (now += seconds * 1000) };
}

const identity = (subject: string, groups: string[], kind: Identity['kind'] = 'human'): Identity => ({
  subject,
  issuer: 'https://idp.example',
  groups,
  kind,
  expiresAt: new Date('2030-01-01T00:00:00Z'),
});
const agent = identity('agent-1', ['coding-agents'], 'agent');
const lead = identity('dr-lee', ['clinical-leads']);
const otherLead = identity('dr-okafor', ['clinical-leads']);
const nurse = identity('nurse-kim', ['clinicians']);
/** Both a requester and a lead: may never approve their own request. */
const leadAgent = identity('lead-agent', ['coding-agents', 'clinical-leads'], 'agent');

const writeOn = (objects: string[]): Classification => ({ action: 'write', objects, bulk: false, statementCount: 1, statements: [{ action: 'write', objects, bulk: false }] });
const review: ReviewDecision = { effect: 'review', rule: 'phi-writes-need-review', requestId: '', approvers: ['clinical-leads'], reason: 'writes to PHI tables need a clinical lead' };

function service(options: { clock?: Clock; store?: ApprovalStore; settings?: Partial<ApprovalSettings>; onRequested?: () => Promise<void> } = {}) {
  const audit = new MemoryAuditSink(options.clock ? { clock: options.clock } : {});
  return ApprovalService.open({
    store: options.store ?? new MemoryApprovalStore(),
    audit,
    log: silentLogger,
    sweepIntervalMs: 0,
    ...(options.clock ? { clock: options.clock } : {}),
    rules: new Map([['phi-writes-need-review', options.settings ?? {}]]),
    ...(options.onRequested ? { onRequested: options.onRequested } : {}),
  }).then((approvals) => ({ approvals, audit }));
}

function hold(approvals: ApprovalService, text = 'DELETE FROM patients WHERE id = 1', who: Identity = agent) {
  return approvals.hold({ sessionId: 's-1', identity: who, connection: 'clinic', protocol: 'postgres', text, classification: writeOn(['patients']), decision: review });
}

describe('normalizeCommandText', () => {
  it.each([
    ['DELETE  FROM\n patients WHERE id = 1 ', 'DELETE FROM patients WHERE id = 1'],
    ["UPDATE p SET note = 'a  b'  WHERE id=1", "UPDATE p SET note = 'a  b' WHERE id=1"],
    ["SELECT 'it''s   x'", "SELECT 'it''s   x'"],
    ['SELECT "a  b"   FROM t', 'SELECT "a  b" FROM t'],
    ['DO $$ BEGIN  x; END $$  ', 'DO $$ BEGIN  x; END $$'],
  ])('%j → %j', (text, normalized) => {
    expect(normalizeCommandText(text)).toBe(normalized);
  });

  it('binds identity, connection and literals', () => {
    const base = approvalBinding('agent-1', 'iss', 'clinic', 'DELETE FROM patients WHERE id = 1');
    expect(approvalBinding('agent-1', 'iss', 'clinic', ' DELETE  FROM patients WHERE id = 1')).toBe(base);
    expect(approvalBinding('agent-1', 'iss', 'clinic', 'DELETE FROM patients WHERE id = 2')).not.toBe(base);
    expect(approvalBinding('agent-2', 'iss', 'clinic', 'DELETE FROM patients WHERE id = 1')).not.toBe(base);
    expect(approvalBinding('agent-1', 'other-iss', 'clinic', 'DELETE FROM patients WHERE id = 1')).not.toBe(base);
    expect(approvalBinding('agent-1', 'iss', 'billing', 'DELETE FROM patients WHERE id = 1')).not.toBe(base);
  });
});

describe('ApprovalService', () => {
  it('opens one request per binding, audits it and notifies', async () => {
    const notified: string[] = [];
    const { approvals, audit } = await service({ onRequested: () => Promise.resolve(void notified.push('x')) });
    const first = await hold(approvals);
    const again = await hold(approvals, 'DELETE FROM patients  WHERE id = 1');
    expect(again.id).toBe(first.id);
    expect(first).toMatchObject({ status: 'pending', connection: 'clinic', rule: 'phi-writes-need-review', approvers: ['clinical-leads'], objects: ['patients'], requester: { subject: 'agent-1', kind: 'agent' } });
    expect(audit.ofType('approval.requested')).toHaveLength(1);
    expect(notified).toHaveLength(1);
  });

  it('lets an approver approve once; the requester can use it once', async () => {
    const { approvals, audit } = await service();
    const request = await hold(approvals);
    await expect(approvals.approve(request.id, lead, 'checked with the ward')).resolves.toMatchObject({ status: 'approved', decidedBy: 'dr-lee' });
    await expect(approvals.approve(request.id, otherLead)).rejects.toMatchObject({ code: 'conflict' });
    // Another command, another identity: nothing to use.
    expect(await approvals.takeApproval(agent, 'clinic', 'DELETE FROM patients WHERE id = 2', 's-2')).toBeUndefined();
    expect(await approvals.takeApproval(nurse, 'clinic', 'DELETE FROM patients WHERE id = 1', 's-2')).toBeUndefined();
    const used = await approvals.takeApproval(agent, 'clinic', 'DELETE FROM patients WHERE id = 1', 's-2');
    expect(used).toMatchObject({ id: request.id, status: 'used', usedBy: 's-2' });
    expect(await approvals.takeApproval(agent, 'clinic', 'DELETE FROM patients WHERE id = 1', 's-3')).toBeUndefined();
    expect(audit.records.map((record) => record.type)).toEqual(['approval.requested', 'approval.decided', 'approval.used']);
  });

  it('refuses self-approval and non-approvers, and audits the attempt', async () => {
    const { approvals, audit } = await service();
    const own = await hold(approvals, 'DELETE FROM patients WHERE id = 7', leadAgent);
    await expect(approvals.approve(own.id, leadAgent)).rejects.toMatchObject({ code: 'forbidden', message: expect.stringMatching(/cannot decide it/) });
    await expect(approvals.approve(own.id, nurse)).rejects.toMatchObject({ code: 'forbidden', message: expect.stringMatching(/not in an approver group/) });
    expect(audit.ofType('approval.refused').map((record) => record.by)).toEqual(['lead-agent', 'nurse-kim']);
    expect((await approvals.get(own.id, lead)).status).toBe('pending');
  });

  it('denies with a reason, and wakes a waiting command', async () => {
    const { approvals } = await service();
    const request = await hold(approvals);
    const waiting = approvals.waitForDecision(request.id, 60_000);
    await expect(approvals.deny(request.id, lead, '')).rejects.toBeInstanceOf(WardenError);
    await approvals.deny(request.id, lead, 'use the archive flag instead');
    await expect(waiting).resolves.toMatchObject({ status: 'denied', decisionReason: 'use the archive flag instead' });
  });

  it('expires requests and unused approvals after their time to live', async () => {
    const clock = manualClock();
    const { approvals, audit } = await service({ clock, settings: { ttlSeconds: 600 } });
    const pending = await hold(approvals);
    const approved = await hold(approvals, 'DELETE FROM patients WHERE id = 2');
    await approvals.approve(approved.id, lead);
    clock.advance(601);
    await expect(approvals.approve(pending.id, lead)).rejects.toMatchObject({ code: 'conflict', message: expect.stringMatching(/is expired/) });
    expect(await approvals.takeApproval(agent, 'clinic', 'DELETE FROM patients WHERE id = 2', 's-2')).toBeUndefined();
    expect(audit.ofType('approval.expired').map((record) => [record.requestId, record.previousStatus])).toEqual([
      [pending.id, 'pending'],
      [approved.id, 'approved'],
    ]);
  });

  it('shows each identity the requests it may decide and its own', async () => {
    const { approvals } = await service();
    const request = await hold(approvals);
    expect((await approvals.visibleTo(lead)).map((r) => r.id)).toEqual([request.id]);
    expect((await approvals.visibleTo(agent)).map((r) => r.id)).toEqual([request.id]);
    expect(await approvals.visibleTo(nurse)).toEqual([]);
    await expect(approvals.get(request.id, nurse)).rejects.toMatchObject({ code: 'not-found' });
  });

  it('keeps requests across a restart (file store)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-approvals-'));
    try {
      const first = await service({ store: new FileApprovalStore(dir) });
      const request = await hold(first.approvals);
      await first.approvals.approve(request.id, lead);
      first.approvals.close();
      const second = await service({ store: new FileApprovalStore(dir) });
      expect(await second.approvals.takeApproval(agent, 'clinic', 'DELETE FROM patients WHERE id = 1', 's-9')).toMatchObject({ id: request.id, status: 'used' });
      second.approvals.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('sessions and approvals', () => {
  const tokens = new Map([
    ['t-agent', agent],
    ['t-lead', lead],
  ]);
  const verifier: IdentityVerifier = {
    verify: (token) => {
      const found = tokens.get(token);
      return found ? Promise.resolve(found) : Promise.reject(new WardenError('unauthenticated', 'bad token'));
    },
  };
  const client: ClientInfo = { address: '127.0.0.1:5000', tls: true };
  const deleteOne: CommandInput = { text: 'DELETE FROM patients WHERE id = 1', classification: writeOn(['patients']) };

  async function gateway(mode: 'wait' | 'retry', waitSeconds = 30) {
    const audit = new MemoryAuditSink();
    const approvals = await ApprovalService.open({
      store: new MemoryApprovalStore(),
      audit,
      log: silentLogger,
      sweepIntervalMs: 0,
      rules: new Map([['phi-writes-need-review', { mode, waitSeconds }]]),
    });
    const core = new GatewayCore({
      verifier,
      audit,
      approvals,
      log: silentLogger,
      connections: new Map([['clinic', { protocol: 'postgres' }]]),
      policy: new PolicyEngine({
        grants: [{ connection: 'clinic', groups: ['coding-agents'], access: 'read-write' }],
        rules: [{ name: 'phi-writes-need-review', match: { action: 'write', objects: ['patients'] }, effect: 'review', approvers: ['clinical-leads'], reason: 'writes to PHI tables need a clinical lead' }],
      }),
    });
    const session: Session = await core.admit('clinic', { kind: 'bearer', token: 't-agent' }, client);
    return { audit, approvals, session };
  }

  it('retry: refuses naming the request, then runs the approved command once', async () => {
    const { approvals, session, audit } = await gateway('retry');
    const first = await session.decide(deleteOne);
    expect(first.decision).toMatchObject({ effect: 'review', rule: 'phi-writes-need-review', requestId: expect.stringMatching(/^apr_/) });
    expect(first.decision.effect === 'review' && first.decision.reason).toMatch(/held for approval as request apr_\w+; once it is approved, run the same command again/);
    const requestId = first.decision.effect === 'review' ? first.decision.requestId : '';
    await approvals.approve(requestId, lead);
    const second = await session.decide(deleteOne);
    expect(second.decision).toEqual({ effect: 'allow', rule: 'phi-writes-need-review', approval: requestId });
    const third = await session.decide(deleteOne);
    expect(third.decision.effect).toBe('review');
    const commands = audit.ofType('command');
    expect(commands.map((record) => record.decision.effect)).toEqual(['review', 'allow', 'review']);
  });

  it('wait: holds the command until an approver decides', async () => {
    const { approvals, session, audit } = await gateway('wait');
    const pending = session.decide({ ...deleteOne, estimateImpact: () => Promise.resolve({ rows: 1, source: 'planner' }) });
    // The request exists while the command waits.
    let requests: Awaited<ReturnType<ApprovalService['visibleTo']>> = [];
    for (let i = 0; i < 50 && requests.length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      requests = await approvals.visibleTo(lead, { status: 'pending' });
    }
    expect(requests).toHaveLength(1);
    expect(requests[0]?.estimate).toEqual({ rows: 1, source: 'planner' });
    await approvals.approve(requests[0]!.id, lead, 'fine');
    const ruling = await pending;
    expect(ruling.decision).toEqual({ effect: 'allow', rule: 'phi-writes-need-review', approval: requests[0]!.id });
    expect(audit.records.map((record) => record.type)).toEqual(['session.start', 'approval.requested', 'approval.decided', 'approval.used', 'command']);
  });

  it('wait: a denial refuses the command with the approver and the reason', async () => {
    const { approvals, session } = await gateway('wait');
    const pending = session.decide(deleteOne);
    let requests: Awaited<ReturnType<ApprovalService['visibleTo']>> = [];
    while (requests.length === 0) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      requests = await approvals.visibleTo(lead, { status: 'pending' });
    }
    await approvals.deny(requests[0]!.id, lead, 'not during the audit');
    expect((await pending).decision).toMatchObject({ effect: 'block', reason: `approval request ${requests[0]!.id} was denied by dr-lee: not during the audit` });
  });

  it('wait: undecided within the wait time, the client is told to run it again once approved', async () => {
    const { session } = await gateway('wait', 0.05);
    const ruling = await session.decide(deleteOne);
    expect(ruling.decision).toMatchObject({ effect: 'review', reason: expect.stringMatching(/was not decided within 0.05 s; once it is approved, run the same command again/) });
  });

  it('wait: a session that ends stops waiting', async () => {
    const { session } = await gateway('wait', 600);
    const pending = session.decide(deleteOne);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await session.end('client-closed');
    await expect(pending).rejects.toMatchObject({ message: 'the session has ended' });
  });
});
