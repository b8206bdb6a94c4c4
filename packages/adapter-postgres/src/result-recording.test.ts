import type { ResultRecording } from '@warden/core';
import { PgResultRecording } from './result-recording';

/** RowDescription: 'T' | len | int16 n | n × (name\0 | table oid | attnum | type oid | typlen | typmod | format) */
function rowDescription(fields: ReadonlyArray<{ name: string; typeOid: number; format: 0 | 1 }>): Buffer {
  const parts = fields.map((field) => {
    const fixed = Buffer.alloc(18);
    fixed.writeUInt32BE(field.typeOid, 6);
    fixed.writeInt16BE(field.format, 16);
    return Buffer.concat([Buffer.from(`${field.name}\0`), fixed]);
  });
  return message(0x54, Buffer.concat([int16(fields.length), ...parts]));
}

/** DataRow: 'D' | len | int16 n | n × (int32 length, -1 for NULL | bytes) */
function dataRow(values: ReadonlyArray<Buffer | null>): Buffer {
  return message(0x44, Buffer.concat([int16(values.length), ...values.map((value) => (value === null ? int32(-1) : Buffer.concat([int32(value.length), value])))]));
}

function message(code: number, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header[0] = code;
  header.writeInt32BE(4 + body.length, 1);
  return Buffer.concat([header, body]);
}

function int16(n: number): Buffer {
  const buffer = Buffer.alloc(2);
  buffer.writeInt16BE(n);
  return buffer;
}

function int32(n: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeInt32BE(n);
  return buffer;
}

function capture(): { recording: ResultRecording; columns: string[][]; rows: (string | null)[][] } {
  const columns: string[][] = [];
  const rows: (string | null)[][] = [];
  return { columns, rows, recording: { columns: (names) => void columns.push([...names]), row: (values) => void rows.push([...values]), wantsValues: true, backedUp: false, drained: () => Promise.resolve() } };
}

describe('PgResultRecording', () => {
  it('records binary-format values as the text of their type, and <binary N bytes> for a type it cannot render', () => {
    const { recording, columns, rows } = capture();
    const recorder = new PgResultRecording(recording, () => undefined);
    const send = (bytes: Buffer) => recorder.sent(bytes[0]!, bytes, 0, bytes.length);
    send(
      rowDescription([
        { name: 'visits', typeOid: 23, format: 1 },
        { name: 'dob', typeOid: 1082, format: 1 },
        { name: 'ssn', typeOid: 25, format: 0 },
        { name: 'location', typeOid: 600, format: 1 },
        { name: 'note', typeOid: 25, format: 1 },
      ]),
    );
    // int4 42; date 2024-01-31 = 8796 days after 2000-01-01; text; a point (16 bytes); NULL
    send(dataRow([int32(42), int32(8796), Buffer.from('[REDACTED]'), Buffer.alloc(16), null]));
    expect(columns).toEqual([['visits', 'dob', 'ssn', 'location', 'note']]);
    expect(rows).toEqual([['42', '2024-01-31', '[REDACTED]', '<binary 16 bytes>', null]]);
  });

  it('leaves out the values of columns sent unmasked under an exemption', () => {
    const { recording, rows } = capture();
    const recorder = new PgResultRecording(recording, () => [true, false]);
    const description = rowDescription([
      { name: 'dob', typeOid: 25, format: 0 },
      { name: 'ssn', typeOid: 25, format: 0 },
    ]);
    recorder.sent(description[0]!, description, 0, description.length);
    const row = dataRow([Buffer.from('1958-07-23'), Buffer.from('[REDACTED]')]);
    recorder.sent(row[0]!, row, 0, row.length);
    expect(rows).toEqual([['<exempt, not recorded>', '[REDACTED]']]);
  });

  it('takes the formats of an undescribed Execute from its Bind', () => {
    const { recording, columns, rows } = capture();
    const recorder = new PgResultRecording(recording, () => undefined, () => [1]);
    const row = dataRow([int32(7)]);
    recorder.sent(row[0]!, row, 0, row.length);
    expect(columns).toEqual([]);
    expect(rows).toEqual([['<binary 4 bytes>']]);
  });
});
