/**
 * Protocol state that follows the target, not the client: raw extended-protocol messages and SQL
 * PREPARE/EXECUTE/DECLARE/FETCH through Warden to the machine's PostgreSQL. Each attack tries to
 * make the target run a DELETE Warden refuses, or return a column Warden masks; the canary row on
 * the target proves that nothing ran.
 */
import type { AuditRecord } from '@warden/core';
import { Client } from 'pg';
import { serialize } from 'pg-protocol';
import { psql } from './harness';
import { postgresGatewayFixture } from './postgres-gateway-fixture';
import { PipelinedSession } from './postgres-pipelined-session';
import { errorFields } from './postgres-raw-session';

/** Deletes of the canary are refused (by text, so that `PREPARE … AS DELETE` itself passes). */
const RULES = `
  - name: no-ddl
    match: { connection: clinic, action: ddl, groups: [clinicians, coding-agents] }
    effect: block
    reason: schema changes are reserved for the dba group
  - name: keep-the-canary
    match: { connection: clinic, action: write, objects: [canary], text: '^\\s*delete' }
    effect: block
    reason: the canary must live`;

const MASKING = `
masking:
  - connection: clinic
    columns:
      patients.ssn: redact
`;

const CANARY = `CREATE TABLE canary (id int PRIMARY KEY, note text); INSERT INTO canary VALUES (1, 'alive')`;

const fixture = postgresGatewayFixture({
  rules: RULES,
  extraTopLevel: MASKING,
  prepare: async () => {
    await fixture.queryAsSuperuser(CANARY);
  },
});

afterEach(async () => {
  // Every attack leaves the canary as it was, on the target itself.
  expect(await fixture.queryAsSuperuser('SELECT id, note FROM canary ORDER BY id')).toEqual([{ id: 1, note: 'alive' }]);
});

/** One answer from the server, as the client receives it. */
interface Answer {
  readonly type: string;
  readonly error?: { readonly code: string; readonly message: string };
  readonly row?: ReadonlyArray<string | null>;
  readonly tag?: string;
}

/** A client speaking raw protocol messages through Warden: startup with a token, then whatever the test sends. */
function rawSession(user: string, groups: string[]): Promise<PipelinedSession<Answer>> {
  return PipelinedSession.viaWarden(fixture.gateway, user, groups, decode);
}

function decode(type: string, body: Buffer): Answer {
  if (type === 'E') {
    const fields = errorFields(body);
    return { type, error: { code: fields['C'] ?? '', message: fields['M'] ?? '' } };
  }
  if (type === 'C') return { type, tag: body.toString('utf8', 0, body.length - 1) };
  if (type === 'D') {
    const row: Array<string | null> = [];
    let at = 2;
    for (let i = 0; i < body.readInt16BE(0); i++) {
      const length = body.readInt32BE(at);
      row.push(length === -1 ? null : body.toString('utf8', at + 4, at + 4 + length));
      at += 4 + Math.max(length, 0);
    }
    return { type, row };
  }
  return { type };
}

function errors(answers: readonly Answer[]): string[] {
  return answers.filter((a) => a.error).map((a) => `${a.error!.code} ${a.error!.message}`);
}

async function pgClient(user: string, groups: string[]): Promise<Client> {
  const client = new Client({ host: '127.0.0.1', port: fixture.gateway.port, user, database: 'clinic', password: await fixture.gateway.token(user, groups) });
  await client.connect();
  return client;
}

/**
 * What the audit log says of `subject`'s attempts on names it does not have, in order: each is a
 * command refused under the `protocol` rule with PostgreSQL's reason, like any refused command.
 */
async function protocolRefusals(subject: string): Promise<Array<{ text: string; message: unknown; reason: string }>> {
  const records = await fixture.gateway.auditRecords();
  const sessions = new Set(records.flatMap((r) => (r.type === 'session.start' && r.identity.subject === subject ? [r.sessionId] : [])));
  return records.flatMap((r) =>
    r.type === 'command' && sessions.has(r.sessionId) && r.decision.effect === 'block' && r.decision.rule === 'protocol' ? [{ text: r.text, message: r.detail?.['message'], reason: r.decision.reason }] : [],
  );
}

const { parse, bind, execute, sync, close, describe: describeMessage, query } = serialize;

describe('protocol names are Warden’s', () => {
  it('refuses a protocol Bind of a DELETE prepared with SQL PREPARE (sql-prepare-bind bypass)', async () => {
    const session = await rawSession('nurse-1', ['clinicians']);
    try {
      expect(errors(await session.exchange(1, query('PREPARE del AS DELETE FROM canary')))).toEqual([]);
      const answers = await session.exchange(1, bind({ statement: 'del' }), execute(), sync());
      expect(errors(answers)).toEqual(['26000 prepared statement "del" does not exist']);
      // SQL EXECUTE of it is decided as the DELETE it runs.
      expect(errors(await session.exchange(1, query('EXECUTE del')))).toEqual(['42501 Warden: the canary must live']);
    } finally {
      session.close();
    }
    expect(await protocolRefusals('nurse-1')).toEqual([{ text: 'Bind unnamed portal to prepared statement "del"', message: 'Bind', reason: 'prepared statement "del" does not exist' }]);
  });

  it('refuses a plain DELETE of the canary (the rule the attacks try to get around)', async () => {
    const session = await rawSession('nurse-1', ['clinicians']);
    try {
      expect(errors(await session.exchange(1, query('DELETE FROM canary')))).toEqual(['42501 Warden: the canary must live']);
    } finally {
      session.close();
    }
  });

  it('a skipped unnamed Parse cannot make a later Bind run the older unnamed DELETE (cross-Sync unnamed swap bypass)', async () => {
    const session = await rawSession('nurse-2', ['clinicians']);
    try {
      // The target holds a DELETE as the unnamed statement, parsed, never executed.
      expect(errors(await session.exchange(1, parse({ text: 'DELETE FROM canary' }), sync()))).toEqual([]);
      // Both batches at once; the first fails at the target (its statement never parsed), so its unnamed Parse is skipped.
      const answers = await session.exchange(
        4,
        ...[parse({ name: 'bad', text: 'SELEC oops' }), sync()],
        ...[bind({ statement: 'bad' }), parse({ text: 'SELECT 1' }), sync()],
        ...[bind(), execute(), sync()],
        ...[bind({ statement: 'nonexistent' }), parse({ text: 'SELECT 2' }), sync()],
      );
      expect(errors(answers)).toEqual([
        '42601 syntax error at or near "SELEC"',
        '26000 prepared statement "bad" does not exist',
        '26000 unnamed prepared statement does not exist',
        '26000 prepared statement "nonexistent" does not exist',
      ]);
      // Now that Warden knows the target skipped those Parses, the unnamed statement is the DELETE, decided as such.
      expect(errors(await session.exchange(1, bind(), execute(), sync()))).toEqual(['42501 Warden: the canary must live']);
      expect(answers.filter((a) => a.type === 'Z')).toHaveLength(4);
    } finally {
      session.close();
    }
    // The first two Binds reached the target under Warden's names and failed there; the last Warden refused, and audited.
    expect(await protocolRefusals('nurse-2')).toEqual([{ text: 'Bind unnamed portal to prepared statement "nonexistent"', message: 'Bind', reason: 'prepared statement "nonexistent" does not exist' }]);
  });

  it('a Parse of a name the target already has cannot leave Warden deciding another text (parse-name-collision bypass)', async () => {
    const session = await rawSession('nurse-3', ['clinicians']);
    try {
      // On the target, "x" is a DELETE (SQL PREPARE); the protocol Parse of "x" would fail there and the Bind run the DELETE.
      expect(errors(await session.exchange(1, query('PREPARE x AS DELETE FROM canary')))).toEqual([]);
      const answers = await session.exchange(2, parse({ name: 'x', text: 'SELECT 1' }), sync(), bind({ statement: 'x' }), execute(), sync());
      expect(errors(answers)).toEqual([]);
      expect(answers.find((a) => a.type === 'D')?.row).toEqual(['1']);
      // A second Parse of the client's "x" is refused as PostgreSQL would.
      const again = await session.exchange(1, parse({ name: 'x', text: 'DELETE FROM canary' }), bind({ statement: 'x' }), execute(), sync());
      expect(errors(again)).toEqual(['42P05 prepared statement "x" already exists']);
    } finally {
      session.close();
    }
    expect(await protocolRefusals('nurse-3')).toEqual([{ text: 'Parse prepared statement "x"', message: 'Parse', reason: 'prepared statement "x" already exists' }]);
  });

  it('a Close the target skips keeps Warden deciding the statement that is still there (skipped-close bypass)', async () => {
    const session = await rawSession('nurse-4', ['clinicians']);
    try {
      expect(errors(await session.exchange(1, parse({ name: 'x', text: 'DELETE FROM canary' }), sync()))).toEqual([]);
      const skipped = await session.exchange(1, parse({ name: 'bad', text: 'SELEC oops' }), close({ type: 'S', name: 'x' }), sync());
      expect(errors(skipped)).toEqual(['42601 syntax error at or near "SELEC"']);
      expect(errors(await session.exchange(1, bind({ statement: 'x' }), execute(), sync()))).toEqual(['42501 Warden: the canary must live']);
      // Pipelined behind the failing batch, the Bind names a statement the client closed: refused.
      const pipelined = await session.exchange(2, parse({ name: 'bad', text: 'SELEC oops' }), close({ type: 'S', name: 'x' }), sync(), bind({ statement: 'x' }), execute(), sync());
      expect(errors(pipelined)).toEqual(['42601 syntax error at or near "SELEC"', '26000 prepared statement "x" does not exist']);
    } finally {
      session.close();
    }
    expect(await protocolRefusals('nurse-4')).toEqual([{ text: 'Bind unnamed portal to prepared statement "x"', message: 'Bind', reason: 'prepared statement "x" does not exist' }]);
  });

  it('refuses an Execute of a portal Warden never saw bound (unknown-portal bypass)', async () => {
    const session = await rawSession('nurse-5', ['clinicians']);
    try {
      const answers = await session.exchange(1, execute({ portal: 'ghost' }), sync());
      expect(errors(answers)).toEqual(['34000 portal "ghost" does not exist']);
      expect(answers.map((a) => a.type)).toEqual(['E', 'Z']);
    } finally {
      session.close();
    }
    expect(await protocolRefusals('nurse-5')).toEqual([{ text: 'Execute portal "ghost"', message: 'Execute', reason: 'portal "ghost" does not exist' }]);
  });

  it('audits a refused name in the order of the pipeline around it, literals redacted (unaudited-refusal bypass)', async () => {
    const session = await rawSession('nurse-11', ['clinicians']);
    try {
      const answers = await session.exchange(
        4,
        query('SELECT 1'),
        query("EXECUTE ghost('123-45-6789')"),
        ...[parse({ text: 'SELECT 2' }), bind(), execute(), execute({ portal: 'ghost' }), sync()],
        query('SELECT 3'),
      );
      // The client gets PostgreSQL's errors in their places, and the rest of the pipeline runs.
      expect(answers.filter((a) => a.type === 'D' || a.type === 'E').map((a) => a.row?.[0] ?? a.error?.code)).toEqual(['1', '26000', '2', '34000', '3']);
    } finally {
      session.close();
    }
    const records = await fixture.gateway.auditRecords();
    const [sessionId] = records.flatMap((r) => (r.type === 'session.start' && r.identity.subject === 'nurse-11' ? [r.sessionId] : []));
    const commands = records.flatMap((r) => (r.type === 'command' && r.sessionId === sessionId ? [{ text: r.text, effect: r.decision.effect }] : []));
    expect(commands.map((c) => c.effect)).toEqual(['allow', 'block', 'allow', 'block', 'allow']);
    expect(commands[1]!.text).toMatch(/^EXECUTE ghost\(/);
    expect(JSON.stringify(records)).not.toContain('123-45-6789');
    expect(commands[3]!.text).toBe('Execute portal "ghost"');
  });

  it('refuses a protocol Execute of a cursor opened with SQL DECLARE (declare-execute bypass)', async () => {
    const session = await rawSession('agent-1', ['coding-agents']);
    try {
      const opened = await session.exchange(1, query('BEGIN; DECLARE c CURSOR FOR SELECT ssn FROM patients ORDER BY id'));
      expect(errors(opened)).toEqual([]);
      const answers = await session.exchange(1, describeMessage({ type: 'P', name: 'c' }), execute({ portal: 'c' }), sync());
      expect(errors(answers)).toEqual(['34000 portal "c" does not exist']);
      expect(answers.some((a) => a.type === 'D')).toBe(false);
      // Through SQL, the cursor's rows are masked like the query it runs.
      const fetched = await session.exchange(1, query('ROLLBACK; BEGIN; DECLARE c CURSOR FOR SELECT ssn FROM patients ORDER BY id; FETCH 2 FROM c'));
      expect(errors(fetched)).toEqual(['42501 Warden: EXECUTE, FETCH and MOVE are decided on the statement they run and must be sent as a query of their own']);
    } finally {
      session.close();
    }
    // The Execute after the refused Describe is skipped, as PostgreSQL skips to Sync: one attempt.
    expect(await protocolRefusals('agent-1')).toEqual([
      { text: 'Describe portal "c"', message: 'Describe', reason: 'portal "c" does not exist' },
      {
        text: 'ROLLBACK; BEGIN; DECLARE c CURSOR FOR SELECT ssn FROM patients ORDER BY id; FETCH 2 FROM c',
        message: 'Query',
        reason: 'EXECUTE, FETCH and MOVE are decided on the statement they run and must be sent as a query of their own',
      },
    ]);
  });

  it("refuses SQL EXECUTE, DEALLOCATE, FETCH and CLOSE of Warden's own protocol names (internal-name bypass)", async () => {
    const session = await rawSession('nurse-6', ['clinicians']);
    let internal: string | null | undefined;
    let portal: string | null | undefined;
    try {
      // A DELETE parsed through the protocol and never executed: Warden decided nothing yet.
      expect(errors(await session.exchange(1, parse({ name: 'd', text: 'DELETE FROM canary' }), sync()))).toEqual([]);
      expect(errors(await session.exchange(1, query('BEGIN')))).toEqual([]);
      expect(errors(await session.exchange(1, parse({ text: 'SELECT 1' }), bind({ portal: 'p' }), sync()))).toEqual([]);
      const statements = await session.exchange(1, query("SELECT name FROM pg_prepared_statements WHERE statement = 'DELETE FROM canary'"));
      internal = statements.find((a) => a.type === 'D')?.row?.[0];
      expect(internal).toMatch(/^warden_s_\d+_[0-9a-f]{16}$/);
      const cursors = await session.exchange(1, query("SELECT name FROM pg_cursors WHERE name LIKE 'warden_p_%'"));
      portal = cursors.find((a) => a.type === 'D')?.row?.[0];
      expect(portal).toMatch(/^warden_p_\d+_[0-9a-f]{16}$/);
      expect(errors(await session.exchange(1, query(`EXECUTE ${internal!}`)))).toEqual([`26000 prepared statement "${internal!}" does not exist`]);
      await session.exchange(1, query('ROLLBACK'));
      expect(errors(await session.exchange(1, query(`DEALLOCATE ${internal!}`)))).toEqual([`26000 prepared statement "${internal!}" does not exist`]);
      expect(errors(await session.exchange(1, query(`FETCH FROM ${portal!}`)))).toEqual([`34000 cursor "${portal!}" does not exist`]);
      expect(errors(await session.exchange(1, query(`CLOSE ${portal!}`)))).toEqual([`34000 cursor "${portal!}" does not exist`]);
      // Nor can a client claim a name of Warden's kind for its own statement.
      expect(errors(await session.exchange(1, query('PREPARE warden_s_99_0000000000000000 AS SELECT 1')))[0]).toMatch(/^42501 Warden: names starting with "warden_" are reserved/);
      // The client's own name still means the DELETE, decided as such.
      expect(errors(await session.exchange(1, bind({ statement: 'd' }), execute(), sync()))).toEqual(['42501 Warden: the canary must live']);
    } finally {
      session.close();
    }
    expect(await protocolRefusals('nurse-6')).toEqual([
      { text: `EXECUTE ${internal!}`, message: 'Query', reason: `prepared statement "${internal!}" does not exist` },
      { text: `DEALLOCATE ${internal!}`, message: 'Query', reason: `prepared statement "${internal!}" does not exist` },
      { text: `FETCH FROM ${portal!}`, message: 'Query', reason: `cursor "${portal!}" does not exist` },
      { text: `CLOSE ${portal!}`, message: 'Query', reason: `cursor "${portal!}" does not exist` },
      { text: 'PREPARE warden_s_99_0000000000000000 AS SELECT 1', message: 'Query', reason: `names starting with "warden_" are reserved for Warden's own statements and portals` },
    ]);
  });
});

describe('SQL prepared statements and cursors are decided on what they run', () => {
  it('runs SQL EXECUTE of an allowed prepared statement under a read-only grant, audited as the prepared text', async () => {
    const client = await pgClient('agent-2', ['coding-agents']);
    try {
      await client.query('PREPARE note_of (int) AS SELECT note FROM canary WHERE id = $1');
      const result = await client.query('EXECUTE note_of(1)');
      expect(result.rows).toEqual([{ note: 'alive' }]);
      await client.query('DEALLOCATE note_of');
      await expect(client.query('EXECUTE note_of(1)')).rejects.toMatchObject({ code: '26000', message: 'prepared statement "note_of" does not exist' });
    } finally {
      await client.end();
    }
    const records = await fixture.gateway.auditRecords();
    const executed = records.find((r): r is Extract<AuditRecord, { type: 'command' }> => r.type === 'command' && r.detail?.['execute'] === 'note_of');
    expect(executed).toMatchObject({ text: 'SELECT note FROM canary WHERE id = $1', classification: { action: 'read', objects: ['canary'] }, decision: { effect: 'allow' } });
  });

  it('never decides a pipelined EXECUTE on a text that a DEALLOCATE and PREPARE still in flight replace (pipelined-redefinition bypass)', async () => {
    const session = await rawSession('nurse-10', ['clinicians']);
    try {
      expect(errors(await session.exchange(1, query('PREPARE x AS SELECT 1')))).toEqual([]);
      const answers = await session.exchange(3, query('DEALLOCATE x'), query('PREPARE x AS DELETE FROM canary'), query('EXECUTE x'));
      const refused = errors(answers);
      expect(refused).toHaveLength(1);
      // Decided before the PREPARE completed: refused as unknown; after: decided as the DELETE it is.
      expect(refused[0]).toMatch(/^(55000 Warden: prepared statement "x" is being changed by a statement that has not completed|42501 Warden: the canary must live)/);
    } finally {
      session.close();
    }
  });

  it('refuses SQL EXECUTE of a prepared DELETE that a rule forbids (sql-execute bypass)', async () => {
    const client = await pgClient('nurse-7', ['clinicians']);
    try {
      await client.query('PREPARE del AS DELETE FROM canary');
      await expect(client.query('EXECUTE del')).rejects.toMatchObject({ code: '42501', message: 'Warden: the canary must live' });
      // The same EXECUTE as an extended-protocol statement (Parse 'EXECUTE del', Bind, Execute).
      await expect(client.query({ text: 'EXECUTE del', values: [] })).rejects.toMatchObject({ code: '42501', message: 'Warden: the canary must live' });
      await expect(client.query('EXPLAIN ANALYZE EXECUTE del')).rejects.toMatchObject({ code: '42501' });
      await expect(client.query('CREATE TEMP TABLE gone AS EXECUTE del')).rejects.toMatchObject({ code: '42501' });
    } finally {
      await client.end();
    }
  });

  it('masks FETCH from a cursor over a masked column, as the query the cursor runs (fetch-unmasked bypass)', async () => {
    const client = await pgClient('agent-3', ['coding-agents']);
    try {
      await client.query('BEGIN');
      await client.query('DECLARE c CURSOR FOR SELECT id, ssn FROM patients ORDER BY id');
      const fetched = await client.query('FETCH 2 FROM c');
      expect(fetched.rows).toEqual([
        { id: 1, ssn: '[REDACTED]' },
        { id: 2, ssn: '[REDACTED]' },
      ]);
      // FETCH as an extended-protocol statement is decided and masked the same way.
      const extended = await client.query({ text: 'FETCH 1 FROM c', values: [] });
      expect(extended.rows).toEqual([{ id: 3, ssn: '[REDACTED]' }]);
      await client.query('MOVE 4 IN c');
      expect((await client.query('FETCH NEXT FROM c')).rows).toEqual([{ id: 8, ssn: '[REDACTED]' }]);
      await client.query('COMMIT');
      // The cursor ended with its transaction.
      await expect(client.query('FETCH FROM c')).rejects.toMatchObject({ code: '34000', message: 'cursor "c" does not exist' });
    } finally {
      await client.end();
    }
  });

  it('masks psql results read through its FETCH_COUNT cursor (DECLARE, FETCH FORWARD, CLOSE)', async () => {
    const token = await fixture.gateway.token('agent-6', ['coding-agents']);
    const result = await psql(fixture.gateway, token, ['-At', '-v', 'FETCH_COUNT=7', '-c', 'SELECT id, ssn FROM patients ORDER BY id']);
    expect(result.stderr).toBe('');
    const rows = result.stdout.trim().split('\n');
    expect(rows).toHaveLength(50);
    expect(rows.every((row, i) => row === `${i + 1}|[REDACTED]`)).toBe(true);
    const records = await fixture.gateway.auditRecords();
    expect(records.some((r) => r.type === 'command' && r.detail?.['fetch'] === '_psql_cursor' && r.text === 'SELECT id, ssn FROM patients ORDER BY id')).toBe(true);
  });

  it('keeps working for node-postgres prepared statements and pipelined queries', async () => {
    const client = await pgClient('agent-4', ['coding-agents']);
    try {
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => client.query({ name: i % 2 ? 'odd' : 'even', text: 'SELECT $1::int AS n, note FROM canary', values: [i] })));
      expect(results.map((r) => (r.rows[0] as { n: number }).n)).toEqual(Array.from({ length: 20 }, (_, i) => i));
      const unnamed = await Promise.all(Array.from({ length: 20 }, (_, i) => client.query('SELECT $1::int AS n', [i])));
      expect(unnamed.map((r) => (r.rows[0] as { n: number }).n)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    } finally {
      await client.end();
    }
  });

  it('reads a named portal in steps with Execute row limits (as pg-cursor does), masked, and closes it', async () => {
    const session = await rawSession('agent-5', ['coding-agents']);
    try {
      const answers = await session.exchange(
        1,
        parse({ text: 'SELECT id, ssn FROM patients ORDER BY id' }),
        bind({ portal: 'C_1' }),
        describeMessage({ type: 'P', name: 'C_1' }),
        execute({ portal: 'C_1', rows: 2 }),
        execute({ portal: 'C_1', rows: 2 }),
        close({ type: 'P', name: 'C_1' }),
        sync(),
      );
      expect(errors(answers)).toEqual([]);
      expect(answers.map((a) => a.type)).toEqual(['1', '2', 'T', 'D', 'D', 's', 'D', 'D', 's', '3', 'Z']);
      expect(answers.filter((a) => a.row).map((a) => a.row)).toEqual([
        ['1', '[REDACTED]'],
        ['2', '[REDACTED]'],
        ['3', '[REDACTED]'],
        ['4', '[REDACTED]'],
      ]);
    } finally {
      session.close();
    }
  });

  it('frees a protocol-prepared statement with SQL DEALLOCATE, as Rails and psycopg do', async () => {
    const session = await rawSession('nurse-9', ['clinicians']);
    try {
      expect(errors(await session.exchange(1, parse({ name: 'a1', text: 'SELECT 1' }), sync()))).toEqual([]);
      const freed = await session.exchange(1, query('DEALLOCATE a1'));
      expect(freed.map((a) => a.tag ?? a.type)).toEqual(['DEALLOCATE', 'Z']);
      const left = await session.exchange(1, query('SELECT count(*) FROM pg_prepared_statements'));
      expect(left.find((a) => a.type === 'D')?.row).toEqual(['0']);
      const again = await session.exchange(1, parse({ name: 'a1', text: 'SELECT 2' }), bind({ statement: 'a1' }), execute(), sync());
      expect(again.find((a) => a.type === 'D')?.row).toEqual(['2']);
    } finally {
      session.close();
    }
  });

  it('lets a client prepare its names again after DISCARD ALL, as connection pools do', async () => {
    const session = await rawSession('nurse-8', ['clinicians']);
    try {
      expect(errors(await session.exchange(1, parse({ name: 's', text: 'SELECT 1' }), sync()))).toEqual([]);
      expect(errors(await session.exchange(1, query('DISCARD ALL')))).toEqual([]);
      const again = await session.exchange(1, parse({ name: 's', text: 'SELECT 2' }), bind({ statement: 's' }), execute(), sync());
      expect(errors(again)).toEqual([]);
      expect(again.find((a) => a.type === 'D')?.row).toEqual(['2']);
    } finally {
      session.close();
    }
  });
});
