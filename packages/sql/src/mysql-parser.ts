import { MySqlDialect, Parser, init } from '@guanmingchiu/sqlparser-ts';
import { WardenError } from '@warden/core';
import { MAX_EXPRESSION_DEPTH, expressionDepthBound } from './mysql-expression-depth';

// @guanmingchiu/sqlparser-ts is the Rust `sqlparser` crate compiled to WASM; its MySQL dialect is
// the closest thing to MySQL's own grammar that runs in Node. The module is instantiated once
// (asynchronously) so that parsing on the hot path is synchronous.
let loading: Promise<void> | undefined;
let loaded = false;

/**
 * Nested parentheses the parser follows: a few dozen (what generated queries use) instead of its
 * default of 50 recursion steps, about 30 levels; well below what overflows its stack.
 */
const RECURSION_LIMIT = 100;
let parser: Parser | undefined;

/** Loads the MySQL parser (a WASM module). Idempotent; await it once before `classifyMysql`. */
export function loadMysqlParser(): Promise<void> {
  loading ??= init().then(
    () => {
      loaded = true;
    },
    (error: unknown) => {
      loading = undefined;
      throw new WardenError('internal', `cannot load the MySQL parser: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    },
  );
  return loading;
}

/** Statements as the parser's serde JSON (`[{ "Query": {...} }, "UnlockTables"]`), or its error. */
export function parseMysql(sql: string): { readonly statements: readonly unknown[] } | { readonly error: string } {
  if (!loaded) throw new WardenError('internal', 'the MySQL parser is not loaded: await loadMysqlParser() first');
  const depth = expressionDepthBound(sql);
  if (depth > MAX_EXPRESSION_DEPTH) return { error: `expressions nested or chained too deeply to analyse (more than ${MAX_EXPRESSION_DEPTH} levels)` };
  parser ??= new Parser(new MySqlDialect()).withRecursionLimit(RECURSION_LIMIT);
  try {
    const statements = parser.parse(sql) as unknown;
    return Array.isArray(statements) ? { statements } : { error: 'parser returned no statement list' };
  } catch (error) {
    return { error: error instanceof Error ? error.message.replace(/^sql parser error: /, '') : String(error) };
  }
}
