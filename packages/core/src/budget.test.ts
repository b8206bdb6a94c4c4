import type { Session } from './adapter';
import { MemoryAuditSink } from './audit/memory-audit-sink';
import type { Clock } from './clock';
import { WardenError } from './errors';
import type { CommandInput, Identity } from './events';
import { GatewayCore, type IdentityVerifier } from './gateway-core';
import { silentLogger } from './log';
import type { BudgetConfig } from './policy/policy-config';
import { PolicyEngine } from './policy/policy-engine';

const agent: Identity = { subject: 'agent-1', issuer: 'https://idp.example', groups: ['coding-agents'], kind: 'agent', expiresAt: new Date('2030-01-01T00:00:00Z') };
const human: Identity = { subject: 'dr-lee', issuer: 'https://idp.example', groups: ['coding-agents'], kind: 'human', expiresAt: new Date('2030-01-01T00:00:00Z') };
const read: CommandInput = { text: 'SELECT 1', classification: { action: 'read', objects: [], bulk: false, statementCount: 1, statements: [{ action: 'read', objects: [], bulk: false }] } };

function manualClock(): Clock & { advance(ms: number): void } {
  let now = Date.parse('2026-01-10T09:00:00.000Z');
  return { now: () => new Date(now), advance: (ms) => void (now += ms) };
}

async function sessionWith(budget: BudgetConfig, who: Identity = agent, clock: Clock = manualClock()): Promise<{ session: Session; audit: MemoryAuditSink }> {
  const audit = new MemoryAuditSink({ clock });
  const verifier: IdentityVerifier = { verify: (token) => (token === 'ok' ? Promise.resolve(who) : Promise.reject(new WardenError('unauthenticated', 'no'))) };
  const core = new GatewayCore({
    verifier,
    audit,
    clock,
    log: silentLogger,
    connections: new Map([['clinic', { protocol: 'postgres' }]]),
    policy: new PolicyEngine({ grants: [{ connection: 'clinic', groups: ['coding-agents'], access: 'read-only', budget }], rules: [] }),
  });
  return { session: await core.admit('clinic', { kind: 'bearer', token: 'ok' }, { address: '127.0.0.1:1', tls: true }), audit };
}

describe('agent budgets', () => {
  it('refuses statements over the per-minute rate, and allows them again a minute later', async () => {
    const clock = manualClock();
    const { session, audit } = await sessionWith({ statementsPerMinute: 3 }, agent, clock);
    const effects: string[] = [];
    for (let i = 0; i < 4; i++) effects.push((await session.decide(read)).decision.effect);
    expect(effects).toEqual(['allow', 'allow', 'allow', 'block']);
    const refused = (await session.decide(read)).decision;
    expect(refused).toEqual({ effect: 'block', rule: 'budget:statements-per-minute', reason: 'over the budget of 3 statements per minute; slow down and try again' });
    clock.advance(61_000);
    expect((await session.decide(read)).decision.effect).toBe('allow');
    expect(audit.ofType('budget.exceeded').map((record) => [record.limit, record.value, record.max])).toEqual([
      ['statements-per-minute', 4, 3],
      ['statements-per-minute', 5, 3],
    ]);
  });

  it('ends a session’s commands when its time is up', async () => {
    const clock = manualClock();
    const { session } = await sessionWith({ sessionSeconds: 600 }, agent, clock);
    expect((await session.decide(read)).decision.effect).toBe('allow');
    clock.advance(601_000);
    expect((await session.decide(read)).decision).toMatchObject({ effect: 'block', rule: 'budget:session-seconds' });
  });

  it('gives adapters the row limits and refuses commands once the session’s rows are used up', async () => {
    const { session, audit } = await sessionWith({ rowsPerStatement: 100, rowsPerSession: 150 });
    expect(session.limits).toEqual({ rowsPerStatement: 100, rowsPerSession: 150 });
    const first = await session.decide(read);
    session.recordResult(first.command.seq, { rows: 100, durationMs: 1 });
    const second = await session.decide(read);
    session.recordResult(second.command.seq, { rows: 50, durationMs: 1 });
    expect(session.rowsSent).toBe(150);
    expect((await session.decide(read)).decision).toEqual({ effect: 'block', rule: 'budget:rows-per-session', reason: "the session's budget of 150 rows is used up; no further commands run in it" });
    expect(audit.ofType('budget.exceeded')).toHaveLength(1);
  });

  it('applies to agents only, unless the grant says everyone', async () => {
    const forAgents = await sessionWith({ statementsPerMinute: 1, rowsPerStatement: 5 }, human);
    expect(forAgents.session.limits).toBeUndefined();
    await forAgents.session.decide(read);
    expect((await forAgents.session.decide(read)).decision.effect).toBe('allow');
    const forEveryone = await sessionWith({ appliesTo: 'everyone', statementsPerMinute: 1 }, human);
    await forEveryone.session.decide(read);
    expect((await forEveryone.session.decide(read)).decision.effect).toBe('block');
  });
});
