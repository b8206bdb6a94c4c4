#!/usr/bin/env node
/**
 * Masking throughput: streams a table with PHI columns (default 1,000,000 rows) with psql, direct to
 * Postgres, through Warden without masking, and through Warden with column rules and content
 * detectors on. Prints rows/s, the ratio to unmasked Warden, Warden's peak RSS (VmHWM) and the CPU
 * time Warden spent per row (/proc/PID/stat; steadier than wall time on a shared machine).
 *
 * Needs: a built tree (`npx tsc -b tsconfig.build.json`), psql on the PATH, a Postgres at
 * --pg-host:--pg-port with trust auth for --pg-user. Run: node tools/bench/masking.mjs [--rows N]
 * [--unique-notes] (every row's note different, in table phi_unique: no repeated value to remember).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const GATEWAY_MAIN = path.join(ROOT, 'apps/gateway/dist/main.js');
const DB = 'warden_bench_masking';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    runs: { type: 'string', default: '2' },
    'pg-host': { type: 'string', default: '127.0.0.1' },
    'pg-port': { type: 'string', default: '5432' },
    'pg-user': { type: 'string', default: 'postgres' },
    // Every row's note different (a visit number in it): the content-detection memo cannot help.
    'unique-notes': { type: 'boolean', default: false },
  },
});
const ROWS = Number(values.rows);
const RUNS = Number(values.runs);
const PG = { host: values['pg-host'], port: Number(values['pg-port']), user: values['pg-user'] };
const UNIQUE_NOTES = values['unique-notes'];
const TABLE = UNIQUE_NOTES ? 'phi_unique' : 'phi';
const QUERY = `SELECT id, full_name, ssn, dob, email, phone, notes FROM ${TABLE}`;
const VISIT = UNIQUE_NOTES ? " || ', visit ' || i" : '';

const children = new Set();
process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')));

function run(command, args, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let bytes = 0;
    child.stdout.on('data', (chunk) => {
      bytes += chunk.length;
      if (stdout.length < 4096) stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, bytes }));
  });
}

const psqlDirect = (database, sql) => run('psql', [`host=${PG.host} port=${PG.port} user=${PG.user} dbname=${database}`, '-X', '-At', '-v', 'ON_ERROR_STOP=1', '-c', sql]);

async function seed() {
  const exists = await psqlDirect('postgres', `SELECT 1 FROM pg_database WHERE datname = '${DB}'`);
  if (exists.stdout.trim() !== '1') await psqlDirect('postgres', `CREATE DATABASE ${DB}`);
  const count = await psqlDirect(DB, `SELECT CASE WHEN to_regclass('${TABLE}') IS NULL THEN -1 ELSE (SELECT count(*) FROM ${TABLE}) END`);
  if (Number(count.stdout.trim()) === ROWS) return;
  process.stderr.write(`seeding ${ROWS} rows into ${DB}.${TABLE} …\n`);
  const result = await psqlDirect(
    DB,
    `DROP TABLE IF EXISTS ${TABLE};
     CREATE TABLE ${TABLE} (id int PRIMARY KEY, full_name text, ssn text, dob date, email text, phone text, notes text);
     INSERT INTO ${TABLE} SELECT i,
       'Patient ' || i,
       lpad((100 + i % 600)::text, 3, '0') || '-' || lpad((1 + i % 98)::text, 2, '0') || '-' || lpad((1 + i % 9998)::text, 4, '0'),
       DATE '1940-01-01' + (i % 25000),
       'user' || i || '@mail.example',
       '(617) 555-' || lpad((i % 10000)::text, 4, '0'),
       CASE WHEN i % 10 = 0 THEN 'Pt called from (617) 555-0100; DOB 03/14/1962; BP 120/80, dose 500 mg'${VISIT} || '.'
            ELSE 'Stable overnight, ambulating, tolerating diet; BP 120/80, HR 72, dose 500 mg q8h'${VISIT} || '.' END
     FROM generate_series(1, ${ROWS}) AS i;
     ANALYZE ${TABLE};`,
  );
  if (result.code !== 0) throw new Error(result.stderr);
}

async function startWarden(name, masking) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `warden-bench-${name}-`));
  const config = path.join(dir, 'warden.yaml');
  fs.writeFileSync(
    config,
    `dataDir: ${JSON.stringify(path.join(dir, 'data'))}
identity: { devIssuer: true }
audit: { durability: os }
connections:
  - name: bench
    protocol: postgres
    listen: 127.0.0.1:0
    target: { host: ${PG.host}, port: ${PG.port}, database: ${DB}, user: ${PG.user} }
grants:
  - { connection: bench, groups: [bench], access: read-only }
${masking ? `masking:
  - connection: bench
    columns: { ${TABLE}.ssn: redact, ${TABLE}.dob: year-only, ${TABLE}.email: partial, ${TABLE}.full_name: hash }
    detect: [ssn, email, phone, date, name, credit-card, mrn]` : ''}
`,
  );
  const logFile = path.join(dir, 'warden.log');
  const fd = fs.openSync(logFile, 'w');
  const child = spawn(process.execPath, [GATEWAY_MAIN, 'serve', '--config', config], { stdio: ['ignore', fd, fd], cwd: ROOT });
  children.add(child);
  let port;
  for (let i = 0; i < 300 && !port; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const match = /"msg":"listening".*?"address":"[^"]*:(\d+)"/.exec(fs.readFileSync(logFile, 'utf8'));
    if (match) port = Number(match[1]);
  }
  if (!port) throw new Error(`warden (${name}) did not start: ${fs.readFileSync(logFile, 'utf8')}`);
  const token = await run(process.execPath, [GATEWAY_MAIN, 'token', '--dev', '--subject', 'bench', '--groups', 'bench', '--ttl', '86400', '--data-dir', path.join(dir, 'data')]);
  return { child, port, token: token.stdout.trim(), dir };
}

function peakRss(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

/** User + system CPU seconds a process used so far (/proc/PID/stat fields 14 and 15, in clock ticks). */
function cpuSeconds(pid) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Best wall time of RUNS; with `pid`, also the least CPU time that process spent on one run. */
async function timed(label, conninfo, env, pid) {
  let best = Infinity;
  let cpu = Infinity;
  let sample = '';
  for (let i = 0; i < RUNS; i++) {
    const cpuBefore = pid ? cpuSeconds(pid) : 0;
    const started = process.hrtime.bigint();
    const result = await run('psql', [conninfo, '-X', '-At', '-v', 'ON_ERROR_STOP=1', '-c', QUERY], env);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (result.code !== 0) throw new Error(`${label}: ${result.stderr}`);
    best = Math.min(best, seconds);
    if (pid) cpu = Math.min(cpu, cpuSeconds(pid) - cpuBefore);
    sample = result.stdout.split('\n')[9] ?? '';
  }
  return { label, seconds: best, rowsPerSecond: ROWS / best, sample, ...(pid ? { cpuSeconds: cpu } : {}) };
}

await seed();
const off = await startWarden('off', false);
const on = await startWarden('on', true);
const results = [];
results.push(await timed('direct', `host=${PG.host} port=${PG.port} user=${PG.user} dbname=${DB}`, {}));
results.push({ ...(await timed('warden, masking off', `host=127.0.0.1 port=${off.port} user=bench dbname=bench`, { PGPASSWORD: off.token }, off.child.pid)), rss: peakRss(off.child.pid) });
results.push({ ...(await timed('warden, masking on', `host=127.0.0.1 port=${on.port} user=bench dbname=bench`, { PGPASSWORD: on.token }, on.child.pid)), rss: peakRss(on.child.pid) });
const base = results[1].rowsPerSecond;
console.log(`\n${ROWS.toLocaleString('en-US')} rows, 7 columns (4 under rules, 2 scanned by detectors${UNIQUE_NOTES ? '; every note different' : ''}); best of ${RUNS} runs; psql -At\n`);
console.log(`${'target'.padEnd(22)} ${'seconds'.padStart(8)} ${'rows/s'.padStart(10)} ${'vs unmasked'.padStart(12)} ${'peak RSS'.padStart(10)} ${'Warden CPU'.padStart(11)} ${'CPU µs/row'.padStart(11)}`);
for (const r of results) {
  const cpu = r.cpuSeconds === undefined ? ['-', '-'] : [`${r.cpuSeconds.toFixed(2)} s`, ((r.cpuSeconds * 1e6) / ROWS).toFixed(2)];
  console.log(
    `${r.label.padEnd(22)} ${r.seconds.toFixed(2).padStart(8)} ${Math.round(r.rowsPerSecond).toLocaleString('en-US').padStart(10)} ${(r.rowsPerSecond / base).toFixed(2).padStart(12)} ${r.rss ? `${r.rss.toFixed(0)} MB`.padStart(10) : '-'.padStart(10)} ${cpu[0].padStart(11)} ${cpu[1].padStart(11)}`,
  );
}
// Wall time swings with the machine (the client, the server and Warden share the CPUs); Warden's own
// CPU time per row is the steadier figure of what masking costs.
if (results[1].cpuSeconds !== undefined && results[2].cpuSeconds !== undefined) {
  console.log(`\nmasking costs Warden ${(((results[2].cpuSeconds - results[1].cpuSeconds) * 1e6) / ROWS).toFixed(2)} µs of CPU per row (least CPU of ${RUNS} runs, on minus off)`);
}
console.log(`\nsample masked row: ${results[2].sample}`);
for (const w of [off, on]) {
  const exited = new Promise((resolve) => w.child.once('exit', resolve));
  w.child.kill('SIGTERM');
  await exited;
  fs.rmSync(w.dir, { recursive: true, force: true });
}
