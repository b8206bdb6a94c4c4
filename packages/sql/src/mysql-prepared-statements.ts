import { lexMysql, type MysqlToken } from './mysql-lexer';
import { DEFAULT_MYSQL_LEXER_SETTINGS, type MysqlLexerSettings } from './mysql-lexer-settings';

/**
 * What one statement of a MySQL text does to the session's SQL-level prepared statements
 * (`PREPARE name FROM …`, `EXECUTE name [USING …]`, `{DEALLOCATE | DROP} PREPARE name`), read
 * from its tokens. Names are lower-cased: the server compares them without regard to case.
 */
export type MysqlPreparedStatementUse =
  /** `text` is the literal the statement is prepared from; absent when it comes from a user variable. */
  | { readonly kind: 'prepare'; readonly name: string; readonly text?: string }
  /** `plainArguments`: USING holds only user variables and literals (MariaDB also takes expressions, which can call functions). */
  | { readonly kind: 'execute'; readonly name: string; readonly plainArguments: boolean }
  | { readonly kind: 'deallocate'; readonly name: string }
  | { readonly kind: 'other' };

/**
 * The prepared-statement use of each statement of `sql`, in order; undefined when the text does
 * not lex (it is then `unknown` to the classifier already, and refused).
 *
 * @example
 * ```ts
 * mysqlPreparedStatementUses("PREPARE s FROM 'SELECT 1'; EXECUTE S USING @a");
 * // [{ kind: 'prepare', name: 's', text: 'SELECT 1' }, { kind: 'execute', name: 's', plainArguments: true }]
 * ```
 */
export function mysqlPreparedStatementUses(sql: string, settings: MysqlLexerSettings = DEFAULT_MYSQL_LEXER_SETTINGS): readonly MysqlPreparedStatementUse[] | undefined {
  const lexed = lexMysql(sql, settings);
  if (!lexed.ok) return undefined;
  return lexed.statements.map((statement) => useOf(statement.tokens));
}

function useOf(tokens: readonly MysqlToken[]): MysqlPreparedStatementUse {
  const word = (index: number): string | undefined => (tokens[index]?.kind === 'word' ? tokens[index].text : undefined);
  switch (word(0)) {
    case 'PREPARE': {
      const name = nameAt(tokens, 1);
      if (name === undefined || word(2) !== 'FROM') return { kind: 'other' };
      const text = tokens.length === 4 && tokens[3]?.kind === 'string' ? tokens[3].text : undefined;
      return text === undefined ? { kind: 'prepare', name } : { kind: 'prepare', name, text };
    }
    case 'EXECUTE': {
      // EXECUTE IMMEDIATE is judged by the classifier on its literal text; it names no statement.
      if (word(1) === 'IMMEDIATE') return { kind: 'other' };
      const name = nameAt(tokens, 1);
      if (name === undefined) return { kind: 'other' };
      if (tokens.length === 2) return { kind: 'execute', name, plainArguments: true };
      return { kind: 'execute', name, plainArguments: word(2) === 'USING' && plainUsing(tokens.slice(3)) };
    }
    case 'DEALLOCATE':
    case 'DROP': {
      const name = word(1) === 'PREPARE' && tokens.length === 3 ? nameAt(tokens, 2) : undefined;
      return name === undefined ? { kind: 'other' } : { kind: 'deallocate', name };
    }
    default:
      return { kind: 'other' };
  }
}

/** A statement name: a word (as written) or a quoted identifier, lower-cased. */
function nameAt(tokens: readonly MysqlToken[], index: number): string | undefined {
  const token = tokens[index];
  if (token?.kind === 'identifier') return token.text.toLowerCase();
  if (token?.kind === 'word' && /^[A-Za-z0-9_$]+$/.test(token.text)) return (token.raw ?? token.text).toLowerCase();
  return undefined;
}

/** `@a, @`b`, 'x', -1, NULL`: values only (whole numbers), nothing that could call a function or read a table. */
export function plainUsing(tokens: readonly MysqlToken[]): boolean {
  if (tokens.length === 0) return false;
  let index = 0;
  for (;;) {
    const token = tokens[index];
    if (token === undefined) return false;
    if (token.kind === 'string') index += 1;
    else if (token.kind === 'word' && /^@[A-Za-z0-9_$.]+$/.test(token.text)) index += 1;
    else if (token.kind === 'word' && token.text === '@' && (tokens[index + 1]?.kind === 'identifier' || tokens[index + 1]?.kind === 'string')) index += 2;
    else if (token.kind === 'word' && (token.text === 'NULL' || /^\d+$/.test(token.text))) index += 1;
    else if (token.kind === 'punct' && token.text === '-' && tokens[index + 1]?.kind === 'word' && /^\d+$/.test(tokens[index + 1]!.text)) index += 2;
    else return false;
    if (index === tokens.length) return true;
    if (tokens[index]?.kind !== 'punct' || tokens[index]!.text !== ',') return false;
    index += 1;
  }
}
