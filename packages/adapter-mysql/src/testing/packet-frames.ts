/**
 * Frame builders for tests: the packets a MySQL server sends, built from their parts, so that
 * tests read like the protocol documentation.
 */
import { PayloadWriter, framePacket } from '../packet-codec';
import { ServerStatus } from '../protocol';

export function okFrame(sequenceId: number, options: { affectedRows?: number; status?: number; header?: number } = {}): Buffer {
  return new PayloadWriter()
    .u8(options.header ?? 0x00)
    .lenenc(options.affectedRows ?? 0)
    .lenenc(0)
    .u16(options.status ?? ServerStatus.Autocommit)
    .u16(0)
    .packet(sequenceId);
}

export function eofFrame(sequenceId: number, status: number = ServerStatus.Autocommit): Buffer {
  return new PayloadWriter().u8(0xfe).u16(0).u16(status).packet(sequenceId);
}

export function errFrame(sequenceId: number, code: number, sqlState: string, message: string): Buffer {
  return new PayloadWriter().u8(0xff).u16(code).bytes(`#${sqlState}`).bytes(message).packet(sequenceId);
}

export function columnCountFrame(sequenceId: number, count: number): Buffer {
  return new PayloadWriter().lenenc(count).packet(sequenceId);
}

/** ColumnDefinition41 with only the names filled in. */
export function columnFrame(sequenceId: number, name: string): Buffer {
  return new PayloadWriter()
    .lenencBytes('def')
    .lenencBytes('db')
    .lenencBytes('t')
    .lenencBytes('t')
    .lenencBytes(name)
    .lenencBytes(name)
    .lenenc(0x0c)
    .u16(45)
    .u32(255)
    .u8(0xfd)
    .u16(0)
    .u8(0)
    .u16(0)
    .packet(sequenceId);
}

export function textRowFrame(sequenceId: number, values: readonly (string | null)[]): Buffer {
  const writer = new PayloadWriter();
  for (const value of values) {
    if (value === null) writer.u8(0xfb);
    else writer.lenencBytes(value);
  }
  return writer.packet(sequenceId);
}

/** COM_STMT_PREPARE_OK: 0x00 | int<4> statement id | int<2> columns | int<2> params | 0x00 | int<2> warnings */
export function prepareOkFrame(sequenceId: number, statementId: number, columns: number, params: number): Buffer {
  return new PayloadWriter().u8(0).u32(statementId).u16(columns).u16(params).u8(0).u16(0).packet(sequenceId);
}

/** A text result set: column count, definitions, [EOF], rows, terminator. */
export function resultSetFrames(options: { columns: readonly string[]; rows: readonly (readonly (string | null)[])[]; deprecateEof: boolean; status?: number; firstSequence?: number }): Buffer {
  let sequence = options.firstSequence ?? 1;
  const parts = [columnCountFrame(sequence++, options.columns.length)];
  for (const name of options.columns) parts.push(columnFrame(sequence++, name));
  if (!options.deprecateEof) parts.push(eofFrame(sequence++));
  for (const row of options.rows) parts.push(textRowFrame(sequence++, row));
  const status = options.status ?? ServerStatus.Autocommit;
  parts.push(options.deprecateEof ? okFrame(sequence++, { header: 0xfe, status }) : eofFrame(sequence++, status));
  return Buffer.concat(parts);
}

export { framePacket };

export interface ColumnSpec {
  readonly name: string;
  readonly schema?: string;
  readonly table?: string;
  /** Defaults to `table`; '' for a computed column. */
  readonly orgTable?: string;
  /** Defaults to `name`; '' for a computed column. */
  readonly orgName?: string;
  /** Collation id (45 utf8mb4, 8 latin1, 63 binary). */
  readonly characterSet?: number;
  /** ColumnType value; VAR_STRING by default. */
  readonly type?: number;
  readonly flags?: number;
}

/** ColumnDefinition41 with every field. */
export function columnDefinitionFrame(sequenceId: number, spec: ColumnSpec): Buffer {
  const table = spec.table ?? 't';
  return new PayloadWriter()
    .lenencBytes('def')
    .lenencBytes(spec.schema ?? 'db')
    .lenencBytes(table)
    .lenencBytes(spec.orgTable ?? table)
    .lenencBytes(spec.name)
    .lenencBytes(spec.orgName ?? spec.name)
    .lenenc(0x0c)
    .u16(spec.characterSet ?? 45)
    .u32(255)
    .u8(spec.type ?? 0xfd)
    .u16(spec.flags ?? 0)
    .u8(0)
    .u16(0)
    .packet(sequenceId);
}

/** A binary-protocol row from already encoded values (undefined: NULL). */
export function binaryRowFrame(sequenceId: number, values: readonly (Buffer | undefined)[]): Buffer {
  const bitmap = Buffer.alloc((values.length + 7 + 2) >> 3);
  values.forEach((value, i) => {
    if (value === undefined) bitmap[(i + 2) >> 3]! |= 1 << ((i + 2) & 7);
  });
  const writer = new PayloadWriter().u8(0).bytes(bitmap);
  for (const value of values) if (value !== undefined) writer.bytes(value);
  return writer.packet(sequenceId);
}

/** A result set with full column definitions and pre-built row frames (their sequence ids are rewritten). */
export function typedResultFrames(options: { columns: readonly ColumnSpec[]; rows: readonly ((sequenceId: number) => Buffer)[]; deprecateEof: boolean; status?: number; firstSequence?: number }): Buffer {
  let sequence = options.firstSequence ?? 1;
  const parts = [columnCountFrame(sequence++, options.columns.length)];
  for (const column of options.columns) parts.push(columnDefinitionFrame(sequence++, column));
  if (!options.deprecateEof) parts.push(eofFrame(sequence++));
  for (const row of options.rows) parts.push(row(sequence++));
  const status = options.status ?? ServerStatus.Autocommit;
  parts.push(options.deprecateEof ? okFrame(sequence++, { header: 0xfe, status }) : eofFrame(sequence++, status));
  return Buffer.concat(parts);
}
