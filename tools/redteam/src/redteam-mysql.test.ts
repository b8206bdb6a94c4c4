/**
 * MySQL through Warden against the machine's MariaDB, with the general log on (restored after):
 * the proof that every statement the target ran for a session of random traffic (COM_QUERY,
 * multi-statements, COM_STMT_PREPARE/EXECUTE, SQL PREPARE/EXECUTE) has its audit record in order,
 * and the attack corpus (attacks/mysql-attacks.ts), one test per attack, each checked for effects
 * on the target and, per session, against the general log. One file, because the general log is
 * a server-wide setting.
 */
import { existsSync } from 'node:fs';
import { MYSQL_ATTACKS, MYSQL_TOOL_USES } from './attacks/mysql';
import { auditedCommands, sessionIdsOf } from './audit-trail';
import { matchAuditToTarget } from './match-audit';
import { openMysqlSession, runMysqlAttack, THREAD_ID_QUERY, type MysqlAnswer, type MysqlAttack } from './mysql-attack';
import { mysqlTargetEvents, notLoggedAsRun, sameMysqlStatement } from './mysql-session-log';
import type { AuditRecord } from '@warden/core';
import type { GeneralLogRow } from './mysql-target';
import { mysqlRedteamFixture } from './redteam-fixture';
import { runTool } from './run-tool';
import { seededRandom, workloadSeed, type SeededRandom } from './seeded-random';

const CONNECTION = 'clinic-my';
/** `REDTEAM_RUN_PENDING=1` runs the pending attacks too, to see which fixes have landed. */
const runPending = process.env['REDTEAM_RUN_PENDING'] === '1';

const fixture = mysqlRedteamFixture(CONNECTION);
/** Sessions of the attacks that ran, for the audit check at the end. */
const sessions: { attack: string; application: string; threadId: number }[] = [];

/** The audit log of one session against the target's general log of its thread. */
async function auditProblems(application: string, threadId: number): Promise<string[]> {
  return auditProblemsIn(await fixture.gateway.auditRecords(), await fixture.target.generalLog(threadId), application, threadId);
}

function auditProblemsIn(records: readonly AuditRecord[], rows: readonly GeneralLogRow[], application: string, threadId: number): string[] {
  const sessionIds = sessionIdsOf(records, application);
  if (sessionIds.length !== 1) return [`${sessionIds.length} audit sessions for ${application}`];
  const audited = auditedCommands(records, sessionIds[0]!);
  const events = mysqlTargetEvents(rows, THREAD_ID_QUERY);
  if (events.length === 0) return [`the general log has nothing for thread ${threadId}`];
  const match = matchAuditToTarget(audited, events, { sameStatement: sameMysqlStatement, skippable: notLoggedAsRun });
  if (match.problems.length === 0) return [];
  return [
    ...match.problems,
    `audit: ${audited.map((command) => `${command.effect} ${JSON.stringify(command.text)}`).join(', ')}`,
    `target: ${events.map((event) => `${event.command} ${JSON.stringify(event.text)}`).join(', ')}`,
  ];
}

const READS = ['SELECT COUNT(*) FROM patients', 'SELECT full_name FROM patients WHERE id = 3', 'SELECT word FROM canary', 'SELECT NOW()', 'SELECT 1 FROM missing_table', "SELECT 'it''s; not -- a split' AS text"];
const WRITES = ["INSERT INTO notes (body) VALUES ('proof')", 'UPDATE notes SET body = body WHERE id < 0', 'DELETE FROM notes WHERE id < 0'];

function statement(random: SeededRandom): string {
  return random.next() < 0.6 ? random.pick(READS) : random.pick(WRITES);
}

describe('the audit log against the MariaDB general log', () => {
  it('has a record, in order and with the same text, for every statement the target ran in a random mix of traffic', async () => {
    const seed = workloadSeed();
    const random = seededRandom(seed);
    const problems: string[] = [];
    let ran = 0;
    let refused = 0;
    for (const [index, grant] of (['read-only', 'read-write', 'full', 'read-only'] as const).entries()) {
      const application = `proof-${seed}-${index}`;
      const { connection, threadId } = await openMysqlSession({ port: fixture.gateway.port(CONNECTION), database: CONNECTION, password: await fixture.token(grant), application });
      const attempt = (run: () => Promise<unknown>): Promise<unknown> => run().catch(() => undefined);
      for (let step = 0; step < 30; step++) {
        const kind = random.below(5);
        if (kind === 0) await attempt(() => connection.query(statement(random)));
        else if (kind === 1) await attempt(() => connection.query(`${statement(random)}; ${statement(random)}`));
        else if (kind === 2) await attempt(() => connection.execute('SELECT full_name FROM patients WHERE id = ?', [1 + random.below(20)]));
        else if (kind === 3) await attempt(() => connection.execute(random.next() < 0.5 ? "INSERT INTO notes (body) VALUES (?)" : 'SELECT ? + 1 AS n', [random.below(100)]));
        else {
          await attempt(() => connection.query(`PREPARE proof_${step} FROM 'SELECT full_name FROM patients WHERE id = ?'`));
          await attempt(() => connection.query(`SET @id = ${1 + random.below(20)}`));
          await attempt(() => connection.query(`EXECUTE proof_${step} USING @id`));
          await attempt(() => connection.query(`DEALLOCATE PREPARE proof_${step}`));
        }
      }
      await connection.end();
      problems.push(...(await auditProblems(application, threadId)).map((problem) => `${application} (${grant}): ${problem}`));
      ran += mysqlTargetEvents(await fixture.target.generalLog(threadId), THREAD_ID_QUERY).length;
      refused += auditedCommands(await fixture.gateway.auditRecords(), sessionIdsOf(await fixture.gateway.auditRecords(), application)[0] ?? '').filter((command) => command.effect !== 'allow').length;
    }
    if (problems.length > 0) throw new Error(`seed ${seed} (REDTEAM_SEED=${seed} to repeat):\n${problems.join('\n')}`);
    // Not vacuous: the mix ran statements on the target and had Warden refuse some.
    expect(ran).toBeGreaterThan(60);
    expect(refused).toBeGreaterThan(0);
  }, 60_000);
});

describe('the MySQL corpus', () => {
  it('names each attack once, in kebab-case', () => {
    const ids = MYSQL_ATTACKS.map((attack) => attack.id);
    expect(ids.filter((id, index) => ids.indexOf(id) !== index)).toEqual([]);
    expect(ids.filter((id) => !/^[a-z0-9]+(-[a-z0-9]+)*$/.test(id))).toEqual([]);
  });
});

async function attempt(attack: MysqlAttack): Promise<void> {
  const before = await fixture.target.canaryState();
  const run = await runMysqlAttack(attack, { port: fixture.gateway.port(CONNECTION), database: CONNECTION, password: await fixture.token(attack.grant) });
  if (run.threadId !== undefined) sessions.push({ attack: attack.id, application: run.application, threadId: run.threadId });
  if (!attack.changesData) {
    const after = await fixture.target.canaryState().catch((error: Error) => error);
    if (after instanceof Error || JSON.stringify(after) !== JSON.stringify(before)) {
      // The attack worked: give the next ones a clean database, then fail this one.
      await fixture.target.resetCanary();
      throw new Error(`the attack changed the target:\n${JSON.stringify(before)}\n${after instanceof Error ? after.message : JSON.stringify(after)}\n${transcriptOf(attack, run.answers)}`);
    }
  }
  expect(existsSync(run.file)).toBe(false);
  const payload = attack.payload ?? attack.steps.length - 1;
  const transcript = transcriptOf(attack, run.answers);
  if ('refused' in attack.expect) {
    const codes = typeof attack.expect.refused === 'string' ? [attack.expect.refused] : attack.expect.refused;
    const refusal = run.answers.slice(0, payload + 1).find((answer) => answer.errno !== undefined && codes.includes(answer.errno));
    if (!refusal) throw new Error(`expected a refusal with ${codes.join(' or ')} by step ${payload}:\n${transcript}`);
    if (refusal.errno === '1142' && !refusal.message?.startsWith('Warden: ')) throw new Error(`1142 came from the target, not from Warden:\n${transcript}`);
    if (!run.answers[payload]?.errno) throw new Error(`the payload step succeeded:\n${transcript}`);
  } else if ('contained' in attack.expect) {
    const code = attack.expect.contained;
    if (!run.answers.some((answer) => answer.errno === code && answer.message?.startsWith('Warden: '))) throw new Error(`expected Warden to refuse a step with ${code}:\n${transcript}`);
  } else if (run.answers.some((answer) => answer.errno)) {
    throw new Error(`a legitimate step failed:\n${transcript}`);
  }
}

function transcriptOf(attack: MysqlAttack, answers: readonly MysqlAnswer[]): string {
  return answers.map((answer, index) => `step ${index} ${JSON.stringify(attack.steps[index]).slice(0, 120)}: ${answer.errno ? `${answer.errno} ${answer.message}` : 'ok'}`).join('\n');
}

describe('MySQL attacks through Warden', () => {
  for (const attack of MYSQL_ATTACKS) {
    const name = `${attack.id} [${attack.class}, ${attack.grant}]${attack.pending ? ` (pending: ${attack.pending})` : ''}`;
    (attack.pending && !runPending ? it.skip : it)(name, () => attempt(attack));
  }
});

describe('legitimate tools through Warden keep working under read-only', () => {
  for (const use of MYSQL_TOOL_USES) {
    (use.pending && !runPending ? it.skip : it)(use.id, async () => {
      const before = await fixture.target.canaryState();
      const result = await runTool(use.command, use.args({ port: fixture.gateway.port(CONNECTION), database: fixture.target.database }), { MYSQL_PWD: await fixture.token(use.grant) });
      if (result.code !== 0 || !use.output.test(result.stdout)) throw new Error(`${use.command} exited ${result.code}:\n${result.stderr.slice(0, 2000)}\n--- stdout ---\n${result.stdout.slice(0, 2000)}`);
      expect(await fixture.target.canaryState()).toEqual(before);
    });
  }
});

describe('the audit log of each MySQL attack session against the general log', () => {
  const problems = new Map<string, string[]>();
  beforeAll(async () => {
    const [records, logs] = [await fixture.gateway.auditRecords(), await fixture.target.generalLogs(sessions.map((session) => session.threadId))];
    for (const session of sessions) {
      const found = auditProblemsIn(records, logs.get(session.threadId) ?? [], session.application, session.threadId);
      if (found.length > 0) problems.set(session.attack, found);
    }
  }, 30_000);

  for (const attack of MYSQL_ATTACKS) {
    const pending = attack.pending ?? attack.auditPending;
    (pending && !runPending ? it.skip : it)(`${attack.id}: everything the target ran is audited${pending ? ` (pending: ${pending})` : ''}`, () => {
      expect(problems.get(attack.id) ?? []).toEqual([]);
    });
  }
});
