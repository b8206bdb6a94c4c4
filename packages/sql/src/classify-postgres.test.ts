import type { Action } from '@warden/core';
import { classifyPostgres, loadSqlParsers } from './index';

beforeAll(() => loadSqlParsers());

type Row = readonly [sql: string, action: Action, objects: readonly string[], bulk: boolean, count: number];

describe('classifyPostgres', () => {
  const rows: readonly Row[] = [
    // Parse failures are never guessed.
    ['DEL/**/ETE FROM patients', 'unknown', [], false, 1],
    ['SELEC * FROM patients', 'unknown', [], false, 1],
    ['SELECT 1\0; DROP TABLE patients', 'unknown', [], false, 1],
    // Comments, case and quoting.
    ['/* x */ DELETE FROM patients WHERE id=1', 'write', ['patients'], false, 1],
    ['delete from PATIENTS', 'write', ['patients'], true, 1],
    ['DELETE FROM "Patients"', 'write', ['Patients'], true, 1],
    ['select 1 -- comment', 'read', [], false, 1],
    ["SELECT '; DROP TABLE patients; --' FROM x", 'read', ['x'], false, 1],
    ['SELECT $q$ ; DELETE FROM patients $q$', 'read', [], false, 1],
    ['SELECT * FROM U&"p\\0061tients"', 'read', ['patients'], false, 1],
    ['SELECT * FROM "public"."patients"', 'read', ['public.patients'], false, 1],
    ['', 'read', [], false, 0],
    ['   ', 'read', [], false, 0],
    ['-- only a comment', 'read', [], false, 0],
    // Several statements: the strongest wins.
    ['SELECT 1; DROP TABLE patients', 'ddl', ['patients'], false, 2],
    ['SELECT * FROM a; DELETE FROM b WHERE x = 1; SELECT * FROM a', 'write', ['a', 'b'], false, 3],
    ['BEGIN; UPDATE patients SET x = 1; COMMIT', 'write', ['patients'], true, 3],
    // Reads.
    ['SELECT abalance FROM pgbench_accounts WHERE aid = 123', 'read', ['pgbench_accounts'], false, 1],
    ['SELECT * FROM public.patients p JOIN encounters e ON e.pid = p.id', 'read', ['public.patients', 'encounters'], false, 1],
    ['SELECT * FROM clinic.public.patients', 'read', ['public.patients'], false, 1],
    ['VALUES (1), (2)', 'read', [], false, 1],
    ['SELECT a FROM x UNION SELECT a FROM y EXCEPT SELECT a FROM z', 'read', ['x', 'y', 'z'], false, 1],
    ['SELECT * FROM a WHERE id IN (SELECT id FROM b WHERE EXISTS (SELECT 1 FROM c))', 'read', ['a', 'b', 'c'], false, 1],
    ['SELECT (SELECT max(id) FROM b) FROM a', 'read', ['b', 'a'], false, 1],
    ['SHOW search_path', 'read', [], false, 1],
    ['SELECT pg_sleep(1)', 'read', [], false, 1],
    ['DECLARE c CURSOR FOR SELECT * FROM patients', 'read', ['patients'], false, 1],
    ['FETCH 10 FROM c', 'read', [], false, 1],
    ['CLOSE c', 'read', [], false, 1],
    ['LISTEN changes', 'read', [], false, 1],
    ['UNLISTEN *', 'read', [], false, 1],
    // CTEs: their names are not objects, but only within their scope.
    ['WITH d AS (SELECT * FROM patients) SELECT * FROM d', 'read', ['patients'], false, 1],
    ['WITH patients AS (SELECT * FROM patients) SELECT * FROM patients', 'read', ['patients'], false, 1],
    ['WITH a AS (SELECT 1), b AS (SELECT * FROM a) SELECT * FROM b', 'read', [], false, 1],
    ['WITH b AS (SELECT * FROM a), a AS (SELECT 1) SELECT * FROM b', 'read', ['a'], false, 1],
    ['WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 5) SELECT * FROM t', 'read', [], false, 1],
    ['WITH d AS (SELECT 1) SELECT * FROM s.d', 'read', ['s.d'], false, 1],
    ['SELECT * FROM (WITH d AS (SELECT 1) SELECT * FROM d) x, d', 'read', ['d'], false, 1],
    // Writes.
    ['WITH d AS (DELETE FROM patients RETURNING *) SELECT * FROM d', 'write', ['patients'], true, 1],
    ['WITH d AS (DELETE FROM patients WHERE id = 1 RETURNING *) SELECT * FROM d', 'write', ['patients'], false, 1],
    ['WITH patients AS (SELECT 1) DELETE FROM patients WHERE id = 1', 'write', ['patients'], false, 1],
    ['INSERT INTO a SELECT * FROM patients', 'write', ['a', 'patients'], true, 1],
    ['INSERT INTO a VALUES (1), (2)', 'write', ['a'], false, 1],
    ['INSERT INTO a DEFAULT VALUES', 'write', ['a'], false, 1],
    ['UPDATE patients SET name = n.name FROM new_names n WHERE n.id = patients.id', 'write', ['patients', 'new_names'], false, 1],
    ['UPDATE patients SET x = 1', 'write', ['patients'], true, 1],
    ['DELETE FROM a USING b WHERE a.id = b.id', 'write', ['a', 'b'], false, 1],
    ['MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE', 'write', ['t', 's'], false, 1],
    ['SELECT 1 FROM patients FOR UPDATE', 'write', ['patients'], false, 1],
    ['SELECT * FROM (SELECT * FROM patients FOR SHARE) p', 'write', ['patients'], false, 1],
    ['SELECT nextval(\'s\')', 'write', [], false, 1],
    ['SELECT lo_unlink(123)', 'write', [], false, 1],
    ['TRUNCATE patients', 'write', ['patients'], true, 1],
    ['COPY patients FROM STDIN', 'write', ['patients'], true, 1],
    ['NOTIFY changes', 'write', [], false, 1],
    ['LOCK TABLE patients IN ACCESS EXCLUSIVE MODE', 'write', ['patients'], false, 1],
    // COPY.
    ['COPY patients TO STDOUT', 'read', ['patients'], false, 1],
    ['COPY (SELECT * FROM patients) TO STDOUT', 'read', ['patients'], false, 1],
    ['COPY (DELETE FROM patients RETURNING *) TO STDOUT', 'write', ['patients'], true, 1],
    ["COPY patients TO PROGRAM 'curl x'", 'admin', ['patients'], false, 1],
    ["COPY patients TO '/tmp/patients.csv'", 'admin', ['patients'], false, 1],
    ["COPY patients FROM PROGRAM 'sh -c id'", 'admin', ['patients'], true, 1],
    // EXPLAIN runs its statement only with ANALYZE.
    ['EXPLAIN SELECT * FROM patients', 'read', ['patients'], false, 1],
    ['EXPLAIN DELETE FROM patients', 'read', ['patients'], false, 1],
    ['EXPLAIN ANALYZE DELETE FROM patients', 'write', ['patients'], true, 1],
    ['EXPLAIN (ANALYZE) DELETE FROM patients', 'write', ['patients'], true, 1],
    ['EXPLAIN (ANALYZE off, COSTS) DELETE FROM patients', 'read', ['patients'], false, 1],
    ['EXPLAIN (ANALYZE maybe) DELETE FROM patients', 'write', ['patients'], true, 1],
    ['EXPLAIN (ANALYZE, FORMAT JSON) SELECT * FROM patients', 'read', ['patients'], false, 1],
    // DDL.
    ['CREATE TABLE t (id int)', 'ddl', ['t'], false, 1],
    ['SELECT * INTO copy FROM patients', 'ddl', ['copy', 'patients'], false, 1],
    ['CREATE TABLE x AS SELECT * FROM patients', 'ddl', ['patients', 'x'], false, 1],
    // Temporary tables are the session's own: creating one is a write (read-write grants may).
    ['CREATE TEMP TABLE t (id int)', 'write', ['t'], false, 1],
    ['CREATE TEMPORARY TABLE t (id int) ON COMMIT DROP', 'write', ['t'], false, 1],
    ['CREATE TABLE pg_temp.t (id int)', 'write', ['pg_temp.t'], false, 1],
    ['CREATE TEMP TABLE x AS SELECT * FROM patients', 'write', ['patients', 'x'], false, 1],
    ['SELECT * INTO TEMP x FROM patients', 'write', ['x', 'patients'], false, 1],
    ['SELECT * INTO x FROM patients', 'ddl', ['x', 'patients'], false, 1],
    ['CREATE UNLOGGED TABLE t (id int)', 'ddl', ['t'], false, 1],
    // …but one that joins another table's schema is DDL.
    ['CREATE TEMP TABLE t () INHERITS (patients)', 'ddl', ['t', 'patients'], false, 1],
    ['CREATE TEMP VIEW v AS SELECT 1', 'ddl', ['v'], false, 1],
    ['CREATE TEMP TABLE t (id int DEFAULT nextval(\'s\'))', 'write', ['t'], false, 1],
    ['CREATE MATERIALIZED VIEW v AS SELECT * FROM patients', 'ddl', ['patients', 'v'], false, 1],
    ['CREATE VIEW v AS SELECT * FROM patients', 'ddl', ['v', 'patients'], false, 1],
    ['DROP TABLE patients, s.encounters', 'ddl', ['patients', 's.encounters'], false, 1],
    ['DROP FUNCTION f(int)', 'ddl', [], false, 1],
    ['ALTER TABLE patients ADD COLUMN x int', 'ddl', ['patients'], false, 1],
    ['ALTER TABLE patients RENAME TO p2', 'ddl', ['patients'], false, 1],
    ["COMMENT ON TABLE patients IS 'x'", 'ddl', [], false, 1],
    ['CREATE INDEX ON patients (id)', 'ddl', ['patients'], false, 1],
    ['CREATE SEQUENCE s', 'ddl', ['s'], false, 1],
    ['CREATE SCHEMA s', 'ddl', [], false, 1],
    ["CREATE TYPE mood AS ENUM ('a')", 'ddl', [], false, 1],
    ['CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$', 'ddl', [], false, 1],
    ['CREATE TRIGGER t BEFORE INSERT ON patients FOR EACH ROW EXECUTE FUNCTION f()', 'ddl', ['patients'], false, 1],
    // Admin.
    ['GRANT SELECT ON patients TO x', 'admin', ['patients'], false, 1],
    ['REVOKE ALL ON patients FROM x', 'admin', ['patients'], false, 1],
    ['GRANT admins TO bob', 'admin', [], false, 1],
    ['CREATE ROLE bob LOGIN', 'admin', [], false, 1],
    ["ALTER USER bob PASSWORD 'x'", 'admin', [], false, 1],
    ['DROP ROLE bob', 'admin', [], false, 1],
    ['ALTER SYSTEM SET x = 1', 'admin', [], false, 1],
    ['CREATE EXTENSION dblink', 'admin', [], false, 1],
    ['DROP EXTENSION dblink', 'admin', [], false, 1],
    ["LOAD 'x'", 'admin', [], false, 1],
    ['DO $$ BEGIN DELETE FROM patients; END $$', 'admin', [], false, 1],
    ['CALL do_things(1)', 'admin', [], false, 1],
    ['VACUUM patients', 'admin', ['patients'], false, 1],
    ['ANALYZE patients', 'admin', ['patients'], false, 1],
    ['CLUSTER patients USING i', 'admin', ['patients'], false, 1],
    ['REINDEX TABLE patients', 'admin', ['patients'], false, 1],
    ['CHECKPOINT', 'admin', [], false, 1],
    ['ALTER TABLE patients OWNER TO bob', 'admin', ['patients'], false, 1],
    ['ALTER TABLE patients DISABLE ROW LEVEL SECURITY', 'admin', ['patients'], false, 1],
    ['CREATE POLICY p ON patients USING (true)', 'admin', ['patients'], false, 1],
    ['DROP POLICY p ON patients', 'admin', [], false, 1],
    ['CREATE SCHEMA s CREATE TABLE t (id int) GRANT SELECT ON t TO x', 'admin', ['t'], false, 1],
    ["CREATE SERVER s FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host 'x')", 'admin', [], false, 1],
    ['CREATE DATABASE d', 'admin', [], false, 1],
    // Dangerous functions, wherever they are called.
    ["SELECT pg_read_file('/etc/passwd')", 'admin', [], false, 1],
    ["select PG_READ_FILE('x')", 'admin', [], false, 1],
    ["SELECT pg_catalog.pg_read_file('x')", 'admin', [], false, 1],
    ["SELECT * FROM pg_ls_dir('/')", 'admin', [], false, 1],
    ["SELECT * FROM patients WHERE name = (SELECT pg_read_file('x'))", 'admin', ['patients'], false, 1],
    ["SELECT set_config('role', 'postgres', false)", 'admin', [], false, 1],
    // A computed value copies data into a setting that SHOW and ParameterStatus hand back unmasked.
    ["SELECT set_config('application_name', ssn, false) FROM patients", 'admin', ['patients'], false, 1],
    ["SELECT set_config('my.x', (SELECT email FROM patients LIMIT 1), false)", 'admin', ['patients'], false, 1],
    ["SELECT set_config('my.x', $1, false)", 'read', [], false, 1],
    ["SELECT set_config('my.x', $1::text, false)", 'read', [], false, 1],
    ["SELECT pg_catalog.set_config('search_path', '', false)", 'read', [], false, 1],
    ["SELECT set_config(lower('ROLE'), 'postgres', false)", 'admin', [], false, 1],
    ["UPDATE pg_settings SET setting = 'postgres' WHERE name = 'role'", 'admin', ['pg_settings'], false, 1],
    ["SELECT * FROM dblink('host=x', 'SELECT 1') AS t(a int)", 'admin', [], false, 1],
    ["SELECT query_to_xml('SELECT * FROM patients', true, false, '')", 'admin', [], false, 1],
    ['SELECT pg_terminate_backend(123)', 'admin', [], false, 1],
    ["INSERT INTO a VALUES (pg_read_file('x'))", 'admin', ['a'], false, 1],
    ['WITH x AS (SELECT lo_import(\'/etc/passwd\')) SELECT * FROM x', 'admin', [], false, 1],
    // Prepared statements.
    ['PREPARE p AS DELETE FROM patients', 'write', ['patients'], true, 1],
    ['PREPARE p(int) AS SELECT * FROM patients WHERE id = $1', 'read', ['patients'], false, 1],
    ['EXECUTE p', 'unknown', [], false, 1],
    ['EXECUTE p(1)', 'unknown', [], false, 1],
    ['EXPLAIN ANALYZE EXECUTE p', 'unknown', [], false, 1],
    ['DEALLOCATE p', 'session', [], false, 1],
    ['DEALLOCATE ALL', 'session', [], false, 1],
    // Settings: most are session state; the ones that change identity are admin (read-only mode: below).
    ['SET ROLE postgres', 'admin', [], false, 1],
    ['SET LOCAL ROLE postgres', 'admin', [], false, 1],
    ['RESET ROLE', 'admin', [], false, 1],
    ['SET SESSION AUTHORIZATION postgres', 'admin', [], false, 1],
    ['RESET SESSION AUTHORIZATION', 'admin', [], false, 1],
    ['SET TRANSACTION READ ONLY', 'transaction', [], false, 1],
    ['SET TRANSACTION ISOLATION LEVEL SERIALIZABLE', 'transaction', [], false, 1],
    ['SET session_replication_role = replica', 'admin', [], false, 1],
    ['DISCARD PLANS', 'session', [], false, 1],
    ['SET search_path = public', 'session', [], false, 1],
    ["SET application_name = 'psql'", 'session', [], false, 1],
    ['SET statement_timeout TO 1000', 'session', [], false, 1],
    ["SET TIME ZONE 'UTC'", 'session', [], false, 1],
    ['RESET search_path', 'session', [], false, 1],
    // Transactions.
    ['BEGIN', 'transaction', [], false, 1],
    ['START TRANSACTION ISOLATION LEVEL REPEATABLE READ', 'transaction', [], false, 1],
    ['COMMIT', 'transaction', [], false, 1],
    ['ROLLBACK', 'transaction', [], false, 1],
    ['SAVEPOINT a', 'transaction', [], false, 1],
    ['RELEASE SAVEPOINT a', 'transaction', [], false, 1],
    ['ROLLBACK TO SAVEPOINT a', 'transaction', [], false, 1],
    ['SET CONSTRAINTS ALL DEFERRED', 'transaction', [], false, 1],
    ["PREPARE TRANSACTION 'x'", 'admin', [], false, 1],
    ["COMMIT PREPARED 'x'", 'admin', [], false, 1],
  ];

  it.each(rows)('%j → %s %j bulk=%s statements=%i', (sql, action, objects, bulk, count) => {
    const result = classifyPostgres(sql);
    expect({ action: result.action, objects: result.objects, bulk: result.bulk, count: result.statementCount }).toEqual({
      action,
      objects,
      bulk,
      count,
    });
    expect(result.statements).toHaveLength(count);
  });

  // Everything that can turn off the read-only mode a read-only grant opens the target session in.
  // The action stays what the statement is (so read-write and full grants allow it); the flag makes
  // a read-only grant refuse it.
  const readOnlyRows: ReadonlyArray<readonly [sql: string, action: Action, disablesReadOnly: boolean]> = [
    ['SET default_transaction_read_only = off', 'session', true],
    ['SET default_transaction_read_only TO off', 'session', true],
    ['set Default_Transaction_Read_Only = FALSE', 'session', true],
    ['SET "default_transaction_read_only" = \'off\'', 'session', true],
    ['SET "DEFAULT_TRANSACTION_READ_ONLY" = 0', 'session', true],
    ['SET default_transaction_read_only = \'n\'', 'session', true],
    ['SET SESSION default_transaction_read_only = off', 'session', true],
    ['SET LOCAL default_transaction_read_only = off', 'session', true],
    ['SET/**/default_transaction_read_only/* on */=/**/off', 'session', true],
    ['SET default_transaction_read_only = maybe', 'session', true],
    ['SET default_transaction_read_only TO DEFAULT', 'session', true],
    ['SET "default_transaction_read_only" TO DEFAULT', 'session', true],
    ['RESET default_transaction_read_only', 'session', true],
    ['reset "default_transaction_read_only"', 'session', true],
    ['RESET ALL', 'session', true],
    ['DISCARD ALL', 'session', true],
    ['SET transaction_read_only = off', 'transaction', true],
    ['SET transaction_read_only = 0', 'transaction', true],
    ['SET LOCAL transaction_read_only TO false', 'transaction', true],
    ['RESET transaction_read_only', 'transaction', true],
    ['SET TRANSACTION READ WRITE', 'transaction', true],
    ['set transaction isolation level serializable, read write', 'transaction', true],
    ['SET TRANSACTION READ ONLY, READ WRITE', 'transaction', true],
    ['SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE', 'session', true],
    ['SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE READ WRITE', 'session', true],
    ['BEGIN READ WRITE', 'transaction', true],
    ['begin transaction read write', 'transaction', true],
    ['BEGIN WORK ISOLATION LEVEL SERIALIZABLE, READ WRITE', 'transaction', true],
    ['START TRANSACTION READ WRITE', 'transaction', true],
    ['/* x */ START TRANSACTION ISOLATION LEVEL REPEATABLE READ READ WRITE', 'transaction', true],
    ["SELECT set_config('default_transaction_read_only', 'off', false)", 'read', true],
    ["SELECT pg_catalog.set_config('transaction_read_only', 'off', true)", 'read', true],
    ["SELECT SET_CONFIG('DEFAULT_TRANSACTION_READ_ONLY', 'false', false)", 'read', true],
    ["SELECT set_config('default_transaction_read_only', current_setting('x'), false)", 'admin', true],
    ["SELECT * FROM patients WHERE set_config('transaction_read_only', 'off', true) IS NOT NULL", 'read', true],
    ["WITH x AS (SELECT set_config('default_transaction_read_only', 'off', false)) SELECT * FROM x", 'read', true],
    ["SELECT 1; SET default_transaction_read_only = off", 'read', true],
    // An expression could name any setting: admin, refused by read-only and read-write grants alike.
    ["SELECT set_config('default_' || 'transaction_read_only', 'off', false)", 'admin', false],
    ["SELECT set_config(setting_name => 'transaction_read_only', new_value => 'off', is_local => true)", 'admin', false],
    ["UPDATE pg_settings SET setting = 'off' WHERE name = 'default_transaction_read_only'", 'admin', false],
    // Turning read-only on, or leaving it alone, is harmless.
    ['SET default_transaction_read_only = on', 'session', false],
    ["SET default_transaction_read_only TO 'true'", 'session', false],
    ['SET transaction_read_only = 1', 'transaction', false],
    ["SELECT set_config('default_transaction_read_only', 'on', false)", 'read', false],
    ["SELECT set_config('search_path', 'public', false)", 'read', false],
    ['SET TRANSACTION READ ONLY', 'transaction', false],
    ['SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY', 'session', false],
    ['BEGIN READ ONLY', 'transaction', false],
    ['BEGIN', 'transaction', false],
    ['START TRANSACTION ISOLATION LEVEL SERIALIZABLE', 'transaction', false],
    ['RESET search_path', 'session', false],
    ['DISCARD PLANS', 'session', false],
    ['SHOW default_transaction_read_only', 'read', false],
    ["SELECT current_setting('default_transaction_read_only')", 'read', false],
  ];

  it.each(readOnlyRows)('%j → %s, disables read-only: %s', (sql, action, disablesReadOnly) => {
    const result = classifyPostgres(sql);
    expect(result.action).toBe(action);
    expect(result.statements.some((statement) => statement.disablesReadOnly === true)).toBe(disablesReadOnly);
    if (disablesReadOnly) {
      const flagged = result.statements.find((statement) => statement.disablesReadOnly === true);
      expect(flagged?.note).toMatch(/read-only enforcement|default_transaction_read_only/);
    }
  });

  it('explains parse errors with the first line of the parser message', () => {
    expect(classifyPostgres('DEL/**/ETE FROM patients').statements).toEqual([
      { action: 'unknown', objects: [], bulk: false, note: 'parse error: syntax error at or near "DEL"' },
    ]);
  });

  it('names the reason for actions that are not obvious', () => {
    expect(classifyPostgres("SELECT pg_read_file('x')").statements[0]?.note).toBe('calls pg_read_file');
    expect(classifyPostgres('EXECUTE p').statements[0]?.note).toBe('EXECUTE of a server-side prepared statement');
    expect(classifyPostgres("COPY patients TO PROGRAM 'curl x'").statements[0]?.note).toBe('COPY to server file/program');
    expect(classifyPostgres('SET default_transaction_read_only = off').statements[0]?.note).toMatch(/read-only enforcement/);
  });

  it('keeps the statements in order, each with its own classification', () => {
    const result = classifyPostgres('SELECT * FROM a; DROP TABLE b; BEGIN');
    expect(result.statements.map((statement) => [statement.action, statement.objects])).toEqual([
      ['read', ['a']],
      ['ddl', ['b']],
      ['transaction', []],
    ]);
  });

  it('fails closed on a tree too deep to analyse', () => {
    const deep = `SELECT ${Array.from({ length: 20_000 }, () => '1').join('+')}`;
    expect(classifyPostgres(deep).action).toBe('unknown');
  });

  it('returns the cached, frozen result for the same text', () => {
    const sql = 'SELECT * FROM patients WHERE id = 42';
    const first = classifyPostgres(sql);
    const second = classifyPostgres(sql);
    expect(second).toBe(first);
    expect(second).toEqual({
      action: 'read',
      objects: ['patients'],
      bulk: false,
      columns: ['patients.*', 'patients.id'],
      statementCount: 1,
      statements: [{ action: 'read', objects: ['patients'], bulk: false, columns: ['patients.*', 'patients.id'], operators: ['='] }],
    });
    expect(Object.isFrozen(first)).toBe(true);
    expect(Object.isFrozen(first.objects)).toBe(true);
    expect(Object.isFrozen(first.statements[0]?.objects)).toBe(true);
  });

  it('throws when called before loadSqlParsers() resolved', () => {
    jest.isolateModules(() => {
      // A fresh module registry: this copy of the package has not loaded its parser.
      const fresh = jest.requireActual<typeof import('./index')>('./index');
      expect(() => fresh.classifyPostgres('SELECT 1')).toThrow(/loadSqlParsers/);
    });
  });

  it('loads idempotently', async () => {
    await expect(Promise.all([loadSqlParsers(), loadSqlParsers()])).resolves.toEqual([undefined, undefined]);
  });
});

describe('columns touched', () => {
  const rows: ReadonlyArray<readonly [string, readonly string[]]> = [
    ['SELECT ssn FROM patients', ['patients.ssn']],
    ['SELECT p.ssn, p.dob FROM public.patients p', ['public.patients.ssn', 'public.patients.dob']],
    ['SELECT patients.ssn FROM patients', ['patients.ssn']],
    ['SELECT public.patients.ssn FROM public.patients', ['public.patients.ssn']],
    ['SELECT * FROM patients', ['patients.*']],
    ['SELECT p.* FROM patients p JOIN encounters e ON e.patient_id = p.id', ['patients.*', 'encounters.patient_id', 'patients.id']],
    // Unqualified in a join: it belongs to one of them, so both are named.
    ['SELECT ssn FROM patients JOIN encounters USING (id)', ['patients.ssn', 'encounters.ssn']],
    // Through a subquery alias: the inner reference names the table.
    ['SELECT x.ssn FROM (SELECT ssn FROM patients) x', ['patients.ssn']],
    ['WITH d AS (SELECT ssn FROM patients) SELECT d.ssn FROM d', ['patients.ssn']],
    ["UPDATE patients SET ssn = 'x' WHERE id = 1", ['patients.ssn', 'patients.id']],
    ['UPDATE patients p SET dob = NULL WHERE p.id = 1', ['patients.dob', 'patients.id']],
    ["INSERT INTO patients (full_name, ssn) VALUES ('a', 'b')", ['patients.full_name', 'patients.ssn']],
    ['DELETE FROM patients WHERE ssn LIKE $1', ['patients.ssn']],
    ['SELECT count(*) FROM patients', []],
    ['SELECT 1', []],
  ];
  it.each(rows)('%j → %j', (sql, columns) => {
    expect(classifyPostgres(sql).columns ?? []).toEqual(columns);
  });
});
