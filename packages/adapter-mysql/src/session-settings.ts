/**
 * What Warden knows of the target session's settings, from the target's own reports (see
 * `session-state.ts`): the lexer settings to classify the next command with, and the reports that
 * end the session because Warden could no longer analyse it or enforce the grant.
 */
import { DEFAULT_MYSQL_LEXER_SETTINGS, isAnalysableMysqlCharset, mysqlSqlModeSettings, type MysqlLexerSettings } from '@warden/sql';
import { BINARY_COLLATION } from './protocol';
import { textCodecFor } from './text-charset';

export class TargetSessionSettings {
  private current: MysqlLexerSettings = DEFAULT_MYSQL_LEXER_SETTINGS;

  constructor(private readonly readOnly: boolean) {}

  /** How the target reads statements now (its sql_mode's ANSI_QUOTES and NO_BACKSLASH_ESCAPES). */
  get lexer(): MysqlLexerSettings {
    return this.current;
  }

  /**
   * Takes the values the target reported. Returns why the session cannot go on (a character set
   * or sql_mode Warden cannot analyse, a read-only session that is not read-only any more), or
   * undefined.
   */
  apply(variables: ReadonlyMap<string, string>): string | undefined {
    for (const [name, value] of variables) {
      switch (name) {
        case 'character_set_client':
        case 'character_set_connection':
          if (!isAnalysableMysqlCharset(value)) return `the target session's ${name} became ${value}, a character set Warden cannot analyse statements in`;
          break;
        case 'sql_mode': {
          const mode = mysqlSqlModeSettings(value);
          if (!mode.ok) return `the target session's sql_mode became ${mode.unanalysable.join(',')}, under which Warden cannot analyse statements`;
          this.current = mode.settings;
          break;
        }
        case 'tx_read_only':
        case 'transaction_read_only':
          if (this.readOnly && !isOn(value)) return `the target session is no longer read-only (${name} = ${value}), which a read-only grant requires`;
          break;
        default:
          break;
      }
    }
    return undefined;
  }
}

function isOn(value: string): boolean {
  const lower = value.trim().toLowerCase();
  return lower === 'on' || lower === '1' || lower === 'true';
}

/**
 * Collations a client may log in with: those of character sets Warden reads statements in
 * exactly (UTF-8, latin1, ascii, binary). Any other could hide a quote or a backslash inside a
 * multi-byte character (gbk, big5, sjis, cp932, gb18030), or is not ASCII-compatible.
 */
export function isAnalysableCollation(id: number): boolean {
  return id === BINARY_COLLATION || textCodecFor(id) !== undefined;
}
