import type { Classification } from '@warden/core';
import { classifyPostgres, loadSqlParsers } from '@warden/sql';
import { catalogSnapshot, FunctionCatalog } from './function-catalog';
import type { PolicyRow, RelationRow } from './relation-definitions';

beforeAll(() => loadSqlParsers());

const FUNCTIONS = [
  ['pg_catalog', 'lower', 'i'],
  ['pg_catalog', 'now', 's'],
  ['pg_catalog', 'pg_advisory_lock', 'v'],
  ['pg_catalog', 'pg_stat_get_activity', 'v'],
  ['public', 'touch_canary', 'v'],
  ['public', 'harmless', 'i'],
  ['pg_catalog', 'int4eq', 'i'],
] as const;
const OPERATORS = [['pg_catalog', '=', 'pg_catalog', 'int4eq', 'i']] as const;

const RELATIONS: RelationRow[] = [
  ['public', 'patients', 'r'],
  ['public', 'patient_names', 'v', ' SELECT lower(full_name) AS name FROM patients;'],
  ['public', 'locking', 'v', ' SELECT pg_advisory_lock(7::bigint) AS pg_advisory_lock;'],
  ['public', 'touching', 'v', ' SELECT touch_canary() AS touched;'],
  ['public', 'over_touching', 'v', ' SELECT touched FROM touching;'],
  ['public', 'over_over_touching', 'v', ' SELECT touched FROM over_touching;'],
  ['reports', 'names', 'v', ' SELECT name FROM patient_names WHERE harmless(1) = 1;'],
  ['public', 'stored', 'm'],
  ['public', 'locked_rows', 'v', ' SELECT id FROM patients FOR UPDATE;'],
  ['public', 'unparsable', 'v', ' SELEC nonsense'],
  ['public', 'guarded', 'r'],
  ['other', 'guarded', 'r'],
  ['public', 'program_output', 'f'],
];

/** A catalog over `relations` and `policies`, and the judged first statement of `sql` under read-only access. */
function setUp(relations: RelationRow[] = [...RELATIONS], policies: PolicyRow[] = []) {
  const loads = { count: 0 };
  const clock = { now: 1_000_000 };
  const catalog = new FunctionCatalog(async (startedAt) => {
    loads.count++;
    return catalogSnapshot(startedAt, [...FUNCTIONS], [...OPERATORS], [], [], [...relations], policies);
  }, () => clock.now);
  const judge = async (sql: string, access: 'read-only' | 'full' = 'read-only') => (await catalog.judge(classifyPostgres(sql) as Classification, access)).statements[0]!;
  return { judge, loads, clock, relations };
}

describe('reads of views and tables with policies', () => {
  it('refuses a view calling a writing function (view-calling-writing-function bypass)', async () => {
    const { judge } = setUp();
    expect(await judge('SELECT * FROM touching')).toMatchObject({ action: 'write', note: 'reads view public.touching, which calls volatile function public.touch_canary' });
    expect(await judge('TABLE touching')).toMatchObject({ action: 'write' });
    expect(await judge('SELECT * FROM public.locking')).toMatchObject({ action: 'write', note: 'reads view public.locking, which is a write (calls pg_advisory_lock)' });
  });

  it('refuses a view over a view calling a writing function, however deep (nested-view bypass)', async () => {
    const { judge } = setUp();
    expect(await judge('SELECT * FROM over_over_touching')).toMatchObject({
      action: 'write',
      note: 'reads view public.over_over_touching, which reads view public.over_touching, which reads view public.touching, which calls volatile function public.touch_canary',
    });
  });

  it('refuses such a view in a subquery, a CTE, a join, EXISTS, a cursor and COPY (view-in-subquery bypass)', async () => {
    const { judge } = setUp();
    for (const sql of [
      'SELECT (SELECT touched FROM touching)',
      'WITH t AS (SELECT * FROM touching) SELECT * FROM t',
      'SELECT p.id FROM patients p JOIN touching t ON t.touched = p.id',
      'SELECT 1 WHERE EXISTS (SELECT 1 FROM over_touching)',
      'DECLARE c CURSOR FOR SELECT * FROM touching',
      'COPY (SELECT * FROM touching) TO STDOUT',
    ]) {
      expect({ sql, ...(await judge(sql)) }).toMatchObject({ sql, action: 'write' });
    }
  });

  it('lets a plain view, a view over a view of harmless functions, a table and a materialized view be read', async () => {
    const { judge } = setUp();
    for (const sql of ['SELECT * FROM patient_names', 'SELECT * FROM reports.names', 'SELECT * FROM patients', 'SELECT * FROM stored']) {
      expect({ sql, ...(await judge(sql)) }).toMatchObject({ sql, action: 'read' });
    }
  });

  it('resolves an unqualified name to a view of that name in any schema, a qualified one to its schema only', async () => {
    const { judge } = setUp([...RELATIONS, ['elsewhere', 'patients', 'v', ' SELECT touch_canary() AS id;']]);
    expect(await judge('SELECT * FROM patients')).toMatchObject({ action: 'write', note: 'reads view elsewhere.patients, which calls volatile function public.touch_canary' });
    expect(await judge('SELECT * FROM public.patients')).toMatchObject({ action: 'read' });
  });

  it('refuses a view that locks rows, and one whose definition cannot be analysed (unknown below full access)', async () => {
    const { judge } = setUp();
    expect(await judge('SELECT * FROM locked_rows')).toMatchObject({ action: 'write', note: expect.stringContaining('reads view public.locked_rows, which is a write') });
    expect(await judge('SELECT * FROM unparsable')).toMatchObject({ action: 'unknown', note: expect.stringContaining('reads view public.unparsable, which runs SQL Warden cannot analyse') });
    expect(await judge('SELECT * FROM unparsable', 'full')).toMatchObject({ action: 'write' });
  });

  it('judges views that resolve back to themselves by name once, and refuses views nested too deep', async () => {
    const cyclic: RelationRow[] = [
      ['a', 'loop', 'v', ' SELECT x FROM loop;'],
      ['b', 'loop', 'v', ' SELECT touch_canary() AS x FROM loop;'],
    ];
    expect(await setUp(cyclic).judge('SELECT * FROM a.loop')).toMatchObject({ action: 'write', note: 'reads view a.loop, which reads view b.loop, which calls volatile function public.touch_canary' });
    const deep: RelationRow[] = Array.from({ length: 20 }, (_, level): RelationRow => ['public', `v${level}`, 'v', level === 19 ? ' SELECT 1 AS x;' : ` SELECT x FROM v${level + 1};`]);
    expect(await setUp(deep).judge('SELECT * FROM v0')).toMatchObject({ action: 'unknown', note: expect.stringContaining('nested in views more than 16 deep') });
  });

  it('judges the SELECT policies of a table read, in any schema of an unqualified name (rls-policy-calling-writing-function bypass)', async () => {
    const { judge } = setUp(RELATIONS, [['other', 'guarded', '(touch_canary() > 0)']]);
    expect(await judge('SELECT * FROM guarded')).toMatchObject({ action: 'write', note: 'reads table other.guarded, which calls volatile function public.touch_canary' });
    expect(await judge('SELECT * FROM public.guarded')).toMatchObject({ action: 'read' });
  });

  it('refuses a foreign table, whose wrapper can run a program (foreign-table-program bypass)', async () => {
    const { judge } = setUp();
    expect(await judge('SELECT * FROM program_output')).toMatchObject({ action: 'write', note: 'reads foreign table public.program_output, which runs its foreign-data wrapper (file_fdw can run a program)' });
  });

  it('reloads the catalog for a relation it does not hold: a view created since is judged (view-created-outside-warden bypass)', async () => {
    const { judge, loads, clock, relations } = setUp();
    expect(await judge('SELECT * FROM nowhere')).toMatchObject({ action: 'read' });
    relations.push(['public', 'nowhere', 'v', ' SELECT touch_canary() AS x;']);
    clock.now += 1_000;
    expect(await judge('SELECT * FROM nowhere')).toMatchObject({ action: 'write', note: 'reads view public.nowhere, which calls volatile function public.touch_canary' });
    expect(loads.count).toBe(2);
  });
});
