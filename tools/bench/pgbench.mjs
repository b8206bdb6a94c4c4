#!/usr/bin/env node
/**
 * pgbench four ways in one run: direct to Postgres, through Warden (policy + durable audit on),
 * through pgbouncer (session pooling) and through a bare Node.js socket pipe (the ceiling for any
 * proxy written in Node). Prints a table of TPS and ratios and writes the results as JSON to
 * tools/bench/results/. See tools/bench/README.md.
 *
 * Needs: a built tree (`npx tsc -b tsconfig.build.json`), pgbench and psql on the PATH, a Postgres
 * reachable at --pg-host:--pg-port with trust auth for --pg-user; pgbouncer is installed with
 * apt-get when missing (as root).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
const { listSegments, segmentPath } = require('@warden/core');

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');
const GATEWAY_MAIN = path.join(ROOT, 'apps/gateway/dist/main.js');
const TARGETS = ['direct', 'warden', 'pgbouncer', 'node-pipe'];
const MODES = ['simple', 'extended', 'prepared'];
const BENCH_DB = 'warden_bench';
const GOALS = { 'node-pipe': 0.85, pgbouncer: 0.8 };

const USAGE = `Usage: node tools/bench/pgbench.mjs [options]

  --duration N      seconds per pgbench run (pgbench -T)             default 15
  --clients N       concurrent clients (pgbench -c)                    default 8
  --threads N       pgbench worker threads (pgbench -j)                default 2
  --scale N         pgbench scale factor for ${BENCH_DB}            default 10
  --modes LIST      query protocols: simple,extended,prepared          default simple,prepared
  --only LIST       targets: direct,warden,pgbouncer,node-pipe        default all four
  --pg-host HOST    the Postgres server                                default 127.0.0.1
  --pg-port PORT                                                       default 5432
  --pg-user USER    a superuser that the server trusts                 default postgres
  --audit-durability disk|os
                    Warden's audit.durability: disk = fdatasync before the
                    client sees a result; os = written to the OS first,
                    fdatasync'ed within 100 ms                      default disk
  --pipe-work LIST  also run the node pipe with N µs of busy CPU work per chunk
                    it forwards, for each N in LIST (e.g. 5,15,30): what a
                    given amount of per-message work costs a Node proxy here
  --keep            keep the temporary directory (configs, logs, Warden's data dir)
  -h, --help
`;

// ---------------------------------------------------------------------------------------------
// Options

function parseOptions() {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '15' },
      clients: { type: 'string', default: '8' },
      threads: { type: 'string', default: '2' },
      scale: { type: 'string', default: '10' },
      modes: { type: 'string', default: 'simple,prepared' },
      only: { type: 'string', default: TARGETS.join(',') },
      'pg-host': { type: 'string', default: '127.0.0.1' },
      'pg-port': { type: 'string', default: '5432' },
      'pg-user': { type: 'string', default: 'postgres' },
      keep: { type: 'boolean', default: false },
      'audit-durability': { type: 'string', default: 'disk' },
      'pipe-work': { type: 'string', default: '' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const positive = (name) => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n <= 0) usageError(`--${name} must be a positive integer`);
    return n;
  };
  const list = (name, allowed) => {
    const items = [...new Set(values[name].split(',').map((s) => s.trim()).filter(Boolean))];
    if (items.length === 0) usageError(`--${name} needs at least one of ${allowed.join(',')}`);
    for (const item of items) if (!allowed.includes(item)) usageError(`--${name}: unknown "${item}" (known: ${allowed.join(',')})`);
    return allowed.filter((a) => items.includes(a)); // canonical order
  };
  const options = {
    duration: positive('duration'),
    clients: positive('clients'),
    threads: positive('threads'),
    scale: positive('scale'),
    modes: list('modes', MODES),
    only: list('only', TARGETS),
    pgHost: values['pg-host'],
    pgPort: positive('pg-port'),
    pgUser: values['pg-user'],
    keep: values.keep,
    auditDurability: values['audit-durability'],
    pipeWork: [...new Set(values['pipe-work'].split(',').map((s) => s.trim()).filter(Boolean))].map((item) => {
      const n = Number(item);
      if (!Number.isInteger(n) || n <= 0 || n > 10_000) usageError(`--pipe-work: "${item}" is not a whole number of microseconds in 1..10000`);
      return n;
    }),
  };
  // The calibrated pipes run after the others, in the order given.
  options.only = [...options.only, ...options.pipeWork.map(workTarget)];
  if (!['disk', 'os'].includes(options.auditDurability)) usageError('--audit-durability must be disk or os');
  if (options.threads > options.clients) usageError('--threads cannot exceed --clients (pgbench requires it)');
  return options;
}

/** The name of the node pipe that spends `us` µs of CPU on every chunk it forwards. */
function workTarget(us) {
  return `node-pipe+${us}us`;
}

function usageError(message) {
  process.stderr.write(`pgbench.mjs: ${message}\n\n${USAGE}`);
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------
// Child processes: every one is tracked and killed on the way out, whatever the way out is.

const children = new Set();
let tmpDir;
let keepTmp = false;

function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function killAll(signal) {
  for (const child of children) {
    try {
      child.kill(signal);
    } catch {
      /* already gone */
    }
  }
}

process.on('exit', () => {
  killAll('SIGKILL');
  if (tmpDir && !keepTmp) {
    try {
      fs.rmSync(tmpDir, { recursive: true, force: true });
    } catch {
      /* best effort */
    }
  }
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    process.stderr.write(`\npgbench.mjs: ${signal}, stopping every child process\n`);
    killAll('SIGTERM');
    process.exit(130);
  });
}

/** Run a command to completion. Never rejects on a non-zero exit; rejects only if it cannot start. */
function run(command, args, { env, timeoutMs, input } = {}) {
  return new Promise((resolve, reject) => {
    const child = track(spawn(command, args, { env: env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] }));
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    child.stdin.end(input ?? '');
    let timer;
    let killTimer;
    if (timeoutMs) {
      timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGINT');
        killTimer = setTimeout(() => child.kill('SIGKILL'), 5000);
      }, timeoutMs);
    }
    child.once('error', (error) => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

function waitForExit(child, timeoutMs) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
}

async function stopChild(child, signal = 'SIGTERM', timeoutMs = 30_000) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return { code: child?.exitCode ?? null, signal: child?.signalCode ?? null, forced: false };
  child.kill(signal);
  const exited = await waitForExit(child, timeoutMs);
  if (exited) return { ...exited, forced: false };
  child.kill('SIGKILL');
  const killed = await waitForExit(child, 5000);
  return { ...(killed ?? { code: null, signal: 'SIGKILL' }), forced: true };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function canConnect(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function waitFor(what, check, child, timeoutMs, logFile) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const result = await check();
    if (result) return result;
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${what} exited (code ${child.exitCode}, signal ${child.signalCode}) before it was ready${logFile ? `\n--- ${logFile} ---\n${tail(logFile, 40)}` : ''}`);
    }
    await sleep(100);
  }
  throw new Error(`${what} was not ready after ${timeoutMs / 1000}s${logFile ? `\n--- ${logFile} ---\n${tail(logFile, 40)}` : ''}`);
}

function tail(file, lines) {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines - 1).join('\n');
  } catch {
    return '(no output)';
  }
}

function which(command) {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/local/sbin', '/sbin'])) {
    if (!dir) continue;
    const candidate = path.join(dir, command);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      /* next */
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// /proc sampling: resident memory and CPU time of the proxies.

const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) on every Linux architecture Node runs on

function readRssKb(pid) {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** utime + stime of a process, in seconds. */
function readCpuSeconds(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // fields 14 and 15 of proc(5)
  } catch {
    return undefined;
  }
}

class RssSampler {
  constructor() {
    this.procs = new Map(); // name -> { pid, maxKb, samples, windowMaxKb }
    this.timer = setInterval(() => this.sample(), 1000);
    this.timer.unref();
  }
  add(name, pid) {
    this.procs.set(name, { pid, maxKb: 0, samples: 0, windowMaxKb: 0 });
    this.sample();
  }
  sample() {
    for (const proc of this.procs.values()) {
      const kb = readRssKb(proc.pid);
      if (kb === undefined) continue;
      proc.samples++;
      proc.maxKb = Math.max(proc.maxKb, kb);
      proc.windowMaxKb = Math.max(proc.windowMaxKb, kb);
    }
  }
  startWindow(name) {
    const proc = this.procs.get(name);
    if (proc) proc.windowMaxKb = readRssKb(proc.pid) ?? 0;
  }
  endWindow(name) {
    this.sample();
    return this.procs.get(name)?.windowMaxKb;
  }
  stop() {
    this.sample();
    clearInterval(this.timer);
  }
}

// ---------------------------------------------------------------------------------------------
// Setup

function pgEnv(extra = {}) {
  const env = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('PG')) delete env[key];
  // Every target is plain TCP: Warden and pgbouncer are configured without TLS here, so the direct
  // and node-pipe runs must not negotiate TLS either (libpq's default is sslmode=prefer).
  return { ...env, PGSSLMODE: 'disable', PGAPPNAME: 'warden-bench', ...extra };
}

async function psql(options, database, sql) {
  const result = await run('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-tA', '-h', options.pgHost, '-p', String(options.pgPort), '-U', options.pgUser, '-d', database, '-c', sql], { env: pgEnv(), timeoutMs: 60_000 });
  if (result.code !== 0) throw new Error(`psql (${database}): ${sql}\n${result.stderr.trim()}`);
  return result.stdout.trim();
}

async function prepareDatabase(options) {
  const exists = await psql(options, 'postgres', `SELECT 1 FROM pg_database WHERE datname = '${BENCH_DB}'`);
  if (exists !== '1') {
    log(`creating database ${BENCH_DB}`);
    await psql(options, 'postgres', `CREATE DATABASE ${BENCH_DB}`);
  }
  const tables = await psql(options, BENCH_DB, `SELECT to_regclass('public.pgbench_accounts') IS NOT NULL AND to_regclass('public.pgbench_branches') IS NOT NULL`);
  const scale = tables === 't' ? Number(await psql(options, BENCH_DB, 'SELECT count(*) FROM pgbench_branches')) : undefined;
  if (scale === options.scale) {
    log(`${BENCH_DB} is initialised at scale ${scale}; reusing it`);
    return { initialized: false, scale };
  }
  log(scale === undefined ? `initialising ${BENCH_DB} at scale ${options.scale}` : `${BENCH_DB} has scale ${scale}; reinitialising at scale ${options.scale}`);
  const started = Date.now();
  const init = await run('pgbench', ['-i', '-q', '-s', String(options.scale), '-h', options.pgHost, '-p', String(options.pgPort), '-U', options.pgUser, BENCH_DB], { env: pgEnv(), timeoutMs: 30 * 60_000 });
  if (init.code !== 0) throw new Error(`pgbench -i failed (exit ${init.code}):\n${init.stderr.trim()}`);
  log(`initialised in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  return { initialized: true, scale: options.scale };
}

async function ensurePgbouncer() {
  const found = which('pgbouncer');
  if (found) return found;
  if (process.getuid?.() !== 0) throw new Error('pgbouncer is not installed and this is not root: install it (apt-get install pgbouncer) or leave it out with --only');
  log('pgbouncer is not installed; installing the Debian package');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update', '-qq'], ['install', '-y', '-qq', 'pgbouncer']]) {
    const result = await run('apt-get', args, { env, timeoutMs: 10 * 60_000 });
    if (result.code !== 0) throw new Error(`apt-get ${args.join(' ')} failed (exit ${result.code}):\n${result.stderr.trim() || result.stdout.trim()}`);
  }
  const installed = which('pgbouncer');
  if (!installed) throw new Error('apt-get installed pgbouncer but no pgbouncer binary was found');
  return installed;
}

/** A server process whose stdout and stderr go straight to a file (no pipe through this process). */
function spawnLogged(command, args, logFile, extra = {}) {
  const fd = fs.openSync(logFile, 'a');
  try {
    return track(spawn(command, args, { stdio: ['ignore', fd, fd], ...extra }));
  } finally {
    fs.closeSync(fd);
  }
}

async function startPgbouncer(options, binary) {
  const dir = path.join(tmpDir, 'pgbouncer');
  fs.mkdirSync(dir, { mode: 0o755 });
  const port = await freePort();
  const ini = path.join(dir, 'pgbouncer.ini');
  const userlist = path.join(dir, 'userlist.txt');
  fs.writeFileSync(userlist, `"${options.pgUser}" ""\n`, { mode: 0o644 });
  fs.writeFileSync(
    ini,
    `[databases]
${BENCH_DB} = host=${options.pgHost} port=${options.pgPort} dbname=${BENCH_DB} user=${options.pgUser}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = ${port}
unix_socket_dir =
auth_type = trust
auth_file = ${userlist}
pool_mode = session
max_client_conn = ${Math.max(100, options.clients * 2)}
default_pool_size = ${Math.max(20, options.clients + 2)}
ignore_startup_parameters = extra_float_digits
`,
    { mode: 0o644 },
  );
  // pgbouncer refuses to run as root; -u makes it switch to an unprivileged user after start-up
  // while staying the process we spawned (so its pid is the one sampled and killed).
  const args = [];
  if (process.getuid?.() === 0) args.push('-u', runAsUser());
  args.push(ini);
  const logFile = path.join(dir, 'pgbouncer.log');
  const child = spawnLogged(binary, args, logFile);
  await waitFor('pgbouncer', () => canConnect(port), child, 15_000, logFile);
  return { child, port, logFile };
}

function runAsUser() {
  // The Debian package runs pgbouncer as postgres; fall back to nobody if there is no such user.
  try {
    return fs.readFileSync('/etc/passwd', 'utf8').split('\n').some((line) => line.startsWith('postgres:')) ? 'postgres' : 'nobody';
  } catch {
    return 'nobody';
  }
}

const PIPE_SOURCE = `// The bare Node.js socket pipe: the ceiling for any proxy written in Node.
const net = require('node:net');
const [targetHost, targetPort, workUs] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4] ?? 0)];
// With a work budget: spin that long on every chunk before forwarding it, as a proxy that
// parses, decides and records would (the calibration of --pipe-work).
function work() {
  const end = process.hrtime.bigint() + BigInt(workUs * 1000);
  while (process.hrtime.bigint() < end);
}
function forward(from, to) {
  from.on('data', (chunk) => {
    work();
    if (!to.write(chunk)) from.pause();
  });
  to.on('drain', () => from.resume());
  from.on('end', () => to.end());
}
const server = net.createServer((c) => {
  const t = net.connect(targetPort, targetHost);
  if (workUs > 0) {
    forward(c, t);
    forward(t, c);
  } else {
    c.pipe(t);
    t.pipe(c);
  }
  c.on('error', () => t.destroy());
  t.on('error', () => c.destroy());
});
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));
// Exit with the parent: stdin is a pipe from the benchmark script.
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
`;

async function startNodePipe(options, workUs = 0) {
  const script = path.join(tmpDir, 'node-pipe.cjs');
  if (!fs.existsSync(script)) fs.writeFileSync(script, PIPE_SOURCE);
  const child = track(spawn(process.execPath, [script, options.pgHost, String(options.pgPort), String(workUs)], { stdio: ['pipe', 'pipe', 'inherit'] }));
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (output += d));
  const port = await waitFor('node-pipe', () => (/^(\d+)\n/.exec(output) ? Number(/^(\d+)\n/.exec(output)[1]) : undefined), child, 10_000);
  return { child, port };
}

async function startWarden(options) {
  if (!fs.existsSync(GATEWAY_MAIN)) throw new Error(`${path.relative(ROOT, GATEWAY_MAIN)} is missing: build first (npx tsc -b tsconfig.build.json)`);
  const dataDir = path.join(tmpDir, 'warden-data');
  const config = path.join(tmpDir, 'warden.yaml');
  fs.writeFileSync(
    config,
    `# Written by tools/bench/pgbench.mjs
dataDir: ${JSON.stringify(dataDir)}
identity:
  devIssuer: true
audit:
  durability: ${options.auditDurability}
connections:
  - name: bench
    protocol: postgres
    listen: 127.0.0.1:0
    target: { host: ${JSON.stringify(options.pgHost)}, port: ${options.pgPort}, database: ${BENCH_DB}, user: ${JSON.stringify(options.pgUser)} }
grants:
  - { connection: bench, groups: [bench], access: read-write }
rules:
  - name: no-ddl
    match: { connection: bench, action: ddl }
    effect: block
`,
  );
  const logFile = path.join(tmpDir, 'warden.stderr.log');
  const child = spawnLogged(process.execPath, [GATEWAY_MAIN, 'serve', '--config', config], logFile, { cwd: ROOT });
  const port = await waitFor(
    'warden',
    () => {
      for (const line of readLinesSafe(logFile)) {
        if (!line.includes('"msg":"listening"')) continue;
        try {
          const address = JSON.parse(line).address;
          const match = /:(\d+)$/.exec(address ?? '');
          if (match) return Number(match[1]);
        } catch {
          /* partial line */
        }
      }
      return undefined;
    },
    child,
    30_000,
    logFile,
  );
  const token = await run(process.execPath, [GATEWAY_MAIN, 'token', '--dev', '--subject', 'bench', '--groups', 'bench', '--ttl', '86400', '--data-dir', dataDir], { timeoutMs: 30_000 });
  if (token.code !== 0 || !token.stdout.trim()) throw new Error(`warden token failed (exit ${token.code}): ${token.stderr.trim()}`);
  return { child, port, dataDir, logFile, token: token.stdout.trim() };
}

function readLinesSafe(file) {
  try {
    return fs.readFileSync(file, 'utf8').split('\n');
  } catch {
    return [];
  }
}

// ---------------------------------------------------------------------------------------------
// Benchmark runs

function parsePgbench(stdout) {
  const number = (re) => {
    const match = re.exec(stdout);
    return match ? Number(match[1]) : undefined;
  };
  return {
    tps: number(/^tps = ([\d.]+) \(without initial connection time\)/m),
    transactions: number(/^number of transactions actually processed: (\d+)/m),
    failedTransactions: number(/^number of failed transactions: (\d+)/m),
    latencyMs: number(/^latency average = ([\d.]+) ms/m),
    connectionMs: number(/^initial connection time = ([\d.]+) ms/m),
  };
}

async function runPgbench(options, mode, endpoint, proxy, sampler) {
  const args = ['-n', '-S', '-M', mode, '-c', String(options.clients), '-j', String(options.threads), '-T', String(options.duration), '-h', endpoint.host, '-p', String(endpoint.port), '-U', endpoint.user, endpoint.database];
  const cpuBefore = proxy ? readCpuSeconds(proxy.pid) : undefined;
  if (proxy) sampler.startWindow(proxy.name);
  const started = process.hrtime.bigint();
  const result = await run('pgbench', args, { env: pgEnv(endpoint.password ? { PGPASSWORD: endpoint.password } : {}), timeoutMs: (options.duration + 60) * 1000 });
  const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpuAfter = proxy ? readCpuSeconds(proxy.pid) : undefined;
  const parsed = parsePgbench(result.stdout);
  const errorLines = result.stderr
    .split('\n')
    .filter((line) => line.trim() && !/^(starting vacuum|pgbench \(\d)/.test(line));
  const ok = result.code === 0 && !result.timedOut && parsed.tps !== undefined && !parsed.failedTransactions;
  return {
    ok,
    ...parsed,
    exitCode: result.code,
    signal: result.signal,
    timedOut: result.timedOut,
    wallSeconds: round(wallSeconds, 2),
    proxyCpuPercent: cpuBefore !== undefined && cpuAfter !== undefined ? round(((cpuAfter - cpuBefore) / wallSeconds) * 100, 1) : undefined,
    // Over the whole run, connection set-up included: what the proxy spent per transaction.
    proxyCpuUsPerTxn: cpuBefore !== undefined && cpuAfter !== undefined && parsed.transactions ? round(((cpuAfter - cpuBefore) / parsed.transactions) * 1e6, 1) : undefined,
    proxyMaxRssKb: proxy ? sampler.endWindow(proxy.name) : undefined,
    command: `pgbench ${args.join(' ')}`,
    errors: ok ? [] : (errorLines.length ? errorLines : [result.stdout.trim() || '(no output)']).slice(0, 40),
  };
}

// ---------------------------------------------------------------------------------------------
// Output

const round = (n, digits) => (n === undefined ? undefined : Math.round(n * 10 ** digits) / 10 ** digits);
let logStart = Date.now();
function log(message) {
  process.stderr.write(`[${((Date.now() - logStart) / 1000).toFixed(1).padStart(6)}s] ${message}\n`);
}

function ratio(a, b) {
  return a?.ok && b?.ok && b.tps > 0 ? a.tps / b.tps : undefined;
}

function table(results, options) {
  const header = ['mode', 'target', 'tps', 'vs direct', 'vs pgbouncer', 'vs node-pipe', 'avg lat ms', 'proxy cpu', 'proxy µs/txn', 'proxy max rss'];
  const rows = [];
  for (const mode of options.modes) {
    const byTarget = results[mode];
    for (const target of options.only) {
      const r = byTarget[target];
      const fmtRatio = (other) => (options.only.includes(other) ? (ratio(r, byTarget[other])?.toFixed(2) ?? '-') : '');
      rows.push([
        mode,
        target,
        r?.ok ? r.tps.toFixed(0) : r?.tps !== undefined ? `FAILED (${r.tps.toFixed(0)})` : 'FAILED',
        fmtRatio('direct'),
        fmtRatio('pgbouncer'),
        fmtRatio('node-pipe'),
        r?.latencyMs !== undefined ? r.latencyMs.toFixed(3) : '-',
        r?.proxyCpuPercent !== undefined ? `${r.proxyCpuPercent.toFixed(0)}%` : '-',
        r?.proxyCpuUsPerTxn !== undefined ? r.proxyCpuUsPerTxn.toFixed(0) : '-',
        r?.proxyMaxRssKb ? `${(r.proxyMaxRssKb / 1024).toFixed(1)} MiB` : '-',
      ]);
    }
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells) => cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

function goals(results, options) {
  if (!options.only.includes('warden')) return { line: 'targets: n/a (warden not run)', verdicts: {} };
  const verdicts = {};
  const parts = [];
  for (const mode of options.modes) {
    const byTarget = results[mode];
    const modeParts = [];
    verdicts[mode] = {};
    for (const [other, goal] of Object.entries(GOALS)) {
      if (!options.only.includes(other)) continue;
      const value = ratio(byTarget.warden, byTarget[other]);
      const verdict = value === undefined ? 'N/A' : value >= goal ? 'PASS' : 'MISS';
      verdicts[mode][other] = { ratio: round(value, 3), goal, verdict };
      modeParts.push(`${value === undefined ? '-' : value.toFixed(2)}× ${other} (≥ ${goal.toFixed(2)}) ${verdict}`);
    }
    parts.push(`${mode}: ${modeParts.join(', ')}`);
  }
  return { line: `targets, Warden ≥ 0.85× node-pipe and ≥ 0.80× pgbouncer — ${parts.join(' | ')}`, verdicts };
}

async function countLines(file) {
  let count = 0;
  for await (const chunk of fs.createReadStream(file)) {
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) count++;
  }
  return count;
}

// ---------------------------------------------------------------------------------------------
// Main

async function main() {
  const options = parseOptions();
  logStart = Date.now();
  tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-pgbench-'));
  fs.chmodSync(tmpDir, 0o755); // pgbouncer runs as an unprivileged user and reads its files here
  keepTmp = options.keep;

  for (const tool of ['pgbench', 'psql']) if (!which(tool)) throw new Error(`${tool} is not on the PATH`);
  const pgbenchVersion = (await run('pgbench', ['--version'])).stdout.trim();
  const serverVersion = await psql(options, 'postgres', 'SHOW server_version');
  log(`${pgbenchVersion}; server ${serverVersion} at ${options.pgHost}:${options.pgPort}; temp dir ${tmpDir}`);
  const database = await prepareDatabase(options);

  const sampler = new RssSampler();
  const servers = {};
  const results = Object.fromEntries(options.modes.map((mode) => [mode, {}]));
  const report = {
    startedAt: new Date().toISOString(),
    host: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memoryMiB: Math.round(os.totalmem() / 2 ** 20), node: process.version, platform: `${os.type()} ${os.release()}` },
    pgbench: pgbenchVersion,
    server: serverVersion,
    parameters: { auditDurability: options.auditDurability, scale: database.scale, reinitialized: database.initialized, duration: options.duration, clients: options.clients, threads: options.threads, modes: options.modes, targets: options.only, script: 'select-only (-S)' },
    results,
  };
  let failed = false;
  let wardenAudit;
  // Node pipes to run, [target name, µs of work per chunk]: the bare one and the calibrated ones.
  const pipes = [...(options.only.includes('node-pipe') ? [['node-pipe', 0]] : []), ...options.pipeWork.map((us) => [workTarget(us), us])];

  try {
    // Start every proxy up front; each runs idle while the others are measured.
    if (options.only.includes('warden')) {
      servers.warden = await startWarden(options);
      sampler.add('warden', servers.warden.child.pid);
      log(`warden listening on 127.0.0.1:${servers.warden.port} (pid ${servers.warden.child.pid}, data dir ${servers.warden.dataDir})`);
    }
    if (options.only.includes('pgbouncer')) {
      const binary = await ensurePgbouncer();
      servers.pgbouncer = await startPgbouncer(options, binary);
      sampler.add('pgbouncer', servers.pgbouncer.child.pid);
      log(`pgbouncer listening on 127.0.0.1:${servers.pgbouncer.port} (pid ${servers.pgbouncer.child.pid})`);
    }
    for (const [name, us] of pipes) {
      servers[name] = await startNodePipe(options, us);
      sampler.add(name, servers[name].child.pid);
      log(`${name} listening on 127.0.0.1:${servers[name].port} (pid ${servers[name].child.pid})`);
    }

    const endpoints = {
      direct: { host: options.pgHost, port: options.pgPort, user: options.pgUser, database: BENCH_DB },
      warden: servers.warden && { host: '127.0.0.1', port: servers.warden.port, user: 'bench', database: 'bench', password: servers.warden.token },
      pgbouncer: servers.pgbouncer && { host: '127.0.0.1', port: servers.pgbouncer.port, user: options.pgUser, database: BENCH_DB },
    };
    for (const [name] of pipes) endpoints[name] = { host: '127.0.0.1', port: servers[name].port, user: options.pgUser, database: BENCH_DB };

    for (const mode of options.modes) {
      for (const target of options.only) {
        const server = servers[target];
        if (server && (server.child.exitCode !== null || server.child.signalCode !== null)) {
          results[mode][target] = { ok: false, errors: [`${target} is no longer running (exit ${server.child.exitCode}, signal ${server.child.signalCode})`] };
          failed = true;
          log(`${mode} / ${target}: skipped, ${target} is not running`);
          continue;
        }
        log(`${mode} / ${target}: pgbench -S -M ${mode} -c ${options.clients} -j ${options.threads} -T ${options.duration} …`);
        const proxy = server ? { name: target, pid: server.child.pid } : undefined;
        const result = await runPgbench(options, mode, endpoints[target], proxy, sampler);
        results[mode][target] = result;
        if (result.ok) {
          log(`${mode} / ${target}: ${result.tps.toFixed(0)} tps, ${result.latencyMs} ms average latency${result.proxyCpuPercent !== undefined ? `, proxy cpu ${result.proxyCpuPercent}%` : ''}`);
        } else {
          failed = true;
          log(`${mode} / ${target}: FAILED (exit ${result.exitCode}${result.timedOut ? ', timed out and killed' : ''}${result.failedTransactions ? `, ${result.failedTransactions} failed transactions` : ''})\n    ${result.errors.join('\n    ')}`);
          if (target === 'warden') {
            result.gatewayStderrTail = tail(servers.warden.logFile, 40).split('\n');
            log(`warden stderr (last 40 lines):\n${result.gatewayStderrTail.join('\n')}`);
          }
        }
        await sleep(1000); // let the sessions close before the next run
      }
    }
  } finally {
    sampler.stop();
    if (servers.warden) {
      const stopped = await stopChild(servers.warden.child, 'SIGTERM', 60_000);
      wardenAudit = await auditReport(servers.warden, stopped, sampler);
      if (!wardenAudit.verifyOk) failed = true;
    }
    if (servers.pgbouncer) await stopChild(servers.pgbouncer.child, 'SIGINT', 10_000);
    for (const [name] of pipes) if (servers[name]) await stopChild(servers[name].child, 'SIGTERM', 10_000);
    killAll('SIGKILL');
  }

  const printed = table(results, options);
  const goal = goals(results, options);
  report.finishedAt = new Date().toISOString();
  report.proxies = Object.fromEntries([...sampler.procs].map(([name, proc]) => [name, { maxRssKb: proc.maxKb, rssSamples: proc.samples }]));
  report.warden = wardenAudit;
  report.goals = goal.verdicts;
  report.table = printed;

  const resultsDir = path.join(HERE, 'results');
  fs.mkdirSync(resultsDir, { recursive: true });
  const resultsFile = path.join(resultsDir, `pgbench-${report.startedAt.replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(resultsFile, `${JSON.stringify(report, null, 2)}\n`);

  const out = [];
  out.push('');
  out.push(`pgbench -S, scale ${database.scale}, ${options.clients} clients, ${options.threads} threads, ${options.duration}s per run, Warden audit durability ${options.auditDurability}; ${report.host.cpus} CPUs, ${pgbenchVersion}, server ${serverVersion}`);
  out.push('');
  out.push(printed);
  out.push('');
  if (wardenAudit) {
    out.push(`warden: max RSS ${(wardenAudit.maxRssKb / 1024).toFixed(1)} MiB over ${wardenAudit.rssSamples} samples; stopped with SIGTERM → ${wardenAudit.stop}`);
    out.push(`warden audit log: ${wardenAudit.auditLogBytes === undefined ? 'missing' : `${(wardenAudit.auditLogBytes / 2 ** 20).toFixed(1)} MiB, ${wardenAudit.auditRecords} records`}; ${wardenAudit.verifyOutput} (verify ${wardenAudit.verifySeconds}s, exit ${wardenAudit.verifyExitCode})`);
    if (wardenAudit.stderrWarnings.length) out.push(`warden logged ${wardenAudit.stderrWarnings.length} warn/error lines, first: ${wardenAudit.stderrWarnings[0]}`);
  }
  out.push(`results: ${path.relative(ROOT, resultsFile)}`);
  if (failed || keepTmp) {
    keepTmp = true;
    out.push(`temp dir kept (configs, logs, Warden's data dir): ${tmpDir}`);
  }
  out.push(goal.line);
  process.stdout.write(`${out.join('\n')}\n`);
  return failed ? 1 : 0;
}

async function auditReport(warden, stopped, sampler) {
  const proc = sampler.procs.get('warden');
  const auditFile = path.join(warden.dataDir, 'audit.log');
  const report = {
    maxRssKb: proc?.maxKb ?? 0,
    rssSamples: proc?.samples ?? 0,
    stop: stopped.forced ? `did not exit within 60s, killed (SIGKILL)` : `exit ${stopped.code ?? `signal ${stopped.signal}`}`,
    auditLogBytes: undefined,
    auditRecords: undefined,
    verifyOk: false,
    verifyOutput: '',
  };
  try {
    // audit.log, then audit/000002.jsonl, … once it rotated: the chain runs across them all.
    report.auditLogBytes = 0;
    report.auditRecords = 0;
    for (const segment of await listSegments(auditFile)) {
      const file = segmentPath(auditFile, segment);
      report.auditLogBytes += fs.statSync(file).size;
      report.auditRecords += await countLines(file);
    }
  } catch (error) {
    report.verifyOutput = `audit log not readable: ${error.message}`;
  }
  log('verifying the audit log …');
  const started = Date.now();
  const verify = await run(process.execPath, [GATEWAY_MAIN, 'audit', 'verify', '--data-dir', warden.dataDir], { timeoutMs: 15 * 60_000 });
  report.verifySeconds = round((Date.now() - started) / 1000, 1);
  report.verifyExitCode = verify.code;
  report.verifyOk = verify.code === 0;
  report.verifyOutput = (verify.stdout.trim() || verify.stderr.trim() || report.verifyOutput).replace(warden.dataDir, '<dataDir>');
  report.stderrWarnings = readLinesSafe(warden.logFile).filter((line) => /"level":"(warn|error)"/.test(line));
  report.stderrWarningCount = report.stderrWarnings.length;
  report.stderrWarnings = report.stderrWarnings.slice(0, 20);
  return report;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`pgbench.mjs: ${error.stack ?? error}\n`);
    if (tmpDir) {
      keepTmp = true;
      process.stderr.write(`temp dir kept: ${tmpDir}\n`);
    }
    process.exit(1);
  },
);
