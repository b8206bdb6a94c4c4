import { scanSync, type ScanToken } from 'libpg-query';
import { WardenError } from '@warden/core';
import { isSqlParserLoaded } from './postgres-parser';

/**
 * Decides whether a literal is sensitive: its replacement text, or undefined to keep it.
 * `nearColumn` is the column the literal is compared with or assigned to, when the text shows it
 * (`ssn = '…'`, `ssn IN ('…', '…')`).
 */
export type LiteralPlaceholder = (value: string, nearColumn?: string) => string | undefined;

/** Keywords that end the search for a literal's column (the literal starts a new condition). */
const STOP_KEYWORDS = new Set([
  'and', 'or', 'where', 'select', 'set', 'values', 'from', 'on', 'when', 'then', 'else', 'having', 'returning', 'limit',
  'offset', 'order', 'group', 'into', 'join', 'using', 'case', 'end',
]);
const LOOKBACK = 8;

/**
 * Replaces the literals of Postgres SQL text that `placeholder` flags, using the real PostgreSQL
 * scanner, so that quoting tricks (`E'…'`, `$tag$…$tag$`, `U&'…'`) cannot hide a value and the
 * statement's structure stays readable. Comments are offered too (they can carry values). A
 * replaced string literal becomes `'<placeholder>'`; a number becomes `'<placeholder>'` as well.
 * Throws when the scanner is not loaded or cannot scan the text.
 *
 * @example
 * ```ts
 * redactPostgresLiterals("SELECT * FROM p WHERE ssn = '123-45-6789'", (v) => (/\d{3}-\d{2}/.test(v) ? '[phi:1a2b]' : undefined));
 * // "SELECT * FROM p WHERE ssn = '[phi:1a2b]'"
 * ```
 */
export function redactPostgresLiterals(text: string, placeholder: LiteralPlaceholder): string {
  if (!isSqlParserLoaded()) throw new WardenError('internal', 'the SQL parser is not loaded: await loadSqlParsers() first');
  // The scanner reports byte offsets into the UTF-8 text.
  const bytes = Buffer.from(text, 'utf8');
  let tokens: ScanToken[];
  try {
    tokens = scanSync(text).tokens;
  } catch (error) {
    throw new WardenError('internal', 'the statement could not be scanned', { cause: error });
  }
  const pieces: string[] = [];
  let at = 0;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    const raw = bytes.toString('utf8', token.start, token.end);
    let replacement: string | undefined;
    if (token.tokenName === 'SQL_COMMENT' || token.tokenName === 'C_COMMENT') {
      const flagged = placeholder(raw);
      if (flagged !== undefined) replacement = `/* ${flagged} */`;
    } else {
      const value = literalValue(token.tokenName, raw);
      if (value !== undefined) {
        const flagged = placeholder(value, columnBefore(tokens, i, bytes));
        if (flagged !== undefined) replacement = `'${flagged.replace(/'/g, "''")}'`;
      }
    }
    if (replacement !== undefined) {
      pieces.push(bytes.toString('utf8', at, token.start), replacement);
      at = token.end;
    }
  }
  if (at === 0) return text;
  pieces.push(bytes.toString('utf8', at));
  return pieces.join('');
}

/** The value a literal token stands for, or undefined for a token that is not a literal. */
function literalValue(tokenName: string, raw: string): string | undefined {
  switch (tokenName) {
    case 'ICONST':
    case 'FCONST':
      return raw;
    case 'SCONST': {
      if (raw.startsWith('$')) {
        const tagEnd = raw.indexOf('$', 1);
        return raw.slice(tagEnd + 1, raw.length - (tagEnd + 1));
      }
      if (raw[0] === 'E' || raw[0] === 'e') return raw.slice(2, -1).replace(/\\(.)/g, '$1').replace(/''/g, "'");
      return raw.slice(1, -1).replace(/''/g, "'");
    }
    default:
      // U&'…' (Unicode escapes) scans as an unknown token; the text between the quotes is enough here.
      if (/^U&'/i.test(raw)) return raw.slice(3, -1).replace(/''/g, "'");
      return undefined;
  }
}

/** The nearest identifier before token `index`, within a few tokens and the same condition. */
function columnBefore(tokens: readonly ScanToken[], index: number, bytes: Buffer): string | undefined {
  for (let i = index - 1; i >= 0 && i >= index - LOOKBACK; i--) {
    const token = tokens[i]!;
    const raw = bytes.toString('utf8', token.start, token.end);
    if (token.tokenName === 'IDENT') return raw.startsWith('"') ? raw.slice(1, -1).replace(/""/g, '"') : raw;
    if (token.keywordKind !== 0 && STOP_KEYWORDS.has(raw.toLowerCase())) return undefined;
  }
  return undefined;
}
