/**
 * ColumnDefinition41, as far as masking needs it, and what a MySQL column type must stay valid as.
 * https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_com_query_response_text_resultset_column_definition.html
 *
 *   lenenc catalog ("def") | lenenc schema | lenenc table (alias) | lenenc org_table | lenenc name (label) |
 *   lenenc org_name | lenenc length of fixed fields (0x0c) | int<2> character set | int<4> column length |
 *   int<1> type | int<2> flags | int<1> decimals | int<2> filler
 */
import type { ValueKind } from '@warden/core';
import { payloadOf } from './packet-codec';
import { BINARY_COLLATION, ColumnFlag, ColumnType } from './protocol';

export interface ColumnDefinition {
  readonly schema: string;
  /** The table as the statement named it (an alias). */
  readonly table: string;
  /** The table the column comes from; empty for computed columns (MariaDB names derived tables and views here). */
  readonly orgTable: string;
  /** The result label. */
  readonly name: string;
  /** The table's column name; empty for computed columns. */
  readonly orgName: string;
  /** Collation id of the values as sent (63: binary). */
  readonly characterSet: number;
  readonly type: number;
  readonly flags: number;
}

export function readColumnDefinition(buffer: Buffer, start: number, end: number): ColumnDefinition {
  const reader = payloadOf(buffer, start, end);
  reader.lenencBytes();
  const schema = reader.lenencBytes().toString('utf8');
  const table = reader.lenencBytes().toString('utf8');
  const orgTable = reader.lenencBytes().toString('utf8');
  const name = reader.lenencBytes().toString('utf8');
  const orgName = reader.lenencBytes().toString('utf8');
  reader.lenenc();
  const characterSet = reader.u16();
  reader.u32();
  const type = reader.u8();
  const flags = reader.u16();
  return { schema, table, orgTable, name, orgName, characterSet, type, flags };
}

export function isUnsigned(column: ColumnDefinition): boolean {
  return (column.flags & ColumnFlag.Unsigned) !== 0;
}

/**
 * The kind a masked value of this column must stay valid as. String types in the binary character
 * set (BINARY, VARBINARY, BLOB) are bytes: `other`, so a rule on them refuses the result rather
 * than guess. TINYINT maps to `int2` and is fitted into its byte by the codec.
 */
export function valueKindOf(column: ColumnDefinition): ValueKind {
  switch (column.type) {
    case ColumnType.TINY:
    case ColumnType.SHORT:
    case ColumnType.YEAR:
      return 'int2';
    case ColumnType.LONG:
    case ColumnType.INT24:
      return 'int4';
    case ColumnType.LONGLONG:
      return 'int8';
    case ColumnType.DECIMAL:
    case ColumnType.NEWDECIMAL:
    case ColumnType.FLOAT:
    case ColumnType.DOUBLE:
      return 'numeric';
    case ColumnType.DATE:
    case ColumnType.NEWDATE:
      return 'date';
    case ColumnType.DATETIME:
    case ColumnType.DATETIME2:
    case ColumnType.TIMESTAMP:
    case ColumnType.TIMESTAMP2:
      return 'timestamp';
    case ColumnType.TIME:
    case ColumnType.TIME2:
      return 'time';
    case ColumnType.JSON:
      return 'json';
    case ColumnType.VARCHAR:
    case ColumnType.VAR_STRING:
    case ColumnType.STRING:
    case ColumnType.ENUM:
    case ColumnType.SET:
    case ColumnType.TINY_BLOB:
    case ColumnType.MEDIUM_BLOB:
    case ColumnType.LONG_BLOB:
    case ColumnType.BLOB:
      return column.characterSet === BINARY_COLLATION ? 'other' : 'text';
    default:
      return 'other';
  }
}
