import type { Action, Classification, StatementClass } from '@warden/core';
import { strongerAction } from './action-strength';
import { classifyStatement } from './classify-statement';
import { literalTemplate } from './literal-template';
import { LruCache } from './lru-cache';
import { parsePostgres } from './postgres-parser';
import { isJsonNode } from './statement-tree';

// Prepared statements, ORMs and pgbench send the same text over and over; a result depends on the
// text alone and is frozen, so it can be shared.
const CACHE_CAPACITY = 2_000;
// Long texts (bulk INSERT … VALUES) rarely repeat and would pin a lot of memory.
const MAX_CACHED_LENGTH = 16_384;
const cache = new LruCache<string, Classification>(CACHE_CAPACITY);
/** Analyses that hold for every text of a literal template (see `literalTemplate`). */
const byTemplate = new LruCache<string, Classification>(CACHE_CAPACITY);

/**
 * Classifies a PostgreSQL query string, which may hold several statements, with the real
 * PostgreSQL parser. Synchronous; `loadSqlParsers()` must have resolved first.
 *
 * Text that does not parse is one `unknown` statement (never a guess from keywords); an empty
 * text or one holding only comments is zero statements with action `read`.
 *
 * @example
 * ```ts
 * await loadSqlParsers();
 * classifyPostgres('SELECT 1; DROP TABLE patients');
 * // { action: 'ddl', objects: ['patients'], bulk: false, statementCount: 2, statements: [...] }
 * ```
 */
export function classifyPostgres(sql: string): Classification {
  const cached = cache.get(sql);
  if (cached !== undefined) return cached;
  if (sql.length > MAX_CACHED_LENGTH) return freezeClassification(analyse(sql, undefined));
  // The same statement with other values: reuse its analysis if that never read a literal.
  const template = literalTemplate(sql);
  const shared = template === undefined ? undefined : byTemplate.get(template);
  if (shared !== undefined) {
    cache.set(sql, shared);
    return shared;
  }
  const probe = template === undefined ? undefined : { literalRead: false };
  const result = freezeClassification(analyse(sql, probe));
  cache.set(sql, result);
  if (template !== undefined && probe && !probe.literalRead && result.action !== 'unknown') byTemplate.set(template, result);
  return result;
}

/** For tests: forget every cached analysis. */
export function clearClassificationCache(): void {
  cache.clear();
  byTemplate.clear();
}

function analyse(sql: string, probe: LiteralProbe | undefined): Classification {
  // Parse first: that is also where a missing loadSqlParsers() is caught, whatever the text.
  const parsed = parsePostgres(sql);
  // The parser reads a C string: text after a NUL would never be seen (`SELECT 1\0; DROP …`).
  if (sql.includes('\0')) return single({ action: 'unknown', objects: [], bulk: false, note: 'text contains a NUL character' });
  // libpg-query refuses '' although it accepts whitespace and comments alone.
  if (sql === '') return aggregate([]);
  if ('error' in parsed) return single({ action: 'unknown', objects: [], bulk: false, note: `parse error: ${parsed.error}` });
  if (probe) {
    for (const raw of parsed.statements) {
      // Only plain DML is shared: elsewhere literals can also arrive as bare values (`EXPLAIN
      // (ANALYZE 'off')`, options lists) that the watch below cannot tell from identifiers.
      const kind = isJsonNode(raw.stmt) ? Object.keys(raw.stmt)[0] : undefined;
      if (kind === undefined || !SHAREABLE_STATEMENTS.has(kind)) probe.literalRead = true;
      else watchLiterals(raw.stmt, probe);
    }
  }
  return aggregate(parsed.statements.map((raw) => classifyRaw(raw.stmt)));
}

/** Statement kinds whose literals are all `A_Const` nodes, so that reads of them can be watched. */
const SHAREABLE_STATEMENTS: ReadonlySet<string> = new Set(['SelectStmt', 'InsertStmt', 'UpdateStmt', 'DeleteStmt']);

/** Set when the analysis read any part of a literal (`A_Const`): its result then depends on values. */
interface LiteralProbe {
  literalRead: boolean;
}

/**
 * Turns every field of every `A_Const` in the tree into a getter that flags the probe. The
 * analysis never walks into constants (they hold no relation or call), so a read means that some
 * rule looked at a value (`SET x = off`, `set_config('…')`, `WHERE true`): such an analysis is
 * not shared with other values.
 */
function watchLiterals(node: unknown, probe: LiteralProbe): void {
  if (!isJsonNode(node)) return;
  if (Array.isArray(node)) {
    for (const item of node as unknown[]) watchLiterals(item, probe);
    return;
  }
  for (const key of Object.keys(node)) {
    const child = node[key];
    // An options list (DefElem) may hold literal values as bare nodes: never shared.
    if (key === 'DefElem') probe.literalRead = true;
    if (key === 'A_Const' && isJsonNode(child)) {
      for (const field of Object.keys(child)) {
        const value: unknown = child[field];
        Object.defineProperty(child, field, {
          enumerable: true,
          get: () => {
            probe.literalRead = true;
            return value;
          },
        });
      }
      continue;
    }
    watchLiterals(child, probe);
  }
}

function classifyRaw(statement: unknown): StatementClass {
  if (!isJsonNode(statement)) return { action: 'unknown', objects: [], bulk: false, note: 'statement without a body' };
  try {
    return classifyStatement(statement);
  } catch (error) {
    // A tree too deep for the walk's recursion, or a shape nobody expected: fail closed.
    return { action: 'unknown', objects: [], bulk: false, note: `analysis failed: ${error instanceof Error ? error.message : String(error)}` };
  }
}

function single(statement: StatementClass): Classification {
  return aggregate([statement]);
}

function aggregate(statements: readonly StatementClass[]): Classification {
  // The common case, one statement, shares its (soon frozen) objects instead of copying them.
  const only = statements.length === 1 ? statements[0] : undefined;
  if (only !== undefined) {
    return { action: only.action, objects: only.objects, bulk: only.bulk, ...(only.columns ? { columns: only.columns } : {}), statementCount: 1, statements };
  }
  // An empty query does nothing: `read` is the least an actual statement could be.
  let action: Action = statements.length === 0 ? 'read' : 'connect';
  const objects: string[] = [];
  let bulk = false;
  const columns: string[] = [];
  for (const statement of statements) {
    action = strongerAction(action, statement.action);
    bulk ||= statement.bulk;
    for (const name of statement.objects) if (!objects.includes(name)) objects.push(name);
    for (const name of statement.columns ?? []) if (!columns.includes(name)) columns.push(name);
  }
  // Columns are known when every statement knows its own (the PostgreSQL analysis always does).
  const known = statements.every((statement) => statement.columns !== undefined);
  return { action, objects, bulk, ...(known ? { columns } : {}), statementCount: statements.length, statements };
}

function freezeClassification(classification: Classification): Classification {
  for (const statement of classification.statements) {
    Object.freeze(Object.freeze(statement).objects);
    if (statement.columns) Object.freeze(statement.columns);
    if (statement.functions) Object.freeze(statement.functions);
    if (statement.operators) Object.freeze(statement.operators);
    if (statement.rowFields) Object.freeze(statement.rowFields);
  }
  if (classification.columns) Object.freeze(classification.columns);
  Object.freeze(classification.statements);
  Object.freeze(classification.objects);
  return Object.freeze(classification);
}
