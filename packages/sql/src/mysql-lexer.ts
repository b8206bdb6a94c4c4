/**
 * A MySQL/MariaDB lexer that knows only what decides where statements begin and end and what the
 * server will actually execute: strings (backslash escapes and doubled quotes), backtick
 * identifiers, the three comment forms, and executable comments (`/*! … *\/`, `/*M! … *\/`).
 *
 * https://dev.mysql.com/doc/refman/8.0/en/comments.html
 * https://mariadb.com/kb/en/comment-syntax/
 *
 * The parser behind `classifyMysql` reads executable comments inconsistently (sometimes as code,
 * sometimes as a comment), and the server's own reading depends on its version. So this lexer
 * decides: an executable comment any supported server runs (no version, or a version up to
 * `MAX_EXECUTED_VERSION`) is unwrapped into plain code; one whose meaning depends on the server's
 * version, or MariaDB's `/*M!` form (MySQL ignores it, MariaDB runs it), is refused.
 *
 * Strings and quoted names are read as the session's sql_mode says (NO_BACKSLASH_ESCAPES,
 * ANSI_QUOTES). The parser behind `classifyMysql` only knows the default reading, so under any
 * other one the code handed on is rewritten: each string as `'…'` with backslash escapes, each
 * `"…"` identifier in backticks. The parser then reads the same values and names the server will.
 */

import { DEFAULT_MYSQL_LEXER_SETTINGS, isDefaultMysqlLexerSettings, type MysqlLexerSettings } from './mysql-lexer-settings';

/** MySQL ≥ 8.0 and MariaDB ≥ 10 run `/*!NNNNN … *\/` as code up to this version. */
const MAX_EXECUTED_VERSION = 80000;

export interface MysqlToken {
  readonly kind: 'word' | 'string' | 'identifier' | 'punct';
  /** Words upper-cased; strings and identifiers unquoted; punctuation as written. */
  readonly text: string;
  /** Words as written. */
  readonly raw?: string;
}

export interface MysqlStatementText {
  /** The statement as the server will read it, executable comments unwrapped. */
  readonly code: string;
  readonly tokens: readonly MysqlToken[];
}

export type MysqlLexResult =
  | { readonly ok: true; readonly code: string; readonly statements: readonly MysqlStatementText[] }
  | { readonly ok: false; readonly error: string };

const enum Char {
  Tab = 0x09,
  Newline = 0x0a,
  Return = 0x0d,
  Space = 0x20,
  Bang = 0x21,
  DoubleQuote = 0x22,
  Hash = 0x23,
  Quote = 0x27,
  Star = 0x2a,
  Dash = 0x2d,
  Slash = 0x2f,
  Semicolon = 0x3b,
  Backslash = 0x5c,
  Backtick = 0x60,
  M = 0x4d,
}

/** Splits MySQL text into statements and unwraps executable comments; refuses what it cannot read. */
export function lexMysql(sql: string, settings: MysqlLexerSettings = DEFAULT_MYSQL_LEXER_SETTINGS): MysqlLexResult {
  const rewrite = !isDefaultMysqlLexerSettings(settings);
  const out: string[] = [];
  const statements: MysqlStatementText[] = [];
  let current: string[] = [];
  let tokens: MysqlToken[] = [];
  let inExecutable = false;
  let i = 0;
  const n = sql.length;
  const emit = (text: string): void => {
    out.push(text);
    current.push(text);
  };
  const endStatement = (): void => {
    if (tokens.length > 0) statements.push({ code: current.join('').trim(), tokens });
    current = [];
    tokens = [];
  };

  while (i < n) {
    const c = sql.charCodeAt(i);
    if (c === Char.Quote || c === Char.DoubleQuote || c === Char.Backtick) {
      const identifier = c === Char.Backtick || (c === Char.DoubleQuote && settings.ansiQuotes);
      const escapes = !identifier && !settings.noBackslashEscapes;
      const end = quotedEnd(sql, i, c, escapes);
      if (end === -1) return { ok: false, error: 'unterminated quoted text' };
      const raw = sql.slice(i, end);
      const text = unquote(raw, c, escapes);
      emit(rewrite ? (identifier ? backticked(text) : escapedString(text)) : raw);
      tokens.push({ kind: identifier ? 'identifier' : 'string', text });
      i = end;
      continue;
    }
    if (c === Char.Hash || (c === Char.Dash && sql.charCodeAt(i + 1) === Char.Dash && isDashCommentEnd(sql.charCodeAt(i + 2)))) {
      // A line comment ends at the newline; inside an executable comment it ends the whole thing
      // only when the server says so, which is never what a client means: refuse.
      if (inExecutable) return { ok: false, error: 'line comment inside an executable comment' };
      const newline = sql.indexOf('\n', i);
      const end = newline === -1 ? n : newline;
      emit(' '.repeat(end - i));
      i = end;
      continue;
    }
    if (c === Char.Slash && sql.charCodeAt(i + 1) === Char.Star) {
      const executable = executableComment(sql, i);
      if (executable !== undefined) {
        if ('error' in executable) return { ok: false, error: executable.error };
        if (inExecutable) return { ok: false, error: 'nested executable comment' };
        inExecutable = true;
        emit(' '.repeat(executable.length));
        i += executable.length;
        continue;
      }
      const close = sql.indexOf('*/', i + 2);
      if (close === -1) return { ok: false, error: 'unterminated comment' };
      emit(' '.repeat(close + 2 - i));
      i = close + 2;
      continue;
    }
    if (inExecutable && c === Char.Star && sql.charCodeAt(i + 1) === Char.Slash) {
      inExecutable = false;
      emit('  ');
      i += 2;
      continue;
    }
    if (c === Char.Semicolon) {
      out.push(';');
      endStatement();
      i++;
      continue;
    }
    if (isSpace(c)) {
      emit(sql[i]!);
      i++;
      continue;
    }
    if (isWordChar(c)) {
      let end = i + 1;
      while (end < n && isWordChar(sql.charCodeAt(end))) end++;
      const word = sql.slice(i, end);
      emit(word);
      tokens.push({ kind: 'word', text: word.toUpperCase(), raw: word });
      i = end;
      continue;
    }
    emit(sql[i]!);
    tokens.push({ kind: 'punct', text: sql[i]! });
    i++;
  }
  if (inExecutable) return { ok: false, error: 'unterminated executable comment' };
  endStatement();
  return { ok: true, code: out.join(''), statements };
}

/** Index after the closing quote, or -1. Backslash escapes only in strings, and only when the sql_mode has them. */
function quotedEnd(sql: string, start: number, quote: number, escapes: boolean): number {
  let i = start + 1;
  while (i < sql.length) {
    const c = sql.charCodeAt(i);
    if (c === Char.Backslash && escapes) {
      i += 2;
      continue;
    }
    if (c === quote) {
      if (sql.charCodeAt(i + 1) === quote) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    i++;
  }
  return -1;
}

function unquote(raw: string, quote: number, escapes: boolean): string {
  const body = raw.slice(1, -1);
  const q = String.fromCharCode(quote);
  if (!escapes) return body.split(q + q).join(q);
  // Left to right, so that `\\'` and `''` inside one string are each read once.
  return body.replace(/\\(.)|(['"])\2/gs, (whole: string, escaped: string | undefined, doubled: string | undefined) => {
    if (doubled !== undefined) return doubled === q ? q : whole;
    return ESCAPES[escaped!] ?? escaped!;
  });
}

/** MySQL's string escapes; `\%` and `\_` keep their backslash (LIKE patterns). https://dev.mysql.com/doc/refman/8.0/en/string-literals.html */
const ESCAPES: Readonly<Record<string, string>> = { '0': '\0', n: '\n', r: '\r', t: '\t', b: '\b', Z: '\x1a', '%': '\\%', _: '\\_' };

/** A string the parser reads with its default rules (backslash escapes) as exactly `text`. */
function escapedString(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function backticked(text: string): string {
  return `\`${text.replace(/`/g, '``')}\``;
}

/**
 * `/*!`, `/*!NNNNN`, `/*M!NNNNNN` at `start`: the length of the opener to unwrap, an error for a
 * form Warden refuses, or undefined for an ordinary comment (including `/*+` optimizer hints).
 */
function executableComment(sql: string, start: number): { length: number } | { error: string } | undefined {
  let i = start + 2;
  const mariadb = sql.charCodeAt(i) === Char.M && sql.charCodeAt(i + 1) === Char.Bang;
  if (mariadb) return { error: 'MariaDB executable comment /*M! … */ (MySQL ignores it, MariaDB runs it)' };
  if (sql.charCodeAt(i) !== Char.Bang) return undefined;
  i++;
  let digits = '';
  while (digits.length < 6 && i < sql.length && isDigit(sql.charCodeAt(i))) digits += sql[i++];
  if (digits.length === 0) return { length: i - start };
  // Older servers read five digits as the version and the sixth as code; newer ones read six.
  if (digits.length !== 5) return { error: `executable comment with an ambiguous version /*!${digits}` };
  if (Number(digits) > MAX_EXECUTED_VERSION) return { error: `executable comment /*!${digits} … */ runs only on some server versions` };
  return { length: i - start };
}

function isDashCommentEnd(c: number): boolean {
  // `--` starts a comment only when followed by whitespace or a control character (or the end).
  return Number.isNaN(c) || c <= Char.Space;
}

function isSpace(c: number): boolean {
  return c === Char.Space || c === Char.Tab || c === Char.Newline || c === Char.Return || c === 0x0b || c === 0x0c;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isWordChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c === 0x24 || c === 0x40 || c > 0x7f;
}
