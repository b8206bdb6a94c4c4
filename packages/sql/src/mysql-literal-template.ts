import { Char, isDigit, isIdentChar, isIdentStart } from './ascii';

/**
 * The MySQL counterpart of `literalTemplate`: `SELECT a FROM t WHERE id = 42` and `… id = 7` share
 * the template `SELECT a FROM t WHERE id = \u0001N`, so that the classifier can reuse an analysis
 * that never read a literal's value instead of parsing each text.
 *
 * Two texts of one template must only ever differ in literal values, so the lexer reads a small,
 * safe part of MySQL's lexical grammar and gives up (undefined: the text is parsed) on the rest:
 * non-ASCII and control characters; backslashes anywhere (escapes in strings by default, not under
 * NO_BACKSLASH_ESCAPES); double quotes (strings, or identifiers under ANSI_QUOTES); comments of
 * every form (`#`, `-- `, `/* *\/`, executable `/*! *\/`) and `--`; `@` (user variables, `@'name'`);
 * `$`; a quote right after a letter or digit (`X'1F'`, `B'01'`, `N'…'`, `_utf8mb4'…'`); numbers
 * that are not plain decimals (`0x1F`, `0b1`, `1e`, `1.2.3`, digits glued to a name: `1col`,
 * `t.1`), and a number starting with `.`. Backtick identifiers are kept as written. The literal
 * count is returned so that the caller can check that the parser saw exactly these literals.
 */
export function mysqlLiteralTemplate(sql: string): { readonly template: string; readonly literals: number } | undefined {
  let out = '';
  let copied = 0;
  let literals = 0;
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql.charCodeAt(i);
    if (c > 0x7e || (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d)) return undefined;
    if (c === Char.QUOTE) {
      if (i > 0 && (isIdentChar(sql.charCodeAt(i - 1)) || sql.charCodeAt(i - 1) === Char.AT)) return undefined;
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
      literals++;
      i = j + 1;
      copied = i;
      continue;
    }
    if (c === Char.BACKTICK) {
      // An identifier, part of the shape: kept as written (`` doubles a backtick inside).
      let j = i + 1;
      for (;;) {
        if (j >= n) return undefined;
        const d = sql.charCodeAt(j);
        if (d > 0x7e || d < 0x20) return undefined;
        if (d === Char.BACKTICK) {
          if (sql.charCodeAt(j + 1) === Char.BACKTICK) {
            j += 2;
            continue;
          }
          break;
        }
        j++;
      }
      i = j + 1;
      continue;
    }
    if (isDigit(c)) {
      const previous = i > 0 ? sql.charCodeAt(i - 1) : 0;
      // `t1` is consumed with its name; digits after a name, a dot or a backtick are part of a name.
      if (isIdentChar(previous) || previous === Char.DOT || previous === Char.BACKTICK) return undefined;
      NUMBER.lastIndex = i;
      const match = NUMBER.exec(sql);
      if (!match) return undefined;
      const next = sql.charCodeAt(i + match[0].length);
      if (isIdentChar(next) || next === Char.DOT || next === Char.QUOTE || next === Char.BACKTICK || next === Char.DOLLAR) return undefined;
      out += sql.slice(copied, i) + '\u0001N';
      literals++;
      i += match[0].length;
      copied = i;
      continue;
    }
    if (isIdentStart(c)) {
      let j = i + 1;
      while (j < n && isIdentChar(sql.charCodeAt(j))) j++;
      i = j;
      continue;
    }
    if (c === Char.DOUBLE_QUOTE || c === Char.BACKSLASH || c === Char.DOLLAR || c === Char.AT || c === Char.HASH) return undefined;
    if (c === Char.DOT && isDigit(sql.charCodeAt(i + 1))) return undefined;
    if ((c === Char.DASH && sql.charCodeAt(i + 1) === Char.DASH) || (c === Char.SLASH && sql.charCodeAt(i + 1) === Char.STAR)) return undefined;
    i++;
  }
  return { template: out + sql.slice(copied), literals };
}

const NUMBER = /\d+(?:\.\d*)?(?:[eE][+-]?\d+)?/y;
