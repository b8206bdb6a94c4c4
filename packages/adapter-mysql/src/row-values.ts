/**
 * Masking inside the rows of a result, for both row formats, one row packet at a time. Values are
 * read into the text a MySQL client would see, masked, and written back in the same type and
 * format; a row whose values did not change is reported unchanged so the caller forwards its bytes.
 *
 * Text protocol (COM_QUERY):
 *   row: per column, 0xfb (NULL) | string<lenenc> value as text
 *   https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_com_query_response_text_resultset_row.html
 * Binary protocol (COM_STMT_EXECUTE):
 *   row: 0x00 | NULL bitmap, (columns + 7 + 2) / 8 bytes, bits offset by 2 | non-NULL values, per type:
 *   int<8> LONGLONG/DOUBLE, int<4> LONG/INT24/FLOAT, int<2> SHORT/YEAR, int<1> TINY,
 *   int<1> length + (0|4|7|11) bytes DATE/DATETIME/TIMESTAMP, int<1> length + (0|8|12) bytes TIME,
 *   string<lenenc> for the rest (DECIMAL, strings, BLOBs, JSON, BIT, GEOMETRY)
 *   https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_binary_resultset.html
 */
import { WardenError } from '@warden/core';
import { isUnsigned, type ColumnDefinition } from './column-definition';
import { PayloadReader, PayloadWriter } from './packet-codec';
import { ColumnType } from './protocol';
import type { TextCodec } from './text-charset';

/** A result column whose values are masked. */
export interface RowColumn {
  readonly definition: ColumnDefinition;
  /** For string types: the result character set. */
  readonly codec: TextCodec;
  /** Masks one value's text; returns the same string when nothing changed. */
  mask(text: string): string;
}

const ASCII: TextCodec = { decode: (bytes) => bytes.toString('latin1'), encode: (text) => Buffer.from(text, 'latin1') };

/** A row payload with its values replaced, or undefined when none changed. */
export function maskTextRow(payload: Buffer, columns: ReadonlyArray<RowColumn | undefined>): Buffer | undefined {
  const reader = new PayloadReader(payload, 0, payload.length);
  let out: PayloadWriter | undefined;
  let copied = 0;
  for (const column of columns) {
    const valueStart = reader.offset;
    if (payload[valueStart] === 0xfb) {
      reader.offset++;
      continue;
    }
    const bytes = reader.lenencBytes();
    if (!column) continue;
    const codec = isStringType(column.definition.type) ? column.codec : ASCII;
    const text = codec.decode(bytes);
    const masked = maskText(column, text);
    if (masked === text) continue;
    out ??= new PayloadWriter();
    out.bytes(payload.subarray(copied, valueStart)).lenencBytes(codec.encode(masked));
    copied = reader.offset;
  }
  if (reader.remaining !== 0) throw new WardenError('masking', 'a row did not match its column definitions');
  if (!out) return undefined;
  return out.bytes(payload.subarray(copied)).payload();
}

/** A binary row payload with its values replaced, or undefined when none changed. */
export function maskBinaryRow(payload: Buffer, columns: ReadonlyArray<RowColumn | undefined>, definitions: readonly ColumnDefinition[]): Buffer | undefined {
  if (payload[0] !== 0x00) throw new WardenError('masking', 'a binary row without its header');
  const bitmapLength = (definitions.length + 7 + 2) >> 3;
  const reader = new PayloadReader(payload, 1, payload.length);
  const bitmap = reader.bytes(bitmapLength);
  let out: PayloadWriter | undefined;
  let copied = 0;
  for (let i = 0; i < definitions.length; i++) {
    const bit = i + 2;
    if (bitmap[bit >> 3]! & (1 << (bit & 7))) continue;
    const definition = definitions[i]!;
    const valueStart = reader.offset;
    skipBinaryValue(reader, definition.type);
    const column = columns[i];
    if (!column) continue;
    const raw = payload.subarray(valueStart, reader.offset);
    const text = decodeBinaryValue(raw, column);
    const masked = maskText(column, text);
    if (masked === text) continue;
    out ??= new PayloadWriter();
    out.bytes(payload.subarray(copied, valueStart)).bytes(encodeBinaryValue(masked, column));
    copied = reader.offset;
  }
  if (reader.remaining !== 0) throw new WardenError('masking', 'a binary row did not match its column definitions');
  if (!out) return undefined;
  return out.bytes(payload.subarray(copied)).payload();
}

function maskText(column: RowColumn, text: string): string {
  const masked = column.mask(text);
  if (masked === text) return text;
  const bits = integerBits(column.definition.type);
  return bits === undefined ? masked : fitInteger(masked, bits, isUnsigned(column.definition));
}

function isStringType(type: number): boolean {
  return lengthOfFixed(type) === undefined && !isTemporal(type);
}

function isTemporal(type: number): boolean {
  return (
    type === ColumnType.DATE ||
    type === ColumnType.NEWDATE ||
    type === ColumnType.DATETIME ||
    type === ColumnType.DATETIME2 ||
    type === ColumnType.TIMESTAMP ||
    type === ColumnType.TIMESTAMP2 ||
    type === ColumnType.TIME ||
    type === ColumnType.TIME2
  );
}

/** Bytes of a fixed-width binary value, or undefined for other types. */
function lengthOfFixed(type: number): number | undefined {
  switch (type) {
    case ColumnType.LONGLONG:
    case ColumnType.DOUBLE:
      return 8;
    case ColumnType.LONG:
    case ColumnType.INT24:
    case ColumnType.FLOAT:
      return 4;
    case ColumnType.SHORT:
    case ColumnType.YEAR:
      return 2;
    case ColumnType.TINY:
      return 1;
    case ColumnType.NULL:
      return 0;
    default:
      return undefined;
  }
}

const LENENC_TYPES: ReadonlySet<number> = new Set([
  ColumnType.DECIMAL,
  ColumnType.NEWDECIMAL,
  ColumnType.VARCHAR,
  ColumnType.VAR_STRING,
  ColumnType.STRING,
  ColumnType.ENUM,
  ColumnType.SET,
  ColumnType.TINY_BLOB,
  ColumnType.MEDIUM_BLOB,
  ColumnType.LONG_BLOB,
  ColumnType.BLOB,
  ColumnType.GEOMETRY,
  ColumnType.BIT,
  ColumnType.JSON,
]);

function skipBinaryValue(reader: PayloadReader, type: number): void {
  const fixed = lengthOfFixed(type);
  if (fixed !== undefined) reader.skip(fixed);
  else if (isTemporal(type)) reader.skip(reader.u8());
  else if (LENENC_TYPES.has(type)) reader.skip(reader.lenenc());
  else throw new WardenError('masking', `a binary row holds column type ${type}, which Warden cannot read`);
}

/** Integer width in bits, for types whose masked value must fit them. */
function integerBits(type: number): number | undefined {
  switch (type) {
    case ColumnType.TINY:
      return 8;
    case ColumnType.SHORT:
    case ColumnType.YEAR:
      return 16;
    case ColumnType.INT24:
      return 24;
    case ColumnType.LONG:
      return 32;
    case ColumnType.LONGLONG:
      return 64;
    default:
      return undefined;
  }
}

/**
 * A masked integer that does not fit the column (a hash into TINYINT) is folded into its
 * non-negative range, so the value stays a valid value of the column's type and stable per input.
 */
export function fitInteger(text: string, bits: number, unsigned: boolean): string {
  if (!/^-?\d+$/.test(text)) throw new WardenError('masking', 'a masked integer is not an integer');
  const value = BigInt(text);
  const max = unsigned ? (1n << BigInt(bits)) - 1n : (1n << BigInt(bits - 1)) - 1n;
  const min = unsigned ? 0n : -(1n << BigInt(bits - 1));
  if (value >= min && value <= max) return text;
  const span = max + 1n;
  return String(((value % span) + span) % span);
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** The text a client would see for a binary value. */
function decodeBinaryValue(raw: Buffer, column: RowColumn): string {
  const { type } = column.definition;
  const unsigned = isUnsigned(column.definition);
  switch (type) {
    case ColumnType.TINY:
      return String(unsigned ? raw.readUInt8(0) : raw.readInt8(0));
    case ColumnType.SHORT:
    case ColumnType.YEAR:
      return String(unsigned ? raw.readUInt16LE(0) : raw.readInt16LE(0));
    case ColumnType.LONG:
    case ColumnType.INT24:
      return String(unsigned ? raw.readUInt32LE(0) : raw.readInt32LE(0));
    case ColumnType.LONGLONG:
      return String(unsigned ? raw.readBigUInt64LE(0) : raw.readBigInt64LE(0));
    case ColumnType.FLOAT:
      return String(raw.readFloatLE(0));
    case ColumnType.DOUBLE:
      return String(raw.readDoubleLE(0));
    case ColumnType.TIME:
    case ColumnType.TIME2:
      return decodeTime(raw.subarray(1));
    default:
      if (isTemporal(type)) return decodeDateTime(raw.subarray(1), type === ColumnType.DATE || type === ColumnType.NEWDATE);
      // string<lenenc>
      return (isStringType(type) ? column.codec : ASCII).decode(new PayloadReader(raw, 0, raw.length).lenencBytes());
  }
}

/** int<2> year | int<1> month | int<1> day | [int<1> hour | int<1> minute | int<1> second | [int<4> microseconds]] */
function decodeDateTime(data: Buffer, dateOnly: boolean): string {
  const year = data.length >= 4 ? data.readUInt16LE(0) : 0;
  const date = `${pad(year, 4)}-${pad(data[2] ?? 0)}-${pad(data[3] ?? 0)}`;
  if (dateOnly) return date;
  const time = `${pad(data[4] ?? 0)}:${pad(data[5] ?? 0)}:${pad(data[6] ?? 0)}`;
  return data.length >= 11 ? `${date} ${time}.${pad(data.readUInt32LE(7), 6)}` : `${date} ${time}`;
}

/** int<1> negative | int<4> days | int<1> hours | int<1> minutes | int<1> seconds | [int<4> microseconds] */
function decodeTime(data: Buffer): string {
  if (data.length < 8) return '00:00:00';
  const hours = data.readUInt32LE(1) * 24 + data[5]!;
  const text = `${data[0] ? '-' : ''}${pad(hours)}:${pad(data[6]!)}:${pad(data[7]!)}`;
  return data.length >= 12 ? `${text}.${pad(data.readUInt32LE(8), 6)}` : text;
}

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?)?$/;
const TIME = /^(-)?(\d+):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/;

/** The binary encoding of a masked value's text, in the column's type. */
function encodeBinaryValue(text: string, column: RowColumn): Buffer {
  const { type } = column.definition;
  const unsigned = isUnsigned(column.definition);
  const fixed = lengthOfFixed(type);
  if (fixed !== undefined) {
    const out = Buffer.alloc(fixed);
    if (type === ColumnType.DOUBLE || type === ColumnType.FLOAT) {
      const value = Number(text);
      if (!Number.isFinite(value)) throw new WardenError('masking', 'a masked number is not a number');
      if (type === ColumnType.DOUBLE) out.writeDoubleLE(value);
      else out.writeFloatLE(value);
      return out;
    }
    const value = BigInt(text);
    if (fixed === 8) {
      if (unsigned) out.writeBigUInt64LE(value);
      else out.writeBigInt64LE(value);
    } else if (unsigned) out.writeUIntLE(Number(value), 0, fixed);
    else out.writeIntLE(Number(value), 0, fixed);
    return out;
  }
  if (type === ColumnType.TIME || type === ColumnType.TIME2) {
    const m = TIME.exec(text);
    if (!m) throw new WardenError('masking', 'a masked TIME is not a time');
    const hours = Number(m[2]);
    const micro = m[5] ? Number(m[5].padEnd(6, '0')) : 0;
    const out = new PayloadWriter().u8(micro ? 12 : 8).u8(m[1] ? 1 : 0).u32(Math.floor(hours / 24)).u8(hours % 24).u8(Number(m[3])).u8(Number(m[4]));
    if (micro) out.u32(micro);
    return out.payload();
  }
  if (isTemporal(type)) {
    const m = DATE_TIME.exec(text);
    if (!m) throw new WardenError('masking', 'a masked date is not a date');
    const dateOnly = type === ColumnType.DATE || type === ColumnType.NEWDATE;
    const micro = m[7] ? Number(m[7].padEnd(6, '0')) : 0;
    const out = new PayloadWriter().u8(dateOnly ? 4 : micro ? 11 : 7).u16(Number(m[1])).u8(Number(m[2])).u8(Number(m[3]));
    if (!dateOnly) {
      out.u8(Number(m[4] ?? 0)).u8(Number(m[5] ?? 0)).u8(Number(m[6] ?? 0));
      if (micro) out.u32(micro);
    }
    return out.payload();
  }
  return new PayloadWriter().lenencBytes((isStringType(type) ? column.codec : ASCII).encode(text)).payload();
}
