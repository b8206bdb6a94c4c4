import { Char, isDigit, isIdentChar, isIdentStart } from './ascii';

/**
 * The shape of a SQL text with its literals taken out: `SELECT a FROM t WHERE id = 42` and
 * `SELECT a FROM t WHERE id = 7` share the template `SELECT a FROM t WHERE id = \u0001N`.
 *
 * It lets the classifier reuse the analysis of a statement an agent sends over and over with other
 * values, instead of parsing each one, when that analysis never looked at a literal's value.
 *
 * Exactness matters more than coverage, because two texts with one template must only ever differ
 * in literal values: the lexer handles a deliberately small part of PostgreSQL's lexical grammar
 * and gives up (returns undefined, so the text is parsed) on anything outside it — non-ASCII,
 * control characters, comments, `$` (dollar quotes, parameters), backslashes (escape strings,
 * `standard_conforming_strings = off`), a string right after a letter (`E'…'`, `B'…'`, `U&'…'`),
 * numbers that are not plain decimals (`0x1F`, `1_000`, `1e`, `1.2.3`), unterminated quotes.
 * Whitespace and everything but literals are kept byte for byte.
 */
export function literalTemplate(sql: string): string | undefined {
  let out = '';
  /** Start of the text not yet copied to `out` (everything but literals is copied verbatim). */
  let copied = 0;
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql.charCodeAt(i);
    if (c > 0x7e || (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d)) return undefined;
    if (c === Char.QUOTE) {
      // 'text' with '' for a quote; no backslashes (their meaning depends on a setting).
      if (i > 0 && isIdentChar(sql.charCodeAt(i - 1))) return undefined;
      let j = i + 1;
      for (;;) {
        if (j >= n) return undefined;
        const d = sql.charCodeAt(j);
        if (d === Char.BACKSLASH || d > 0x7e || (d < 0x20 && d !== 0x09 && d !== 0x0a && d !== 0x0d)) return undefined;
        if (d === Char.QUOTE) {
          if (sql.charCodeAt(j + 1) === Char.QUOTE) {
            j += 2;
            continue;
          }
          break;
        }
        j++;
      }
      out += sql.slice(copied, i) + '\u0001S';
      i = j + 1;
      copied = i;
      continue;
    }
    if (c === Char.DOUBLE_QUOTE) {
      // A quoted identifier: part of the shape, kept as it is.
      const close = sql.indexOf('"', i + 1);
      if (close === -1) return undefined;
      if (sql.slice(i, close + 1).includes('\\')) return undefined;
      i = close + 1;
      continue;
    }
    if (isDigit(c) || (c === Char.DOT && isDigit(sql.charCodeAt(i + 1)) && !(i > 0 && isIdentChar(sql.charCodeAt(i - 1))))) {
      if (i > 0 && isIdentChar(sql.charCodeAt(i - 1))) {
        // Digits inside an identifier (`t1`) were consumed with it; reaching one here is odd: give up.
        return undefined;
      }
      NUMBER.lastIndex = i;
      const match = NUMBER.exec(sql);
      if (!match) return undefined;
      const next = sql.charCodeAt(i + match[0].length);
      if (isIdentChar(next) || next === Char.DOT) return undefined;
      out += sql.slice(copied, i) + '\u0001N';
      i += match[0].length;
      copied = i;
      continue;
    }
    if (isIdentStart(c)) {
      let j = i + 1;
      while (j < n && isIdentChar(sql.charCodeAt(j))) j++;
      // `U&"…"` / `U&'…'` and friends: a letter glued to a quote or an ampersand form is not plain.
      if (sql.charCodeAt(j) === Char.AMPERSAND && (sql.charCodeAt(j + 1) === Char.QUOTE || sql.charCodeAt(j + 1) === Char.DOUBLE_QUOTE)) return undefined;
      i = j;
      continue;
    }
    if (c === Char.DOLLAR || c === Char.BACKSLASH || c === Char.BACKTICK) return undefined;
    if ((c === Char.DASH && sql.charCodeAt(i + 1) === Char.DASH) || (c === Char.SLASH && sql.charCodeAt(i + 1) === Char.STAR)) return undefined;
    i++;
  }
  return out + sql.slice(copied);
}

const NUMBER = /(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/y;
