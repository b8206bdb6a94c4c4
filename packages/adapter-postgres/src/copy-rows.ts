import { WardenError } from '@warden/core';

/**
 * The row formats of `COPY … TO STDOUT` output, one row per CopyData message (Postgres sends
 * each row in its own message: src/backend/commands/copyto.c, CopySendEndOfRow).
 * https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9
 */

export interface CopyTextOptions {
  readonly delimiter: string;
  readonly null: string;
}

export interface CopyCsvOptions extends CopyTextOptions {
  readonly quote: string;
  readonly escape: string;
}

/** A value of a row: its text (undefined for NULL) and whether it was changed. */
export type MaskField = (index: number, value: string) => string;

/**
 * Text format: fields separated by the delimiter, `\N` for NULL, backslash escapes
 * (`\t`, `\n`, `\\`, octal `\123`, hex `\x7f`). Returns the row unchanged (same string) when no
 * field changed.
 */
export function maskCopyTextRow(line: string, options: CopyTextOptions, columns: number, mask: MaskField): string {
  const newline = line.endsWith('\n') ? '\n' : '';
  const body = newline ? line.slice(0, -1) : line;
  const raw = splitEscaped(body, options.delimiter);
  if (raw.length !== columns) throw new WardenError('masking', 'a COPY row did not have the expected number of columns');
  let changed = false;
  const out = raw.map((field, index) => {
    if (field === options.null) return field;
    const value = unescapeText(field);
    const masked = mask(index, value);
    if (masked === value) return field;
    changed = true;
    return escapeText(masked, options.delimiter);
  });
  return changed ? out.join(options.delimiter) + newline : line;
}

function splitEscaped(body: string, delimiter: string): string[] {
  const fields: string[] = [];
  let start = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === '\\') i++;
    else if (c === delimiter) {
      fields.push(body.slice(start, i));
      start = i + 1;
    }
  }
  fields.push(body.slice(start));
  return fields;
}

const UNESCAPES: Readonly<Record<string, string>> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

function unescapeText(field: string): string {
  if (!field.includes('\\')) return field;
  return field.replace(/\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|.)/g, (_m, seq: string) => {
    if (seq[0] === 'x' && seq.length > 1) return String.fromCharCode(parseInt(seq.slice(1), 16));
    if (/^[0-7]+$/.test(seq)) return String.fromCharCode(parseInt(seq, 8));
    return UNESCAPES[seq] ?? seq;
  });
}

function escapeText(value: string, delimiter: string): string {
  let out = '';
  for (const c of value) {
    if (c === '\\') out += '\\\\';
    else if (c === '\n') out += '\\n';
    else if (c === '\r') out += '\\r';
    else if (c === '\t') out += '\\t';
    else if (c === delimiter) out += `\\${c}`;
    else out += c;
  }
  return out;
}

/**
 * CSV format: quoted fields double the quote (or use the escape character); an unquoted empty
 * field is NULL (by default). Masked fields are always written quoted.
 */
export function maskCopyCsvRow(line: string, options: CopyCsvOptions, columns: number, mask: MaskField): string {
  const newline = line.endsWith('\r\n') ? '\r\n' : line.endsWith('\n') ? '\n' : '';
  const body = line.slice(0, line.length - newline.length);
  const fields = splitCsv(body, options);
  if (fields.length !== columns) throw new WardenError('masking', 'a COPY row did not have the expected number of columns');
  let changed = false;
  const out = fields.map((field, index) => {
    if (!field.quoted && field.value === options.null) return field.raw;
    const masked = mask(index, field.value);
    if (masked === field.value) return field.raw;
    changed = true;
    const { quote, escape } = options;
    let quoted = '';
    for (const c of masked) quoted += c === quote || c === escape ? escape + c : c;
    return quote + quoted + quote;
  });
  return changed ? out.join(options.delimiter) + newline : line;
}

interface CsvField {
  readonly raw: string;
  readonly value: string;
  readonly quoted: boolean;
}

function splitCsv(body: string, options: CopyCsvOptions): CsvField[] {
  const fields: CsvField[] = [];
  let i = 0;
  for (;;) {
    const start = i;
    let value = '';
    let quoted = false;
    while (i < body.length && body[i] !== options.delimiter) {
      if (body[i] === options.quote) {
        quoted = true;
        i++;
        while (i < body.length) {
          const c = body[i]!;
          if (c === options.escape && i + 1 < body.length && (body[i + 1] === options.quote || body[i + 1] === options.escape) && (options.escape !== options.quote || body[i + 1] === options.quote)) {
            value += body[i + 1];
            i += 2;
          } else if (c === options.quote) {
            i++;
            break;
          } else {
            value += c;
            i++;
          }
        }
      } else {
        value += body[i];
        i++;
      }
    }
    fields.push({ raw: body.slice(start, i), value, quoted });
    if (i >= body.length) break;
    i++;
  }
  return fields;
}

/**
 * Binary format: an 11-byte signature, int32 flags, int32 extension length and extension (first
 * message only), then per row int16 field count and per field int32 length (-1 NULL) and bytes;
 * the trailer is a field count of -1.
 */
export const COPY_BINARY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

export function maskCopyBinary(payload: Buffer, first: boolean, columns: number, mask: (index: number, bytes: Buffer) => Buffer): Buffer {
  let offset = 0;
  if (first) {
    if (payload.length < 19 || !payload.subarray(0, 11).equals(COPY_BINARY_SIGNATURE)) throw new WardenError('masking', 'unexpected binary COPY header');
    offset = 19 + payload.readInt32BE(15);
  }
  const pieces: Buffer[] = [payload.subarray(0, offset)];
  let changed = false;
  while (offset < payload.length) {
    const count = payload.readInt16BE(offset);
    const rowStart = offset;
    offset += 2;
    if (count === -1) {
      pieces.push(payload.subarray(rowStart, offset));
      continue;
    }
    if (count !== columns) throw new WardenError('masking', 'a COPY row did not have the expected number of columns');
    pieces.push(payload.subarray(rowStart, offset));
    for (let i = 0; i < count; i++) {
      const length = payload.readInt32BE(offset);
      if (length === -1) {
        pieces.push(payload.subarray(offset, offset + 4));
        offset += 4;
        continue;
      }
      const value = payload.subarray(offset + 4, offset + 4 + length);
      if (value.length !== length) throw new WardenError('masking', 'a binary COPY row was cut short');
      const masked = mask(i, value);
      if (masked === value) {
        pieces.push(payload.subarray(offset, offset + 4 + length));
      } else {
        changed = true;
        const header = Buffer.alloc(4);
        header.writeInt32BE(masked.length);
        pieces.push(header, masked);
      }
      offset += 4 + length;
    }
  }
  return changed ? Buffer.concat(pieces) : payload;
}
