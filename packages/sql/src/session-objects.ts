import { scanSync } from 'libpg-query';
import { parsePostgres } from './postgres-parser';
import { isJsonNode, type JsonNode } from './statement-tree';

/**
 * What one statement does with the session's named objects: SQL-level prepared statements
 * (PREPARE, EXECUTE, DEALLOCATE) and cursors (DECLARE, FETCH, MOVE, CLOSE). Names are as the
 * parser folds them (`EXECUTE Foo` names `foo`).
 */
export type SessionObjectUse =
  | { readonly kind: 'none' }
  /** `query`: the prepared statement's own text, as EXECUTE will run it. */
  | { readonly kind: 'prepare'; readonly name: string; readonly query: string }
  | { readonly kind: 'execute'; readonly name: string }
  /** `name` undefined: DEALLOCATE ALL. */
  | { readonly kind: 'deallocate'; readonly name: string | undefined }
  /** `query`: the cursor's query, as FETCH will run it; `hold`: WITH HOLD (outlives its transaction). */
  | { readonly kind: 'declare'; readonly name: string; readonly query: string; readonly hold: boolean }
  | { readonly kind: 'fetch'; readonly name: string; readonly move: boolean }
  /** `name` undefined: CLOSE ALL. */
  | { readonly kind: 'close'; readonly name: string | undefined }
  | { readonly kind: 'discard-all' }
  /** An EXECUTE inside another statement (`CREATE TABLE … AS EXECUTE`, `EXPLAIN EXECUTE`). */
  | { readonly kind: 'nested-execute' };

const NONE: SessionObjectUse = { kind: 'none' };
/**
 * Keywords without which a text cannot use a session object: most texts are never parsed here. A
 * keyword is a token of its own, so it stands between word boundaries (`removed` is not `move`).
 */
const MENTIONS = /\b(?:prepare|execute|deallocate|declare|fetch|move|close|discard)\b/i;
/** PostgreSQL's CURSOR_OPT_HOLD (parsenodes.h). */
const CURSOR_OPT_HOLD = 0x0020;

/**
 * The session-object use of each statement of `sql`, in order (one entry per statement), or
 * undefined when the text does not parse (its classification is `unknown` then). Requires
 * `loadSqlParsers()`.
 *
 * @example
 * ```ts
 * sessionObjectUses('PREPARE del (int) AS DELETE FROM notes WHERE id = $1');
 * // [{ kind: 'prepare', name: 'del', query: 'DELETE FROM notes WHERE id = $1' }]
 * ```
 */
export function sessionObjectUses(sql: string): readonly SessionObjectUse[] | undefined {
  if (!MENTIONS.test(sql)) return [];
  const parsed = parsePostgres(sql);
  if ('error' in parsed) return undefined;
  const bytes = Buffer.from(sql, 'utf8');
  return parsed.statements.map((raw) => {
    const start = raw.stmt_location ?? 0;
    const text = bytes.toString('utf8', start, raw.stmt_len ? start + raw.stmt_len : bytes.length);
    return isJsonNode(raw.stmt) ? useOf(raw.stmt, text) : NONE;
  });
}

function useOf(statement: JsonNode, text: string): SessionObjectUse {
  const [type] = Object.keys(statement);
  const fields = type === undefined ? undefined : statement[type];
  if (!isJsonNode(fields)) return NONE;
  switch (type) {
    case 'PrepareStmt':
      return { kind: 'prepare', name: String(fields.name ?? ''), query: after(text, 'AS') };
    case 'ExecuteStmt':
      return { kind: 'execute', name: String(fields.name ?? '') };
    case 'DeallocateStmt':
      return { kind: 'deallocate', name: fields.isall === true || typeof fields.name !== 'string' ? undefined : fields.name };
    case 'DeclareCursorStmt':
      return { kind: 'declare', name: String(fields.portalname ?? ''), query: after(text, 'FOR'), hold: ((Number(fields.options) || 0) & CURSOR_OPT_HOLD) !== 0 };
    case 'FetchStmt':
      return { kind: 'fetch', name: String(fields.portalname ?? ''), move: fields.ismove === true };
    case 'ClosePortalStmt':
      return { kind: 'close', name: typeof fields.portalname === 'string' ? fields.portalname : undefined };
    case 'DiscardStmt':
      return fields.target === 'DISCARD_ALL' ? { kind: 'discard-all' } : NONE;
    default:
      return containsExecute(fields) ? { kind: 'nested-execute' } : NONE;
  }
}

function containsExecute(node: unknown): boolean {
  if (Array.isArray(node)) return node.some(containsExecute);
  if (!isJsonNode(node)) return false;
  for (const key of Object.keys(node)) {
    if (key === 'ExecuteStmt' || containsExecute(node[key])) return true;
  }
  return false;
}

/**
 * The text after the first `keyword` token outside parentheses: the query of `PREPARE name
 * [(types)] AS query` and of `DECLARE name … CURSOR … FOR query` (no other token before it can be
 * that keyword: the name is an identifier, the options are other keywords).
 */
function after(statement: string, keyword: 'AS' | 'FOR'): string {
  const bytes = Buffer.from(statement, 'utf8');
  let depth = 0;
  for (const token of scanSync(statement).tokens) {
    if (token.tokenName === 'ASCII_40') depth++;
    else if (token.tokenName === 'ASCII_41') depth--;
    else if (depth === 0 && token.keywordKind !== 0 && token.text.toUpperCase() === keyword) return bytes.toString('utf8', token.end).trim();
  }
  return statement;
}
