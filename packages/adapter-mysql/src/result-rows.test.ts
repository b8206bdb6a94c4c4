import { Masker } from '@warden/core';
import { PayloadReader, PayloadWriter } from './packet-codec';
import { PacketSplitter, Visit } from './packet-splitter';
import { ColumnFlag, ColumnType } from './protocol';
import { ResponseTracker } from './response-tracker';
import { ResultRows, type ResultRowsOptions, type RowOutcome } from './result-rows';
import { fitInteger } from './row-values';
import { binaryRowFrame, textRowFrame, typedResultFrames, type ColumnSpec } from './testing/packet-frames';

const KEY = Buffer.alloc(32, 7);
const masker = new Masker({
  key: KEY,
  columns: { 'patients.ssn': 'redact', 'patients.dob': 'year-only', 'patients.visits': 'hash', 'patients.level': 'hash', 'patients.balance': 'hash', 'patients.seen': 'year-only', 'patients.photo': 'redact' },
  detectors: ['ssn', 'email'],
});

const BINARY = 63;
const COLUMNS: ColumnSpec[] = [
  { name: 'id', table: 'patients', type: ColumnType.LONG, characterSet: BINARY },
  { name: 'full_name', table: 'patients', type: ColumnType.VAR_STRING },
  { name: 'ssn', table: 'patients', type: ColumnType.STRING },
  { name: 'dob', table: 'patients', type: ColumnType.DATE, characterSet: BINARY },
  { name: 'notes', table: 'patients', type: ColumnType.BLOB },
];

/** Feeds a response (split at `cut`) through splitter, tracker and ResultRows; returns what the client gets. */
function relay(bytes: Buffer, options: ResultRowsOptions, deprecateEof: boolean, cut?: number): { out: Buffer; outcomes: RowOutcome['action'][]; rows: ResultRows; done: boolean } {
  const tracker = new ResponseTracker(deprecateEof);
  tracker.begin('result');
  const rows = new ResultRows(options);
  const out: Buffer[] = [];
  const outcomes: RowOutcome['action'][] = [];
  let done = false;
  const splitter = new PacketSplitter((packet) => {
    const outcome = tracker.feed(packet);
    const result = rows.visit(packet, tracker.lastRole);
    outcomes.push(result.action);
    if (result.action === 'forward') out.push(Buffer.from(packet.buffer.subarray(packet.start, packet.end)));
    else if (result.action !== 'drop') out.push(result.bytes);
    if (outcome) done = true;
    return Visit.Continue;
  });
  if (cut === undefined) splitter.push(bytes);
  else {
    splitter.push(bytes.subarray(0, cut));
    splitter.push(bytes.subarray(cut));
  }
  return { out: Buffer.concat(out), outcomes, rows, done };
}

/** The same output whatever byte the input is split at. */
function relayAtEveryByte(bytes: Buffer, options: () => ResultRowsOptions, deprecateEof: boolean): ReturnType<typeof relay> {
  const whole = relay(bytes, options(), deprecateEof);
  for (let cut = 1; cut < bytes.length; cut++) {
    const split = relay(bytes, options(), deprecateEof, cut);
    expect(split.out.equals(whole.out)).toBe(true);
    expect(split.done).toBe(whole.done);
  }
  return whole;
}

interface OutPacket {
  readonly sequenceId: number;
  readonly payload: Buffer;
}

function packets(bytes: Buffer): OutPacket[] {
  const list: OutPacket[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const length = bytes.readUIntLE(offset, 3);
    list.push({ sequenceId: bytes[offset + 3]!, payload: bytes.subarray(offset + 4, offset + 4 + length) });
    offset += 4 + length;
  }
  return list;
}

function textValues(payload: Buffer, count: number, encoding: BufferEncoding = 'utf8'): (string | null)[] {
  const reader = new PayloadReader(payload, 0, payload.length);
  const values: (string | null)[] = [];
  for (let i = 0; i < count; i++) {
    if (payload[reader.offset] === 0xfb) {
      reader.offset++;
      values.push(null);
    } else values.push(reader.lenencBytes().toString(encoding));
  }
  expect(reader.remaining).toBe(0);
  return values;
}

const lenenc = (text: string, encoding: BufferEncoding = 'utf8') => new PayloadWriter().lenencBytes(Buffer.from(text, encoding)).payload();
const int32 = (n: number) => new PayloadWriter().u32(n).payload();
const date = (y: number, m: number, d: number) => new PayloadWriter().u8(4).u16(y).u8(m).u8(d).payload();

describe.each([true, false])('ResultRows, text protocol (CLIENT_DEPRECATE_EOF %s)', (deprecateEof) => {
  const plain = (seq: number) => textRowFrame(seq, ['2', 'Ben Ames', null, null, 'no identifiers here']);
  const bytes = typedResultFrames({
    columns: COLUMNS,
    deprecateEof,
    rows: [(seq) => textRowFrame(seq, ['1', 'Ann Lee', '219-47-8831', '1958-07-23', 'SSN 412-63-9054, mail ann@example.org']), plain],
  });
  const header = deprecateEof ? 6 : 7;

  it('masks column rules and free text, keeps NULLs and sequence ids, at every split', () => {
    const { out, rows, done } = relayAtEveryByte(bytes, () => ({ binary: false, masker, objects: ['patients'] }), deprecateEof);
    expect(done).toBe(true);
    const list = packets(out);
    expect(list.map((p) => p.sequenceId)).toEqual(list.map((_, i) => i + 1));
    expect(textValues(list[header]!.payload, 5)).toEqual(['1', 'Ann Lee', '[REDACTED]', '1958-01-01', 'SSN [SSN], mail [EMAIL]']);
    expect(textValues(list[header + 1]!.payload, 5)).toEqual(['2', 'Ben Ames', null, null, 'no identifiers here']);
    expect(rows.sent).toBe(2);
    expect(rows.counts()).toEqual({ masked: { redact: 1, 'year-only': 1, ssn: 1, email: 1 } });
  });

  it('forwards a row with nothing to mask as the bytes it came in', () => {
    const { out, outcomes } = relay(bytes, { binary: false, masker, objects: ['patients'] }, deprecateEof);
    expect(out.includes(plain(header + 2))).toBe(true);
    expect(outcomes.filter((o) => o === 'replace')).toHaveLength(1);
  });

  it('cuts at the row budget with ERR 1317 in place of the next row, never a terminator', () => {
    const many = typedResultFrames({ columns: COLUMNS.slice(0, 2), deprecateEof, rows: [1, 2, 3, 4].map((n) => (seq: number) => textRowFrame(seq, [String(n), `P ${n}`])) });
    const { out, rows, done } = relayAtEveryByte(many, () => ({ binary: false, objects: [], budget: { perStatement: 2 } }), deprecateEof);
    expect(done).toBe(true);
    const list = packets(out);
    const last = list[list.length - 1]!;
    expect(list).toHaveLength(1 + 2 + (deprecateEof ? 0 : 1) + 2 + 1);
    expect(last.payload[0]).toBe(0xff);
    expect(last.payload.readUInt16LE(1)).toBe(1317);
    expect(last.sequenceId).toBe(list[list.length - 2]!.sequenceId + 1);
    expect(last.payload.toString('utf8', 9)).toBe('Warden: the result was cut after 2 rows, the budget per statement; it is incomplete (rule "budget:rows-per-statement")');
    expect(rows.sent).toBe(2);
  });

  it('cuts at what is left of the session budget', () => {
    const many = typedResultFrames({ columns: COLUMNS.slice(0, 1), deprecateEof, rows: [1, 2, 3].map((n) => (seq: number) => textRowFrame(seq, [String(n)])) });
    const { out, rows } = relay(many, { binary: false, objects: [], budget: { sessionRemaining: 1, sessionLimit: 10 } }, deprecateEof);
    expect(rows.sent).toBe(1);
    expect(out.toString('utf8')).toContain("the session's budget of 10 rows is used up");
  });

  it('withholds the result when a rule applies to a column it cannot mask', () => {
    const blob = typedResultFrames({
      columns: [{ name: 'photo', table: 'patients', type: ColumnType.BLOB, characterSet: BINARY }],
      deprecateEof,
      rows: [(seq) => textRowFrame(seq, ['raw-bytes']), (seq) => textRowFrame(seq, ['more'])],
    });
    const { out, outcomes, rows } = relayAtEveryByte(blob, () => ({ binary: false, masker, objects: ['patients'] }), deprecateEof);
    expect(out.includes(Buffer.from('raw-bytes'))).toBe(false);
    expect(outcomes).toContain('fail');
    expect(out.toString('utf8')).toContain('Warden: the result was withheld because');
    expect(rows.sent).toBe(0);
  });

  it('applies the rules of the tables the statement reads to columns of derived tables', () => {
    const derived = typedResultFrames({
      columns: [{ name: 'ssn', table: 't', orgTable: 't', type: ColumnType.STRING }],
      deprecateEof,
      rows: [(seq) => textRowFrame(seq, ['219-47-8831'])],
    });
    const { out } = relay(derived, { binary: false, masker, objects: ['clinic.patients'] }, deprecateEof);
    expect(out.includes(Buffer.from('219-47-8831'))).toBe(false);
    expect(out.toString('utf8')).toContain('[REDACTED]');
  });

  it('reads and writes latin1 values exactly, and refuses a character set it cannot read', () => {
    const latin = typedResultFrames({
      columns: [{ name: 'notes', table: 'patients', type: ColumnType.VAR_STRING, characterSet: 8 }],
      deprecateEof,
      rows: [(seq) => new PayloadWriter().lenencBytes(Buffer.from(Buffer.from('Zoë € 219-47-8831', 'latin1').map((b) => (b === 0xac ? 0x80 : b)))).packet(seq)],
    });
    const { out } = relayAtEveryByte(latin, () => ({ binary: false, masker, objects: ['patients'] }), deprecateEof);
    const row = packets(out)[deprecateEof ? 2 : 3]!;
    // 'Zoë ' and '€' (0x80 in Windows-1252) survive byte for byte.
    expect(row.payload.subarray(1)).toEqual(Buffer.concat([Buffer.from('Zoë ', 'latin1'), Buffer.from([0x80]), Buffer.from(' [SSN]', 'latin1')]));

    const gbk = typedResultFrames({ columns: [{ name: 'notes', table: 'patients', type: ColumnType.VAR_STRING, characterSet: 28 }], deprecateEof, rows: [(seq) => textRowFrame(seq, ['x'])] });
    expect(relay(gbk, { binary: false, masker, objects: [] }, deprecateEof).outcomes).toContain('fail');
  });

  it('counts values an exempt identity sees unmasked', () => {
    const exempt = new Masker({ key: KEY, columns: { 'patients.ssn': 'redact' }, exempt: ['patients.ssn'] });
    const { out, rows } = relay(bytes, { binary: false, masker: exempt, objects: ['patients'] }, deprecateEof);
    expect(out.includes(Buffer.from('219-47-8831'))).toBe(true);
    expect(rows.counts()).toEqual({ unmasked: { 'db.patients.ssn': 1 } });
  });
});

describe('ResultRows, binary protocol', () => {
  const columns: ColumnSpec[] = [
    ...COLUMNS,
    { name: 'visits', table: 'patients', type: ColumnType.LONGLONG, characterSet: BINARY, flags: ColumnFlag.Unsigned },
    { name: 'level', table: 'patients', type: ColumnType.TINY, characterSet: BINARY },
    { name: 'balance', table: 'patients', type: ColumnType.DOUBLE, characterSet: BINARY },
    { name: 'seen', table: 'patients', type: ColumnType.DATETIME, characterSet: BINARY },
  ];
  const datetime = new PayloadWriter().u8(7).u16(2024).u8(3).u8(14).u8(8).u8(30).u8(5).payload();
  const first = [int32(1), lenenc('Ann Lee'), lenenc('219-47-8831'), date(1958, 7, 23), lenenc('call ann@example.org'), new PayloadWriter().u32(41).u32(0).payload(), Buffer.from([100]), new PayloadWriter().payload(), datetime];
  first[7] = Buffer.alloc(8);
  first[7].writeDoubleLE(1234.5);
  const second = [int32(2), lenenc('Ben Ames'), undefined, undefined, undefined, undefined, undefined, undefined, undefined];
  const bytes = typedResultFrames({ columns, deprecateEof: true, rows: [(seq) => binaryRowFrame(seq, first), (seq) => binaryRowFrame(seq, second)] });

  it('masks values in their binary encodings, type-preserving, at every split', () => {
    const { out, rows } = relayAtEveryByte(bytes, () => ({ binary: true, masker, objects: ['patients'] }), true);
    const list = packets(out);
    const row = list[1 + columns.length]!.payload;
    expect(row[0]).toBe(0);
    // Nothing NULL in the first row: bitmap of (9 + 9) / 8 = 2 bytes, all zero.
    expect(row.subarray(1, 3)).toEqual(Buffer.from([0, 0]));
    const reader = new PayloadReader(row, 3, row.length);
    expect(reader.u32()).toBe(1);
    expect(reader.lenencBytes().toString()).toBe('Ann Lee');
    expect(reader.lenencBytes().toString()).toBe('[REDACTED]');
    expect([reader.u8(), reader.u16(), reader.u8(), reader.u8()]).toEqual([4, 1958, 1, 1]);
    expect(reader.lenencBytes().toString()).toBe('call [EMAIL]');
    const visits = row.readBigUInt64LE(reader.offset);
    reader.skip(8);
    expect(visits).not.toBe(41n);
    const level = row.readInt8(reader.offset);
    reader.skip(1);
    expect(level).toBeGreaterThanOrEqual(0);
    expect(level).not.toBe(100);
    const balance = row.readDoubleLE(reader.offset);
    reader.skip(8);
    expect(Number.isInteger(balance)).toBe(true);
    expect([reader.u8(), reader.u16(), reader.u8(), reader.u8(), reader.u8(), reader.u8(), reader.u8()]).toEqual([7, 2024, 1, 1, 0, 0, 0]);
    expect(reader.remaining).toBe(0);
    // The second row has nothing to mask: forwarded as it came.
    expect(list[2 + columns.length]!.payload).toEqual(binaryRowFrame(0, second).subarray(4));
    expect(rows.sent).toBe(2);
  });

  it('gives the same masked values in both protocols', () => {
    const text = typedResultFrames({
      columns,
      deprecateEof: true,
      rows: [(seq) => textRowFrame(seq, ['1', 'Ann Lee', '219-47-8831', '1958-07-23', 'call ann@example.org', '41', '100', '1234.5', '2024-03-14 08:30:05'])],
    });
    const values = textValues(packets(relay(text, { binary: false, masker, objects: ['patients'] }, true).out)[1 + columns.length]!.payload, columns.length);
    const binaryRow = packets(relay(bytes, { binary: true, masker, objects: ['patients'] }, true).out)[1 + columns.length]!.payload;
    // header, bitmap, id, 'Ann Lee', '[REDACTED]', the date, 'call [EMAIL]': then visits, level, balance.
    const at = 3 + 4 + 8 + 11 + 5 + 13;
    expect(values.slice(5, 8)).toEqual([String(binaryRow.readBigUInt64LE(at)), String(binaryRow.readInt8(at + 8)), String(binaryRow.readDoubleLE(at + 9))]);
    expect(values[8]).toBe('2024-01-01 00:00:00');
  });
});

describe('fitInteger', () => {
  it('folds a value into the column width, keeping values that fit', () => {
    expect(fitInteger('100', 8, false)).toBe('100');
    expect(fitInteger('-5', 8, false)).toBe('-5');
    expect(fitInteger('300', 8, false)).toBe(String(300 % 128));
    expect(fitInteger('300', 8, true)).toBe(String(300 % 256));
    expect(fitInteger('9007199254740991', 64, true)).toBe('9007199254740991');
    expect(() => fitInteger('1.5', 8, false)).toThrow();
  });
});
