import type { AccessLevel, StatementClass } from '@warden/core';
import { classifyPostgres, loadSqlParsers } from '@warden/sql';
import { catalogSnapshot, FunctionCatalog } from './function-catalog';
import { settingVerdict } from './setting-contexts';

beforeAll(() => loadSqlParsers());

/** A few rows of PostgreSQL 15's pg_settings (names as the view spells them). */
const SETTINGS: ReadonlyArray<readonly [name: string, context: string]> = [
  ['log_statement', 'superuser'],
  ['log_min_error_statement', 'superuser'],
  ['allow_system_table_mods', 'superuser'],
  ['session_replication_role', 'superuser'],
  ['jit_provider', 'postmaster'],
  ['log_connections', 'superuser-backend'],
  ['ignore_system_indexes', 'backend'],
  ['log_checkpoints', 'sighup'],
  ['server_version', 'internal'],
  ['statement_timeout', 'user'],
  ['search_path', 'user'],
  ['TimeZone', 'user'],
  ['DateStyle', 'user'],
  ['client_encoding', 'user'],
  ['row_security', 'user'],
  ['default_transaction_read_only', 'user'],
];

/** Extensions and languages of the target, as pg_available_extensions and pg_language name them. */
const MODULES = ['plpgsql', 'plperl', 'pg_trgm', 'internal', 'c', 'sql'];

function setUp(settings: ReadonlyArray<readonly [string, string]> = SETTINGS) {
  const loads = { count: 0, fail: false };
  const catalog = new FunctionCatalog(async (startedAt) => {
    loads.count++;
    if (loads.fail) throw new Error('connection refused');
    return catalogSnapshot(startedAt, [['pg_catalog', 'set_config', 'v'], ['pg_catalog', 'texteq', 'i']], [['pg_catalog', '=', 'pg_catalog', 'texteq', 'i']], settings, MODULES);
  });
  return { catalog, loads };
}

async function judged(sql: string, access: AccessLevel = 'read-only', catalog = setUp().catalog): Promise<readonly StatementClass[]> {
  return (await catalog.judge(classifyPostgres(sql), access)).statements;
}

describe('settings judged by the target’s pg_settings context (superuser-only target settings)', () => {
  it.each([
    "SET log_statement = 'none'",
    "SET LOCAL log_statement = 'none'",
    'RESET log_statement',
    'SET log_statement TO DEFAULT',
    "SELECT set_config('log_statement', 'none', false)",
    "SELECT set_config('Log_Min_Error_Statement', 'panic', true)",
    'SET allow_system_table_mods = on',
    "SET jit_provider = 'x'",
    'SET log_connections = on',
    'SET ignore_system_indexes = on',
    'SET log_checkpoints = on',
    "SET server_version = '1'",
    "EXPLAIN SELECT set_config('log_statement', 'none', false)",
    "SELECT 1; SET log_statement = 'none'",
  ])('refuses %s as admin below full access (superuser-setting bypass)', async (sql) => {
    for (const access of ['read-only', 'read-write'] as const) {
      const statements = await judged(sql, access);
      expect(statements.some((statement) => statement.action === 'admin' && /a setting of context (?!user)/.test(statement.note ?? ''))).toBe(true);
    }
  });

  it('names the setting and its context in the note', async () => {
    expect((await judged("SET log_statement = 'none'"))[0]).toMatchObject({ action: 'admin', note: 'changes log_statement, a setting of context superuser: below full access only settings of context user may be changed' });
  });

  it('raises the action on full access too, so that rules on admin commands see it', async () => {
    expect((await judged("SET log_statement = 'none'", 'full'))[0]).toMatchObject({ action: 'admin' });
  });

  it.each([
    'SET statement_timeout = 5000',
    "SET LOCAL search_path = 'public'",
    "SET TIME ZONE 'UTC'",
    'SET datestyle = ISO',
    "SET client_encoding = 'UTF8'",
    'SET row_security = off',
    'SET seed = 0.5',
    'RESET statement_timeout',
    "SELECT set_config('search_path', '', false)",
    "SELECT set_config(name, 'public', false) FROM pg_settings WHERE name = 'search_path'",
    "SET myapp.tenant = '42'",
    "SELECT set_config('myapp.tenant', '42', true)",
  ])('lets %s through unchanged: a user setting, or a custom one', async (sql) => {
    const classification = classifyPostgres(sql);
    expect(await setUp().catalog.judge(classification, 'read-only')).toBe(classification);
  });

  it('refuses a setting the target does not have, after one reload, below full access', async () => {
    const { catalog, loads } = setUp();
    expect((await judged("SET no_such_setting = 'x'", 'read-write', catalog))[0]).toMatchObject({ action: 'unknown', note: 'changes no_such_setting, which is not a setting of the target' });
    expect(loads.count).toBe(1);
    // On full access the target answers for itself.
    expect((await judged("SET no_such_setting = 'x'", 'full', catalog))[0]).toMatchObject({ action: 'session' });
  });

  it.each([
    "SET plperl.on_plperlu_init = 'system(1)'",
    "SET plpgsql.variable_conflict = 'use_column'",
    "SELECT set_config('PLPGSQL.variable_conflict', 'use_column', false)",
    "SET pg_trgm.similarity_threshold = 0.1",
  ])('refuses %s below full access: a setting of a module loaded later takes the value over with Warden’s rights (placeholder takeover bypass)', async (sql) => {
    const { catalog, loads } = setUp();
    for (const access of ['read-only', 'read-write'] as const) {
      expect((await judged(sql, access, catalog))[0]).toMatchObject({ action: 'unknown', note: expect.stringMatching(/^changes [a-z_.]+, a setting of (plperl|plpgsql|pg_trgm), which is not loaded where Warden reads the target's settings: who may change it is unknown$/) });
    }
    // Known to be unknown: no reload.
    expect(loads.count).toBe(1);
    expect((await judged(sql, 'full', catalog))[0]!.action).not.toBe('unknown');
  });

  it('refuses a setting change below full access while the settings cannot be read', async () => {
    const { catalog, loads } = setUp();
    loads.fail = true;
    expect((await judged('SET statement_timeout = 5', 'read-only', catalog))[0]).toMatchObject({ action: 'unknown', note: "changes settings, and the target's settings could not be read (connection refused)" });
    expect((await judged('SET statement_timeout = 5', 'full', catalog))[0]).toMatchObject({ action: 'session' });
  });

  it('keeps the classifier’s own judgement of role and read-only settings', async () => {
    expect((await judged('SET ROLE nobody'))[0]).toMatchObject({ action: 'admin', note: 'changes role' });
    expect((await judged('SET default_transaction_read_only = off'))[0]).toMatchObject({ action: 'session', disablesReadOnly: true });
  });
});

describe('settingVerdict', () => {
  const target = { contexts: new Map([['log_statement', 'superuser'], ['search_path', 'user'], ['plpgsql.extra_warnings', 'user']]), modules: new Set(['plpgsql']) };

  it('is fine for user settings and custom placeholders, refused for others, missing for unknown names, unknown under a module’s prefix', () => {
    expect(settingVerdict('search_path', target)).toEqual({ kind: 'fine' });
    expect(settingVerdict('myapp.tenant', target)).toEqual({ kind: 'fine' });
    expect(settingVerdict('request.jwt.claims', target)).toEqual({ kind: 'fine' });
    expect(settingVerdict('plpgsql.extra_warnings', target)).toEqual({ kind: 'fine' });
    expect(settingVerdict('log_statement', target)).toMatchObject({ kind: 'refused' });
    expect(settingVerdict('no_such_setting', target)).toMatchObject({ kind: 'missing' });
    expect(settingVerdict('plpgsql.variable_conflict', target)).toMatchObject({ kind: 'unknown' });
  });
});
