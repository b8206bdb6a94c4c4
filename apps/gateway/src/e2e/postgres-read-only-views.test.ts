/**
 * Under a read-only grant, reading a view runs its definition: `SELECT * FROM v` calls whatever
 * functions v calls, though the statement names none. Warden judges each relation a read names by
 * what reading it runs (view definitions, views over views, row-security policies), from the
 * target's own catalog. PostgreSQL's read-only transaction does not stop advisory locks, so the
 * target is checked for them after each refusal. Real gateway, real PostgreSQL.
 */
import { chmod, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { postgresGatewayFixture } from './postgres-gateway-fixture';

/** Where the foreign table's program leaves a file each time it is read (the server runs it as its own OS user). */
let programDirectory: string;

const fixture = postgresGatewayFixture({
  prepare: async () => {
    programDirectory = await mkdtemp(path.join(tmpdir(), 'warden-fdw-'));
    await chmod(programDirectory, 0o777);
    await fixture.queryAsSuperuser(`
      CREATE EXTENSION file_fdw;
      CREATE SERVER files FOREIGN DATA WRAPPER file_fdw;
      CREATE FOREIGN TABLE program_output (line text) SERVER files OPTIONS (program 'touch ${programDirectory}/ran; echo ran');
    `);
    await fixture.queryAsSuperuser(`
      CREATE FUNCTION lock_and_allow() RETURNS boolean LANGUAGE sql VOLATILE AS $$ SELECT pg_advisory_lock(93); SELECT true $$;
      CREATE VIEW locking_view AS SELECT pg_advisory_lock(91)::text AS locked;
      CREATE VIEW over_locking_view AS SELECT * FROM locking_view;
      CREATE VIEW over_over_locking_view AS SELECT locked FROM over_locking_view;
      CREATE VIEW user_function_view AS SELECT id FROM patients WHERE lock_and_allow();
      CREATE VIEW large_object_view AS SELECT lo_create(0) AS created;
      CREATE SCHEMA reports;
      CREATE VIEW reports.shadowing_patients AS SELECT 1 AS id;
      CREATE TABLE visits (id int);
      INSERT INTO visits VALUES (1), (2);
      CREATE VIEW reports.visits AS SELECT pg_advisory_lock(94)::text AS id;
      CREATE VIEW reports.patient_count AS SELECT count(*)::int AS n FROM patients;
      CREATE VIEW patient_names AS SELECT id, upper(full_name) AS name FROM patients;
      CREATE VIEW over_patient_names AS SELECT name FROM patient_names WHERE id <= 3;
      CREATE TABLE guarded (id int);
      INSERT INTO guarded VALUES (1);
      ALTER TABLE guarded ENABLE ROW LEVEL SECURITY;
      CREATE POLICY guarded_read ON guarded FOR SELECT USING (lock_and_allow());
    `);
  },
});

async function readOnly<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const subject = 'agent-views';
  const client = new Client({ host: '127.0.0.1', port: fixture.gateway.port, user: subject, database: 'clinic', password: await fixture.gateway.token(subject, ['coding-agents']) });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Advisory locks held anywhere on the target, and its large objects. */
async function targetState() {
  const [state] = await fixture.queryAsSuperuser<{ advisory: number; objects: number }>(
    `SELECT (SELECT count(*)::int FROM pg_locks WHERE locktype = 'advisory') AS advisory, (SELECT count(*)::int FROM pg_largeobject_metadata) AS objects`,
  );
  return state!;
}

describe('read-only grant: views and policies that run writing functions are refused', () => {
  it.each([
    ['SELECT * FROM locking_view', 'view-calling-writing-function'],
    ['TABLE locking_view', 'table-command-on-view-calling-writing-function'],
    ['SELECT * FROM over_over_locking_view', 'nested-view-calling-writing-function'],
    ['SELECT (SELECT locked FROM over_locking_view) AS x', 'view-calling-writing-function-in-subquery'],
    ['WITH l AS (SELECT * FROM locking_view) SELECT * FROM l', 'view-calling-writing-function-in-cte'],
    ['SELECT p.id FROM patients p JOIN user_function_view v ON v.id = p.id', 'view-calling-user-function-in-join'],
    ['SELECT * FROM large_object_view', 'view-calling-lo-create'],
    ['SELECT * FROM guarded', 'policy-calling-writing-function'],
    ['PREPARE locked AS SELECT * FROM locking_view', 'prepared-view-calling-writing-function'],
    ['EXPLAIN ANALYZE SELECT * FROM over_locking_view', 'explain-analyze-of-view-calling-writing-function'],
  ])('refuses %j and holds no advisory lock on the target (%s bypass)', async (sql) => {
    const before = await targetState();
    await readOnly(async (client) => {
      await expect(client.query(sql)).rejects.toMatchObject({ code: '42501', message: expect.stringMatching(/read-only access does not allow write statements/) });
      // Checked while the session is still open: a session-level advisory lock lasts as long as it.
      expect(await targetState()).toEqual({ ...before, advisory: 0 });
      expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    });
  });

  it('names the view and the function it calls in the audit record', async () => {
    await readOnly((client) => client.query('SELECT * FROM over_locking_view').catch(() => undefined));
    const records = await fixture.gateway.auditRecords();
    const command = records.findLast((record) => record.type === 'command' && record.text === 'SELECT * FROM over_locking_view');
    expect(command).toMatchObject({
      classification: { action: 'write', statements: [{ action: 'write', note: expect.stringMatching(/reads view public\.over_locking_view, which reads view public\.locking_view, which is a write/) }] },
      decision: { effect: 'block' },
    });
  });

  it('refuses a view created directly on the target after the catalog was loaded (view-created-outside-warden bypass)', async () => {
    await readOnly((client) => client.query('SELECT * FROM patient_names'));
    await fixture.queryAsSuperuser('CREATE VIEW created_later_view AS SELECT pg_try_advisory_lock(92) AS locked');
    await readOnly(async (client) => {
      await expect(client.query('SELECT * FROM created_later_view')).rejects.toMatchObject({ code: '42501' });
      expect((await targetState()).advisory).toBe(0);
    });
  });

  it('sees a view replaced through Warden at once (CREATE OR REPLACE VIEW by a full grant)', async () => {
    const dba = new Client({ host: '127.0.0.1', port: fixture.gateway.port, user: 'dba-views', database: 'clinic', password: await fixture.gateway.token('dba-views', ['dba']) });
    await dba.connect();
    try {
      await dba.query('CREATE VIEW replaced_view AS SELECT 1 AS locked');
      await readOnly(async (client) => expect((await client.query('SELECT locked FROM replaced_view')).rows).toEqual([{ locked: 1 }]));
      await dba.query('CREATE OR REPLACE VIEW replaced_view AS SELECT pg_try_advisory_lock(96)::int AS locked');
      await readOnly(async (client) => {
        await expect(client.query('SELECT locked FROM replaced_view')).rejects.toMatchObject({ code: '42501' });
        expect((await targetState()).advisory).toBe(0);
      });
    } finally {
      await dba.end();
    }
  });

  it('refuses an unqualified name when a view of that name in any schema calls a writing function (search-path-view bypass)', async () => {
    await readOnly(async (client) => {
      // The search_path decides at run time which `visits` this is: SET search_path = reports would make it the view.
      await expect(client.query('SELECT count(*) FROM visits')).rejects.toMatchObject({ code: '42501' });
      expect((await targetState()).advisory).toBe(0);
      // Qualified, the table is named and read.
      expect((await client.query('SELECT count(*)::int AS n FROM public.visits')).rows).toEqual([{ n: 2 }]);
    });
  });
});

afterAll(() => rm(programDirectory, { recursive: true, force: true }));

describe('read-only grant: foreign tables', () => {
  it('refuses a foreign table whose wrapper runs a program, and the program does not run (foreign-table-program bypass)', async () => {
    await readOnly(async (client) => {
      await expect(client.query('SELECT * FROM program_output')).rejects.toMatchObject({ code: '42501', message: expect.stringMatching(/write statements/) });
    });
    expect(await readdir(programDirectory)).toEqual([]);
    // The same read straight on the target runs it: what Warden refused was real.
    expect(await fixture.queryAsSuperuser('SELECT line FROM program_output')).toEqual([{ line: 'ran' }]);
    expect(await readdir(programDirectory)).toEqual(['ran']);
  });
});

describe('read-only grant: views that only read still work', () => {
  it.each([
    ['SELECT name FROM patient_names WHERE id = 1', [{ name: 'PATIENT 1' }]],
    ['SELECT count(*)::int AS n FROM over_patient_names', [{ n: 3 }]],
    ['SELECT n FROM reports.patient_count', [{ n: 50 }]],
    ['SELECT id FROM reports.shadowing_patients', [{ id: 1 }]],
    ['SELECT count(*) > 0 AS ok FROM patients WHERE id IN (SELECT id FROM patient_names)', [{ ok: true }]],
    ['SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = pg_backend_pid()', [{ n: 1 }]],
    ['SELECT count(*) > 0 AS ok FROM pg_locks', [{ ok: true }]],
    ["SELECT setting AS v FROM pg_settings WHERE name = 'default_transaction_read_only'", [{ v: 'on' }]],
    ["SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name = 'patients'", [{ n: 1 }]],
    ["SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'patients' AND column_name = 'id'", [{ n: 1 }]],
    ["SELECT count(*)::int AS n FROM pg_views WHERE viewname = 'patient_names'", [{ n: 1 }]],
    ['SELECT count(*) > 0 AS ok FROM pg_roles', [{ ok: true }]],
    ['SELECT count(*) >= 0 AS ok FROM pg_stat_user_tables', [{ ok: true }]],
  ])('allows %j', async (sql, rows) => {
    await readOnly(async (client) => expect((await client.query(sql)).rows).toEqual(rows));
  });
});
