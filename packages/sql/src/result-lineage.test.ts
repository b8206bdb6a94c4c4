import { loadSqlParsers } from './postgres-parser';
import { resultLineage } from './result-lineage';

beforeAll(() => loadSqlParsers());

/** Each result column's sources as `table.column` strings (`?` when unknown). */
function lineage(sql: string): string[][] | undefined {
  return resultLineage(sql).columns?.map((c) => [...c.sources.map((s) => `${s.schema ? `${s.schema}.` : ''}${s.table}.${s.column}`).sort(), ...(c.unknown ? ['?'] : [])]);
}

describe('resultLineage', () => {
  it('follows expressions, function calls, casts and operators to the columns they read', () => {
    expect(lineage("SELECT replace(ssn, '-', ''), ssn || '', dob::text, dob + 0, id FROM patients")).toEqual([
      ['patients.ssn'],
      ['patients.ssn'],
      ['patients.dob'],
      ['patients.dob'],
      ['patients.id'],
    ]);
    expect(lineage("SELECT encode(convert_to(p.ssn, 'UTF8'), 'base64') FROM clinic.patients AS p")).toEqual([['clinic.patients.ssn']]);
    expect(lineage("SELECT format('%s', email), concat_ws(',', ssn, email) FROM patients")).toEqual([['patients.email'], ['patients.email', 'patients.ssn']]);
  });

  it('reads CASE conditions, aggregates and window functions, but not count', () => {
    expect(lineage("SELECT CASE WHEN ssn LIKE '2%' THEN 'a' ELSE name END, string_agg(email, ','), lag(dob) OVER (ORDER BY id), count(ssn), count(*) FROM patients")).toEqual([
      ['patients.name', 'patients.ssn'],
      ['patients.email'],
      ['patients.dob', 'patients.id'],
      [],
      [],
    ]);
  });

  it('follows derived tables, CTEs, scalar and ARRAY subqueries', () => {
    expect(lineage("SELECT x FROM (SELECT ssn || '' AS x FROM patients) s")).toEqual([['patients.ssn']]);
    expect(lineage('WITH c(d) AS (SELECT dob FROM patients) SELECT d::text FROM c')).toEqual([['patients.dob']]);
    expect(lineage('SELECT (SELECT max(q.ssn) FROM patients q WHERE q.id = p.id), ARRAY(SELECT email FROM patients) FROM patients p')).toEqual([
      ['patients.ssn'],
      ['patients.email'],
    ]);
    expect(lineage('WITH RECURSIVE r(n, s) AS (SELECT 1, ssn FROM patients UNION ALL SELECT n + 1, s FROM r WHERE n < 3) SELECT s FROM r')).toEqual([['patients.ssn']]);
  });

  it('gives column i of a set operation the lineage of column i of every branch', () => {
    expect(lineage('SELECT id, ssn FROM patients UNION SELECT 0, email FROM contacts')).toEqual([['patients.id'], ['contacts.email', 'patients.ssn']]);
  });

  it('takes a whole-row reference and p.* inside a function as the whole table', () => {
    expect(lineage('SELECT p, row_to_json(p), to_jsonb(p.*), ROW(p.ssn, 1) FROM patients p')).toEqual([
      ['patients.*', 'patients.p'],
      ['patients.*', 'patients.p'],
      ['patients.*'],
      ['patients.ssn'],
    ]);
  });

  it('counts no columns when a * over a table is selected, and unions everything instead', () => {
    const result = resultLineage('SELECT *, upper(name) FROM patients');
    expect(result.columns).toBeUndefined();
    expect(result.all.sources).toEqual(expect.arrayContaining([{ table: 'patients', column: '*' }, { table: 'patients', column: 'name' }]));
    expect(lineage('SELECT * FROM (SELECT ssn AS a, 1 AS b FROM patients) s')).toEqual([['patients.ssn'], []]);
  });

  it('is unknown for what it cannot follow: FETCH, EXECUTE, an unknown qualifier, invalid SQL', () => {
    expect(resultLineage('FETCH ALL FROM c').all.unknown).toBe(true);
    expect(resultLineage('EXECUTE s(1)').all.unknown).toBe(true);
    expect(lineage('SELECT nowhere.ssn')).toEqual([['?']]);
    expect(resultLineage('SELEC x').all.unknown).toBe(true);
    expect(lineage("SELECT 1, now(), 'x'")).toEqual([[], [], []]);
    expect(lineage("SELECT upper(x.s) FROM XMLTABLE('/r' PASSING '<r/>' COLUMNS s text PATH '.') x")).toEqual([['?']]);
    expect(lineage('SELECT upper(ssn) FROM patients TABLESAMPLE SYSTEM (100)')).toEqual([['patients.ssn']]);
  });

  it('names the functions a column calls, qualified as written', () => {
    const result = resultLineage("SELECT upper(ssn), public.lin_ssn(id), count(id), 1 FROM patients");
    expect(result.columns?.map((c) => c.functions)).toEqual([['upper'], ['public.lin_ssn'], [], []]);
    // p.leak is leak(p) when patients has no column leak.
    expect(resultLineage('SELECT upper(p.leak) FROM patients p').columns?.[0]?.functions).toEqual(['upper', '?leak']);
  });

  it('cannot trace a function whose quoted name holds a dot (dotted-function-name bypass: "pg_catalog.f" is not pg_catalog.f)', () => {
    expect(resultLineage('SELECT "pg_catalog.first_ssn"()').columns?.[0]?.unknown).toBe(true);
    expect(resultLineage('SELECT p."pg_catalog.first_ssn" FROM patients p').columns?.[0]?.unknown).toBe(true);
    expect(resultLineage('SELECT pg_catalog.upper(ssn) FROM patients').columns?.[0]?.unknown).toBe(false);
  });

  it('follows RETURNING of a write, and several statements by their union', () => {
    expect(lineage("UPDATE patients SET notes = 'x' WHERE id = 1 RETURNING upper(ssn)")).toEqual([['patients.ssn']]);
    const many = resultLineage('SELECT 1; SELECT md5(ssn) FROM patients');
    expect(many.columns).toBeUndefined();
    expect(many.all.sources).toEqual([{ table: 'patients', column: 'ssn' }]);
  });
});
