import { Masker } from '@warden/core';
import { loadSqlParsers } from '@warden/sql';
import { Writer } from 'pg-protocol/dist/buffer-writer';
import type { ColumnName, ColumnResolver, DescribedField } from './column-resolver';
import { BackendCode } from './message-codes';
import { MessageSplitter, Visit } from './message-splitter';
import { TypeOid } from './pg-values';
import { ResultMasker, type MaskedExecution } from './result-masker';

const PATIENTS_OID = 16400;
const NAMES: Record<number, ColumnName> = {
  1: { schema: 'public', table: 'patients', column: 'id' },
  2: { schema: 'public', table: 'patients', column: 'ssn' },
  3: { schema: 'public', table: 'patients', column: 'dob' },
  4: { schema: 'public', table: 'patients', column: 'notes' },
};

/** An in-memory resolver; `lookups` counts round trips to the (pretend) target. */
function fakeResolver(options: { cached?: boolean; describe?: DescribedField[] } = {}): ColumnResolver & { lookups: number } {
  let known = options.cached ?? false;
  return {
    lookups: 0,
    cached: (oid, attnum) => (oid === PATIENTS_OID && known ? (NAMES[attnum] ?? null) : undefined),
    resolve(this: { lookups: number }) {
      this.lookups++;
      known = true;
      return Promise.resolve();
    },
    describe: () => (options.describe ? Promise.resolve(options.describe) : Promise.reject(new Error('no describe'))),
    invalidate: () => {
      known = false;
    },
  };
}

const masker = new Masker({ key: Buffer.alloc(32, 1), columns: { 'patients.ssn': 'redact', 'patients.dob': 'year-only' }, detectors: ['ssn'] });

function rowDescription(fields: Array<[string, number, number, number, number]>): Buffer {
  const w = new Writer().addInt16(fields.length);
  for (const [name, table, attnum, type, format] of fields) w.addCString(name).addInt32(table).addInt16(attnum).addInt32(type).addInt16(-1).addInt32(-1).addInt16(format);
  return w.flush(BackendCode.RowDescription);
}

function dataRow(values: Array<Buffer | string | null>): Buffer {
  const w = new Writer().addInt16(values.length);
  for (const v of values) {
    if (v === null) w.addInt32(-1);
    else {
      const b = typeof v === 'string' ? Buffer.from(v) : v;
      w.addInt32(b.length).add(b);
    }
  }
  return w.flush(BackendCode.DataRow);
}

const commandComplete = (tag: string) => new Writer().addCString(tag).flush(BackendCode.CommandComplete);
const readyForQuery = () => Buffer.from([BackendCode.ReadyForQuery, 0, 0, 0, 5, 0x49]);
function copyOutMessage(format: number, columns: number): Buffer {
  const body = Buffer.alloc(3 + 2 * columns);
  body[0] = format;
  body.writeInt16BE(columns, 1);
  for (let i = 0; i < columns; i++) body.writeInt16BE(format, 3 + 2 * i);
  const header = Buffer.alloc(5);
  header[0] = BackendCode.CopyOutResponse;
  header.writeInt32BE(4 + body.length, 1);
  return Buffer.concat([header, body]);
}
const copyData = (text: string) => new Writer().add(Buffer.from(text)).flush(BackendCode.CopyData);
const copyDone = () => Buffer.from([BackendCode.CopyDone, 0, 0, 0, 4]);

/** Runs a target stream through a splitter and the masker, cut into chunks of `chunk` bytes. */
async function run(stream: Buffer, chunk: number, execution: MaskedExecution, resolver: ColumnResolver): Promise<Buffer> {
  const results = new ResultMasker(resolver);
  const out: Buffer[] = [];
  let pending: Promise<void> | undefined;
  const splitter = new MessageSplitter({ maxMessageSize: 1 << 24, startup: false }, (code, buffer, start, end) => {
    const outcome = results.visit(code, buffer, start, end, execution);
    if (outcome.action === 'wait') {
      pending = outcome.ready;
      return Visit.Wait;
    }
    if (outcome.action === 'forward') out.push(Buffer.from(buffer.subarray(start, end)));
    // A replaced row may be a view of a buffer the next visit reuses: copy it, as the relay does.
    else if (outcome.action !== 'drop') out.push(Buffer.from(outcome.bytes));
    return Visit.Continue;
  });
  for (let at = 0; at < stream.length; at += chunk) {
    splitter.push(stream.subarray(at, at + chunk));
    while (pending) {
      const waiting = pending;
      pending = undefined;
      await waiting;
      splitter.resume();
    }
  }
  return Buffer.concat(out);
}

const description = rowDescription([
  ['id', PATIENTS_OID, 1, TypeOid.int4, 0],
  ['ssn', PATIENTS_OID, 2, TypeOid.text, 0],
  ['dob', PATIENTS_OID, 3, TypeOid.date, 0],
  ['notes', PATIENTS_OID, 4, TypeOid.text, 0],
  ['label', 0, 0, TypeOid.text, 0],
]);
const input = Buffer.concat([
  description,
  dataRow(['1', '123-45-6789', '1962-03-14', 'SSN 219-47-8831 noted', 'x']),
  dataRow(['2', null, null, 'nothing here', null]),
  commandComplete('SELECT 2'),
  readyForQuery(),
]);
const expected = Buffer.concat([
  description,
  dataRow(['1', '[REDACTED]', '1962-01-01', 'SSN [SSN] noted', 'x']),
  dataRow(['2', null, null, 'nothing here', null]),
  commandComplete('SELECT 2'),
  readyForQuery(),
]);

/** The statement `description` describes (its computed `label` derives from no column). */
const SELECT_TEXT = "SELECT id, ssn, dob, notes, 'x' AS label FROM patients";

// Computed columns are judged by the lineage of the statement's parse tree.
beforeAll(() => loadSqlParsers());

describe('ResultMasker', () => {
  it('holds no state for finished commands: a long session does not grow with every result', () => {
    const results = new ResultMasker(fakeResolver({ cached: true }));
    for (let i = 0; i < 500; i++) {
      const execution: MaskedExecution = { masker, text: `${SELECT_TEXT} LIMIT ${i + 1}` };
      const visit = (message: Buffer) => results.visit(message[0]!, message, 0, message.length, execution);
      visit(description);
      visit(dataRow([String(i), '123-45-6789', '1962-03-14', 'nothing here', null]));
      visit(commandComplete('SELECT 1'));
      expect(results.takeCounts(execution)).toEqual({ masked: { redact: 1, 'year-only': 1 } });
      visit(readyForQuery());
    }
    // The current result may stay (more rows can follow a PortalSuspended); finished ones do not.
    expect((results as unknown as { results: unknown[] }).results.length).toBeLessThanOrEqual(1);
  });

  it('masks text-format rows by column, keeps NULL and untouched values', async () => {
    const resolver = fakeResolver();
    expect(await run(input, input.length, { masker, text: SELECT_TEXT }, resolver)).toEqual(expected);
    expect(resolver.lookups).toBe(1);
  });

  it('masks many rows in a row, a huge one among them, each as if alone', async () => {
    const huge = `SSN 219-47-8831 ${'x'.repeat(3 * 1024 * 1024)}`;
    const rows = Array.from({ length: 50 }, (_, i) => [String(i), `123-45-${String(1000 + i)}`, '1962-03-14', i === 20 ? huge : `note ${i}`, null]);
    const stream = Buffer.concat([description, ...rows.map((row) => dataRow(row)), commandComplete('SELECT 50'), readyForQuery()]);
    const masked = Buffer.concat([
      description,
      ...rows.map((row, i) => dataRow([row[0]!, '[REDACTED]', '1962-01-01', i === 20 ? huge.replace('219-47-8831', '[SSN]') : row[3]!, null])),
      commandComplete('SELECT 50'),
      readyForQuery(),
    ]);
    expect((await run(stream, 1 << 16, { masker, text: SELECT_TEXT }, fakeResolver({ cached: true }))).equals(masked)).toBe(true);
  });

  it('refuses results with something to mask while the client encoding is not UTF8, and masks again once it is', async () => {
    const parameter = (name: string, value: string) => new Writer().addCString(name).addCString(value).flush(BackendCode.ParameterStatus);
    const rows = (n: number) => [description, dataRow([String(n), '123-45-6789', '1962-03-14', 'ok', null]), commandComplete('SELECT 1'), readyForQuery()];
    const stream = Buffer.concat([parameter('client_encoding', 'LATIN1'), ...rows(1), parameter('client_encoding', 'UTF8'), ...rows(2)]);
    const out = (await run(stream, 7, { masker, text: SELECT_TEXT }, fakeResolver({ cached: true }))).toString('latin1');
    expect(out).toContain("client_encoding is LATIN1 and Warden masks results in UTF8 only (SET client_encoding TO 'UTF8')");
    expect(out).not.toContain('123-45-6789');
    // Back in UTF8: the next result is masked as usual, and the ParameterStatus messages reach the client.
    expect(out).toContain('[REDACTED]');
    expect(out).toContain('client_encoding\u0000LATIN1\u0000');
    expect(out).toContain('client_encoding\u0000UTF8\u0000');
  });

  it('gives the same output whatever the chunking (split at every byte)', async () => {
    for (let chunk = 1; chunk <= input.length; chunk++) {
      expect(await run(input, chunk, { masker, text: SELECT_TEXT }, fakeResolver({ cached: true }))).toEqual(expected);
    }
  });

  it('forwards everything untouched without a masker', async () => {
    expect(await run(input, 7, { text: SELECT_TEXT }, fakeResolver())).toEqual(input);
  });

  it('masks binary-format values through their codecs', async () => {
    const binary = rowDescription([
      ['ssn', PATIENTS_OID, 2, TypeOid.text, 1],
      ['dob', PATIENTS_OID, 3, TypeOid.date, 1],
    ]);
    const days = Buffer.alloc(4);
    days.writeInt32BE(-13807); // 1962-03-14
    const yearOnly = Buffer.alloc(4);
    yearOnly.writeInt32BE(-13879); // 1962-01-01
    const stream = Buffer.concat([binary, dataRow([Buffer.from('123-45-6789'), days]), readyForQuery()]);
    expect(await run(stream, 3, { masker, text: 'q' }, fakeResolver())).toEqual(Buffer.concat([binary, dataRow([Buffer.from('[REDACTED]'), yearOnly]), readyForQuery()]));
  });

  it('takes the formats of an Execute from its Bind, and describes it on the side when no RowDescription came', async () => {
    const results = new ResultMasker(fakeResolver({ cached: true, describe: [{ name: 'dob', tableOid: PATIENTS_OID, attnum: 3, typeOid: TypeOid.date, format: 0 }] }));
    const bind = new Writer().addCString('p1').addCString('s1').addInt16(0).addInt16(0).addInt16(1).addInt16(1).flush(0x42);
    results.noteBind(bind, 0, bind.length, 'p1');
    const execution = { masker, text: 'SELECT dob FROM patients', portal: 'p1' };
    const days = Buffer.alloc(4);
    days.writeInt32BE(-13807);
    const row = dataRow([days]);
    const first = results.visit(BackendCode.DataRow, row, 0, row.length, execution);
    expect(first.action).toBe('wait');
    await (first as { ready: Promise<void> }).ready;
    const second = results.visit(BackendCode.DataRow, row, 0, row.length, execution);
    expect(second.action === 'replace' && second.bytes.readInt32BE(11)).toBe(-13879);
    expect(results.takeCounts(execution)).toEqual({ masked: { 'year-only': 1 } });
  });

  it('fails closed: a value it cannot read becomes an ErrorResponse and the rest is withheld until ReadyForQuery', async () => {
    const stream = Buffer.concat([description, dataRow(['1', 'x', '14/03/1962', 'n', null]), dataRow(['2', 'y', '1962-03-14', 'n', null]), commandComplete('SELECT 2'), readyForQuery()]);
    const out = await run(stream, stream.length, { masker, text: 'q' }, fakeResolver({ cached: true }));
    expect(out.subarray(0, description.length)).toEqual(description);
    const error = out.subarray(description.length, out.length - 6);
    expect(error[0]).toBe(BackendCode.ErrorResponse);
    expect(error.toString()).toContain('Warden: the result was withheld');
    expect(error.toString()).not.toContain('1962');
    expect(out.subarray(out.length - 6)).toEqual(readyForQuery());
  });

  it('fails closed when the columns cannot be resolved', async () => {
    const broken: ColumnResolver = { cached: () => undefined, resolve: () => Promise.reject(new Error('down')), describe: () => Promise.reject(new Error('down')), invalidate: () => undefined };
    const out = await run(input, input.length, { masker, text: 'q' }, broken);
    expect(out.toString()).toContain('Warden: the result was withheld');
    expect(out.toString()).not.toContain('123-45-6789');
  });

  it('masks COPY TO STDOUT text rows with the columns of the COPY', async () => {
    const resolver = fakeResolver({
      cached: true,
      describe: [
        { name: 'id', tableOid: PATIENTS_OID, attnum: 1, typeOid: TypeOid.int4, format: 0 },
        { name: 'ssn', tableOid: PATIENTS_OID, attnum: 2, typeOid: TypeOid.text, format: 0 },
      ],
    });
    await loadSqlParsers();
    const stream = Buffer.concat([copyOutMessage(0, 2), copyData('1\t123-45-6789\n'), copyData('2\t\\N\n'), copyDone(), commandComplete('COPY 2'), readyForQuery()]);
    const out = await run(stream, 5, { masker, text: 'COPY patients (id, ssn) TO STDOUT' }, resolver);
    expect(out).toEqual(Buffer.concat([copyOutMessage(0, 2), copyData('1\t[REDACTED]\n'), copyData('2\t\\N\n'), copyDone(), commandComplete('COPY 2'), readyForQuery()]));
  });
});
