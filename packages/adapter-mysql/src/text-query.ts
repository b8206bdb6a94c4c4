/**
 * One query on a short-lived connection with Warden's own credentials, its text result read
 * whole (for catalog lookups). The connection asks for no CLIENT_DEPRECATE_EOF, so the answer is:
 *   column count | column definitions | EOF | rows (string<lenenc> or 0xfb NULL each) | EOF
 * or ERR at any point.
 * https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_com_query_response_text_resultset.html
 */
import { WardenError } from '@warden/core';
import type { MysqlTarget } from './mysql-target';
import { PayloadWriter, payloadOf } from './packet-codec';
import { PacketSplitter, Visit, type Packet } from './packet-splitter';
import { Command, DEFAULT_COLLATION, PacketHeader } from './protocol';
import { readErr } from './server-messages';
import { connectTarget } from './target-connection';

export type TextRow = ReadonlyArray<string | undefined>;

export interface TextQueryOptions {
  readonly purpose: string;
  readonly timeoutMs: number;
  /** An answer larger than this is refused (a catalog that big is not read per statement). */
  readonly maxBytes: number;
}

export async function queryTextRows(target: MysqlTarget, sql: string, options: TextQueryOptions): Promise<TextRow[]> {
  const connection = await connectTarget({
    target: { ...target, connectTimeoutMs: Math.min(target.connectTimeoutMs, options.timeoutMs) },
    clientCapabilities: 0,
    collation: DEFAULT_COLLATION,
    database: target.database,
    setup: [],
    attributes: new Map([['program_name', `warden:${options.purpose}`]]),
  });
  const { socket } = connection;
  try {
    return await new Promise<TextRow[]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new WardenError('target-unavailable', `${options.purpose}: the target did not answer in time`)), options.timeoutMs);
      const answer = new TextAnswer(options, (result) => {
        clearTimeout(timer);
        if (result instanceof Error) reject(result);
        else resolve(result);
      });
      const splitter = new PacketSplitter((packet) => {
        answer.feed(packet);
        return Visit.Continue;
      });
      socket.on('error', (error) => reject(error));
      socket.on('close', () => reject(new WardenError('target-unavailable', `${options.purpose}: the connection closed`)));
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

class TextAnswer {
  private columnCount = -1;
  private columns = 0;
  private readonly rows: TextRow[] = [];
  private phase: 'count' | 'columns' | 'rows' | 'done' = 'count';
  private bytes = 0;

  constructor(
    private readonly options: TextQueryOptions,
    private readonly done: (result: TextRow[] | Error) => void,
  ) {}

  feed(packet: Packet): void {
    if (this.phase === 'done') return;
    this.bytes += packet.end - packet.start;
    if (this.bytes > this.options.maxBytes || packet.continues) return this.finish(new WardenError('target-unavailable', `${this.options.purpose}: the answer is larger than ${this.options.maxBytes} bytes`));
    const header = packet.buffer[packet.start + 4];
    if (header === PacketHeader.ERR) {
      const error = readErr(payloadOf(packet.buffer, packet.start, packet.end));
      return this.finish(new WardenError('target-unavailable', `${this.options.purpose}: error ${error.code} (${error.sqlState})`));
    }
    const isEof = header === PacketHeader.EOF && packet.end - packet.start < 4 + 9;
    switch (this.phase) {
      case 'count':
        if (header === PacketHeader.OK) return this.finish([]);
        this.columnCount = payloadOf(packet.buffer, packet.start, packet.end).lenenc();
        this.phase = 'columns';
        return;
      case 'columns':
        if (isEof) {
          if (this.columns !== this.columnCount) return this.finish(new WardenError('target-unavailable', `${this.options.purpose}: malformed result`));
          this.phase = 'rows';
          return;
        }
        this.columns++;
        return;
      case 'rows': {
        if (isEof) return this.finish(this.rows);
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

  private finish(result: TextRow[] | Error): void {
    this.phase = 'done';
    this.done(result);
  }
}
