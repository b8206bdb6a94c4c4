import { classifyPostgres, loadSqlParsers } from './index';

beforeAll(() => loadSqlParsers());

// Statements that write values computed from columns into a table (masked-column copy leak).
it.each([
  ['CREATE TEMP TABLE t AS SELECT ssn FROM patients', true],
  ['SELECT ssn INTO TEMP t FROM patients', true],
  ['INSERT INTO notes SELECT ssn FROM patients', true],
  ['INSERT INTO notes VALUES ((SELECT ssn FROM patients LIMIT 1))', true],
  ['UPDATE notes SET body = ssn FROM patients', true],
  ['WITH m AS (INSERT INTO notes SELECT ssn FROM patients RETURNING 1) SELECT count(*) FROM m', true],
  ["INSERT INTO notes VALUES ('x')", false],
  ["UPDATE notes SET body = 'x' WHERE id = 1", false],
  ['SELECT ssn FROM patients', false],
  ['DELETE FROM patients WHERE id = 1', false],
])('%s → copies rows: %s', (sql, copies) => {
  expect(classifyPostgres(sql).statements.some((statement) => statement.copiesRows === true)).toBe(copies);
});

it('names the whole row of a bare table reference as table.*', () => {
  expect(classifyPostgres('SELECT p::text FROM patients p').columns).toContain('patients.*');
});
