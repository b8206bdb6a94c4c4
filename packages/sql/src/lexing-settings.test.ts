import type { Action } from '@warden/core';
import { classifyPostgres, loadSqlParsers } from './index';

beforeAll(() => loadSqlParsers());

/**
 * Settings under which the server reads statement text differently from Warden's parser (which
 * assumes standard_conforming_strings on and UTF-8 text). The action stays what the statement is;
 * the flag makes grants below `full` refuse it.
 */
describe('classifyPostgres: settings that change how statements are lexed', () => {
  const rows: ReadonlyArray<readonly [sql: string, action: Action, changesLexing: boolean]> = [
    // standard_conforming_strings: anything but a clear "on".
    ['SET standard_conforming_strings = off', 'session', true],
    ['SET standard_conforming_strings TO false', 'session', true],
    ["set Standard_Conforming_Strings = 'OFF'", 'session', true],
    ['SET "standard_conforming_strings" = 0', 'session', true],
    ['SET SESSION standard_conforming_strings = off', 'session', true],
    ['SET LOCAL standard_conforming_strings = off', 'session', true],
    ['SET standard_conforming_strings TO DEFAULT', 'session', true],
    ['RESET standard_conforming_strings', 'session', true],
    ['SET standard_conforming_strings = maybe', 'session', true],
    ["SET standard_conforming_strings = 'on', 'off'", 'session', true],
    ["SELECT set_config('standard_conforming_strings', 'off', false)", 'read', true],
    ["SELECT pg_catalog.SET_CONFIG('STANDARD_CONFORMING_STRINGS', 'off', true)", 'read', true],
    ["SELECT set_config('standard_conforming_strings', current_setting('x'), false)", 'admin', true],
    ["SELECT 1; SET standard_conforming_strings = off", 'read', true],
    ['PREPARE p AS SELECT set_config(\'standard_conforming_strings\', \'off\', false)', 'read', true],
    // client_encoding: anything but UTF8, in any spelling PostgreSQL accepts for it.
    ["SET client_encoding = 'SJIS'", 'session', true],
    ["SET NAMES 'SJIS'", 'session', true],
    ['SET NAMES DEFAULT', 'session', true],
    ["SET client_encoding TO 'LATIN1'", 'session', true],
    ["SET client_encoding = 'SQL_ASCII'", 'session', true],
    ['SET client_encoding TO DEFAULT', 'session', true],
    ['RESET client_encoding', 'session', true],
    ['SET client_encoding = 6', 'session', true],
    ["SET LOCAL client_encoding = 'GBK'", 'session', true],
    ["SELECT set_config('client_encoding', 'SJIS', false)", 'read', true],
    // backslash_quote: only its default and off agree with Warden's parser.
    ['SET backslash_quote = on', 'session', true],
    ["SET backslash_quote = 'true'", 'session', true],
    ['RESET backslash_quote', 'session', true],
    ["SELECT set_config('backslash_quote', 'on', false)", 'read', true],
    // What leaves the lexer as Warden assumes it.
    ['SET standard_conforming_strings = on', 'session', false],
    ["SET standard_conforming_strings TO 'true'", 'session', false],
    ["SELECT set_config('standard_conforming_strings', 'on', false)", 'read', false],
    ["SET client_encoding = 'UTF8'", 'session', false],
    ["SET client_encoding TO 'utf-8'", 'session', false],
    ["SET NAMES 'UTF8'", 'session', false],
    ["SET NAMES 'Unicode'", 'session', false],
    ["SET client_encoding = 'Utf_8'", 'session', false],
    ["SELECT set_config('client_encoding', 'UTF8', false)", 'read', false],
    ['SET backslash_quote = safe_encoding', 'session', false],
    ['SET backslash_quote = off', 'session', false],
    ['SET escape_string_warning = off', 'session', false],
    ['SHOW standard_conforming_strings', 'read', false],
    ["SELECT current_setting('client_encoding')", 'read', false],
    // Resetting everything returns to the values the session started with, which Warden checks when
    // it opens the session (and watches afterwards): not flagged, so poolers' DISCARD ALL still works.
    ['RESET ALL', 'session', false],
    ['DISCARD ALL', 'session', false],
  ];

  it.each(rows)('%j → %s, changes lexing: %s', (sql, action, changesLexing) => {
    const result = classifyPostgres(sql);
    expect(result.action).toBe(action);
    const flagged = result.statements.find((statement) => statement.changesLexing === true);
    expect(flagged !== undefined).toBe(changesLexing);
    if (flagged) expect(flagged.note).toMatch(/standard_conforming_strings|client_encoding|backslash_quote/);
  });

  // Settings that are already stronger than `session` stay so: `admin` for every grant below full.
  it.each([
    ["ALTER ROLE current_user SET standard_conforming_strings = off", 'admin'],
    ["ALTER DATABASE clinic SET client_encoding = 'SJIS'", 'admin'],
    ["UPDATE pg_settings SET setting = 'off' WHERE name = 'standard_conforming_strings'", 'admin'],
    ["SELECT set_config('standard_' || 'conforming_strings', 'off', false)", 'admin'],
    ['SET SESSION AUTHORIZATION other_user', 'admin'],
    ['SET ROLE other_role', 'admin'],
    ["CREATE FUNCTION f() RETURNS int LANGUAGE sql SET standard_conforming_strings = off AS 'SELECT 1'", 'ddl'],
  ] as const)('%j stays %s', (sql, action) => {
    expect(classifyPostgres(sql).action).toBe(action);
  });

  it('names the setting in the note', () => {
    expect(classifyPostgres("SET NAMES 'SJIS'").statements[0]?.note).toBe('sets client_encoding');
    expect(classifyPostgres("SELECT set_config('standard_conforming_strings', 'off', false)").statements[0]?.note).toBe('calls set_config on standard_conforming_strings');
  });
});
