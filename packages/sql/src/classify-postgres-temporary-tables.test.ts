import { classifyPostgres, loadSqlParsers } from './index';

beforeAll(() => loadSqlParsers());

/**
 * A temporary table is the session's own, so creating one is a `write`; nothing it holds or runs
 * may make a stronger statement look like that write.
 */
describe('classifyPostgres: what a temporary table carries', () => {
  it('refuses CREATE TEMP TABLE … AS EXECUTE as it refuses EXECUTE (create-temp-table-as-execute bypass)', () => {
    for (const sql of ['CREATE TEMP TABLE t AS EXECUTE p', 'CREATE TEMP TABLE t AS EXECUTE p(1)', 'CREATE TABLE t AS EXECUTE p']) {
      expect(classifyPostgres(sql).statements[0]).toMatchObject({ action: 'unknown', note: 'EXECUTE of a server-side prepared statement' });
    }
  });

  it.each([
    ['CREATE TEMP TABLE t PARTITION OF patients FOR VALUES IN (1)', 'ddl'],
    ['CREATE TEMP SEQUENCE s', 'ddl'],
    ['CREATE TEMP TABLE t AS SELECT pg_terminate_backend(1)', 'admin'],
    ['CREATE TEMP TABLE t (ok bool DEFAULT pg_terminate_backend(1))', 'admin'],
    ['CREATE TEMP TABLE t (ok bool CHECK (pg_terminate_backend(1)))', 'admin'],
    ['CREATE TEMP TABLE t AS SELECT * FROM pg_authid FOR UPDATE', 'admin'],
    ['SELECT * INTO TEMP t FROM pg_catalog.pg_authid FOR UPDATE', 'admin'],
    ['CREATE TEMP TABLE t AS WITH u AS (UPDATE pg_authid SET rolsuper = true RETURNING 1) SELECT * FROM u', 'admin'],
    ["CREATE TEMP TABLE t AS SELECT set_config('role', 'postgres', false)", 'admin'],
    ['CREATE TEMP TABLE t (LIKE patients)', 'write'],
    ['CREATE TEMP TABLE t AS SELECT * FROM patients FOR UPDATE', 'write'],
  ] as const)('%j is %s', (sql, action) => {
    expect(classifyPostgres(sql).action).toBe(action);
  });

  it('keeps a read-only lift inside CREATE TEMP TABLE … AS', () => {
    const sql = "CREATE TEMP TABLE t AS SELECT set_config(name, 'off', false) FROM pg_settings WHERE name = 'default_transaction_read_only'";
    expect(classifyPostgres(sql).statements[0]?.disablesReadOnly).toBe(true);
  });
});

describe('classifyPostgres: set_config spellings that hide the setting', () => {
  it.each([
    "SELECT set_config(setting_name => 'role', new_value => 'postgres', is_local => false)",
    "SELECT set_config(VARIADIC ARRAY['role', 'postgres'])",
    "SELECT set_config(('ro' || 'le')::text, 'postgres', false)",
    "SELECT set_config('application_name', 'x' || 'y', false)",
  ])('%j is admin', (sql) => {
    expect(classifyPostgres(sql).action).toBe('admin');
  });

  it('judges a pg_settings shadowed by a CTE by the name its WHERE pins', () => {
    // Only rows whose name is application_name reach set_config, whatever pg_settings is here.
    const sql = "WITH pg_settings AS (SELECT 'role'::text AS name) SELECT set_config(name, 'x', false) FROM pg_settings WHERE name = 'application_name'";
    expect(classifyPostgres(sql).statements[0]?.settings).toEqual(['application_name']);
  });
});
