/**
 * One query on a short-lived connection with Warden's own credentials, its text result read
 * whole (catalog lookups, `SHOW GRANTS` for `warden doctor`, `EXPLAIN` for approvers). The
 * connection asks for no CLIENT_MULTI_STATEMENTS (the server refuses a second statement) and no
 * CLIENT_DEPRECATE_EOF, so the answer is:
 *   column count | column definitions | EOF | rows (string<lenenc> or 0xfb NULL each) | EOF
 * or ERR at any point; or a plain OK for a statement without a result set.
 * https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_com_query_response_text_resultset.html
 */
import { WardenError } from '@warden/core';
import { readColumnDefinition } from './column-definition';
import type { MysqlTarget } from './mysql-target';
import { PayloadWriter, payloadOf } from './packet-codec';
import { PacketSplitter, Visit, type Packet } from './packet-splitter';
import { Command, DEFAULT_COLLATION, PacketHeader } from './protocol';
import { readErr } from './server-messages';
import { connectTarget } from './target-connection';

/** A row's values as text; NULL is undefined. */
export type TextRow = ReadonlyArray<string | undefined>;

/** A text result: column names and rows. A statement that answered with a plain OK has neither. */
export interface TextResult {
  readonly columns: readonly string[];
  readonly rows: readonly TextRow[];
}

export interface TextQueryOptions {
  /** Why Warden asks: the connection's program name (`warden:<purpose>`), and how errors name the query unless `name` is given. */
  readonly purpose: string;
  /** How errors name the query (`EXPLAIN`, `SHOW GRANTS`). */
  readonly name?: string;
  /** For the login and for the answer, each. */
  readonly timeoutMs: number;
  /** An answer larger than this is refused (a catalog that big is not read per statement). */
  readonly maxBytes: number;
  /** The database to use (default: the target's). */
  readonly database?: string;
  /** Statements the session runs first, e.g. `START TRANSACTION` (never committed: the connection closes). */
  readonly setup?: readonly string[];
  /** Whether the server's error message may go into the error: not when it may quote a client's literals. */
  readonly quoteServerErrors?: boolean;
}

export async function queryText(target: MysqlTarget, sql: string, options: TextQueryOptions): Promise<TextResult> {
  const name = options.name ?? options.purpose;
  const connection = await connectTarget({
    target: { ...target, connectTimeoutMs: Math.min(target.connectTimeoutMs, options.timeoutMs) },
    clientCapabilities: 0,
    collation: DEFAULT_COLLATION,
    database: options.database ?? target.database,
    setup: options.setup ?? [],
    attributes: new Map([['program_name', `warden:${options.purpose}`]]),
  });
  const { socket } = connection;
  try {
    return await new Promise<TextResult>((resolve, reject) => {
      const timer = setTimeout(() => reject(new WardenError('target-unavailable', `${name} did not answer in time`)), options.timeoutMs);
      const answer = new TextAnswer(name, options, (result) => {
        clearTimeout(timer);
        if (result instanceof Error) reject(result);
        else resolve(result);
      });
      const splitter = new PacketSplitter((packet) => {
        answer.feed(packet);
        return Visit.Continue;
      });
      socket.on('error', (error) => reject(error));
      socket.on('close', () => reject(new WardenError('target-unavailable', `the target closed the connection during ${name}`)));
      socket.on('data', (chunk: Buffer) => {
        try {
          splitter.push(chunk);
        } catch (error) {
          reject(error);
        }
      });
      socket.write(new PayloadWriter().u8(Command.COM_QUERY).bytes(sql).packet(0));
    });
  } finally {
    socket.destroy();
  }
}

/** The rows of `queryText`'s result (none for a plain OK). */
export async function queryTextRows(target: MysqlTarget, sql: string, options: TextQueryOptions): Promise<readonly TextRow[]> {
  return (await queryText(target, sql, options)).rows;
}

class TextAnswer {
  private columnCount = -1;
  private readonly columns: string[] = [];
  private readonly rows: TextRow[] = [];
  private phase: 'count' | 'columns' | 'rows' | 'done' = 'count';
  private bytes = 0;

  constructor(
    private readonly name: string,
    private readonly options: TextQueryOptions,
    private readonly done: (result: TextResult | Error) => void,
  ) {}

  feed(packet: Packet): void {
    if (this.phase === 'done') return;
    this.bytes += packet.end - packet.start;
    if (this.bytes > this.options.maxBytes || packet.continues) return this.finish(new WardenError('target-unavailable', `${this.name} answered with more than ${this.options.maxBytes} bytes`));
    const header = packet.buffer[packet.start + 4];
    if (header === PacketHeader.ERR) {
      const error = readErr(payloadOf(packet.buffer, packet.start, packet.end));
      const detail = this.options.quoteServerErrors ? `: ${error.message}` : '';
      return this.finish(new WardenError('target-unavailable', `${this.name} failed with error ${error.code} (${error.sqlState})${detail}`));
    }
    const isEof = header === PacketHeader.EOF && packet.end - packet.start < 4 + 9;
    switch (this.phase) {
      case 'count':
        if (header === PacketHeader.OK) return this.finish({ columns: [], rows: [] });
        this.columnCount = payloadOf(packet.buffer, packet.start, packet.end).lenenc();
        this.phase = 'columns';
        return;
      case 'columns':
        if (isEof) {
          if (this.columns.length !== this.columnCount || this.columnCount < 1) return this.finish(new WardenError('target-unavailable', `${this.name} answered with a malformed result`));
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

  private finish(result: TextResult | Error): void {
    this.phase = 'done';
    this.done(result);
  }
}
