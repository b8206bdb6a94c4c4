/**
 * Syntax errors in the client's own terms: a statement Warden's parser cannot read is refused, but
 * the client sees what PostgreSQL itself says about it (42601 with its position, the transaction
 * aborted), because Warden asks the target only to parse it. A text the target accepts and Warden
 * cannot analyse is refused as such, and nothing of it runs. psql, node-postgres and raw protocol
 * messages, each compared with the same client talking to the machine's PostgreSQL directly.
 */
import { createPostgresAdapter } from '@warden/adapter-postgres';
import type { AdapterFactory, AuditRecord, Classification } from '@warden/core';
import { classifyPostgres } from '@warden/sql';
import { Client, type DatabaseError } from 'pg';
import { serialize } from 'pg-protocol';
import { PG, psql, run } from './harness';
import { postgresGatewayFixture } from './postgres-gateway-fixture';
import { PipelinedSession } from './postgres-pipelined-session';
import { errorFields } from './postgres-raw-session';

/** Texts carrying this comment are ones Warden's parser "rejects" (the target's accepts them). */
const UNPARSEABLE = '/* warden-test: unparseable */';

/** The real classifier, except that texts marked UNPARSEABLE get the classification of a parse error. */
function rejectMarked(sql: string): Classification {
  if (!sql.includes(UNPARSEABLE)) return classifyPostgres(sql);
  return { action: 'unknown', objects: [], bulk: false, statementCount: 1, statements: [{ action: 'unknown', objects: [], bulk: false, note: 'parse error: syntax error at or near "warden"' }] };
}

const ADAPTERS: ReadonlyMap<string, AdapterFactory<unknown>> = new Map([['postgres', createPostgresAdapter({ testOnlyClassifier: rejectMarked }) as AdapterFactory<unknown>]]);

const CANARY = `CREATE TABLE canary (id int PRIMARY KEY, note text); INSERT INTO canary VALUES (1, 'alive')`;

const fixture = postgresGatewayFixture({
  adapters: ADAPTERS,
  prepare: async () => {
    await fixture.queryAsSuperuser(CANARY);
  },
});

afterEach(async () => {
  // Nothing a test sends changes the canary, on the target itself.
  expect(await fixture.queryAsSuperuser('SELECT id, note FROM canary ORDER BY id')).toEqual([{ id: 1, note: 'alive' }]);
});

/** psql through Warden and psql straight to the target, same script: their outputs. */
async function psqlBothWays(script: string, args: readonly string[] = []): Promise<{ warden: string; direct: string }> {
  const token = await fixture.gateway.token('agent-1', ['coding-agents']);
  const viaWarden = await psql(fixture.gateway, token, args, { input: script });
  const direct = await run('psql', [`host=${PG.host} port=${PG.port} user=${PG.user} dbname=${fixture.database.name} sslmode=disable`, '-X', '-v', 'ON_ERROR_STOP=0', ...args], { input: script });
  return { warden: viaWarden.stdout + viaWarden.stderr, direct: direct.stdout + direct.stderr };
}

/** One answer from the server, as the client receives it: every error field, the transaction status. */
interface Answer {
  readonly type: string;
  readonly fields?: Readonly<Record<string, string>>;
  readonly status?: string;
}

/** What differs between two connections (settings reports, notices) is not compared. */
function decode(type: string, body: Buffer): Answer | undefined {
  if (type === 'S' || type === 'N') return undefined;
  if (type === 'E') return { type, fields: errorFields(body) };
  if (type === 'Z') return { type, status: String.fromCharCode(body[0]!) };
  return { type };
}

/** The same pipelined messages through Warden (as `user`) and straight to the target. */
async function bothWays(user: string, groups: string[], ready: number, ...messages: Buffer[]): Promise<{ warden: Answer[]; direct: Answer[] }> {
  const viaWarden = await PipelinedSession.viaWarden(fixture.gateway, user, groups, decode);
  const direct = await PipelinedSession.direct(fixture.database.name, decode);
  try {
    return { warden: await viaWarden.exchange(ready, ...messages), direct: await direct.exchange(ready, ...messages) };
  } finally {
    viaWarden.close();
    direct.close();
  }
}

async function pgClient(user: string, groups: string[]): Promise<Client> {
  const client = new Client({ host: '127.0.0.1', port: fixture.gateway.port, user, database: 'clinic', password: await fixture.gateway.token(user, groups) });
  await client.connect();
  return client;
}

function failure(promise: Promise<unknown>): Promise<DatabaseError> {
  return promise.then(
    () => {
      throw new Error('expected the query to fail');
    },
    (error: DatabaseError) => error,
  );
}

type CommandRecord = Extract<AuditRecord, { type: 'command' }>;

/**
 * The audit record of the command whose text `matches`, and the syntax-check event of its session,
 * once both are written (events are written in the background, after the answer).
 */
async function syntaxCheckOf(matches: (text: string) => boolean): Promise<{ command: CommandRecord | undefined; checked: AuditRecord | undefined }> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const records = await fixture.gateway.auditRecords();
    const command = records.find((r): r is CommandRecord => r.type === 'command' && matches(r.text));
    const checked = records.find((r) => r.type === 'session.event' && r.name === 'syntax-check' && r.sessionId === command?.sessionId);
    if (checked || Date.now() > deadline) return { command, checked };
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const { parse, bind, execute, sync, query } = serialize;

const CANNOT_ANALYSE = `Warden: Warden cannot analyse this statement (parse error: syntax error at or near "warden"), which the target accepts; it is refused`;

describe('a syntax error is the target’s own', () => {
  it('psql shows the same syntax error, LINE and caret through Warden as straight from PostgreSQL', async () => {
    const { warden, direct } = await psqlBothWays('SELEC 1;\nSELECT id\n  FROM canary WHER id = 1;\n');
    expect(warden).toContain('ERROR:  syntax error at or near "SELEC"\nLINE 1: SELEC 1;\n        ^');
    expect(warden).toBe(direct);
  });

  it('psql with VERBOSITY verbose: the same SQLSTATE and every field', async () => {
    const { warden, direct } = await psqlBothWays('SELEC 1;\n', ['-v', 'VERBOSITY=verbose']);
    expect(warden).toContain('ERROR:  42601: syntax error at or near "SELEC"');
    expect(warden).toBe(direct);
  });

  it('aborts the open transaction like a real syntax error: the next statement gets 25P02 from the target', async () => {
    const { warden, direct } = await psqlBothWays('BEGIN;\nSELEC 1;\nSELECT 1;\nROLLBACK;\n');
    expect(warden).toContain('ERROR:  current transaction is aborted, commands ignored until end of transaction block');
    expect(warden).toBe(direct);
  });

  it('runs nothing of a Query with several statements and a syntax error in the last (as PostgreSQL parses it whole first)', async () => {
    const { warden, direct } = await bothWays('nurse-1', ['clinicians'], 1, query("UPDATE canary SET note = 'changed' WHERE id = 1; SELEC 1"));
    expect(warden.map((a) => a.type)).toEqual(['E', 'Z']);
    expect(warden[0]!.fields).toMatchObject({ C: '42601', M: 'syntax error at or near "SELEC"', P: '50' });
    expect(warden).toEqual(direct);
  });

  it('answers pipelined raw messages exactly as the target does: the syntax error in its place, the transaction status right', async () => {
    const messages = [
      query('BEGIN'),
      parse({ text: 'SELECT 1' }),
      bind({}),
      execute({}),
      sync(),
      query('SELEC 2'),
      parse({ text: 'SELECT 3' }),
      bind({}),
      execute({}),
      sync(),
      query('ROLLBACK'),
      query('SELEC 4'),
      query('SELECT 5'),
      // The extended protocol's own syntax error: the target's answer to the Parse.
      parse({ text: 'SELEC 6' }),
      bind({}),
      execute({}),
      sync(),
      query('SELECT 7'),
    ];
    const { warden, direct } = await bothWays('agent-2', ['coding-agents'], 9, ...messages);
    expect(warden.filter((a) => a.type === 'Z').map((a) => a.status)).toEqual(['T', 'T', 'E', 'E', 'I', 'I', 'I', 'I', 'I']);
    expect(warden.filter((a) => a.type === 'E').map((a) => a.fields?.['C'])).toEqual(['42601', '25P02', '42601', '42601']);
    expect(warden).toEqual(direct);
  });

  it('a Query inside an unfinished extended-protocol batch is refused by Warden as before, and the session goes on', async () => {
    const { warden, direct } = await bothWays('agent-5', ['coding-agents'], 2, parse({ text: 'SELECT 1' }), bind({}), execute({}), query('SELEC 2'), sync());
    expect(warden.map((a) => a.type)).toEqual(direct.map((a) => a.type));
    expect(warden.find((a) => a.type === 'E')!.fields).toMatchObject({ C: '42501', M: 'Warden: Warden could not classify the statement (parse error: syntax error at or near "SELEC"); it is refused' });
  });

  it('node-postgres: the syntax error is a DatabaseError with code 42601 and its position, and the session goes on', async () => {
    const client = await pgClient('agent-3', ['coding-agents']);
    try {
      const error = await failure(client.query('SELECT id FROM canary WHER id = 1'));
      expect(error.message).toBe('syntax error at or near "id"');
      expect(error).toMatchObject({ code: '42601', position: '28' });
      // Pipelined in node-postgres: queued queries around a syntax error each get their own answer.
      const [first, second, third, fourth] = await Promise.allSettled([
        client.query('SELECT 1 AS n'),
        client.query('SELEC 2'),
        // Extended protocol: the target rejects the Parse itself, before Warden's refusal of the Execute.
        client.query({ text: 'SELECT $1::int AS n WHER true', values: [3] }),
        client.query({ text: 'SELECT $1::int AS n', values: [4] }),
      ]);
      expect(first).toMatchObject({ status: 'fulfilled', value: { rows: [{ n: 1 }] } });
      expect(second).toMatchObject({ status: 'rejected', reason: { code: '42601', position: '1' } });
      expect(third).toMatchObject({ status: 'rejected', reason: { code: '42601', position: '21' } });
      expect(fourth).toMatchObject({ status: 'fulfilled', value: { rows: [{ n: 4 }] } });
    } finally {
      await client.end();
    }
  });

  it('records the refused statement in the audit log as a refusal', async () => {
    const client = await pgClient('agent-4', ['coding-agents']);
    try {
      await failure(client.query('SELEC 42 AS audited_syntax_error'));
    } finally {
      await client.end();
    }
    const { command, checked } = await syntaxCheckOf((text) => text.includes('audited_syntax_error'));
    expect(command).toMatchObject({ classification: { action: 'unknown' }, decision: { effect: 'block', rule: 'fail-closed' } });
    // What the target said of it: a SQLSTATE, no message (a message can quote the text's values).
    expect(checked).toMatchObject({ detail: { commandSeq: command!.commandSeq, targetAccepted: false, targetError: '42601' } });
  });
});

describe('a text the target accepts and Warden cannot analyse', () => {
  it('is refused with "cannot analyse", even on full access, and the canary is unchanged', async () => {
    const client = await pgClient('dba-1', ['dba']);
    try {
      const error = await failure(client.query(`UPDATE canary SET note = 'changed' WHERE id = 1 ${UNPARSEABLE}`));
      expect(error).toMatchObject({ code: '42501', message: CANNOT_ANALYSE });
      // The session goes on.
      expect((await client.query('SELECT 1 AS n')).rows).toEqual([{ n: 1 }]);
    } finally {
      await client.end();
    }
  });

  it('is refused as "cannot analyse" with Warden’s real parser: system_user, a reserved word since PostgreSQL 16, as an alias PostgreSQL 15 accepts', async () => {
    const update = "UPDATE canary system_user SET note = 'changed' WHERE system_user.id = 1";
    // The target runs it (rolled back here): a real difference between the two parsers.
    const direct = new Client({ ...PG, database: fixture.database.name });
    await direct.connect();
    try {
      await direct.query('BEGIN');
      expect((await direct.query(update)).rowCount).toBe(1);
      await direct.query('ROLLBACK');
    } finally {
      await direct.end();
    }
    const client = await pgClient('dba-5', ['dba']);
    try {
      const error = await failure(client.query(update));
      expect(error).toMatchObject({ code: '42501' });
      expect(error.message).toBe('Warden: Warden cannot analyse this statement (parse error: syntax error at or near "system_user"), which the target accepts; it is refused');
    } finally {
      await client.end();
    }
    const { command, checked } = await syntaxCheckOf((text) => text.startsWith('UPDATE canary system_user'));
    expect(command).toMatchObject({ decision: { effect: 'block', rule: 'fail-closed' } });
    expect(checked).toMatchObject({ detail: { commandSeq: command!.commandSeq, targetAccepted: true } });
  });

  it('with several valid statements is refused as "cannot analyse", not as the target’s "multiple commands" error', async () => {
    const client = await pgClient('dba-2', ['dba']);
    try {
      const error = await failure(client.query(`UPDATE canary SET note = 'changed' WHERE id = 1; SELECT 1 ${UNPARSEABLE}`));
      expect(error).toMatchObject({ code: '42501', message: CANNOT_ANALYSE });
    } finally {
      await client.end();
    }
  });

  it('aborts an open transaction like every refusal', async () => {
    const client = await pgClient('dba-3', ['dba']);
    try {
      await client.query('BEGIN');
      expect(await failure(client.query(`UPDATE canary SET note = 'changed' WHERE id = 1 ${UNPARSEABLE}`))).toMatchObject({ code: '42501' });
      expect(await failure(client.query('SELECT 1'))).toMatchObject({ code: '25P02' });
      await client.query('ROLLBACK');
    } finally {
      await client.end();
    }
  });

  it('is refused as "cannot analyse" at its Execute, after the target accepted its Parse (extended protocol)', async () => {
    const session = await PipelinedSession.viaWarden(fixture.gateway, 'dba-4', ['dba'], decode);
    try {
      const answers = await session.exchange(1, parse({ text: `UPDATE canary SET note = 'changed' WHERE id = 1 ${UNPARSEABLE}` }), bind({}), execute({}), sync());
      expect(answers.map((a) => a.type)).toEqual(['1', '2', 'E', 'Z']);
      expect(answers[2]!.fields).toMatchObject({ C: '42501', M: CANNOT_ANALYSE });
    } finally {
      session.close();
    }
  });
});
