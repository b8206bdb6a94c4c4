import { classifyMysql, loadMysqlParser } from './index';

beforeAll(() => loadMysqlParser());

/** MySQL statements the parser does not read by itself, which a careful read-only user needs. */
describe('classifyMysql: statements beyond the parser', () => {
  const rows: ReadonlyArray<readonly [sql: string, action: string, objects: readonly string[]]> = [
    ['SET @x := 5', 'session', []],
    ['SET @x := 5, @y = 6', 'session', []],
    ["SET @s := ':='", 'session', []],
    ['SET @@session.tx_read_only := 0', 'session', []],
    ['SET GLOBAL max_connections := 10', 'admin', []],
    ['SELECT id, full_name INTO @a, @b FROM patients WHERE id = 1', 'read', ['patients']],
    ['SELECT id, full_name FROM patients WHERE id = 1 INTO @a, @b', 'read', ['patients']],
    ["SELECT 'INTO @a, @b' INTO @a FROM patients", 'read', ['patients']],
    ['SELECT id INTO @a, @b FROM patients FOR UPDATE', 'write', ['patients']],
    ['SELECT add_note() INTO @a, @b FROM patients', 'write', ['patients']],
    ["SELECT id INTO @a, @b FROM patients INTO OUTFILE '/tmp/x'", 'admin', []],
    ['ANALYZE SELECT * FROM patients', 'read', ['patients']],
    ['ANALYZE FORMAT=JSON SELECT * FROM patients WHERE id = 1', 'read', ['patients']],
    ['ANALYZE FORMAT = JSON DELETE FROM patients WHERE id = 1', 'write', ['patients']],
    ['ANALYZE UPDATE patients SET full_name = 1', 'write', ['patients']],
    ['ANALYZE TABLE patients', 'admin', ['patients']],
    ['START TRANSACTION /*!40100 WITH CONSISTENT SNAPSHOT */', 'transaction', []],
    ['START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY', 'transaction', []],
    ['LOCK TABLES `patients` READ /*!32311 LOCAL */, notes READ', 'read', ['patients', 'notes']],
    ['LOCK TABLES patients READ, notes WRITE', 'write', ['patients', 'notes']],
    ['SELECT /*!40001 SQL_NO_CACHE */ * FROM `patients`', 'read', ['patients']],
    ["/*!40100 SET @@SQL_MODE='' */", 'session', []],
    ['/*!40101 SET NAMES utf8mb4 */', 'session', []],
    ['/*!40103 SET TIME_ZONE=\'+00:00\' */', 'session', []],
    ['SHOW CREATE TABLE `patients`', 'read', []],
    ["SHOW TABLE STATUS LIKE 'patients'", 'read', []],
    ['SHOW FIELDS FROM `patients`', 'read', []],
    ["SHOW FUNCTION STATUS WHERE Db = 'clinic'", 'read', []],
    ["SHOW PROCEDURE STATUS WHERE Db = 'clinic' AND Name LIKE 'p%'", 'read', []],
    ["SHOW FUNCTION STATUS WHERE Db = 'clinic' AND add_note() = 1", 'write', []],
    ["SHOW FUNCTION STATUS WHERE Db = (SELECT MAX(full_name) FROM patients)", 'read', ['patients']],
  ];

  it.each(rows)('%j → %s', (sql, action, objects) => {
    const result = classifyMysql(sql);
    expect({ action: result.action, objects: result.objects }).toEqual({ action, objects });
  });

  it('keeps the read-only flag of a `:=` assignment', () => {
    expect(classifyMysql('SET @@session.tx_read_only := 0').statements[0]?.disablesReadOnly).toBe(true);
  });
});

describe('classifyMysql: neutral rewrites', () => {
  const rows: ReadonlyArray<readonly [sql: string, action: string, objects: readonly string[]]> = [
    ['EXPLAIN EXTENDED SELECT * FROM patients', 'read', ['patients']],
    ['EXPLAIN PARTITIONS SELECT * FROM patients WHERE id < 3', 'read', ['patients']],
    ['SELECT dob, COUNT(*) FROM patients GROUP BY dob WITH ROLLUP', 'read', ['patients']],
    ["SELECT 'GROUP BY x WITH ROLLUP' FROM patients GROUP BY 1 WITH ROLLUP", 'read', ['patients']],
    ['SELECT my_func(dob) FROM patients GROUP BY dob WITH ROLLUP', 'write', ['patients']],
    ['LOCK TABLE patients READ', 'read', ['patients']],
    ['LOCK TABLE patients WRITE', 'write', ['patients']],
    ["SELECT * FROM notes WHERE MATCH body AGAINST ('x' IN BOOLEAN MODE)", 'read', ['notes']],
  ];
  it.each(rows)('%j → %s', (sql, action, objects) => {
    const result = classifyMysql(sql);
    expect({ action: result.action, objects: result.objects }).toEqual({ action, objects });
  });
});

describe('statements that copy table data into user variables (copiesToSession)', () => {
  it.each([
    ['SELECT ssn INTO @y FROM patients', true],
    ['SELECT id, ssn FROM patients WHERE id = 1 INTO @a, @b', true],
    ['SET @x = (SELECT ssn FROM patients LIMIT 1)', true],
    ['SET @x := (SELECT ssn FROM patients LIMIT 1)', true],
    ['SELECT @x := ssn FROM patients', true],
    ['SELECT @`x` := ssn FROM patients', true],
    ['SET SESSION default_master_connection = (SELECT ssn FROM patients LIMIT 1)', true],
    ['SET @@session.sql_select_limit = (SELECT id FROM patients LIMIT 1)', true],
    ['SELECT COUNT(*) FROM patients WHERE LAST_INSERT_ID(id)', true],
    ['SELECT last_insert_id (id) FROM patients', true],
    ['SELECT LAST_INSERT_ID(), id FROM patients', false],
    ['SET @x = 5', false],
    ['SET SESSION sql_select_limit = 10', false],
    ['SELECT @x := 1', false],
    ['SELECT @x FROM patients', false],
    ['SELECT @@sql_mode, id FROM patients', false],
    ['INSERT INTO notes SELECT id, @x FROM patients', false],
  ])('%s → %s', (sql, copies) => {
    expect(classifyMysql(sql).statements.some((statement) => statement.copiesToSession === true)).toBe(copies);
  });
});
