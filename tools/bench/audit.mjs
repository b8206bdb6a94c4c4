#!/usr/bin/env node
/**
 * The embedded audit store (`FileAuditLog`): append throughput with `durability: disk` (each
 * append waits for its `fdatasync`) and `os` (written to the OS, synced within 100 ms), with 1 and
 * with 64 concurrent appenders (group commit: appends made while a write is in flight share the
 * next write and sync), and verification speed (`warden audit verify`'s chain + Merkle tree +
 * checkpoint pass, and the chain alone) over a log of `--verify-records` records.
 *
 * Runs the built packages: `npx tsc -b tsconfig.build.json` first. See tools/bench/README.md.
 *
 *   node tools/bench/audit.mjs [--records N] [--seconds S] [--verify-records N] [--segment-bytes B] [--dir DIR] [--json]
 */
import { createRequire } from 'node:module';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const { FileAuditLog, listSegments, loadOrCreateSigningKey, verifyAuditEvidence, verifyAuditLog } = require('@warden/core');

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '20000' },
    seconds: { type: 'string', default: '5' },
    'verify-records': { type: 'string', default: '200000' },
    'segment-bytes': { type: 'string', default: String(64 * 1024 * 1024) },
    dir: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
  strict: true,
});
const RECORDS = Number(values.records);
const SECONDS = Number(values.seconds);
const VERIFY_RECORDS = Number(values['verify-records']);
const SEGMENT_BYTES = Number(values['segment-bytes']);
if (![RECORDS, VERIFY_RECORDS, SEGMENT_BYTES].every((n) => Number.isInteger(n) && n >= 100) || !(SECONDS > 0)) {
  process.stderr.write('audit.mjs: --records, --verify-records and --segment-bytes are integers ≥ 100, --seconds > 0\n');
  process.exit(2);
}

// The data directory's file system decides the sync cost: bench where the gateway keeps its data.
const base = mkdtempSync(path.join(values.dir ?? os.tmpdir(), 'warden-bench-audit-'));
process.on('exit', () => rmSync(base, { recursive: true, force: true }));

/** A command record as the Postgres adapter writes one (about 450 bytes in the log). */
function commandEvent(n) {
  return {
    type: 'command',
    sessionId: `s-${n % 64}`,
    commandSeq: n,
    text: `SELECT id, full_name, dob FROM patients WHERE id = ${n} AND clinic_id = $1`,
    classification: { action: 'read', objects: ['public.patients'], bulk: false, columns: ['id', 'full_name', 'dob'], statementCount: 1, statements: [{ action: 'read', objects: ['public.patients'], kind: 'select' }] },
    decision: { effect: 'allow', rule: 'clinicians-read', masking: { columns: { 'patients.dob': 'year-only' }, detectors: ['ssn', 'email'] } },
  };
}

async function openLog(dir, durability) {
  const key = await loadOrCreateSigningKey(dir);
  // As the gateway opens it: signed checkpoints every 1000 records.
  return FileAuditLog.open({ dir, durability, syncIntervalMs: 100, segmentBytes: SEGMENT_BYTES, checkpoints: { key, everyRecords: 1000, everySeconds: 60 } });
}

/** `concurrency` appenders, each awaiting its own append before the next, until RECORDS or SECONDS. */
async function appendThroughput(durability, concurrency) {
  const dir = path.join(base, `append-${durability}-${concurrency}`);
  const log = await openLog(dir, durability);
  const deadline = performance.now() + SECONDS * 1000;
  let issued = 0;
  const started = performance.now();
  const worker = async () => {
    while (issued < RECORDS && performance.now() < deadline) await log.append(commandEvent(++issued));
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (performance.now() - started) / 1000;
  const batches = log.batches;
  await log.close();
  return { durability, concurrency, records: issued, seconds: elapsed, perSecond: issued / elapsed, recordsPerWrite: issued / batches };
}

async function verifySpeed() {
  const dir = path.join(base, 'verify');
  const log = await openLog(dir, 'os');
  let issued = 0;
  const worker = async () => {
    while (issued < VERIFY_RECORDS) await log.append(commandEvent(++issued));
  };
  await Promise.all(Array.from({ length: 64 }, worker));
  await log.close();
  const logPath = path.join(dir, 'audit.log');
  const key = await loadOrCreateSigningKey(dir);
  const segments = (await listSegments(logPath)).length;

  let started = performance.now();
  const evidence = await verifyAuditEvidence({ logPath, checkpointFiles: [path.join(dir, 'checkpoints.log')], publicKeys: new Map([[key.keyId, key.publicKey]]) });
  const evidenceSeconds = (performance.now() - started) / 1000;
  if (!evidence.ok) throw new Error(`the benchmark's own log does not verify: ${evidence.problems[0]}`);

  started = performance.now();
  const chain = await verifyAuditLog(logPath);
  const chainSeconds = (performance.now() - started) / 1000;
  if (!chain.ok) throw new Error(`the benchmark's own log does not verify: ${chain.firstBad.reason}`);
  return { records: evidence.records, segments, checkpoints: evidence.checkpoints.length, evidence: { seconds: evidenceSeconds, perSecond: evidence.records / evidenceSeconds }, chain: { seconds: chainSeconds, perSecond: chain.records / chainSeconds } };
}

const append = [];
for (const durability of ['disk', 'os']) for (const concurrency of [1, 64]) append.push(await appendThroughput(durability, concurrency));
const verify = await verifySpeed();

const fmt = (n) => Math.round(n).toLocaleString('en-US').padStart(10);
const lines = [
  `audit.mjs: append up to ${RECORDS} records or ${SECONDS} s per row (command records, checkpoints every 1000); verify ${verify.records} records in ${verify.segments} segment(s); data in ${base}`,
  '',
  `${'append'.padEnd(34)}  ${'records/s'.padStart(10)}  ${'records'.padStart(10)}  ${'per write'.padStart(10)}`,
  ...append.map((r) => `${`durability ${r.durability}, ${r.concurrency} appender${r.concurrency > 1 ? 's' : ''}`.padEnd(34)}  ${fmt(r.perSecond)}  ${fmt(r.records)}  ${r.recordsPerWrite.toFixed(1).padStart(10)}`),
  '',
  `${'verify'.padEnd(34)}  ${'records/s'.padStart(10)}  ${'seconds'.padStart(10)}`,
  `${'chain + Merkle tree + checkpoints'.padEnd(34)}  ${fmt(verify.evidence.perSecond)}  ${verify.evidence.seconds.toFixed(2).padStart(10)}`,
  `${'chain only'.padEnd(34)}  ${fmt(verify.chain.perSecond)}  ${verify.chain.seconds.toFixed(2).padStart(10)}`,
  '',
];
process.stdout.write(lines.join('\n'));

const result = { bench: 'audit', at: new Date().toISOString(), node: process.version, cpus: os.cpus().length, options: { records: RECORDS, seconds: SECONDS, verifyRecords: VERIFY_RECORDS, segmentBytes: SEGMENT_BYTES }, append, verify };
const resultsDir = path.join(here, 'results');
mkdirSync(resultsDir, { recursive: true });
const file = path.join(resultsDir, `audit-${result.at.replaceAll(':', '-')}.json`);
writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
process.stdout.write(`results: ${path.relative(process.cwd(), file)}\n`);
