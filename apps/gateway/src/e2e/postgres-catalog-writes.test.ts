/**
 * Warden's own account on the target may be a superuser (here it is: `postgres`), and then a plain
 * data write of a system catalog succeeds: `UPDATE pg_authid SET rolsuper = true` makes a
 * superuser, `UPDATE pg_proc SET prosrc = …` rewrites a function, `INSERT INTO pg_db_role_setting`
 * stores settings for every later session. A statement that writes a system relation is `admin`,
 * so only a full grant may run it. These tests, against the machine's PostgreSQL through the real
 * gateway, show each spelling refused to read-write with the catalog unchanged on the target,
 * catalog reads (psql's \d, information_schema, pg_dump) still working on read-only, and full
 * access still allowed and audited as admin.
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { psql, run } from './harness';
import { type Access, withClientAt } from './postgres-access-levels';
import { postgresGatewayFixture, queryAsSuperuser } from './postgres-gateway-fixture';

/** Roles are the cluster's, shared with other test files: a name of this file's own. */
const PROBE_ROLE = `catalog_probe_${randomBytes(4).toString('hex')}`;

const fixture = postgresGatewayFixture({
  prepare: async () => {
    await fixture.queryAsSuperuser(`CREATE ROLE ${PROBE_ROLE} NOSUPERUSER NOLOGIN`);
    await fixture.queryAsSuperuser(`CREATE FUNCTION catalog_probe_fn() RETURNS int LANGUAGE sql AS 'SELECT 1'`);
  },
});

afterAll(() => queryAsSuperuser('postgres', `DROP ROLE IF EXISTS ${PROBE_ROLE}`));

function withClient(access: Access, use: (client: Client) => Promise<void>): Promise<void> {
  return withClientAt(fixture.gateway, access, use);
}

/** What the catalog says, read on the target behind Warden's back. */
async function catalogState(): Promise<Record<string, unknown>> {
  const [role] = await fixture.queryAsSuperuser<{ rolsuper: boolean; rolcanlogin: boolean }>(`SELECT rolsuper, rolcanlogin FROM pg_authid WHERE rolname = '${PROBE_ROLE}'`);
  const [body] = await fixture.queryAsSuperuser<{ prosrc: string }>(`SELECT prosrc FROM pg_proc WHERE proname = 'catalog_probe_fn'`);
  const [settings] = await fixture.queryAsSuperuser<{ count: string }>(`SELECT count(*) FROM pg_db_role_setting WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())`);
  const [descriptions] = await fixture.queryAsSuperuser<{ count: string }>(`SELECT count(*) FROM pg_description`);
  return { role, body: body?.prosrc, settings: settings?.count, descriptions: descriptions?.count };
}

const DB_SETTING = `(SELECT oid FROM pg_database WHERE datname = current_database()), 0, '{default_transaction_read_only=off}'`;

const CATALOG_WRITES: readonly string[] = [
  `UPDATE pg_authid SET rolsuper = true WHERE rolname = '${PROBE_ROLE}'`,
  `UPDATE pg_catalog.pg_authid SET rolcanlogin = true WHERE rolname = '${PROBE_ROLE}'`,
  `UPDATE pg_catalog . "pg_authid" SET rolsuper = true WHERE rolname = '${PROBE_ROLE}'`,
  `UPDATE PG_AUTHID SET rolsuper = true WHERE rolname = '${PROBE_ROLE}'`,
  `WITH u AS (UPDATE pg_authid SET rolsuper = true WHERE rolname = '${PROBE_ROLE}' RETURNING 1) SELECT count(*) FROM u`,
  "UPDATE pg_proc SET prosrc = 'SELECT 2' WHERE proname = 'catalog_probe_fn'",
  `INSERT INTO pg_db_role_setting VALUES (${DB_SETTING})`,
  // (INSERT … ON CONFLICT into a catalog PostgreSQL refuses itself: 0A000. Its classification is unit-tested.)
  `INSERT INTO pg_catalog.pg_db_role_setting SELECT ${DB_SETTING}`,
  'DELETE FROM pg_catalog.pg_description',
  `SELECT 1; UPDATE pg_authid SET rolsuper = true WHERE rolname = '${PROBE_ROLE}'`,
];

describe('read-write access: writes of the system catalogs', () => {
  it.each(CATALOG_WRITES)('refuses %j with 42501, and the catalog is unchanged on the target (catalog-write bypass)', async (sql) => {
    const before = await catalogState();
    expect(before.role).toEqual({ rolsuper: false, rolcanlogin: false });
    await withClient('read-write', async (client) => {
      await expect(client.query(sql)).rejects.toMatchObject({ code: '42501', message: expect.stringContaining('read-write access does not allow admin statements') });
      // The extended protocol too (a named statement; one statement only: Parse refuses several).
      if (!sql.startsWith('SELECT 1;')) await expect(client.query({ name: 'catalog-write', text: sql })).rejects.toMatchObject({ code: '42501' });
      expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    });
    expect(await catalogState()).toEqual(before);
    expect((await fixture.queryAsSuperuser<{ value: number }>('SELECT catalog_probe_fn() AS value'))[0]!.value).toBe(1);
  });

  it('refuses row locks and LOCK of a catalog, which would hold other sessions’ role and schema changes (catalog-write bypass)', async () => {
    await withClient('read-write', async (client) => {
      await client.query('BEGIN');
      await expect(client.query('SELECT * FROM pg_authid FOR UPDATE')).rejects.toMatchObject({ code: '42501' });
      await client.query('ROLLBACK');
      await client.query('BEGIN');
      await expect(client.query('LOCK TABLE pg_catalog.pg_authid IN ACCESS EXCLUSIVE MODE')).rejects.toMatchObject({ code: '42501' });
      await client.query('ROLLBACK');
    });
    // Not held: the target takes the strongest lock on pg_authid at once.
    await fixture.queryAsSuperuser(`BEGIN; SET LOCAL lock_timeout = '2s'; LOCK TABLE pg_authid IN ACCESS EXCLUSIVE MODE; COMMIT`);
  });

  it('names the catalog in the audit record of the refusal', async () => {
    const sql = `UPDATE pg_authid SET rolsuper = true WHERE rolname = '${PROBE_ROLE}' AND 'audit' = 'audit'`;
    await withClient('read-write', (client) => client.query(sql).then(() => undefined, () => undefined));
    const records = await fixture.gateway.auditRecords();
    const command = records.findLast((record) => record.type === 'command' && record.text === sql);
    expect(command).toMatchObject({
      classification: { action: 'admin', statements: [{ action: 'admin', note: 'writes pg_authid, a relation of the system catalogs, which only full access may' }] },
      decision: { effect: 'block' },
    });
  });

  it('still writes user tables that read the catalogs', async () => {
    await withClient('read-write', async (client) => {
      const result = await client.query("INSERT INTO notes (body) SELECT relname FROM pg_catalog.pg_class WHERE relname = 'patients' RETURNING body");
      expect(result.rows).toEqual([{ body: 'patients' }]);
    });
  });
});

describe('read-only access: catalog reads', () => {
  it('psql \\d and \\du, and information_schema queries, work', async () => {
    const token = await fixture.gateway.token('agent-catalog-reads', ['coding-agents']);
    const result = await psql(fixture.gateway, token, ['-c', '\\d patients', '-c', '\\du', '-c', "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1"], { user: 'agent-catalog-reads' });
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('Table "public.patients"');
    expect(result.stdout).toContain(PROBE_ROLE);
    expect(result.stdout).toMatch(/\bnotes\b[\s\S]*\bpatients\b/);
  });

  it('pg_dump --schema-only works', async () => {
    const token = await fixture.gateway.token('agent-catalog-dump', ['coding-agents']);
    const conninfo = `host=127.0.0.1 port=${fixture.gateway.port} user=agent-catalog-dump dbname=clinic sslmode=disable`;
    const dump = await run('pg_dump', ['--schema-only', '-d', conninfo], { env: { PGPASSWORD: token, PGCONNECT_TIMEOUT: '10' } });
    expect(dump.stderr).toBe('');
    expect(dump.code).toBe(0);
    expect(dump.stdout).toContain('CREATE TABLE public.patients');
  });
});

describe('full access: writes of the system catalogs', () => {
  it('allows a catalog write (a role set to its own value) and audits it as admin', async () => {
    const before = await catalogState();
    const sql = `UPDATE pg_authid SET rolsuper = rolsuper WHERE rolname = '${PROBE_ROLE}'`;
    await withClient('full', async (client) => {
      const result = await client.query(sql);
      expect(result.rowCount).toBe(1);
    });
    expect(await catalogState()).toEqual(before);
    const command = (await fixture.gateway.auditRecords()).findLast((record) => record.type === 'command' && record.text === sql);
    expect(command).toMatchObject({ classification: { action: 'admin' }, decision: { effect: 'allow' } });
  });
});
