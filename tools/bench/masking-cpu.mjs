#!/usr/bin/env node
/**
 * The Postgres masker alone, in one process, no sockets: the CPU time per DataRow of the rows that
 * tools/bench/masking.mjs streams (same columns, values and masking config), through
 * `ResultMasker.visit` as the relay calls it. A steadier figure than the end-to-end benchmark on a
 * shared machine, for working on the masker's speed.
 *
 * Needs a built tree (`npx tsc -b tsconfig.build.json`). Run: node tools/bench/masking-cpu.mjs [--rows N]
 */
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
const { Masker } = require('@warden/core');
const { ResultMasker } = require('@warden/adapter-postgres/dist/result-masker.js');

const { values } = parseArgs({ options: { rows: { type: 'string', default: '1000000' }, runs: { type: 'string', default: '5' } } });
const ROWS = Number(values.rows);
const RUNS = Number(values.runs);

const TABLE_OID = 16500;
const COLUMNS = [
  ['id', 23],
  ['full_name', 25],
  ['ssn', 25],
  ['dob', 1082],
  ['email', 25],
  ['phone', 25],
  ['notes', 25],
];
const resolver = {
  cached: (oid, attnum) => (oid === TABLE_OID ? { schema: 'public', table: 'phi', column: COLUMNS[attnum - 1][0] } : undefined),
  resolve: () => Promise.resolve(),
  describe: () => Promise.reject(new Error('not used')),
  invalidate: () => undefined,
};

function message(code, body) {
  const out = Buffer.alloc(5 + body.length);
  out[0] = code;
  out.writeInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}

function rowDescription() {
  const parts = [Buffer.from([0, COLUMNS.length])];
  COLUMNS.forEach(([name, type], i) => {
    const field = Buffer.alloc(18);
    field.writeUInt32BE(TABLE_OID, 0);
    field.writeInt16BE(i + 1, 4);
    field.writeUInt32BE(type, 6);
    field.writeInt16BE(-1, 10);
    field.writeInt32BE(-1, 12);
    field.writeInt16BE(0, 16);
    parts.push(Buffer.from(`${name}\0`), field);
  });
  return message(0x54, Buffer.concat(parts));
}

/** The row the end-to-end benchmark's table holds for `i` (see seed() in masking.mjs). */
function rowValues(i) {
  const dob = new Date(Date.UTC(1940, 0, 1) + (i % 25000) * 86_400_000).toISOString().slice(0, 10);
  return [
    String(i),
    `Patient ${i}`,
    `${String(100 + (i % 600)).padStart(3, '0')}-${String(1 + (i % 98)).padStart(2, '0')}-${String(1 + (i % 9998)).padStart(4, '0')}`,
    dob,
    `user${i}@mail.example`,
    `(617) 555-${String(i % 10000).padStart(4, '0')}`,
    i % 10 === 0 ? 'Pt called from (617) 555-0100; DOB 03/14/1962; BP 120/80, dose 500 mg.' : 'Stable overnight, ambulating, tolerating diet; BP 120/80, HR 72, dose 500 mg q8h.',
  ];
}

function dataRows(count) {
  // As the relay sees them: many rows per chunk.
  const rows = [];
  for (let i = 1; i <= count; i++) {
    const parts = [Buffer.from([0, COLUMNS.length])];
    for (const value of rowValues(i)) {
      const bytes = Buffer.from(value, 'utf8');
      const length = Buffer.alloc(4);
      length.writeInt32BE(bytes.length);
      parts.push(length, bytes);
    }
    rows.push(message(0x44, Buffer.concat(parts)));
  }
  const chunk = Buffer.concat(rows);
  const offsets = [];
  let at = 0;
  for (const row of rows) {
    offsets.push(at);
    at += row.length;
  }
  return { chunk, offsets };
}

const masker = new Masker({
  key: Buffer.alloc(32, 7),
  columns: { 'phi.ssn': 'redact', 'phi.dob': 'year-only', 'phi.email': 'partial', 'phi.full_name': 'hash' },
  detectors: ['ssn', 'email', 'phone', 'date', 'name', 'credit-card', 'mrn'],
});

const SAMPLE = 100_000;
const { chunk, offsets } = dataRows(SAMPLE);
const description = rowDescription();

function run(withMasker) {
  const results = new ResultMasker(resolver);
  const execution = withMasker ? { masker, text: 'SELECT id, full_name, ssn, dob, email, phone, notes FROM phi' } : { text: 'SELECT …' };
  results.visit(0x54, description, 0, description.length, execution);
  let replaced = 0;
  const started = process.cpuUsage();
  for (let n = 0; n < ROWS; n++) {
    const i = n % SAMPLE;
    const start = offsets[i];
    const end = i + 1 < SAMPLE ? offsets[i + 1] : chunk.length;
    const outcome = results.visit(0x44, chunk, start, end, execution);
    if (outcome.action === 'replace') replaced++;
    else if (outcome.action !== 'forward') throw new Error(`unexpected outcome ${outcome.action}`);
  }
  const used = process.cpuUsage(started);
  return { seconds: (used.user + used.system) / 1e6, replaced };
}

run(true); // warm up the JIT
const best = { off: Infinity, on: Infinity };
for (let r = 0; r < RUNS; r++) {
  best.off = Math.min(best.off, run(false).seconds);
  const on = run(true);
  if (on.replaced !== ROWS) throw new Error(`only ${on.replaced} of ${ROWS} rows were masked`);
  best.on = Math.min(best.on, on.seconds);
}
console.log(`${ROWS.toLocaleString('en-US')} DataRows of 7 columns (4 under rules, 2 scanned by detectors), best of ${RUNS}:`);
console.log(`  without masking  ${((best.off * 1e6) / ROWS).toFixed(2)} µs/row`);
console.log(`  with masking     ${((best.on * 1e6) / ROWS).toFixed(2)} µs/row`);
