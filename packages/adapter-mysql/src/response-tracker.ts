/**
 * Follows the target's response to one command, packet by packet, to know where it ends and what
 * it held (rows, affected rows, an error) without buffering or rewriting anything. Free of sockets.
 *
 * Layouts (https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_com_query_response.html):
 *   text/binary result: OK | ERR | column count, column definitions × n, [EOF], rows…, EOF-or-OK (0xfe)
 *     — repeated while the terminator's status says SERVER_MORE_RESULTS_EXISTS;
 *   COM_STMT_PREPARE:   ERR | OK(0x00, int<4> statement id, int<2> columns, int<2> params, …),
 *                       param definitions, [EOF], column definitions, [EOF];
 *   COM_FIELD_LIST:     ERR | column definitions…, EOF-or-OK (0xfe);
 *   single:             one packet (OK, ERR, EOF, or COM_STATISTICS' string).
 * `[EOF]` is absent when CLIENT_DEPRECATE_EOF is in force.
 */
import { WardenError } from '@warden/core';
import { payloadOf } from './packet-codec';
import type { Packet } from './packet-splitter';
import { MAX_PACKET_PAYLOAD, PacketHeader, ServerStatus } from './protocol';
import { readEofStatus, readErr, readOkStatus } from './server-messages';

export type ResponseKind = 'result' | 'prepare' | 'field-list' | 'single';

export interface ResponseOutcome {
  /** Rows of every result set. */
  readonly rows: number;
  readonly affectedRows: number;
  /** Result sets and OKs in the response (more than one for multi-statements and CALL). */
  readonly results: number;
  readonly error?: { readonly code: number; readonly sqlState: string; readonly message: string };
  /** For COM_STMT_PREPARE: the id the target gave the statement. */
  readonly statementId?: number;
}

/**
 * What the packet just fed was, for readers of results: the column count that starts a result
 * set, one of its column definitions, the first packet of a row, or anything else (OK, EOF, ERR,
 * prepare and field-list answers, continuation packets).
 */
export type PacketRole = 'column-count' | 'column' | 'row' | 'other';

type State = 'first' | 'columns' | 'columns-eof' | 'rows' | 'counted' | 'field-list' | 'done';

export class ResponseTracker {
  private kind: ResponseKind = 'single';
  private state: State = 'done';
  private remaining = 0;
  private rows = 0;
  private affectedRows = 0;
  private results = 0;
  private statementId: number | undefined;
  private role: PacketRole = 'other';
  private ok = false;

  constructor(private readonly deprecateEof: boolean) {}

  /** The role of the packet last fed. */
  get lastRole(): PacketRole {
    return this.role;
  }

  /** Whether the packet last fed was an OK packet (also as a 0xfe terminator under CLIENT_DEPRECATE_EOF). */
  get lastOk(): boolean {
    return this.ok;
  }

  get active(): boolean {
    return this.state !== 'done';
  }

  begin(kind: ResponseKind): void {
    if (this.active) throw new WardenError('internal', 'a response is already being followed');
    this.kind = kind;
    this.state = kind === 'field-list' ? 'field-list' : 'first';
    this.rows = 0;
    this.affectedRows = 0;
    this.results = 0;
    this.statementId = undefined;
  }

  /** Feeds one packet; returns the outcome once the response is complete. */
  feed(packet: Packet): ResponseOutcome | undefined {
    if (!this.active) throw new WardenError('protocol', 'the target sent a packet nobody asked for');
    this.role = 'other';
    this.ok = false;
    // Only the first packet of a logical message says what it is.
    if (packet.continuation) return undefined;
    const header = packet.buffer[packet.start + 4];
    const length = packet.end - packet.start - 4;
    if (header === PacketHeader.ERR && this.state !== 'columns' && this.state !== 'counted') {
      return this.finish(readErr(payloadOf(packet.buffer, packet.start, packet.end)));
    }
    switch (this.state) {
      case 'first':
        return this.onFirst(packet, header);
      case 'columns':
        this.role = 'column';
        if (--this.remaining === 0) this.state = this.deprecateEof ? 'rows' : 'columns-eof';
        return undefined;
      case 'columns-eof':
        if (header !== PacketHeader.EOF) throw new WardenError('protocol', 'expected EOF after column definitions');
        this.state = 'rows';
        return undefined;
      case 'rows':
        if (this.isTerminator(header, length)) {
          this.ok = this.deprecateEof;
          return this.afterResult(this.terminatorStatus(packet));
        }
        this.role = 'row';
        this.rows++;
        return undefined;
      case 'counted':
        if (--this.remaining === 0) return this.finish();
        return undefined;
      case 'field-list':
        if (this.isTerminator(header, length)) {
          this.ok = this.deprecateEof;
          return this.finish();
        }
        return undefined;
      default:
        return undefined;
    }
  }

  private onFirst(packet: Packet, header: number | undefined): ResponseOutcome | undefined {
    if (this.kind === 'single') {
      this.ok = header === PacketHeader.OK;
      return this.finish();
    }
    if (this.kind === 'prepare') {
      if (header !== PacketHeader.OK) throw new WardenError('protocol', 'unexpected answer to COM_STMT_PREPARE');
      const reader = payloadOf(packet.buffer, packet.start, packet.end);
      reader.u8();
      this.statementId = reader.u32();
      const columns = reader.u16();
      const params = reader.u16();
      const eofs = this.deprecateEof ? 0 : (columns > 0 ? 1 : 0) + (params > 0 ? 1 : 0);
      this.remaining = columns + params + eofs;
      if (this.remaining === 0) return this.finish();
      this.state = 'counted';
      return undefined;
    }
    if (header === PacketHeader.OK) {
      this.ok = true;
      const ok = readOkStatus(payloadOf(packet.buffer, packet.start, packet.end));
      this.affectedRows += ok.affectedRows;
      return this.afterResult(ok.status);
    }
    if (header === PacketHeader.LocalInfile) throw new WardenError('protocol', 'the target asked for a local file, which Warden never allows');
    const count = payloadOf(packet.buffer, packet.start, packet.end).lenenc();
    if (count === 0) throw new WardenError('protocol', 'result set without columns');
    this.remaining = count;
    this.state = 'columns';
    this.role = 'column-count';
    return undefined;
  }

  private isTerminator(header: number | undefined, length: number): boolean {
    if (header !== PacketHeader.EOF) return false;
    // A row can start with 0xfe only as a length prefix of a value ≥ 16 MiB, in a packet that long.
    return this.deprecateEof ? length < MAX_PACKET_PAYLOAD : length < 9;
  }

  private terminatorStatus(packet: Packet): number {
    const reader = payloadOf(packet.buffer, packet.start, packet.end);
    return this.deprecateEof ? readOkStatus(reader).status : readEofStatus(reader);
  }

  private afterResult(status: number): ResponseOutcome | undefined {
    this.results++;
    if (status & ServerStatus.MoreResultsExist) {
      this.state = 'first';
      return undefined;
    }
    return this.finish();
  }

  private finish(error?: { code: number; sqlState: string; message: string }): ResponseOutcome {
    this.state = 'done';
    return {
      rows: this.rows,
      affectedRows: this.affectedRows,
      results: this.results,
      ...(error ? { error } : {}),
      ...(this.statementId === undefined ? {} : { statementId: this.statementId }),
    };
  }
}
