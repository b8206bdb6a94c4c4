import { WardenError, type ImpactEstimate } from '@warden/core';
import { readColumnDefinition } from './column-definition';
import type { MysqlTarget } from './mysql-target';
import { PayloadWriter, payloadOf } from './packet-codec';
import { PacketSplitter, Visit, type Packet } from './packet-splitter';
import { Command, DEFAULT_COLLATION, PacketHeader } from './protocol';
import { readErr } from './server-messages';
import { connectTarget } from './target-connection';

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
  const connection = await connectTarget({
    target: { ...target, connectTimeoutMs: Math.min(target.connectTimeoutMs, ESTIMATE_TIMEOUT_MS) },
    clientCapabilities: 0,
    collation: DEFAULT_COLLATION,
    database,
    setup: ['START TRANSACTION'],
    attributes: new Map([['program_name', 'warden:approval-estimate']]),
  });
  const { socket } = connection;
  try {
    const table = await new Promise<ExplainTable>((resolve, reject) => {
      const timer = setTimeout(() => reject(new WardenError('target-unavailable', 'EXPLAIN did not answer in time')), ESTIMATE_TIMEOUT_MS);
      const answer = new ExplainAnswer((result) => {
        clearTimeout(timer);
        if (result instanceof Error) reject(result);
        else resolve(result);
      });
      const splitter = new PacketSplitter((packet) => {
        answer.feed(packet);
        return Visit.Continue;
      });
      socket.on('error', (error) => reject(error));
      socket.on('close', () => reject(new WardenError('target-unavailable', 'the estimate connection closed')));
      socket.on('data', (chunk: Buffer) => {
        try {
          splitter.push(chunk);
        } catch (error) {
          reject(error);
        }
      });
      socket.write(new PayloadWriter().u8(Command.COM_QUERY).bytes(`EXPLAIN ${statement}`).packet(0));
    });
    const rows = rowsTouched(table);
    return rows === undefined ? { source: 'EXPLAIN (no row estimate)' } : { rows, source: 'EXPLAIN' };
  } finally {
    socket.destroy();
  }
}

/** EXPLAIN's tabular answer: column names and the rows as text (NULL as undefined). */
interface ExplainTable {
  readonly columns: readonly string[];
  readonly rows: ReadonlyArray<ReadonlyArray<string | undefined>>;
}

/**
 * Reads a text result set without CLIENT_DEPRECATE_EOF:
 *   column count | column definitions | EOF | rows | EOF (or ERR at any point).
 */
class ExplainAnswer {
  private columnCount = -1;
  private readonly columns: string[] = [];
  private readonly rows: Array<Array<string | undefined>> = [];
  private phase: 'count' | 'columns' | 'rows' | 'done' = 'count';
  private bytes = 0;

  constructor(private readonly done: (result: ExplainTable | Error) => void) {}

  feed(packet: Packet): void {
    if (this.phase === 'done') return;
    this.bytes += packet.end - packet.start;
    if (this.bytes > MAX_ANSWER_BYTES || packet.continues) return this.finish(new WardenError('target-unavailable', 'EXPLAIN answered with more than expected'));
    const header = packet.buffer[packet.start + 4];
    if (header === PacketHeader.ERR) {
      const error = readErr(payloadOf(packet.buffer, packet.start, packet.end));
      // The code only: the server's message may quote the statement's literals.
      return this.finish(new WardenError('target-unavailable', `EXPLAIN failed with error ${error.code} (${error.sqlState})`));
    }
    const isEof = header === PacketHeader.EOF && packet.end - packet.start < 4 + 9;
    switch (this.phase) {
      case 'count':
        if (header === PacketHeader.OK) return this.finish(new WardenError('target-unavailable', 'EXPLAIN returned no plan'));
        this.columnCount = payloadOf(packet.buffer, packet.start, packet.end).lenenc();
        this.phase = 'columns';
        return;
      case 'columns':
        if (isEof) {
          if (this.columns.length !== this.columnCount) return this.finish(new WardenError('target-unavailable', 'EXPLAIN answered with a malformed result'));
          this.phase = 'rows';
          return;
        }
        this.columns.push(readColumnDefinition(packet.buffer, packet.start, packet.end).name);
        return;
      case 'rows': {
        if (isEof) return this.finish({ columns: this.columns, rows: this.rows });
        const reader = payloadOf(packet.buffer, packet.start, packet.end);
        const row: Array<string | undefined> = [];
        for (let i = 0; i < this.columnCount; i++) {
          if (packet.buffer[reader.offset] === 0xfb) {
            reader.u8();
            row.push(undefined);
          } else row.push(reader.lenencBytes().toString('utf8'));
        }
        this.rows.push(row);
        return;
      }
    }
  }

  private finish(result: ExplainTable | Error): void {
    this.phase = 'done';
    this.done(result);
  }
}

/**
 * The rows the statement would touch: the estimate of the first table EXPLAIN lists that has one
 * (for UPDATE and DELETE the table written; for INSERT … SELECT the first table read).
 */
function rowsTouched(table: ExplainTable): number | undefined {
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
