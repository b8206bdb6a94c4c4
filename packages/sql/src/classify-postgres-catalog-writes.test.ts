import { classifyPostgres, loadSqlParsers } from './index';

beforeAll(() => loadSqlParsers());

/**
 * Warden's account on the target may be a superuser: a write of a system catalog changes who may
 * do what. Every statement that writes, locks or redefines a system relation is `admin`.
 */
describe('writes of the system catalogs (catalog-write bypass)', () => {
  it.each([
    ["UPDATE pg_authid SET rolsuper = true WHERE rolname = 'x'", 'pg_authid'],
    ["UPDATE pg_catalog.pg_authid SET rolcanlogin = true WHERE rolname = 'x'", 'pg_catalog.pg_authid'],
    ['UPDATE pg_catalog . "pg_authid" SET rolsuper = true', 'pg_catalog.pg_authid'],
    ['UPDATE "PG_AUTHID" SET rolsuper = true', 'PG_AUTHID'],
    ['UPDATE "PG_CATALOG".pg_authid SET rolsuper = true', 'PG_CATALOG.pg_authid'],
    ['UPDATE PG_AUTHID SET rolsuper = true', 'pg_authid'],
    ['UPDATE clinic.pg_catalog.pg_authid SET rolsuper = true', 'pg_catalog.pg_authid'],
    ["UPDATE pg_proc SET prosrc = 'SELECT 2' WHERE proname = 'f'", 'pg_proc'],
    ["INSERT INTO pg_db_role_setting VALUES (0, 0, '{default_transaction_read_only=off}')", 'pg_db_role_setting'],
    ["INSERT INTO pg_db_role_setting VALUES (0, 0, '{x=1}') ON CONFLICT DO NOTHING", 'pg_db_role_setting'],
    ['DELETE FROM pg_catalog.pg_largeobject_metadata', 'pg_catalog.pg_largeobject_metadata'],
    ['MERGE INTO pg_authid a USING t ON a.oid = t.id WHEN MATCHED THEN UPDATE SET rolsuper = true', 'pg_authid'],
    ['TRUNCATE pg_largeobject', 'pg_largeobject'],
    ['TRUNCATE t, pg_catalog.pg_description', 'pg_catalog.pg_description'],
    ['COPY pg_authid FROM STDIN', 'pg_authid'],
    ["WITH u AS (UPDATE pg_class SET relname = relname WHERE relname = 'canary' RETURNING 1) SELECT count(*) FROM u", 'pg_class'],
    ['WITH pg_authid AS (SELECT 1) DELETE FROM pg_authid', 'pg_authid'],
    ['COPY (DELETE FROM pg_authid RETURNING 1) TO STDOUT', 'pg_authid'],
    ['SELECT * FROM pg_authid FOR UPDATE', 'pg_authid'],
    ['SELECT * FROM pg_catalog.pg_class FOR SHARE', 'pg_catalog.pg_class'],
    ['LOCK TABLE pg_authid IN ACCESS EXCLUSIVE MODE', 'pg_authid'],
    ['LOCK pg_catalog.pg_class IN ROW EXCLUSIVE MODE', 'pg_catalog.pg_class'],
    ["UPDATE information_schema.sql_features SET comments = 'x'", 'information_schema.sql_features'],
    ["UPDATE sql_features SET comments = 'x'", 'sql_features'],
    ['DELETE FROM "INFORMATION_SCHEMA".sql_parts', 'INFORMATION_SCHEMA.sql_parts'],
    ['DELETE FROM pg_toast.pg_toast_1260', 'pg_toast.pg_toast_1260'],
    ['DELETE FROM pg_toast_temp_3.pg_toast_16384', 'pg_toast_temp_3.pg_toast_16384'],
    ['PREPARE p AS UPDATE pg_authid SET rolsuper = true', 'pg_authid'],
    ['EXPLAIN ANALYZE UPDATE pg_authid SET rolsuper = true', 'pg_authid'],
    ['ALTER TABLE pg_catalog.pg_authid ADD COLUMN x int', 'pg_catalog.pg_authid'],
    ['CREATE TRIGGER t BEFORE UPDATE ON pg_authid FOR EACH ROW EXECUTE FUNCTION f()', 'pg_authid'],
    ['CREATE INDEX ON pg_class (relname)', 'pg_class'],
    ['CREATE TABLE pg_catalog.pwned (x int)', 'pg_catalog.pwned'],
  ])('%s is admin', (sql, relation) => {
    const [statement] = classifyPostgres(sql).statements;
    expect(statement).toMatchObject({ action: 'admin', note: `writes ${relation}, a relation of the system catalogs, which only full access may` });
  });

  it.each([
    ['DROP TABLE pg_catalog.pg_authid', 'pg_catalog.pg_authid'],
    ['DROP VIEW information_schema.tables', 'information_schema.tables'],
    ['DROP TABLE t, pg_description', 'pg_description'],
  ])('%s is admin', (sql, relation) => {
    expect(classifyPostgres(sql).statements[0]).toMatchObject({ action: 'admin', note: `drops ${relation}, a relation of the system catalogs, which only full access may` });
  });

  it('judges a multi-statement text by its catalog write', () => {
    expect(classifyPostgres("SELECT 1; UPDATE pg_authid SET rolsuper = true WHERE rolname = 'x'").action).toBe('admin');
  });

  it.each([
    // Reads of the catalogs: psql's \d, information_schema queries, pg_dump.
    ['SELECT * FROM pg_authid', 'read'],
    ["SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'", 'read'],
    ["SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'", 'read'],
    ['LOCK TABLE pg_catalog.pg_class IN ACCESS SHARE MODE', 'read'],
    ['COPY pg_catalog.pg_class TO STDOUT', 'read'],
    ['EXPLAIN UPDATE pg_authid SET rolsuper = true', 'read'],
    // Writes of user tables that read the catalogs, and the session's own temp schema.
    ['INSERT INTO activity_log SELECT now(), pid FROM pg_stat_activity', 'write'],
    ['UPDATE patients SET name = name FROM pg_class WHERE pg_class.relname = patients.name', 'write'],
    ['DELETE FROM patients WHERE id IN (SELECT oid FROM pg_class)', 'write'],
    ['INSERT INTO pg_temp.scratch VALUES (1)', 'write'],
    ['DELETE FROM pg_temp_3.scratch', 'write'],
    ['UPDATE PG_TEMP.pg_scratch SET x = 1 WHERE x = 2', 'write'],
    ['UPDATE public.pg_notes SET body = body WHERE id = 1', 'write'],
    ['SELECT * FROM patients FOR UPDATE', 'write'],
  ])('%s stays %s', (sql, action) => {
    expect(classifyPostgres(sql).action).toBe(action);
  });
});
