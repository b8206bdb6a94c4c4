import { clearMysqlClassificationCache, classifyMysql } from './classify-mysql';
import { mysqlLiteralTemplate } from './mysql-literal-template';
import { loadMysqlParser } from './mysql-parser';

beforeAll(() => loadMysqlParser());

describe('mysqlLiteralTemplate', () => {
  it.each([
    ['SELECT k FROM sbtest1 WHERE id = 4711', 'SELECT k FROM sbtest1 WHERE id = \u0001N', 1],
    ["SELECT * FROM p WHERE name = 'O''Brien' AND x < 1.5e3", 'SELECT * FROM p WHERE name = \u0001S AND x < \u0001N', 2],
    ['SELECT `Weird  Name`, `a``b`, t1.c2 FROM `t1`', 'SELECT `Weird  Name`, `a``b`, t1.c2 FROM `t1`', 0],
    ["SELECT 'a'\n'b'", 'SELECT \u0001S\n\u0001S', 2],
    ['SELECT -1, 5., ?', 'SELECT -\u0001N, \u0001N, ?', 2],
  ])('%j', (sql, template, literals) => {
    expect(mysqlLiteralTemplate(sql)).toEqual({ template, literals });
  });

  it.each([
    ["SELECT 'a\\'b'"], // backslash escapes (unless NO_BACKSLASH_ESCAPES)
    ['SELECT "x"'], // a string, or an identifier under ANSI_QUOTES
    ["SELECT X'1F'"],
    ["SELECT B'101'"],
    ["SELECT N'abc'"],
    ["SELECT _utf8mb4'abc'"],
    ["SELECT _binary'abc'"],
    ['SELECT 0x1F'],
    ['SELECT 0b101'],
    ['SELECT 1e'],
    ['SELECT 1.2.3'],
    ['SELECT .5'],
    ['SELECT * FROM 1t'],
    ['SELECT t.1e5 FROM t'],
    ['SELECT `t`1'],
    ['SELECT 1 # comment'],
    ['SELECT 1 -- comment'],
    ['SELECT 5--3'],
    ['SELECT /* c */ 1'],
    ['SELECT /*!50000 1 */'],
    ["SELECT @'var'"],
    ['SELECT @x'],
    ['SELECT a$b FROM t'],
    ["SELECT 'unterminated"],
    ['SELECT `unterminated'],
    ['SELECT 1\0; DROP TABLE t'],
    ["SELECT 'café'"],
  ])('gives up on %j', (sql) => {
    expect(mysqlLiteralTemplate(sql)).toBeUndefined();
  });
});

/**
 * The classifier shares an analysis across texts of one template only when it never read a
 * literal. Whatever order texts arrive in, the answer must be what a fresh analysis gives.
 */
describe('MySQL classification shared by template', () => {
  const families: ReadonlyArray<readonly string[]> = [
    ['DELETE FROM patients WHERE 1 = 1', 'DELETE FROM patients WHERE 1 = 2', 'DELETE FROM patients WHERE 2 = 2'],
    ['UPDATE patients SET x = 1 WHERE 2 > 1', 'UPDATE patients SET x = 7 WHERE 1 > 2'],
    ["DELETE FROM patients WHERE 'a' = 'a'", "DELETE FROM patients WHERE 'a' = 'b'"],
    ["SET sql_mode = 'ANSI_QUOTES'", "SET sql_mode = ''", "SET sql_mode = 'NO_BACKSLASH_ESCAPES'"],
    ['SET SESSION tx_read_only = 1', 'SET SESSION tx_read_only = 0'],
    ["SET NAMES 'utf8mb4'", "SET NAMES 'gbk'", "SET NAMES 'sjis'"],
    ["SET character_set_client = 'utf8mb4'", "SET character_set_client = 'big5'"],
    ["SELECT LOAD_FILE('/etc/passwd')", "SELECT LOAD_FILE('x')"],
    ["SELECT * INTO OUTFILE '/tmp/a' FROM patients", "SELECT * INTO OUTFILE '/tmp/b' FROM patients"],
    ["PREPARE s FROM 'SELECT 1'", "PREPARE s FROM 'DROP TABLE patients'", "PREPARE s FROM 'SELECT 1; SELECT 2'"],
    ['SELECT k FROM sbtest1 WHERE id = 1', 'SELECT k FROM sbtest1 WHERE id = 99999'],
    ["INSERT INTO notes (body) VALUES ('a'), ('b')", "INSERT INTO notes (body) VALUES ('DROP TABLE x'), ('; DELETE FROM patients')"],
    ['SELECT * FROM patients LIMIT 10 OFFSET 5', 'SELECT * FROM patients LIMIT 0 OFFSET 0'],
    ["SELECT 1 AS 'patients' FROM notes", "SELECT 1 AS 'x' FROM notes"],
    ["SELECT * FROM t WHERE x IN (1, 2, 3) AND y = 'z'", "SELECT * FROM t WHERE x IN (4, 5, 6) AND y = 'w'"],
    ["UPDATE t SET x = 'a' WHERE 1 = 1 AND 2 = 2", "UPDATE t SET x = 'a' WHERE 1 = 1 AND 2 = 3"],
    ['SELECT 1; DELETE FROM patients WHERE id = 3', 'SELECT 2; DELETE FROM patients WHERE id = 4'],
    ["SELECT * FROM patients FOR UPDATE", "SELECT * FROM patients FOR UPDATE"],
    ["DO SLEEP(1)", "DO SLEEP(2)"],
    ["SELECT 'a' 'b' FROM t", "SELECT 'c' 'd' FROM t"],
  ];

  it.each(families.map((family, index) => [index, family] as const))('family %d: every order agrees with a fresh analysis', (_index, family) => {
    const templates = new Set(family.map((sql) => mysqlLiteralTemplate(sql)?.template));
    expect(templates.size).toBe(1);
    expect([...templates][0]).toBeDefined();
    const fresh = family.map((sql) => {
      clearMysqlClassificationCache();
      return classifyMysql(sql);
    });
    for (const first of family) {
      for (const [index, second] of family.entries()) {
        clearMysqlClassificationCache();
        classifyMysql(first);
        expect({ sql: second, classification: classifyMysql(second) }).toEqual({ sql: second, classification: fresh[index] });
      }
    }
  });

  it('shares the analysis of plain DML across values', () => {
    clearMysqlClassificationCache();
    const first = classifyMysql('SELECT k FROM sbtest1 WHERE id = 1');
    expect(classifyMysql('SELECT k FROM sbtest1 WHERE id = 2')).toBe(first);
    expect(classifyMysql("SELECT k FROM sbtest1 WHERE id = 1 AND c = 'x'")).not.toBe(first);
  });

  it('does not share an analysis that read a value (SET NAMES)', () => {
    clearMysqlClassificationCache();
    expect(classifyMysql("SET NAMES 'utf8mb4'").action).not.toBe('admin');
    expect(classifyMysql("SET NAMES 'gbk'").action).toBe('admin');
  });
});
