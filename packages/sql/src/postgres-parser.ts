import { loadModule, parseSync } from 'libpg-query';
import type { RawStmt } from 'libpg-query';
import { WardenError } from '@warden/core';

// libpg-query is the PostgreSQL 18 parser compiled to WASM: the module must be instantiated once
// (asynchronously) before the synchronous `parseSync` can be used on the hot path.
let loading: Promise<void> | undefined;
let loaded = false;

/**
 * Loads the SQL parsers (the PostgreSQL parser's WASM module). Idempotent; await it once at
 * startup, before the first `classifyPostgres` call.
 */
export function loadSqlParsers(): Promise<void> {
  loading ??= loadModule().then(
    () => {
      loaded = true;
    },
    (error: unknown) => {
      // Let a later call retry instead of remembering the failure forever.
      loading = undefined;
      throw new WardenError('internal', 'could not load the PostgreSQL parser', { cause: error });
    },
  );
  return loading;
}

/** Whether `loadSqlParsers` has completed (the synchronous scanner and parser are usable). */
export function isSqlParserLoaded(): boolean {
  return loaded;
}

/** The parser's statements, or the first line of its error message when the text is not valid SQL. */
export type PostgresParse = { readonly statements: readonly RawStmt[] } | { readonly error: string };

/**
 * Parses with the real PostgreSQL grammar. Throws only when the parser is not loaded (a
 * programming error); invalid SQL is a result, not an exception.
 */
export function parsePostgres(sql: string): PostgresParse {
  if (!loaded) throw new WardenError('internal', 'the SQL parser is not loaded: await loadSqlParsers() before classifyPostgres()');
  try {
    return { statements: parseSync(sql).stmts ?? [] };
  } catch (error) {
    // Besides syntax errors this catches a RangeError from trees nested too deep to convert.
    const message = error instanceof Error ? error.message : String(error);
    return { error: message.split('\n', 1)[0] ?? message };
  }
}
