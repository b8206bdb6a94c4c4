import { classifyPostgres, loadSqlParsers } from './index';

beforeAll(() => loadSqlParsers());

/**
 * The settings a statement changes, by name, for the adapter to judge against the target's own
 * `pg_settings` (a setting only a superuser may change is `admin` below full access; Warden's own
 * account may be a superuser, so the target would not refuse it).
 */
describe('classifyPostgres: the settings a statement changes (superuser-only target settings)', () => {
  const rows: ReadonlyArray<readonly [sql: string, settings: readonly string[] | undefined]> = [
    ["SET log_statement = 'none'", ['log_statement']],
    ["SET LOCAL log_statement = 'none'", ['log_statement']],
    ["SET SESSION Log_Statement TO 'none'", ['log_statement']],
    ['SET "LOG_STATEMENT" = \'none\'', ['log_statement']],
    ['SET log_statement TO DEFAULT', ['log_statement']],
    ['SET log_statement FROM CURRENT', ['log_statement']],
    ['RESET log_statement', ['log_statement']],
    ["SELECT set_config('log_statement', 'none', false)", ['log_statement']],
    ["SELECT pg_catalog.SET_CONFIG('Log_Min_Error_Statement', 'panic', true)", ['log_min_error_statement']],
    ["EXPLAIN SELECT set_config('log_statement', 'none', false)", ['log_statement']],
    ["PREPARE p AS SELECT set_config('allow_system_table_mods', 'on', false)", ['allow_system_table_mods']],
    ["SELECT set_config('zero_damaged_pages', 'on', false), set_config('ignore_system_indexes', 'on', false)", ['zero_damaged_pages', 'ignore_system_indexes']],
    // pg_dump's form: the name can only be the one of the WHERE clause.
    ["SELECT set_config(name, 'public', false) FROM pg_settings WHERE name = 'search_path'", ['search_path']],
    // The SQL-standard spellings name the settings they change.
    ["SET TIME ZONE 'UTC'", ['timezone']],
    ["SET NAMES 'UTF8'", ['client_encoding']],
    ["SET SCHEMA 'public'", ['search_path']],
    ['SET XML OPTION DOCUMENT', ['xmloption']],
    ["SET myapp.tenant = '42'", ['myapp.tenant']],
    ['SET ROLE nobody', ['role']],
    // Not settings by name: judged by the classifier alone.
    ['SET TRANSACTION READ ONLY', undefined],
    ['SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY', undefined],
    ['RESET ALL', undefined],
    ['SELECT 1', undefined],
  ];

  it.each(rows)('%s changes %j', (sql, settings) => {
    const statement = classifyPostgres(sql).statements[0]!;
    expect(statement.settings).toEqual(settings);
  });

  it('reports the settings of each statement of a command on its own', () => {
    const statements = classifyPostgres("SET statement_timeout = 5; SET log_statement = 'none'").statements;
    expect(statements.map((statement) => statement.settings)).toEqual([['statement_timeout'], ['log_statement']]);
  });

  it('never shares the analysis of one setting name with another (classifications cached by literal template)', () => {
    expect(classifyPostgres("SELECT set_config('search_path', 'public', false)").statements[0]!.settings).toEqual(['search_path']);
    expect(classifyPostgres("SELECT set_config('log_statement', 'none', false)").statements[0]!.settings).toEqual(['log_statement']);
    expect(classifyPostgres("SELECT set_config(name, 'x', false) FROM pg_settings WHERE name = 'search_path'").statements[0]!.settings).toEqual(['search_path']);
    expect(classifyPostgres("SELECT set_config(name, 'x', false) FROM pg_settings WHERE name = 'log_statement'").statements[0]!.settings).toEqual(['log_statement']);
  });

  it('keeps the action the classifier gives: the target decides who may change a setting', () => {
    expect(classifyPostgres("SET log_statement = 'none'").statements[0]).toMatchObject({ action: 'session', settings: ['log_statement'] });
    expect(classifyPostgres('SET session_replication_role = replica').statements[0]).toMatchObject({ action: 'admin', settings: ['session_replication_role'] });
  });
});
