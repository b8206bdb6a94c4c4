/**
 * Issue 15's proof for Postgres: for a random (seeded) mix of client traffic through Warden, every
 * statement the target logged for a session (log_statement = all) has its audit record, in order,
 * with the same text, and every refusal marker the target was sent stands for a refused record.
 * A failure prints the seed; `REDTEAM_SEED=<seed>` runs the same traffic again.
 */
import { auditedCommands, sessionIdsOf } from './audit-trail';
import { matchAuditToTarget } from './match-audit';
import { sameStatement, skippedByTarget, targetEvents, targetSessionsOf } from './postgres-session-log';
import { driverSession, wireSession } from './postgres-workload';
import type { Grant } from './grant';
import { postgresRedteamFixture } from './redteam-fixture';
import { seededRandom, workloadSeed } from './seeded-random';

const CONNECTION = 'clinic';

const fixture = postgresRedteamFixture(CONNECTION);

describe('the audit log against the Postgres target log', () => {
  it('has a record, in order and with the same text, for every statement the target ran in a random mix of traffic', () => proveAuditMatchesTarget(false), 60_000);

  it('also when the traffic executes names whose PREPARE Warden refused (its refusals of unknown names are audited)', () => proveAuditMatchesTarget(true), 60_000);
});

async function proveAuditMatchesTarget(useRefusedNames: boolean): Promise<void> {
  const seed = workloadSeed();
  const random = seededRandom(seed);
  const sessions: { application: string; grant: Grant; kind: 'driver' | 'wire' }[] = [];
  for (let index = 0; index < 6; index++) {
    const grant = (['read-only', 'read-write', 'full'] as const)[index % 3]!;
    const kind = index < 3 ? 'driver' : 'wire';
    sessions.push({ application: `proof-${seed}-${index}`, grant, kind });
  }
  for (const session of sessions) {
    const connection = { port: fixture.gateway.port(CONNECTION), database: CONNECTION, password: await fixture.gateway.token(session.grant), application: session.application, readOnly: session.grant === 'read-only', useRefusedNames };
    if (session.kind === 'driver') await driverSession(connection, random, 25);
    else await wireSession(connection, random, 25);
  }

  const [records, log] = [await fixture.gateway.auditRecords(), await fixture.target.statementLog()];
  const problems: string[] = [];
  let ran = 0;
  let refused = 0;
  for (const session of sessions) {
    const [auditSession] = sessionIdsOf(records, session.application);
    const [targetSession] = targetSessionsOf(log, session.application);
    if (!auditSession || !targetSession) {
      problems.push(`${session.application}: no session in the ${auditSession ? 'target log' : 'audit log'}`);
      continue;
    }
    const audited = auditedCommands(records, auditSession);
    const events = targetEvents(log, targetSession);
    // A simple query always reaches the target; only an Execute can be skipped (skippedByTarget).
    const match = matchAuditToTarget(audited, events, { sameStatement, skippable: skippedByTarget });
    problems.push(...match.problems.map((problem) => `${session.application} (${session.kind}, ${session.grant}): ${problem}`));
    ran += events.filter((event) => event.kind === 'ran').length;
    refused += events.filter((event) => event.kind === 'refusal').length;
  }
  if (problems.length > 0) throw new Error(`seed ${seed} (REDTEAM_SEED=${seed} to repeat):\n${problems.join('\n')}`);
  // Not vacuous: the mix ran statements and had Warden refuse some.
  expect(ran).toBeGreaterThan(50);
  expect(refused).toBeGreaterThan(0);
}
