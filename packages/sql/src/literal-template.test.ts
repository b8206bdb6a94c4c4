import { clearClassificationCache, classifyPostgres } from './classify-postgres';
import { literalTemplate } from './literal-template';
import { loadSqlParsers } from './postgres-parser';

beforeAll(() => loadSqlParsers());

describe('literalTemplate', () => {
  it.each([
    ['SELECT abalance FROM pgbench_accounts WHERE aid = 4711;', 'SELECT abalance FROM pgbench_accounts WHERE aid = \u0001N;'],
    ["SELECT * FROM p WHERE name = 'O''Brien' AND x < 1.5e3", 'SELECT * FROM p WHERE name = \u0001S AND x < \u0001N'],
    ['SELECT "Weird  Name", t1.c2 FROM t1', 'SELECT "Weird  Name", t1.c2 FROM t1'],
    ["SELECT 'a'\n'b'", 'SELECT \u0001S\n\u0001S'],
    ['SELECT -1, .5, 5., 3::int', 'SELECT -\u0001N, \u0001N, \u0001N, \u0001N::int'],
  ])('%j', (sql, template) => {
    expect(literalTemplate(sql)).toBe(template);
  });

  it.each([
    ["SELECT E'\\n'"], // escape string
    ["SELECT 'a\\'"], // backslash: meaning depends on standard_conforming_strings
    ["SELECT B'101'"],
    ["SELECT X'1F'"],
    ["SELECT U&'d\\0061t'"],
    ['SELECT U&"x"'],
    ['SELECT $1'],
    ['SELECT $$ a $$'],
    ['SELECT 0x1F'],
    ['SELECT 1_000'],
    ['SELECT 1e'],
    ['SELECT 1.2.3'],
    ['SELECT 1 -- comment'],
    ['SELECT /* c */ 1'],
    ["SELECT 'unterminated"],
    ['SELECT "unterminated'],
    ['SELECT 1\0; DROP TABLE t'],
    ["SELECT 'café'"],
    ['SELECT `x`'],
  ])('gives up on %j', (sql) => {
    expect(literalTemplate(sql)).toBeUndefined();
  });
});

/**
 * The classifier shares an analysis across texts of one template only when it never read a
 * literal. Whatever order texts arrive in, the answer must be what a fresh analysis gives.
 */
describe('classification shared by template', () => {
  const families: ReadonlyArray<readonly string[]> = [
    ['DELETE FROM patients WHERE 1 = 1', 'DELETE FROM patients WHERE 1 = 2', 'DELETE FROM patients WHERE 2 = 2'],
    ['UPDATE patients SET x = 1 WHERE 2 > 1', 'UPDATE patients SET x = 7 WHERE 1 > 2'],
    ["DELETE FROM patients WHERE 'a' = 'a'", "DELETE FROM patients WHERE 'a' = 'b'"],
    ["SET default_transaction_read_only = 'on'", "SET default_transaction_read_only = 'off'", "SET default_transaction_read_only = 'true'"],
    ['SET default_transaction_read_only = 1', 'SET default_transaction_read_only = 0'],
    ["SELECT set_config('default_transaction_read_only', 'on', false)", "SELECT set_config('default_transaction_read_only', 'off', false)", "SELECT set_config('role', 'postgres', false)", "SELECT set_config('application_name', 'x', false)"],
    ["SET TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ ONLY", 'SET TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ ONLY'],
    ["EXPLAIN (ANALYZE 'true') DELETE FROM patients WHERE id = 1", "EXPLAIN (ANALYZE 'false') DELETE FROM patients WHERE id = 1", "EXPLAIN (ANALYZE 'off') DELETE FROM patients WHERE id = 1"],
    ['EXPLAIN (ANALYZE 1) DELETE FROM patients WHERE id = 1', 'EXPLAIN (ANALYZE 0) DELETE FROM patients WHERE id = 1'],
    ["COPY patients TO '/tmp/a.csv'", "COPY patients TO '/tmp/b.csv'"],
    ["SELECT pg_read_file('/etc/passwd')", "SELECT pg_read_file('x')"],
    ['SELECT abalance FROM pgbench_accounts WHERE aid = 1', 'SELECT abalance FROM pgbench_accounts WHERE aid = 99999'],
    ["INSERT INTO notes (body) VALUES ('a'), ('b')", "INSERT INTO notes (body) VALUES ('DROP TABLE x'), ('; DELETE FROM patients')"],
    ['SELECT * FROM patients LIMIT 10 OFFSET 5', 'SELECT * FROM patients LIMIT 0 OFFSET 0'],
    ["SELECT current_setting('transaction_read_only')", "SELECT current_setting('role')"],
    ["ALTER SYSTEM SET work_mem = '64MB'", "ALTER SYSTEM SET work_mem = '1GB'"],
    ["SET statement_timeout = 0", "SET statement_timeout = 100"],
    ["SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY", "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"],
    ["SELECT * FROM t WHERE x IN (1, 2, 3) AND y = 'z'", "SELECT * FROM t WHERE x IN (4, 5, 6) AND y = 'w'"],
    ["UPDATE t SET x = 'a' WHERE 1 = 1 AND 2 = 2", "UPDATE t SET x = 'a' WHERE 1 = 1 AND 2 = 3"],
  ];

  it.each(families.map((family, index) => [index, family] as const))('family %d: every order agrees with a fresh analysis', (_index, family) => {
    const templates = new Set(family.map(literalTemplate));
    expect(templates.size).toBe(1);
    const fresh = family.map((sql) => {
      clearClassificationCache();
      return classifyPostgres(sql);
    });
    for (const first of family) {
      for (const [index, second] of family.entries()) {
        clearClassificationCache();
        classifyPostgres(first);
        expect({ sql: second, classification: classifyPostgres(second) }).toEqual({ sql: second, classification: fresh[index] });
      }
    }
  });

  it('literal-dependent analyses are not shared (SET … = on / off)', () => {
    clearClassificationCache();
    expect(classifyPostgres("SET default_transaction_read_only = 'on'").statements[0]?.disablesReadOnly).toBeUndefined();
    expect(classifyPostgres("SET default_transaction_read_only = 'off'").statements[0]?.disablesReadOnly).toBe(true);
  });

  it('a WHERE clause that names no column is bulk, whatever its literals', () => {
    clearClassificationCache();
    for (const sql of ['DELETE FROM patients WHERE 1 = 1', 'DELETE FROM patients WHERE 1 = 2', "UPDATE patients SET x = 1 WHERE 'a' = 'a'", 'DELETE FROM patients WHERE true']) {
      expect({ sql, bulk: classifyPostgres(sql).bulk }).toEqual({ sql, bulk: true });
    }
    expect(classifyPostgres('DELETE FROM patients WHERE id = 1').bulk).toBe(false);
  });
});
