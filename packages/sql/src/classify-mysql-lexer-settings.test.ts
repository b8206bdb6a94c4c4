import { classifyMysql, loadMysqlParser } from './index';
import { lexMysql } from './mysql-lexer';
import { mysqlSqlModeSettings } from './mysql-lexer-settings';

beforeAll(() => loadMysqlParser());

const NO_BACKSLASH_ESCAPES = { noBackslashEscapes: true, ansiQuotes: false } as const;
const ANSI_QUOTES = { noBackslashEscapes: false, ansiQuotes: true } as const;

describe('classifyMysql under the session sql_mode', () => {
  it('splits as the server does under NO_BACKSLASH_ESCAPES (no-backslash-escapes bypass)', () => {
    const sql = "SELECT 'a\\'; UPDATE patients SET ssn = 'x' WHERE id = 1 -- '";
    // By default the backslash escapes the quote: one statement, no UPDATE.
    expect(classifyMysql(sql)).toMatchObject({ statementCount: 1, objects: [] });
    // Under NO_BACKSLASH_ESCAPES the string ends at the backslash, and the UPDATE runs.
    expect(classifyMysql(sql, NO_BACKSLASH_ESCAPES)).toMatchObject({ action: 'write', objects: ['patients'], statementCount: 2 });
  });

  it('reads a call hidden between backslashes the way the server does (no-backslash-escapes bypass)', () => {
    const sql = "SELECT 'x\\', LOAD_FILE('/etc/passwd'), 'y\\'";
    expect(classifyMysql(sql, NO_BACKSLASH_ESCAPES)).toMatchObject({ action: 'admin' });
  });

  it('reads "…" as a name under ANSI_QUOTES (ansi-quotes bypass)', () => {
    // By default "…" is a string: the statement only reads a constant.
    expect(classifyMysql('SELECT "patients"')).toMatchObject({ action: 'read', objects: [] });
    expect(classifyMysql('SELECT * FROM "patients" FOR UPDATE', ANSI_QUOTES)).toMatchObject({ action: 'write', objects: ['patients'] });
    expect(classifyMysql('DELETE FROM "pat""ients" WHERE "id" = 1', ANSI_QUOTES)).toMatchObject({ action: 'write', objects: ['pat"ients'] });
    // A ' inside "…" does not start a string any more.
    expect(classifyMysql('SELECT "it\'s" FROM t; DELETE FROM patients', ANSI_QUOTES)).toMatchObject({ action: 'write', statementCount: 2 });
  });

  it('keeps string values exact when it rewrites them for the parser', () => {
    const lexed = lexMysql("SELECT 'a\\b', 'it''s', \"q\"", { noBackslashEscapes: true, ansiQuotes: true });
    expect(lexed.ok && lexed.statements[0]?.code).toBe("SELECT 'a\\\\b', 'it\\'s', `q`");
    expect(lexed.ok && lexed.statements[0]?.tokens.filter((token) => token.kind !== 'punct' && token.kind !== 'word').map((token) => token.text)).toEqual(['a\\b', "it's", 'q']);
  });

  it('does not share cached analyses between settings', () => {
    const sql = "SELECT 'a\\'; DROP TABLE patients; -- '";
    expect(classifyMysql(sql).action).toBe('read');
    expect(classifyMysql(sql, NO_BACKSLASH_ESCAPES).action).toBe('ddl');
    expect(classifyMysql(sql).action).toBe('read');
  });

  it('judges PREPARE text under the same settings', () => {
    expect(classifyMysql('PREPARE s FROM \'DELETE FROM "patients"\'', ANSI_QUOTES)).toMatchObject({ action: 'write', objects: ['patients'] });
  });
});

describe('settings that change how text is read', () => {
  const admin: readonly string[] = [
    'SET NAMES gbk',
    "SET NAMES 'big5'",
    'SET NAMES utf8mb4 COLLATE gbk_chinese_ci',
    'SET CHARACTER SET sjis',
    'SET CHARSET gbk',
    'SET character_set_client = 28',
    "SET character_set_client = 'gbk'",
    'SET @@session.character_set_client = gbk',
    'SET `character_set_client` = gbk',
    "SET @@session.`sql_mode` = 'ORACLE'",
    'SET character_set_client = DEFAULT',
    'SET character_set_client = @saved',
    'SET character_set_connection = cp932',
    'SET collation_connection = gbk_chinese_ci',
    'SET collation_connection = 28',
    '/*!40101 SET character_set_client = 28 */',
    "SET sql_mode = 'ORACLE'",
    "SET sql_mode = 'MSSQL,ANSI_QUOTES'",
    'SET sql_mode = 4',
  ];
  it.each(admin)('%j is admin (charset-setting bypass)', (sql) => {
    expect(classifyMysql(sql).action).toBe('admin');
  });

  const session: readonly string[] = [
    'SET NAMES utf8mb4',
    "SET NAMES 'utf8mb4' COLLATE 'utf8mb4_bin'",
    'SET NAMES latin1',
    'SET CHARACTER SET utf8',
    'SET character_set_client = utf8mb3',
    "SET collation_connection = 'utf8mb4_unicode_ci'",
    "SET sql_mode = 'NO_BACKSLASH_ESCAPES'",
    "SET SESSION sql_mode = 'ANSI_QUOTES,STRICT_TRANS_TABLES'",
    "SET sql_mode = ''",
    "/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO' */",
    '/*!40101 SET SQL_MODE=@OLD_SQL_MODE */',
    "/*!40100 SET @@SQL_MODE='' */",
  ];
  it.each(session)('%j is a session setting', (sql) => {
    expect(classifyMysql(sql).action).toBe('session');
  });

  it('refuses a change of how text is read followed by more statements in the same text (reading-change bypass)', () => {
    const result = classifyMysql("SET sql_mode = 'NO_BACKSLASH_ESCAPES'; SELECT 'a\\'; DELETE FROM patients; -- '");
    expect(result.statements[0]).toMatchObject({ action: 'unknown', note: expect.stringContaining('on its own') });
    expect(classifyMysql('SET NAMES utf8mb4; SELECT 1').action).toBe('unknown');
    expect(classifyMysql("SET `sql_mode` = 'NO_BACKSLASH_ESCAPES'; SELECT 'a\\'; DROP TABLE patients; -- '").statements[0]?.action).toBe('unknown');
    expect(classifyMysql("SET @@session.`SQL_MODE` = 'ANSI_QUOTES'; SELECT 1").statements[0]?.action).toBe('unknown');
    expect(classifyMysql('SELECT 1; SET NAMES utf8mb4').statements.map((statement) => statement.action)).toEqual(['read', 'session']);
  });
});

describe("Warden's session tracking", () => {
  it.each(["SET session_track_system_variables = ''", 'SET SESSION session_track_system_variables = DEFAULT', "SET @@session_track_system_variables := 'autocommit'", "SET @x = 1, @@session.session_track_system_variables = ''"])(
    '%j is refused under every grant (tracking-off bypass)',
    (sql) => {
      expect(classifyMysql(sql).action).toBe('unknown');
    },
  );
});

describe('mysqlSqlModeSettings', () => {
  it('reads the lexer flags and refuses modes that change the dialect', () => {
    expect(mysqlSqlModeSettings('STRICT_TRANS_TABLES,NO_BACKSLASH_ESCAPES')).toEqual({ ok: true, settings: { ansiQuotes: false, noBackslashEscapes: true } });
    expect(mysqlSqlModeSettings('ansi')).toEqual({ ok: true, settings: { ansiQuotes: true, noBackslashEscapes: false } });
    expect(mysqlSqlModeSettings('')).toEqual({ ok: true, settings: { ansiQuotes: false, noBackslashEscapes: false } });
    expect(mysqlSqlModeSettings('PIPES_AS_CONCAT,ORACLE')).toEqual({ ok: false, unanalysable: ['ORACLE'] });
  });
});
