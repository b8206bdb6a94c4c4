/**
 * The session settings that decide how a MySQL/MariaDB server splits text into tokens, and which
 * of their values Warden can analyse. The adapter learns the session's real values from the
 * target (session-state tracking) and classifies each command with them.
 *
 * https://mariadb.com/kb/en/sql-mode/ · https://dev.mysql.com/doc/refman/8.0/en/sql-mode.html
 * https://dev.mysql.com/doc/refman/8.0/en/charset-connection.html
 */

export interface MysqlLexerSettings {
  /** sql_mode NO_BACKSLASH_ESCAPES: `\` is an ordinary character in strings. */
  readonly noBackslashEscapes: boolean;
  /** sql_mode ANSI_QUOTES: `"…"` is an identifier, not a string. */
  readonly ansiQuotes: boolean;
}

export const DEFAULT_MYSQL_LEXER_SETTINGS: MysqlLexerSettings = Object.freeze({ noBackslashEscapes: false, ansiQuotes: false });

/**
 * sql_mode flags whose effect on statements Warden knows: none of them changes where a string,
 * a comment or a statement ends except ANSI_QUOTES and NO_BACKSLASH_ESCAPES, which the lexer
 * follows. Left out, so refused: ORACLE and MSSQL (MariaDB parses another dialect under them:
 * PL/SQL blocks, other quoting), and DB2/MAXDB/POSTGRESQL, whose meaning differs between servers.
 */
const ANALYSABLE_SQL_MODE_FLAGS: ReadonlySet<string> = new Set([
  '',
  'ALLOW_INVALID_DATES',
  'ANSI',
  'ANSI_QUOTES',
  'EMPTY_STRING_IS_NULL',
  'ERROR_FOR_DIVISION_BY_ZERO',
  'HIGH_NOT_PRECEDENCE',
  'IGNORE_BAD_TABLE_OPTIONS',
  'IGNORE_SPACE',
  'MYSQL323',
  'MYSQL40',
  'NO_AUTO_CREATE_USER',
  'NO_AUTO_VALUE_ON_ZERO',
  'NO_BACKSLASH_ESCAPES',
  'NO_DIR_IN_CREATE',
  'NO_ENGINE_SUBSTITUTION',
  'NO_FIELD_OPTIONS',
  'NO_KEY_OPTIONS',
  'NO_TABLE_OPTIONS',
  'NO_UNSIGNED_SUBTRACTION',
  'NO_ZERO_DATE',
  'NO_ZERO_IN_DATE',
  'ONLY_FULL_GROUP_BY',
  'PAD_CHAR_TO_FULL_LENGTH',
  'PIPES_AS_CONCAT',
  'REAL_AS_FLOAT',
  'SIMULTANEOUS_ASSIGNMENT',
  'STRICT_ALL_TABLES',
  'STRICT_TRANS_TABLES',
  'TIME_ROUND_FRACTIONAL',
  'TIME_TRUNCATE_FRACTIONAL',
  'TRADITIONAL',
]);

/** The lexer settings of an sql_mode value (`'ANSI_QUOTES,STRICT_TRANS_TABLES'`), or the flags Warden cannot analyse. */
export function mysqlSqlModeSettings(sqlMode: string): { readonly ok: true; readonly settings: MysqlLexerSettings } | { readonly ok: false; readonly unanalysable: readonly string[] } {
  const flags = sqlMode.split(',').map((flag) => flag.trim().toUpperCase());
  const unanalysable = flags.filter((flag) => !ANALYSABLE_SQL_MODE_FLAGS.has(flag));
  if (unanalysable.length > 0) return { ok: false, unanalysable };
  // ANSI is REAL_AS_FLOAT, PIPES_AS_CONCAT, ANSI_QUOTES, IGNORE_SPACE (and ONLY_FULL_GROUP_BY on MySQL).
  const ansiQuotes = flags.includes('ANSI_QUOTES') || flags.includes('ANSI');
  const noBackslashEscapes = flags.includes('NO_BACKSLASH_ESCAPES');
  return { ok: true, settings: ansiQuotes || noBackslashEscapes ? Object.freeze({ ansiQuotes, noBackslashEscapes }) : DEFAULT_MYSQL_LEXER_SETTINGS };
}

/**
 * Character sets in which Warden reads statement text exactly: ASCII-compatible, and either
 * single-byte or UTF-8 (no byte of a multi-byte character is below 0x80, so a `\` or a quote is
 * always itself). gbk, big5, sjis, cp932 and gb18030 are not: a trailing byte can be 0x5c (`\`).
 */
const ANALYSABLE_CHARSETS: ReadonlySet<string> = new Set(['utf8', 'utf8mb3', 'utf8mb4', 'latin1', 'ascii', 'binary']);

/** Whether statements in character set `name` (as MySQL names it, any case) can be analysed. */
export function isAnalysableMysqlCharset(name: string): boolean {
  return ANALYSABLE_CHARSETS.has(name.trim().toLowerCase());
}

/** Whether a collation name (`utf8mb4_general_ci`, `latin1_swedish_ci`, `binary`) belongs to such a character set. */
export function isAnalysableMysqlCollation(name: string): boolean {
  const lower = name.trim().toLowerCase();
  if (lower === 'binary') return true;
  const underscore = lower.indexOf('_');
  return underscore > 0 && isAnalysableMysqlCharset(lower.slice(0, underscore));
}

export function isDefaultMysqlLexerSettings(settings: MysqlLexerSettings): boolean {
  return !settings.ansiQuotes && !settings.noBackslashEscapes;
}
