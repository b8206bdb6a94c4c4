import type { Action, Classification, StatementClass } from '@warden/core';
import { strongerAction } from './action-strength';
import { classifyMysqlStatement, literalVariant, mysqlCatalogWrite } from './classify-mysql-statement';
import { LruCache } from './lru-cache';
import { lexMysql, type MysqlStatementText, type MysqlToken } from './mysql-lexer';
import { DEFAULT_MYSQL_LEXER_SETTINGS, isDefaultMysqlLexerSettings, type MysqlLexerSettings } from './mysql-lexer-settings';
import { mysqlLiteralTemplate } from './mysql-literal-template';
import { neutralRewrite, outsideQuotes } from './mysql-neutral-rewrites';
import { parseMysql } from './mysql-parser';
import { mysqlPreparedStatementUses, plainUsing } from './mysql-prepared-statements';

const CACHE_CAPACITY = 2_000;
const MAX_CACHED_LENGTH = 16_384;
const cache = new LruCache<string, Classification>(CACHE_CAPACITY);
/** Analyses under other lexer settings, one cache per combination (a key prefix could collide with a text). */
const cacheBySettings = new Map<string, LruCache<string, Classification>>();
/** Analyses that hold for every text of a literal template (see `mysqlLiteralTemplate`). */
const byTemplate = new LruCache<string, Classification>(CACHE_CAPACITY);

/**
 * What the analysis of one text did with its literals: it may be shared with the other texts of
 * its template only when every statement was plain DML that parsed, the parser saw exactly the
 * literals the template lexer replaced, and no rule read any of their values.
 */
interface LiteralProbe {
  literalRead: boolean;
  shareable: boolean;
  literals: number;
}

/** Statement variants whose literals are all `ValueWithSpan` nodes, so that reads of them can be watched. */
const SHAREABLE_STATEMENTS: ReadonlySet<string> = new Set(['Query', 'Insert', 'Update', 'Delete']);

/**
 * Classifies a MySQL/MariaDB query string, which may hold several statements. Synchronous;
 * `loadMysqlParser()` must have resolved first.
 *
 * Warden's own lexer splits the text where the server will (strings, backticks, `#`, `-- `,
 * comments) and unwraps executable comments `/*! … *\/` into code, refusing the version-dependent
 * ones; each statement is then parsed by a real SQL parser (MySQL dialect). A handful of MySQL
 * statements that parser does not know (LOAD DATA, HANDLER, DO, PREPARE … FROM, XA, SELECT … INTO
 * OUTFILE) are recognised by their leading keywords, only where the action does not depend on the
 * rest of the statement. Everything else that does not parse is `unknown` (fail closed).
 *
 * `settings` are the session's sql_mode flags that change how text is read (see
 * `MysqlLexerSettings`); the adapter passes the values the target reports.
 *
 * @example
 * ```ts
 * await loadMysqlParser();
 * classifyMysql('SELECT 1; /*!40000 DROP TABLE patients *\/');
 * // { action: 'ddl', objects: ['patients'], bulk: false, statementCount: 2, … }
 * ```
 */
export function classifyMysql(sql: string, settings: MysqlLexerSettings = DEFAULT_MYSQL_LEXER_SETTINGS): Classification {
  if (!isDefaultMysqlLexerSettings(settings)) return classifyWithSettings(sql, settings);
  const cached = cache.get(sql);
  if (cached !== undefined) return cached;
  if (sql.length > MAX_CACHED_LENGTH) return freeze(analyse(sql, undefined, settings));
  // The same statement with other values: reuse its analysis if that never read a literal.
  const shape = mysqlLiteralTemplate(sql);
  const shared = shape === undefined ? undefined : byTemplate.get(shape.template);
  if (shared !== undefined) {
    cache.set(sql, shared);
    return shared;
  }
  const probe: LiteralProbe | undefined = shape === undefined ? undefined : { literalRead: false, shareable: true, literals: 0 };
  const result = freeze(analyse(sql, probe, settings));
  cache.set(sql, result);
  if (shape !== undefined && probe && probe.shareable && !probe.literalRead && probe.literals === shape.literals && result.action !== 'unknown') {
    byTemplate.set(shape.template, result);
  }
  return result;
}

/** Under ANSI_QUOTES or NO_BACKSLASH_ESCAPES: no literal templates (their lexer reads the default way). */
function classifyWithSettings(sql: string, settings: MysqlLexerSettings): Classification {
  const key = `${settings.ansiQuotes ? 'A' : '-'}${settings.noBackslashEscapes ? 'B' : '-'}`;
  let own = cacheBySettings.get(key);
  if (own === undefined) {
    own = new LruCache<string, Classification>(CACHE_CAPACITY);
    cacheBySettings.set(key, own);
  }
  const cached = own.get(sql);
  if (cached !== undefined) return cached;
  const result = freeze(analyse(sql, undefined, settings));
  if (sql.length <= MAX_CACHED_LENGTH) own.set(sql, result);
  return result;
}

/** For tests: forget every cached analysis. */
export function clearMysqlClassificationCache(): void {
  cache.clear();
  byTemplate.clear();
  cacheBySettings.clear();
}

function analyse(sql: string, probe: LiteralProbe | undefined, settings: MysqlLexerSettings): Classification {
  if (sql.includes('\0')) return aggregate([unknown('text contains a NUL character')]);
  const lexed = lexMysql(sql, settings);
  if (!lexed.ok) return aggregate([unknown(lexed.error)]);
  if (probe && lexed.statements.length === 0) probe.shareable = false;
  const last = lexed.statements.length - 1;
  return aggregate(
    lexed.statements.map((statement, index) =>
      // The server reads the statements after this one with the new setting, Warden would not.
      index < last && changesReading(statement.tokens) ? unknown('changes the sql_mode or character set, which decides how the statements after it are read: send it on its own') : markCopiesToSession(classifyText(statement, probe, settings), statement.tokens),
    ),
  );
}

/**
 * MariaDB's `EXECUTE IMMEDIATE 'text' [USING values]`: what the literal text does. Text from a
 * variable or an expression cannot be judged, nor arguments that are expressions (they can call
 * functions).
 */
function executeImmediate(tokens: readonly MysqlToken[], settings: MysqlLexerSettings): StatementClass {
  const text = tokens[2];
  if (text?.kind !== 'string') return unknown('EXECUTE IMMEDIATE of a variable or an expression: the text cannot be judged; send the statement itself');
  if (tokens.length > 3) {
    if (tokens[3]?.kind !== 'word' || tokens[3].text !== 'USING' || !plainUsing(tokens.slice(4))) {
      return unknown('EXECUTE IMMEDIATE … USING takes only user variables and literals here');
    }
  }
  return preparedText(text.text, settings, 'EXECUTE IMMEDIATE');
}

/** The one statement a PREPARE or EXECUTE IMMEDIATE runs, which may not itself prepare, execute or deallocate one. */
function preparedText(text: string, settings: MysqlLexerSettings, what: string): StatementClass {
  const inner = classifyMysql(text, settings);
  if (inner.statementCount !== 1) return unknown(`${what} text must hold exactly one statement`);
  const use = mysqlPreparedStatementUses(text, settings)?.[0];
  const first = lexMysql(text, settings);
  const leading = first.ok ? first.statements[0]?.tokens[0] : undefined;
  if (use === undefined || use.kind !== 'other' || (leading?.kind === 'word' && leading.text === 'EXECUTE')) {
    return unknown(`${what} of PREPARE, EXECUTE or DEALLOCATE PREPARE cannot be followed`);
  }
  return inner.statements[0]!;
}

/** Settings whose change alters how the server reads the text after the statement. */
const READING_SETTINGS: ReadonlySet<string> = new Set(['SQL_MODE', 'NAMES', 'CHARSET', 'CHARACTER', 'CHARACTER_SET_CLIENT', 'CHARACTER_SET_CONNECTION', 'COLLATION_CONNECTION']);

/** A SET that may change how text is read (over-matching only costs a statement its neighbours). */
function changesReading(tokens: readonly MysqlToken[]): boolean {
  if (tokens[0]?.kind !== 'word' || tokens[0].text !== 'SET') return false;
  // Names may be quoted (`sql_mode`), so identifiers count as well as words.
  return tokens.some((token) => (token.kind === 'word' || token.kind === 'identifier') && READING_SETTINGS.has(token.text.toUpperCase().replace(/^@@/, '')));
}

function classifyText(statement: MysqlStatementText, probe: LiteralProbe | undefined, settings: MysqlLexerSettings): StatementClass {
  if (statement.tokens[0]?.text === 'EXECUTE' && statement.tokens[1]?.text === 'IMMEDIATE' && statement.tokens[1].kind === 'word') {
    if (probe) probe.shareable = false;
    return executeImmediate(statement.tokens, settings);
  }
  const parsed = parseMysql(statement.code);
  if (probe && (!('statements' in parsed) || parsed.statements.length !== 1)) probe.shareable = false;
  if ('statements' in parsed) {
    // One statement by the lexer must be one by the parser; anything else is a disagreement about
    // where statements end, which is exactly what an attacker would look for.
    if (parsed.statements.length !== 1) return unknown(`parser found ${parsed.statements.length} statements where the server sees one`);
    if (probe) {
      const tree = parsed.statements[0];
      const variant = isObject(tree) && !Array.isArray(tree) && Object.keys(tree).length === 1 ? Object.keys(tree)[0]! : undefined;
      if (variant === undefined || !SHAREABLE_STATEMENTS.has(variant)) probe.shareable = false;
      else watchLiterals(tree, probe);
    }
    try {
      return classifyMysqlStatement(parsed.statements[0], { setGlobal: isSetGlobal(statement.tokens) });
    } catch (error) {
      return unknown(`analysis failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  // MySQL spellings the parser lacks whose removal changes nothing Warden judges (WITH ROLLUP, …).
  const rewritten = neutralRewrite(statement.code);
  if (rewritten !== undefined) {
    const again = parseMysql(rewritten);
    if ('statements' in again && again.statements.length === 1) {
      try {
        return classifyMysqlStatement(again.statements[0], { setGlobal: isSetGlobal(statement.tokens) });
      } catch (error) {
        return unknown(`analysis failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }
  return recognise(statement, settings) ?? unknown(`parse error: ${parsed.error}`);
}

/** MySQL statements the parser does not know, where the leading keywords decide the action. */
function recognise(statement: MysqlStatementText, settings: MysqlLexerSettings): StatementClass | undefined {
  const { tokens, code } = statement;
  const word = (index: number): string | undefined => (tokens[index]?.kind === 'word' ? tokens[index].text : undefined);
  const first = word(0);
  const has = (...sequence: string[]): boolean => indexOfWords(tokens, sequence) !== -1;
  switch (first) {
    case 'LOAD': {
      if (word(1) !== 'DATA' && word(1) !== 'XML') return undefined;
      const into = indexOfWords(tokens, ['INTO', 'TABLE']);
      const objects = into === -1 ? [] : tableAfter(tokens, into + 2);
      const local = tokens.slice(2, 5).some((token) => token.kind === 'word' && token.text === 'LOCAL');
      const catalogWrite = mysqlCatalogWrite('write', objects);
      if (catalogWrite !== undefined) return { action: 'admin', objects, bulk: true, note: catalogWrite };
      return local
        ? { action: 'write', objects, bulk: true, note: 'LOAD DATA LOCAL reads a file from the client' }
        : { action: 'admin', objects, bulk: true, note: 'LOAD DATA reads a file on the database server' };
    }
    case 'HANDLER':
      return judgeHandler(tokens);
    case 'DO': {
      // DO evaluates expressions and discards the result: what SELECT of them would do.
      const asSelect = parseMysql(`SELECT${code.slice(2)}`);
      if (!('statements' in asSelect) || asSelect.statements.length !== 1) return undefined;
      return classifyMysqlStatement(asSelect.statements[0]);
    }
    case 'PREPARE': {
      const text = tokens[3];
      if (word(2) !== 'FROM' || text?.kind !== 'string' || tokens.length !== 4) {
        return { action: 'unknown', objects: [], bulk: false, note: 'PREPARE from a variable: the text cannot be judged' };
      }
      // PREPARE runs nothing yet, but EXECUTE carries no text to judge: decide on the text now.
      return preparedText(text.text, settings, 'PREPARE');
    }
    case 'DROP':
      // DROP PREPARE s: DEALLOCATE PREPARE's other spelling.
      return word(1) === 'PREPARE' && tokens.length === 3 ? { action: 'session', objects: [], bulk: false } : undefined;
    case 'XA':
      return { action: 'admin', objects: [], bulk: false, note: 'two-phase commit' };
    case 'SHOW': {
      // SHOW … WHERE <expression> (SHOW FUNCTION STATUS WHERE Db = …, what dump tools send) in the
      // forms the parser lacks: SHOW reads, and its condition is judged as the same condition of a SELECT.
      const where = tokens.findIndex((token) => token.kind === 'word' && token.text === 'WHERE');
      if (where < 2 || tokens.slice(1, where).some((token) => token.kind !== 'word')) return undefined;
      const condition = /\bWHERE\b/i.exec(code);
      if (!condition) return undefined;
      const asSelect = parseMysql(`SELECT 1 WHERE ${code.slice(condition.index + condition[0].length)}`);
      if (!('statements' in asSelect) || asSelect.statements.length !== 1) return undefined;
      return classifyMysqlStatement(asSelect.statements[0]);
    }
    case 'ANALYZE': {
      // MariaDB's ANALYZE [FORMAT=JSON] <statement> runs the statement and reports how it ran:
      // it does what the statement does. (ANALYZE TABLE parses, and is admin.)
      const skip = word(1) === 'FORMAT' && tokens[2]?.text === '=' && (word(3) === 'JSON' || word(3) === 'TRADITIONAL') ? 4 : 1;
      const inner = word(skip);
      if (inner !== 'SELECT' && inner !== 'WITH' && inner !== 'UPDATE' && inner !== 'DELETE' && inner !== 'INSERT' && inner !== 'REPLACE') return undefined;
      const rest = /^\s*ANALYZE(?:\s+FORMAT\s*=\s*(?:JSON|TRADITIONAL))?\s+/i.exec(code);
      if (!rest) return undefined;
      // The code is already in the parser's default quoting, whatever the session's sql_mode.
      const analysed = classifyMysql(code.slice(rest[0].length));
      return analysed.statementCount === 1 ? analysed.statements[0] : undefined;
    }
    case 'START': {
      // START TRANSACTION WITH CONSISTENT SNAPSHOT (what dump tools send): the snapshot option
      // changes when the transaction's view is taken, nothing else; the other modes still count.
      if (word(1) !== 'TRANSACTION' || !has('WITH', 'CONSISTENT', 'SNAPSHOT')) return undefined;
      const reparsed = parseMysql(code.replace(/\bWITH\s+CONSISTENT\s+SNAPSHOT\b\s*(?:,\s*)?/i, '').replace(/,\s*$/, ''));
      if (!('statements' in reparsed) || reparsed.statements.length !== 1) return undefined;
      return classifyMysqlStatement(reparsed.statements[0]);
    }
    case 'OPTIMIZE':
    case 'REPAIR':
    case 'CHECK':
    case 'CHECKSUM':
      return word(1) === 'TABLE' || word(1) === 'TABLES' ? { action: 'admin', objects: tableAfter(tokens, 2), bulk: false, note: 'table maintenance' } : undefined;
    case 'SET':
      // `SET @x := 5`: MySQL's other assignment operator, which the parser reads only in expressions.
      if (tokens.some((token, index) => token.text === ':' && tokens[index + 1]?.text === '=')) {
        const reparsed = parseMysql(outsideQuotes(code, (part) => part.replace(/:=/g, '=')));
        if ('statements' in reparsed && reparsed.statements.length === 1) return classifyMysqlStatement(reparsed.statements[0], { setGlobal: isSetGlobal(tokens) });
      }
      // SET CHARACTER SET x / SET CHARSET x, which the parser does not read.
      if ((word(1) === 'CHARACTER' && word(2) === 'SET') || word(1) === 'CHARSET') {
        const reparsed = parseMysql(`SET NAMES ${tokens[word(1) === 'CHARSET' ? 2 : 3]?.text ?? ''}`);
        if ('statements' in reparsed && reparsed.statements.length === 1 && tokens.length === (word(1) === 'CHARSET' ? 3 : 4)) return classifyMysqlStatement(reparsed.statements[0]);
      }
      return undefined;
    case 'SELECT':
    case 'WITH':
    case undefined:
      if (has('INTO', 'OUTFILE') || has('INTO', 'DUMPFILE')) return { action: 'admin', objects: [], bulk: false, note: 'SELECT … INTO OUTFILE/DUMPFILE writes a file on the database server' };
      if (first === 'SELECT' && has('INTO') && !has('INTO', 'OUTFILE') && !has('INTO', 'DUMPFILE')) {
        // SELECT … INTO @a, @b (into user variables, anywhere the server allows it): the parser
        // reads only one variable. Storing a value in the session's own variables reads nothing more.
        const stripped = outsideQuotes(code, (part) => part.replace(/\bINTO\s+@[A-Za-z0-9_$.]+(?:\s*,\s*@[A-Za-z0-9_$.]+)*/gi, ''));
        const reparsed = stripped === code ? undefined : parseMysql(stripped);
        if (reparsed && 'statements' in reparsed && reparsed.statements.length === 1) return classifyMysqlStatement(reparsed.statements[0]);
      }
      if (first === 'SELECT' && /\bLOCK\s+IN\s+SHARE\s+MODE\s*$/i.test(code)) {
        // The older spelling of FOR SHARE, which the parser does not know.
        const reparsed = parseMysql(code.replace(/\bLOCK\s+IN\s+SHARE\s+MODE\s*$/i, 'FOR SHARE'));
        if ('statements' in reparsed && reparsed.statements.length === 1) return classifyMysqlStatement(reparsed.statements[0]);
      }
      return undefined;
    default:
      return undefined;
  }
}

/** `SET GLOBAL …` or `SET @@GLOBAL.…` as its first assignment: the parser forgets the scope of `SET GLOBAL TRANSACTION`. */
function isSetGlobal(tokens: readonly MysqlToken[]): boolean {
  return tokens[0]?.kind === 'word' && tokens[0].text === 'SET' && tokens[1]?.kind === 'word' && (tokens[1].text === 'GLOBAL' || tokens[1].text.startsWith('@@GLOBAL'));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/**
 * Counts the literals of a statement tree and turns each one's value into a getter that flags the
 * probe: the analysis does not walk into literals (see `literalVariant`), so a read means that some
 * rule looked at a value, and the analysis is not shared with other values.
 */
function watchLiterals(node: unknown, probe: LiteralProbe): void {
  if (!isObject(node)) return;
  if (Array.isArray(node)) {
    for (const item of node as unknown[]) watchLiterals(item, probe);
    return;
  }
  const variant = literalVariant(node);
  if (variant !== undefined) {
    probe.literals++;
    const holder = node['value'] as Record<string, unknown>;
    const value = holder[variant];
    Object.defineProperty(holder, variant, {
      enumerable: true,
      get: () => {
        probe.literalRead = true;
        return value;
      },
    });
    return;
  }
  for (const key of Object.keys(node)) watchLiterals(node[key], probe);
}

function indexOfWords(tokens: readonly MysqlToken[], sequence: readonly string[]): number {
  outer: for (let i = 0; i + sequence.length <= tokens.length; i++) {
    for (let j = 0; j < sequence.length; j++) {
      const token = tokens[i + j]!;
      if (token.kind !== 'word' || token.text !== sequence[j]) continue outer;
    }
    return i;
  }
  return -1;
}

/** `name` or `schema.name` starting at `index` (words or backtick identifiers), as written. */
function tableAfter(tokens: readonly MysqlToken[], index: number): string[] {
  const part = (token: MysqlToken | undefined): string | undefined => (token && (token.kind === 'identifier' || token.kind === 'word') ? (token.raw ?? token.text) : undefined);
  const first = part(tokens[index]);
  if (first === undefined) return [];
  const second = tokens[index + 1]?.text === '.' ? part(tokens[index + 2]) : undefined;
  const name = second === undefined ? first : `${first}.${second}`;
  return [name];
}

/**
 * HANDLER reads a table row by row; its result carries the table's column definitions, so masking
 * applies as to a SELECT. Two forms are refused (unknown): `OPEN … [AS] alias`, because later
 * commands would name the alias and rules decide on table names; and `READ` with key values or a
 * WHERE condition, whose expressions can call functions (`WHERE GET_LOCK(…)`) that this
 * token-level reading does not judge — a SELECT does the same and is analysed.
 */
function judgeHandler(tokens: readonly MysqlToken[]): StatementClass {
  const objects = tableAfter(tokens, 1);
  const verb = tokens.findIndex((token, index) => index > 1 && token.kind === 'word' && (token.text === 'OPEN' || token.text === 'READ' || token.text === 'CLOSE'));
  const action = verb === -1 ? undefined : tokens[verb]!.text;
  if (action === 'OPEN' && verb === tokens.length - 1) return { action: 'read', objects, bulk: false, note: 'HANDLER reads a table directly' };
  if (action === 'OPEN') return unknown('HANDLER … OPEN under an alias: Warden decides on table names; open the handler under the table\'s own name');
  if (action === 'CLOSE') return { action: 'read', objects, bulk: false };
  if (action !== 'READ') return unknown('HANDLER statement Warden cannot read');
  const rest = tokens.slice(verb + 1);
  if (rest.some((token) => token.text === '(' || (token.kind === 'word' && token.text === 'WHERE'))) {
    return unknown('HANDLER … READ with key values or a WHERE condition: Warden cannot analyse its expressions; use SELECT');
  }
  return { action: 'read', objects, bulk: false, note: 'HANDLER reads a table directly' };
}

/**
 * Flags a statement that reads tables and assigns a variable (see `StatementClass.copiesToSession`):
 * a user variable anywhere, or any variable of a SET — a session system variable can hold any text
 * too (MariaDB's default_master_connection) and reads back as `@@name` — or the session's last
 * insert id (`LAST_INSERT_ID(expr)` keeps expr for `LAST_INSERT_ID()` to return later).
 */
function markCopiesToSession(statement: StatementClass, tokens: readonly MysqlToken[]): StatementClass {
  if (statement.objects.length === 0) return statement;
  const isSet = tokens[0]?.kind === 'word' && tokens[0].text === 'SET';
  if (!isSet && !assignsUserVariable(tokens) && !setsLastInsertId(tokens)) return statement;
  return { ...statement, copiesToSession: true };
}

/** `LAST_INSERT_ID(expr)`: a call with an argument (without one it only reads). */
function setsLastInsertId(tokens: readonly MysqlToken[]): boolean {
  return tokens.some(
    (token, index) => token.kind === 'word' && token.text === 'LAST_INSERT_ID' && tokens[index + 1]?.text === '(' && tokens[index + 2] !== undefined && tokens[index + 2]!.text !== ')',
  );
}

/** `@v := …` or `INTO @v[, …]`: a user variable (not `@@system`) being assigned outside a SET. */
function assignsUserVariable(tokens: readonly MysqlToken[]): boolean {
  for (let index = 0; index < tokens.length; index++) {
    const token = tokens[index]!;
    const variable = token.kind === 'word' && token.text.startsWith('@') && !token.text.startsWith('@@');
    if (!variable) continue;
    // `@x` is one word; `@'x'` and ``@`x` `` are a bare `@` and a quoted name.
    const next = token.text === '@' ? index + 2 : index + 1;
    const assigned = tokens[next]?.text === ':' && tokens[next + 1]?.text === '=';
    const previous = tokens[index - 1];
    const intoList = previous?.kind === 'word' && previous.text === 'INTO';
    if (assigned || intoList) return true;
  }
  return false;
}

function unknown(note: string): StatementClass {
  return { action: 'unknown', objects: [], bulk: false, note };
}

function aggregate(statements: readonly StatementClass[]): Classification {
  const only = statements.length === 1 ? statements[0] : undefined;
  if (only !== undefined) return { action: only.action, objects: only.objects, bulk: only.bulk, statementCount: 1, statements };
  let action: Action = statements.length === 0 ? 'read' : 'connect';
  const objects: string[] = [];
  let bulk = false;
  for (const statement of statements) {
    action = strongerAction(action, statement.action);
    bulk ||= statement.bulk;
    for (const name of statement.objects) if (!objects.includes(name)) objects.push(name);
  }
  return { action, objects, bulk, statementCount: statements.length, statements };
}

function freeze(classification: Classification): Classification {
  for (const statement of classification.statements) Object.freeze(Object.freeze(statement).objects);
  Object.freeze(classification.statements);
  Object.freeze(classification.objects);
  return Object.freeze(classification);
}
