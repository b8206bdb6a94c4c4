/**
 * The Postgres attack corpus (attacks/postgres-*.ts), one test per attack, through one gateway in
 * front of one private Postgres that logs every statement. Each attack runs in its own session with
 * its grant; its payload must be answered as the attack expects, the target must show no effect
 * (canary state, no file written), and at the end every statement the target ran in any attack
 * session must have its audit record (the proof of audit-matches-target-postgres.test.ts, for the
 * corpus). Attacks marked `pending` wait for a fix that has not landed, and are skipped.
 */
import { existsSync } from 'node:fs';
import { POSTGRES_ATTACKS, POSTGRES_TOOL_USES } from './attacks/postgres';
import { auditedCommands, sessionIdsOf } from './audit-trail';
import { matchAuditToTarget } from './match-audit';
import { runPostgresAttack, type PostgresAttack } from './postgres-attack';
import { sameStatement, skippedByTarget, targetEvents, targetSessionsOf } from './postgres-session-log';
import { runTool } from './run-tool';
import type { PostgresCanaryState } from './postgres-target';
import { postgresRedteamFixture } from './redteam-fixture';

const CONNECTION = 'clinic';

const fixture = postgresRedteamFixture(CONNECTION);
/** Sessions of the attacks that ran, for the audit check at the end. */
const sessions: { attack: string; application: string }[] = [];

function describeAnswer(attack: PostgresAttack, answers: Awaited<ReturnType<typeof runPostgresAttack>>['answers']): string {
  return answers.map((answer, index) => `step ${index} ${JSON.stringify(attack.steps[index]).slice(0, 120)}: ${answer.messages.map((message) => `${message.code}${message.text ? `(${message.text}${message.message ? ` ${message.message}` : ''})` : ''}`).join(' ')}`).join('\n');
}

/** Whether Warden refused a command in the session that announced `application`. */
async function refusedInAudit(application: string): Promise<boolean> {
  const records = await fixture.gateway.auditRecords();
  return sessionIdsOf(records, application).some((session) => auditedCommands(records, session).some((command) => command.effect === 'block'));
}

/** The canary state after the last attack: the private target changes only through the attacks. */
let lastState: PostgresCanaryState | undefined;

async function attempt(attack: PostgresAttack): Promise<void> {
  const before = (lastState ??= await fixture.target.canaryState());
  const run = await runPostgresAttack(attack, { port: fixture.gateway.port(CONNECTION), database: CONNECTION, password: await fixture.token(attack.grant) });
  sessions.push({ attack: attack.id, application: run.application });
  const after = await fixture.target.canaryState();
  lastState = after;
  if (!attack.changesData) {
    if (JSON.stringify(after) !== JSON.stringify(before)) {
      // The attack worked: give the next ones a clean target, then fail this one.
      lastState = undefined;
      await fixture.target.resetCanary();
      throw new Error(`the attack changed the target:\n${JSON.stringify(before)}\n${JSON.stringify(after)}\n${describeAnswer(attack, run.answers)}`);
    }
  }
  expect(existsSync(run.file)).toBe(false);
  const payload = attack.payload ?? attack.steps.length - 1;
  const transcript = describeAnswer(attack, run.answers);
  if (process.env["REDTEAM_TRANSCRIPT"] === "1") process.stdout.write(`${attack.id}\n${transcript}\n`);
  if ('refused' in attack.expect) {
    const codes = typeof attack.expect.refused === 'string' ? [attack.expect.refused] : attack.expect.refused;
    const refusal = run.answers.slice(0, payload + 1).find((answer) => answer.error && codes.includes(answer.error.text))?.error;
    if (refusal?.text === '42501' && !refusal.message?.startsWith('Warden: ')) throw new Error(`42501 came from the target, not from Warden:\n${transcript}`);
    // The target may fail a batch before Warden's refusal reaches the client (a FOR UPDATE fails at
    // Bind, before its Execute is decided): then Warden's decision is in the audit log.
    if (!refusal && !(codes.includes('42501') && (await refusedInAudit(run.application)))) throw new Error(`expected a refusal with ${codes.join(' or ')} by step ${payload}:\n${transcript}`);
    if (!run.answers[payload]?.error) throw new Error(`the payload step succeeded:\n${transcript}`);
  } else if ('contained' in attack.expect) {
    const code = attack.expect.contained;
    if (!run.answers.some((answer) => answer.error?.text === code && answer.error.message?.startsWith('Warden: '))) throw new Error(`expected Warden to refuse a step with ${code}:\n${transcript}`);
  } else {
    const failed = run.answers.filter((answer) => answer.error);
    if (failed.length > 0) throw new Error(`a legitimate step failed:\n${transcript}`);
  }
}

/** `REDTEAM_RUN_PENDING=1` runs the pending attacks too, to see which fixes have landed. */
const runPending = process.env['REDTEAM_RUN_PENDING'] === '1';

describe('the Postgres corpus', () => {
  it('names each attack once, in kebab-case', () => {
    const ids = POSTGRES_ATTACKS.map((attack) => attack.id);
    expect(ids.filter((id, index) => ids.indexOf(id) !== index)).toEqual([]);
    expect(ids.filter((id) => !/^[a-z0-9]+(-[a-z0-9]+)*$/.test(id))).toEqual([]);
  });
});

describe('Postgres attacks through Warden', () => {
  for (const attack of POSTGRES_ATTACKS) {
    const name = `${attack.id} [${attack.class}, ${attack.grant}]${attack.pending ? ` (pending: ${attack.pending})` : ''}`;
    (attack.pending && !runPending ? it.skip : it)(name, () => attempt(attack));
  }
});

describe('legitimate tools through Warden keep working under read-only', () => {
  for (const use of POSTGRES_TOOL_USES) {
    (use.pending && !runPending ? it.skip : it)(use.id, async () => {
      const before = await fixture.target.canaryState();
      const application = `tool-${use.id}`;
      const result = await runTool(use.command, use.args({ port: fixture.gateway.port(CONNECTION), database: CONNECTION }), { PGPASSWORD: await fixture.token(use.grant), PGAPPNAME: application });
      sessions.push({ attack: use.id, application });
      if (result.code !== 0 || !use.output.test(result.stdout)) throw new Error(`${use.command} exited ${result.code}:\n${result.stderr.slice(0, 2000)}\n--- stdout ---\n${result.stdout.slice(0, 2000)}`);
      expect(await fixture.target.canaryState()).toEqual(before);
    });
  }
});

describe('the audit log of each attack session against the target log', () => {
  /** Problems per attack id; computed once, after every attack ran. */
  const problems = new Map<string, string[]>();
  beforeAll(async () => {
    const [records, log] = [await fixture.gateway.auditRecords(), await fixture.target.statementLog()];
    for (const session of sessions) {
      const targetSessions = targetSessionsOf(log, session.application);
      const auditSessions = sessionIdsOf(records, session.application);
      // A session Warden refused before it reached the target has nothing to compare; one with an
      // allowed command must be in the target's log.
      if (targetSessions.length === 0 && !auditSessions.some((id) => auditedCommands(records, id).some((command) => command.effect === 'allow'))) continue;
      if (auditSessions.length !== 1 || targetSessions.length !== 1) {
        problems.set(session.attack, [`${auditSessions.length} audit sessions, ${targetSessions.length} target sessions`]);
        continue;
      }
      const audited = auditedCommands(records, auditSessions[0]!);
      const events = targetEvents(log, targetSessions[0]!);
      const match = matchAuditToTarget(audited, events, { sameStatement, skippable: skippedByTarget });
      if (match.problems.length === 0) continue;
      problems.set(session.attack, [
        ...match.problems,
        `audit: ${audited.map((command) => `${command.effect} ${JSON.stringify(command.text)}`).join(', ')}`,
        `target: ${events.map((event) => (event.kind === 'ran' ? JSON.stringify(event.text) : 'refusal')).join(', ')}`,
      ]);
    }
  }, 30_000);

  for (const use of POSTGRES_TOOL_USES) {
    (use.pending && !runPending ? it.skip : it)(`${use.id}: everything the target ran is audited`, () => {
      expect(problems.get(use.id) ?? []).toEqual([]);
    });
  }

  for (const attack of POSTGRES_ATTACKS) {
    const pending = attack.pending ?? attack.auditPending;
    const name = `${attack.id}: everything the target ran is audited${pending ? ` (pending: ${pending})` : ''}`;
    (pending && !runPending ? it.skip : it)(name, () => {
      expect(problems.get(attack.id) ?? []).toEqual([]);
    });
  }
});
