/**
 * Agent budgets end to end: node-postgres and psql through a real gateway in front of the machine's
 * PostgreSQL, with a grant that limits statements per minute and rows per statement and session.
 */
import { Client } from 'pg';
import { createTestDatabase, psql, startTestGateway, type TestGateway } from './harness';

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let gateway: TestGateway;

beforeAll(async () => {
  database = await createTestDatabase();
  gateway = await startTestGateway({
    database: database.name,
    grants: `
  - connection: clinic
    groups: [coding-agents]
    access: read-only
    budget: { statementsPerMinute: 8, rowsPerStatement: 20, rowsPerSession: 45 }`,
    rules: '[]',
  });
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  await database?.drop();
});

async function connect(kind: 'agent' | 'human', subject = `${kind}-${Math.random().toString(36).slice(2, 8)}`): Promise<Client> {
  const password = await gateway.dev.issue({ subject, groups: ['coding-agents'], kind });
  const client = new Client({ host: '127.0.0.1', port: gateway.port, user: subject, database: 'clinic', password });
  await client.connect();
  return client;
}

const failure = (promise: Promise<unknown>) => promise.then(() => undefined, (error: Error & { code?: string; detail?: string }) => error);

describe('row budgets', () => {
  it('cuts a result at the rows-per-statement budget with an error, and the session stays usable', async () => {
    const client = await connect('agent');
    try {
      const error = await failure(client.query('SELECT id, full_name FROM patients ORDER BY id'));
      expect(error).toMatchObject({ code: '54000', message: 'Warden: the result was cut after 20 rows, the budget per statement; it is incomplete', detail: 'rule "budget:rows-per-statement"' });
      // Within the budget: whole results (20 + 3 rows of the session's 45 so far).
      const small = await client.query('SELECT id FROM patients ORDER BY id LIMIT 3');
      expect(small.rows.map((row: { id: number }) => row.id)).toEqual([1, 2, 3]);
      // The extended protocol too.
      const prepared = await failure(client.query({ text: 'SELECT id FROM patients WHERE id > $1', values: [0] }));
      expect(prepared).toMatchObject({ code: '54000' });
      expect((await client.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
    } finally {
      await client.end();
    }
  });

  it('stops a huge query on the target instead of streaming it all', async () => {
    const client = await connect('agent');
    try {
      const error = await failure(client.query('SELECT generate_series(1, 50000000) AS g'));
      expect(error).toMatchObject({ code: '54000' });
      expect((await client.query('SELECT 2 AS ok')).rows).toEqual([{ ok: 2 }]);
      const records = await gateway.auditRecords();
      const cut = records.find((record) => record.type === 'session.event' && record.name === 'budget.cut');
      expect(cut).toBeDefined();
    } finally {
      await client.end();
    }
  });

  it('refuses further commands once the session’s rows are used up', async () => {
    const client = await connect('agent');
    try {
      await client.query('SELECT id FROM patients LIMIT 20');
      await client.query('SELECT id FROM patients LIMIT 20');
      const cut = await failure(client.query('SELECT id FROM patients LIMIT 10'));
      expect(cut).toMatchObject({ code: '54000', message: "Warden: the result was cut after 5 rows: the session's budget of 45 rows is used up; it is incomplete" });
      const refused = await failure(client.query('SELECT 1'));
      expect(refused).toMatchObject({ code: '42501', message: "Warden: the session's budget of 45 rows is used up; no further commands run in it", detail: 'rule "budget:rows-per-session"' });
    } finally {
      await client.end();
    }
  });

  it('psql reports the cut result as an error, not as a short result', async () => {
    const token = await gateway.dev.issue({ subject: 'agent-psql', groups: ['coding-agents'], kind: 'agent' });
    const result = await psql(gateway, token, ['-c', 'SELECT id FROM patients'], { user: 'agent-psql' });
    expect(result.stderr).toContain('ERROR:  Warden: the result was cut after 20 rows, the budget per statement; it is incomplete');
    expect(result.stdout).not.toMatch(/\(\d+ rows\)/);
  });
});

describe('statement rate', () => {
  it('refuses statements over the per-minute budget, naming it', async () => {
    const client = await connect('agent');
    try {
      for (let i = 0; i < 8; i++) await client.query('SELECT 1');
      const refused = await failure(client.query('SELECT 1'));
      expect(refused).toMatchObject({ code: '42501', message: 'Warden: over the budget of 8 statements per minute; slow down and try again', detail: 'rule "budget:statements-per-minute"' });
      const exceeded = (await gateway.auditRecords()).filter((record) => record.type === 'budget.exceeded');
      expect(exceeded.some((record) => record.limit === 'statements-per-minute')).toBe(true);
    } finally {
      await client.end();
    }
  });

  it('does not apply to a human in the same group (the budget is for agents)', async () => {
    const client = await connect('human');
    try {
      for (let i = 0; i < 12; i++) await client.query('SELECT 1');
      const all = await client.query('SELECT id FROM patients');
      expect(all.rowCount).toBe(50);
    } finally {
      await client.end();
    }
  });
});
