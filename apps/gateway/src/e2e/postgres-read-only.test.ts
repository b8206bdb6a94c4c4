/**
 * A read-only grant is enforced twice: by classification, and by the target session, which Warden
 * opens with `default_transaction_read_only=on`. These tests run the real gateway in front of the
 * machine's PostgreSQL with a classifier that is deliberately wrong (every write is called a read),
 * through a test-only seam, to prove that the target-side guard holds on its own and that nothing
 * a client sends — statements or startup parameters — can turn it off.
 */
import { createPostgresAdapter } from '@warden/adapter-postgres';
import type { AdapterFactory, Classification, StatementClass } from '@warden/core';
import { classifyPostgres } from '@warden/sql';
import { Client } from 'pg';
import { createTestDatabase, PG, psql, startTestGateway, type TestGateway } from './harness';
import { cstring, errorMessage, frontendMessage, openRawSession } from './postgres-raw-session';

/** The real classifier, except that every write is reported as a read. */
function misjudgeWrites(sql: string): Classification {
  const real = classifyPostgres(sql);
  if (!real.statements.some((statement) => statement.action === 'write')) return real;
  const statements: StatementClass[] = real.statements.map((statement) => (statement.action === 'write' ? { ...statement, action: 'read' } : statement));
  return { ...real, action: real.action === 'write' ? 'read' : real.action, statements };
}

const MISJUDGING_ADAPTERS: ReadonlyMap<string, AdapterFactory<unknown>> = new Map([
  ['postgres', createPostgresAdapter({ testOnlyClassifier: misjudgeWrites }) as AdapterFactory<unknown>],
]);

let database: { name: string; drop(): Promise<void> };
let gateway: TestGateway;

beforeAll(async () => {
  database = await createTestDatabase();
  gateway = await startTestGateway({ database: database.name, adapters: MISJUDGING_ADAPTERS });
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  await database?.drop();
});

async function patientCount(): Promise<number> {
  const direct = new Client({ ...PG, database: database.name });
  await direct.connect();
  try {
    const result = await direct.query<{ n: number }>('SELECT count(*)::int AS n FROM patients');
    return result.rows[0]!.n;
  } finally {
    await direct.end();
  }
}

const READ_ONLY_ERROR = /ERROR: {2}25006: cannot execute (DELETE|INSERT|UPDATE) in a read-only transaction/g;

describe('the target-side read-only guard, with a classifier that calls writes reads', () => {
  it('lets the misjudged writes through policy, and the target refuses each of them', async () => {
    const token = await gateway.token('agent-1', ['coding-agents']);
    const result = await psql(gateway, token, ['-v', 'VERBOSITY=verbose'], {
      input: ["DELETE FROM patients WHERE id = 1;", "INSERT INTO notes (body) VALUES ('x');", "UPDATE patients SET full_name = 'x';", 'SELECT count(*) FROM patients;'].join('\n'),
    });
    expect(result.stderr.match(READ_ONLY_ERROR)).toHaveLength(3);
    expect(result.stderr).not.toContain('42501');
    expect(await patientCount()).toBe(50);

    // The audit log shows that policy allowed the DELETE as a read: only the target stopped it.
    const records = await gateway.auditRecords();
    const command = records.find((record) => record.type === 'command' && record.text.startsWith('DELETE FROM patients WHERE id = 1'));
    expect(command).toMatchObject({ classification: { action: 'read' }, decision: { effect: 'allow' } });
    const outcome = records.find((record) => record.type === 'result' && command?.type === 'command' && record.sessionId === command.sessionId && record.commandSeq === command.commandSeq);
    expect(outcome).toMatchObject({ summary: { error: { code: '25006' } } });
  });

  it('refuses misjudged writes sent with the extended protocol (node-postgres)', async () => {
    const client = new Client({ host: '127.0.0.1', port: gateway.port, user: 'agent-2', database: 'clinic', password: await gateway.token('agent-2', ['coding-agents']) });
    await client.connect();
    try {
      await expect(client.query('DELETE FROM patients WHERE id = $1', [2])).rejects.toMatchObject({ code: '25006' });
      await expect(client.query('WITH d AS (DELETE FROM patients RETURNING id) SELECT count(*) FROM d')).rejects.toMatchObject({ code: '25006' });
    } finally {
      await client.end();
    }
    expect(await patientCount()).toBe(50);
  });

  // Each attempt to turn read-only mode off is refused by Warden (42501, naming the rule); the
  // misjudged DELETE after it still fails at the target, and the session is still read-only.
  const attempts: readonly string[] = [
    'SET default_transaction_read_only = off',
    "set Default_Transaction_Read_Only TO 'OFF'",
    'SET SESSION default_transaction_read_only = false',
    'SET/**/"default_transaction_read_only"/* on */=/**/0',
    'SET "default_transaction_read_only" TO DEFAULT',
    'RESET default_transaction_read_only',
    'RESET ALL',
    'DISCARD ALL',
    'SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE',
    'BEGIN READ WRITE',
    'begin transaction isolation level serializable, read write',
    'START TRANSACTION READ WRITE',
    'BEGIN;\nSET TRANSACTION READ WRITE',
    'BEGIN;\nSET LOCAL transaction_read_only = off',
    "SELECT set_config('default_transaction_read_only', 'off', false)",
    "SELECT pg_catalog.SET_CONFIG('transaction_read_only', 'off', true)",
  ];

  it.each(attempts)('refuses %j with 42501 naming grant:read-only', async (attempt) => {
    const token = await gateway.token('agent-3', ['coding-agents']);
    const input = [`${attempt};`, 'ROLLBACK;', 'DELETE FROM patients WHERE id = 3;', 'SHOW default_transaction_read_only;'].join('\n');
    const result = await psql(gateway, token, ['-At', '-v', 'VERBOSITY=verbose'], { input, user: 'agent-3' });
    expect(result.stderr).toContain('ERROR:  42501: Warden: read-only access does not allow turning read-only mode off');
    expect(result.stderr).toContain('DETAIL:  rule "grant:read-only"');
    expect(result.stderr.match(READ_ONLY_ERROR)).toHaveLength(1);
    expect(result.stdout.trim().split('\n').at(-1)).toBe('on');
  });

  it('still lets read-write grants use READ WRITE and RESET ALL', async () => {
    const token = await gateway.token('nurse-1', ['clinicians']);
    const input = ['SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE;', 'BEGIN READ WRITE;', "INSERT INTO notes (body) VALUES ('read-write');", 'COMMIT;', 'RESET ALL;', 'DISCARD ALL;'].join('\n');
    const result = await psql(gateway, token, ['-At', '-v', 'VERBOSITY=verbose'], { input, user: 'nurse-1' });
    expect(result.stderr).toBe('');
    expect(result.stdout.split('\n')).toContain('INSERT 0 1');
  });

  it('ignores startup options that try to turn read-only off (psql PGOPTIONS, pg options)', async () => {
    const token = await gateway.token('agent-4', ['coding-agents']);
    const viaPsql = await psql(gateway, token, ['-At', '-v', 'VERBOSITY=verbose', '-c', 'SHOW default_transaction_read_only', '-c', 'DELETE FROM patients WHERE id = 4'], { user: 'agent-4', env: { PGOPTIONS: '-c default_transaction_read_only=off -c transaction_read_only=off' } });
    expect(viaPsql.stdout.trim()).toBe('on');
    expect(viaPsql.stderr.match(READ_ONLY_ERROR)).toHaveLength(1);

    const client = new Client({ host: '127.0.0.1', port: gateway.port, user: 'agent-4', database: 'clinic', password: token, options: '-c default_transaction_read_only=off' });
    await client.connect();
    try {
      expect((await client.query('SHOW default_transaction_read_only')).rows).toEqual([{ default_transaction_read_only: 'on' }]);
      await expect(client.query('DELETE FROM patients WHERE id = 4')).rejects.toMatchObject({ code: '25006' });
    } finally {
      await client.end();
    }
    expect(await patientCount()).toBe(50);
  });

  it('ignores a StartupMessage parameter named default_transaction_read_only', async () => {
    const token = await gateway.token('agent-5', ['coding-agents']);
    const answer = await rawSession(gateway.port, { user: 'agent-5', database: 'clinic', default_transaction_read_only: 'off', transaction_read_only: 'off' }, token, 'SHOW default_transaction_read_only');
    expect(answer.error).toBeUndefined();
    expect(answer.values).toEqual(['on']);
  });
});

/**
 * A minimal PostgreSQL client (protocol 3.0) that sends any StartupMessage parameters, which no
 * client library does: StartupMessage, the token as PasswordMessage, one Query; returns the first
 * DataRow's text values or the first ErrorResponse's message.
 * https://www.postgresql.org/docs/current/protocol-message-formats.html
 */
function rawSession(port: number, parameters: Readonly<Record<string, string>>, password: string, sql: string): Promise<{ values?: string[]; error?: string }> {
  return new Promise((resolve, reject) => {
    let queried = false;
    const finish = (outcome: { values?: string[]; error?: string }): void => {
      socket.destroy();
      resolve(outcome);
    };
    const socket = openRawSession(port, parameters, password, (code, body) => {
      if (code === 'Z' && !queried) {
        queried = true;
        socket.write(frontendMessage('Q', cstring(sql)));
      } else if (code === 'E') {
        finish({ error: errorMessage(body) ?? 'error' });
      } else if (code === 'D') {
        const values: string[] = [];
        let offset = 2;
        for (let column = 0; column < body.readInt16BE(0); column++) {
          const width = body.readInt32BE(offset);
          values.push(body.toString('utf8', offset + 4, offset + 4 + width));
          offset += 4 + width;
        }
        finish({ values });
      }
    });
    socket.on('error', reject);
  });
}
