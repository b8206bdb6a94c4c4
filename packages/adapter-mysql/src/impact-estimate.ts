import { WardenError, type ImpactEstimate } from '@warden/core';
import type { MysqlTarget } from './mysql-target';
import { queryText, type TextResult } from './text-query';

const ESTIMATE_TIMEOUT_MS = 3000;
/** EXPLAIN answers with a few rows; anything larger is not an EXPLAIN answer worth reading. */
const MAX_ANSWER_BYTES = 1024 * 1024;

/**
 * The optimizer's estimate of the rows a held statement would touch, for the people asked to
 * approve it. The statement is never executed: it is planned with `EXPLAIN` on a separate,
 * short-lived connection with Warden's credentials, without CLIENT_MULTI_STATEMENTS (the server
 * refuses a second statement).
 *
 * EXPLAIN is not side-effect free on MariaDB/MySQL: the optimizer evaluates DETERMINISTIC stored
 * functions (and constant subqueries calling them) while planning, and a read-only session refuses
 * EXPLAIN of a write altogether. So a statement that calls anything but a few built-in functions
 * gets no estimate, and EXPLAIN runs inside a transaction that is never committed (the connection
 * closes), which undoes what it could still do to transactional tables.
 * https://mariadb.com/kb/en/explain/
 */
export async function estimateImpact(target: MysqlTarget, database: string, statement: string): Promise<ImpactEstimate> {
  const call = functionCall(statement);
  if (call !== undefined) throw new WardenError('forbidden', `the statement calls ${call}, which EXPLAIN could run`);
  // The server's error message is left out: it may quote the statement's literals.
  const plan = await queryText(target, `EXPLAIN ${statement}`, {
    purpose: 'approval-estimate',
    name: 'EXPLAIN',
    timeoutMs: ESTIMATE_TIMEOUT_MS,
    maxBytes: MAX_ANSWER_BYTES,
    database,
    setup: ['START TRANSACTION'],
  });
  if (plan.columns.length === 0) throw new WardenError('target-unavailable', 'EXPLAIN returned no plan');
  const rows = rowsTouched(plan);
  return rows === undefined ? { source: 'EXPLAIN (no row estimate)' } : { rows, source: 'EXPLAIN' };
}

/**
 * The rows the statement would touch: the estimate of the first table EXPLAIN lists that has one
 * (for UPDATE and DELETE the table written; for INSERT … SELECT the first table read).
 */
function rowsTouched(table: TextResult): number | undefined {
  const index = table.columns.findIndex((name) => name.toLowerCase() === 'rows');
  if (index === -1) return undefined;
  for (const row of table.rows) {
    const value = row[index];
    if (value !== undefined && /^\d+$/.test(value)) return Number(value);
  }
  return undefined;
}

/** Words that may stand before `(` without being a function call. */
const NOT_CALLS = new Set(
  'IN VALUES VALUE EXISTS AND OR NOT XOR WHERE SET ON USING SELECT FROM JOIN AS INTO BY WHEN THEN ELSE CASE ANY ALL SOME IS LIKE BETWEEN INTERVAL UNION EXCEPT INTERSECT WITH HAVING LIMIT OFFSET DISTINCT RETURNING DIV MOD REGEXP RLIKE ESCAPE'.split(' '),
);

/** Built-in functions that read nothing and write nothing; only when `(` follows at once (else the server looks for a stored function). */
const PURE_BUILTINS = new Set(
  'COUNT SUM MIN MAX AVG NOW CURDATE CURTIME UTC_TIMESTAMP CURRENT_DATE CURRENT_TIMESTAMP DATE TIME YEAR MONTH DAY DATE_ADD DATE_SUB DATEDIFF LOWER UPPER CONCAT CONCAT_WS COALESCE IFNULL NULLIF IF LENGTH CHAR_LENGTH SUBSTRING SUBSTR TRIM LTRIM RTRIM REPLACE ABS ROUND FLOOR CEIL CEILING GREATEST LEAST CAST CONVERT'.split(' '),
);

/**
 * The first call in `statement` that is not a known pure built-in, or undefined. Conservative: it
 * reads comments (even executable ones) and string contents as code, so it may see calls that are
 * not there — then there is just no estimate.
 */
export function functionCall(statement: string): string | undefined {
  if (/\b(NEXT|PREVIOUS|LASTVAL|SETVAL|NEXTVAL)\b/i.test(statement)) return 'a sequence';
  // Comment markers are whitespace here; what they hold is scanned like the rest.
  const text = statement.replace(/\/\*[!M]?!?\d*|\*\/|--|#/g, ' ');
  const call = /(\.\s*)?(`(?:[^`]|``)+`|[\p{L}\p{N}_$]+)(\s*)\(/gu;
  for (let match = call.exec(text); match !== null; match = call.exec(text)) {
    const [, qualified, name, space] = match;
    const quoted = name!.startsWith('`');
    const bare = quoted ? name!.slice(1, -1).replace(/``/g, '`') : name!;
    if (qualified || quoted) return bare;
    const word = bare.toUpperCase();
    if (NOT_CALLS.has(word)) continue;
    if (space === '' && PURE_BUILTINS.has(word)) continue;
    return bare;
  }
  return undefined;
}
