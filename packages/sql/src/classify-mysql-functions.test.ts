import { classifyMysql, loadMysqlParser } from './index';

beforeAll(() => loadMysqlParser());

/** Read-only is an allowlist: a read may call only built-in functions reviewed as pure. */
describe('classifyMysql: function calls in reads', () => {
  const reads: readonly string[] = [
    'SELECT DATABASE(), USER(), CURRENT_USER(), VERSION(), CONNECTION_ID()',
    'SELECT COUNT(*), SUM(id), AVG(id), GROUP_CONCAT(full_name SEPARATOR ",") FROM patients',
    'SELECT NOW(), CURRENT_TIMESTAMP, CURDATE(), DATE_FORMAT(dob, "%Y"), TIMESTAMPDIFF(YEAR, dob, NOW()) FROM patients',
    "SELECT CONCAT(UPPER(LEFT(full_name, 1)), SUBSTRING(full_name, 2)), REPLACE(ssn, '-', ''), LPAD(id, 5, '0') FROM patients",
    'SELECT CAST(id AS CHAR), CONVERT(full_name USING utf8mb4), IFNULL(NULL, 1), COALESCE(NULL, 2), IF(id > 1, 1, 0) FROM patients',
    "SELECT JSON_EXTRACT('{\"a\":1}', '$.a'), JSON_OBJECT('a', 1), ST_AsText(POINT(1, 2))",
    'SELECT ROW_NUMBER() OVER (ORDER BY id), LAG(id) OVER (ORDER BY id) FROM patients',
    'SELECT ROUND(RAND() * 10), ABS(-1), MD5(ssn), SHA2(ssn, 256) FROM patients',
    'SELECT SLEEP(0)',
    'SELECT IS_FREE_LOCK("x")',
  ];
  it.each(reads)('%j is a read', (sql) => {
    expect(classifyMysql(sql)).toMatchObject({ action: 'read' });
  });

  const writes: ReadonlyArray<readonly [sql: string, name: string]> = [
    ['SELECT NEXTVAL(patient_ids)', 'nextval'],
    ['SELECT SETVAL(patient_ids, 1000)', 'setval'],
    ['SELECT LASTVAL(patient_ids)', 'lastval'],
    ["SELECT GET_LOCK('x', 10)", 'get_lock'],
    ["SELECT RELEASE_LOCK('x')", 'release_lock'],
    ["SELECT BENCHMARK(100000000, MD5('x'))", 'benchmark'],
    ['SELECT purge_old_notes()', 'purge_old_notes'],
    ['SELECT clinic.purge_old_notes(1)', 'clinic.purge_old_notes'],
    ['SELECT * FROM patients WHERE id = audit_and_return(1)', 'audit_and_return'],
    ['SELECT id FROM patients ORDER BY my_rank(id)', 'my_rank'],
    ['DO my_side_effect()', 'my_side_effect'],
    ['EXPLAIN SELECT * FROM patients WHERE id = my_side_effect()', 'my_side_effect'],
    ["PREPARE s FROM 'SELECT NEXTVAL(patient_ids)'", 'nextval'],
  ];
  it.each(writes)('%j calls %s: a write (stored-function and sequence bypass)', (sql, name) => {
    const result = classifyMysql(sql);
    expect(result.action).toBe('write');
    expect(result.statements[0]?.note).toBe(`calls function ${name}, which is not on the list of functions a read may call`);
  });

  it('refuses sequence syntax it cannot parse (fail closed)', () => {
    expect(classifyMysql('SELECT NEXT VALUE FOR patient_ids').action).toBe('unknown');
    expect(classifyMysql('SELECT PREVIOUS VALUE FOR patient_ids').action).toBe('unknown');
  });

  it('keeps LOAD_FILE admin', () => {
    expect(classifyMysql("SELECT LOAD_FILE('/etc/passwd'), my_func()").action).toBe('admin');
  });
});
