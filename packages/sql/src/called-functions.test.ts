import { classifyPostgres, formatQualifiedName, loadSqlParsers, parseOperatorName, parseQualifiedName } from './index';

beforeAll(() => loadSqlParsers());

/** The functions and operators a statement calls by name, for the adapter's catalog to judge. */
describe('classifyPostgres: functions and operators a statement calls', () => {
  const calls = (sql: string) => {
    const [statement] = classifyPostgres(sql).statements;
    return { functions: statement?.functions ?? [], operators: statement?.operators ?? [] };
  };

  it.each([
    ['SELECT lower(full_name), count(*) FROM patients', ['lower', 'count'], []],
    ['SELECT pg_catalog.lower(full_name) FROM patients', ['pg_catalog.lower'], []],
    ['SELECT clinic.public.f(1)', ['public.f'], []],
    ['SELECT "Odd.Name"(1), "Upper"()', ['"Odd.Name"', '"Upper"'], []],
    ["SELECT * FROM patients WHERE id = (SELECT max(id) FROM generate_series(1, 3) g(id))", ['max', 'generate_series'], ['=']],
    ["SELECT pg_advisory_lock(1) FROM patients WHERE full_name LIKE 'x%' AND id BETWEEN 1 AND 2", ['pg_advisory_lock'], ['~~', '>=', '<=']],
    ['SELECT 1 OPERATOR(pg_catalog.+) 2, 3 - 1', [], ['pg_catalog.+', '-']],
    ['SELECT * FROM patients WHERE id = ANY (SELECT 1) ORDER BY id USING >', [], ['=', '>']],
    ['WITH x AS (SELECT lo_put(1, 0, NULL)) SELECT * FROM x', ['lo_put'], []],
    ['SELECT * FROM patients WHERE EXISTS (SELECT pg_stat_reset())', ['pg_stat_reset'], []],
    ["SELECT trim(both ' ' from full_name), substring(full_name from 2), extract(year from dob) FROM patients", ['pg_catalog.btrim', 'pg_catalog.substring', 'pg_catalog.extract'], []],
    ["COPY (SELECT pg_logical_emit_message(true, 'x', 'y')) TO STDOUT", ['pg_logical_emit_message'], []],
    ['DECLARE c CURSOR FOR SELECT pg_try_advisory_lock(1)', ['pg_try_advisory_lock'], []],
    ["SELECT set_config('search_path', '', false)", ['set_config'], []],
    // EXPLAIN without ANALYZE runs nothing.
    ['EXPLAIN SELECT pg_advisory_lock(1)', [], []],
    ['EXPLAIN ANALYZE SELECT pg_advisory_lock(1)', ['pg_advisory_lock'], []],
  ] as const)('%j calls %j, uses %j', (sql, functions, operators) => {
    expect(calls(sql)).toEqual({ functions, operators });
  });

  it('writes names so that they parse back unambiguously', () => {
    expect(formatQualifiedName(['pg_catalog', 'lower'])).toBe('pg_catalog.lower');
    expect(parseQualifiedName('pg_catalog.lower')).toEqual({ schema: 'pg_catalog', name: 'lower' });
    expect(parseQualifiedName('"Odd.Name"')).toEqual({ name: 'Odd.Name' });
    expect(parseQualifiedName('"a""b"."c.d"')).toEqual({ schema: 'a"b', name: 'c.d' });
    expect(parseQualifiedName(formatQualifiedName(['s"x', 'Mixed Case']))).toEqual({ schema: 's"x', name: 'Mixed Case' });
    expect(parseQualifiedName('a.b.c')).toBeUndefined();
    expect(parseQualifiedName('"open')).toBeUndefined();
    expect(parseOperatorName('pg_catalog.+')).toEqual({ schema: 'pg_catalog', name: '+' });
    expect(parseOperatorName('||')).toEqual({ name: '||' });
  });
});

describe('classifyPostgres: what pg_dump sends', () => {
  it('LOCK TABLE … IN ACCESS SHARE MODE is a read; stronger modes are writes', () => {
    expect(classifyPostgres('LOCK TABLE public.patients IN ACCESS SHARE MODE').action).toBe('read');
    expect(classifyPostgres('LOCK TABLE patients IN ROW SHARE MODE').action).toBe('write');
    expect(classifyPostgres('LOCK patients').action).toBe('write');
    expect(classifyPostgres('LOCK TABLE patients IN SHARE MODE').action).toBe('write');
  });

  it("set_config(name, …) FROM pg_settings WHERE name = 'x' is judged as a set_config of x", () => {
    const dump = "SELECT set_config(name, 'view, foreign-table', false) FROM pg_settings WHERE name = 'restrict_nonsystem_relation_kind'";
    expect(classifyPostgres(dump).action).toBe('read');
    const lifting = classifyPostgres("SELECT set_config(name, 'off', false) FROM pg_catalog.pg_settings WHERE name = 'default_transaction_read_only'");
    expect(lifting.statements[0]?.disablesReadOnly).toBe(true);
    const lexing = classifyPostgres("SELECT set_config(pg_settings.name, 'off', false) FROM pg_settings WHERE name = 'standard_conforming_strings'");
    expect(lexing.statements[0]?.changesLexing).toBe(true);
    expect(classifyPostgres("SELECT set_config(name, 'x', false) FROM pg_settings WHERE name = 'role'").action).toBe('admin');
  });

  it("refuses a pinned name with padding: a char(n) pg_settings of the session's own matches 'role ' to role (padded-setting-name bypass)", () => {
    // CREATE TEMP TABLE pg_settings (name char(10)) shadows the view; set_config then gets `role`.
    expect(classifyPostgres("SELECT set_config(name, 'postgres', false) FROM pg_settings WHERE name = 'role '").action).toBe('admin');
    expect(classifyPostgres("SELECT set_config(name, 'off', false) FROM pg_settings WHERE name = 'default_transaction_read_only   '").action).toBe('admin');
  });

  it.each([
    // Any other shape can name any setting: still admin.
    "SELECT set_config(name, 'off', false) FROM pg_settings WHERE name <> 'x'",
    "SELECT set_config(name, 'off', false) FROM pg_settings WHERE name = 'x' OR true",
    "SELECT set_config(name, 'off', false) FROM pg_settings, other WHERE name = 'x'",
    "SELECT set_config(name, 'off', false) FROM pg_settings s WHERE name = 'x'",
    "SELECT set_config(name, 'off', false) FROM public.pg_settings WHERE name = 'x'",
    "SELECT (SELECT set_config(name, 'off', false) FROM other) FROM pg_settings WHERE name = 'x'",
    "SELECT set_config(lower(name), 'off', false) FROM pg_settings WHERE name = 'x'",
    "SELECT set_config(name, 'off', false) FROM pg_settings",
  ])('%j stays admin', (sql) => {
    expect(classifyPostgres(sql).action).toBe('admin');
  });
});

describe('classifyPostgres: functions that write although a read-only transaction allows them', () => {
  it.each([
    'SELECT pg_advisory_lock(1)',
    'SELECT pg_try_advisory_xact_lock_shared(1)',
    'SELECT pg_advisory_unlock_all()',
    'SELECT pg_stat_reset()',
    "SELECT pg_stat_reset_shared('bgwriter')",
    "SELECT pg_replication_origin_create('x')",
    "SELECT pg_logical_emit_message(true, 'x', 'y')",
    "SELECT pg_import_system_collations('pg_catalog')",
    'SELECT txid_current()',
    'SELECT pg_current_xact_id()',
    "SELECT lowrite(0, 'x')",
    "SELECT lo_from_bytea(0, 'x')",
  ])('%j is a write by name, whatever the catalog says', (sql) => {
    expect(classifyPostgres(sql).action).toBe('write');
  });
});

describe('classifyPostgres: names selected from a row (functional notation)', () => {
  it.each([
    ['SELECT p.full_name, p.*, id FROM patients p', ['full_name']],
    ['SELECT (p).bump, (f(x)).y FROM patients p', ['bump', 'y']],
    ['SELECT public.patients.ssn FROM public.patients', ['ssn']],
    ['SELECT id FROM patients', []],
  ] as const)('%j selects %j from rows', (sql, rowFields) => {
    expect(classifyPostgres(sql).statements[0]?.rowFields ?? []).toEqual(rowFields);
  });
});
