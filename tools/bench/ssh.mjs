#!/usr/bin/env node
/**
 * SSH throughput: 100 MB through the real OpenSSH client, directly to a private sshd and through
 * Warden (the built gateway in its own process, the client logged in with a `warden ssh login`
 * certificate), both directions:
 *
 *   upload    ssh HOST 'cat > /dev/null' < 100MB-file
 *   download  ssh HOST 'cat 100MB-file' > /dev/null     (Warden records this output as asciicast)
 *
 * Reports MB/s per target and direction, the ratio Warden/direct (target ≥ 0.8×), the CPU time
 * the Warden process used per transfer (from /proc, so a figure that does not depend on how busy
 * the machine is), Warden's peak RSS and the recordings' size. Runs the built packages: `npx tsc -b
 * tsconfig.build.json` first. See tools/bench/README.md.
 *
 *   node tools/bench/ssh.mjs [--mb 100] [--runs 3] [--cipher aes128-gcm@openssh.com] [--keep] [--json]
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(here, '../..');
const GATEWAY_MAIN = path.join(ROOT, 'apps/gateway/dist/main.js');
const { startPrivateSshd } = require('@warden/testing');

const { values } = parseArgs({
  options: { mb: { type: 'string', default: '100' }, runs: { type: 'string', default: '3' }, cipher: { type: 'string' }, keep: { type: 'boolean', default: false }, json: { type: 'boolean', default: false } },
  strict: true,
});
const MB = Number(values.mb);
const RUNS = Number(values.runs);
if (!Number.isInteger(MB) || MB < 1 || !Number.isInteger(RUNS) || RUNS < 1) {
  process.stderr.write('ssh.mjs: --mb and --runs are positive integers\n');
  process.exit(2);
}
if (!fs.existsSync(GATEWAY_MAIN)) {
  process.stderr.write(`ssh.mjs: ${GATEWAY_MAIN} is missing; run npx tsc -b tsconfig.build.json first\n`);
  process.exit(2);
}
const log = (text) => process.stderr.write(`${text}\n`);

/** Runs a command; stdin from a file, stdout to /dev/null; resolves with wall seconds and status. */
function timed(command, args, { stdinFile } = {}) {
  return new Promise((resolve, reject) => {
    const input = stdinFile ? fs.openSync(stdinFile, 'r') : 'ignore';
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { stdio: [input, 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (typeof input === 'number') fs.closeSync(input);
      resolve({ seconds: Number(process.hrtime.bigint() - started) / 1e9, code, stderr: stderr.trim() });
    });
  });
}

function output(command, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr.trim()}`))));
  });
}

async function waitForLog(file, child, pick) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the gateway exited ${child.exitCode}: ${fs.readFileSync(file, 'utf8').slice(-2000)}`);
    const lines = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n') : [];
    for (const line of lines) {
      try {
        const found = pick(JSON.parse(line));
        if (found !== undefined) return found;
      } catch {
        /* partial line */
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the gateway did not start in 30 s');
}

function rssKb(pid) {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** User + system CPU seconds a process used so far (/proc/PID/stat fields 14 and 15, in clock ticks). */
function cpuSeconds(pid) {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

function dirBytes(dir) {
  if (!fs.existsSync(dir)) return 0;
  return fs.readdirSync(dir).reduce((sum, name) => sum + fs.statSync(path.join(dir, name)).size, 0);
}

const median = (numbers) => [...numbers].sort((a, b) => a - b)[Math.floor(numbers.length / 2)];

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-bench-ssh-'));
const sshd = await startPrivateSshd();
let gateway;
try {
  const payload = path.join(tmp, 'payload.bin');
  const remotePayload = path.join(sshd.dir, 'payload.bin');
  log(`writing ${MB} MB of random bytes…`);
  await output('dd', ['if=/dev/urandom', `of=${payload}`, 'bs=1M', `count=${MB}`, 'status=none']);
  fs.copyFileSync(payload, remotePayload);

  const dataDir = path.join(tmp, 'warden');
  const config = path.join(tmp, 'warden.yaml');
  fs.writeFileSync(
    config,
    `# Written by tools/bench/ssh.mjs
dataDir: ${JSON.stringify(dataDir)}
identity: { devIssuer: true }
admin: { listen: 127.0.0.1:0 }
connections:
  - name: box
    protocol: ssh
    listen: 127.0.0.1:0
    target: { host: 127.0.0.1, port: ${sshd.port}, user: ${sshd.user}, privateKey: ${JSON.stringify(sshd.clientPrivateKey)}, hostKey: "${sshd.hostKeyFingerprint}" }
grants:
  - { connection: box, groups: [bench], access: full }
`,
  );
  const logFile = path.join(tmp, 'warden.stderr.log');
  const logFd = fs.openSync(logFile, 'w');
  gateway = spawn(process.execPath, [GATEWAY_MAIN, 'serve', '--config', config], { stdio: ['ignore', logFd, logFd], cwd: ROOT });
  const port = await waitForLog(logFile, gateway, (line) => (line.msg === 'listening' && line.protocol === 'ssh' ? Number(/:(\d+)$/.exec(line.address)[1]) : undefined));
  const adminUrl = await waitForLog(logFile, gateway, (line) => (line.msg === 'admin API listening' ? `http://${line.address}` : undefined));
  const token = (await output(process.execPath, [GATEWAY_MAIN, 'token', '--dev', '--subject', 'bench', '--groups', 'bench', '--ttl', '7200', '--data-dir', dataDir])).trim();
  const keyFile = path.join(tmp, 'warden-box');
  await output(process.execPath, [GATEWAY_MAIN, 'ssh', 'login', 'box', '--url', adminUrl, '--token', token, '--out', keyFile]);

  const common = [...(values.cipher ? ['-c', values.cipher] : []), '-F', '/dev/null', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-o', 'LogLevel=ERROR'];
  const targets = {
    direct: [...common, '-i', sshd.clientKeyFile, '-p', String(sshd.port), `${sshd.user}@127.0.0.1`],
    warden: [...common, '-i', keyFile, '-p', String(port), 'bench@127.0.0.1'],
  };
  const directions = {
    upload: { command: 'cat > /dev/null', stdinFile: payload },
    download: { command: `cat ${remotePayload}` },
  };

  let peakRss = rssKb(gateway.pid);
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssKb(gateway.pid))), 100);
  const results = {};
  for (const [target, args] of Object.entries(targets)) {
    const connect = [];
    for (let i = 0; i < RUNS; i++) connect.push((await timed('ssh', [...args, 'true'])).seconds);
    results[target] = { connectSeconds: median(connect) };
    for (const [direction, how] of Object.entries(directions)) {
      const runs = [];
      const cpu = [];
      for (let i = 0; i < RUNS; i++) {
        const cpuBefore = cpuSeconds(gateway.pid);
        const run = await timed('ssh', [...args, how.command], { stdinFile: how.stdinFile });
        if (run.code !== 0) throw new Error(`${target} ${direction}: ssh exited ${run.code}: ${run.stderr}`);
        runs.push(run.seconds);
        cpu.push(cpuSeconds(gateway.pid) - cpuBefore);
      }
      const seconds = median(runs);
      results[target][direction] = {
        seconds,
        wallMBps: MB / seconds,
        // Without the connection setup (`ssh … true`), which Warden does twice (client and target).
        transferMBps: MB / Math.max(seconds - results[target].connectSeconds, 1e-3),
        runs,
        // The gateway's CPU time during the transfer (≈ 0 for direct: Warden is not involved).
        wardenCpuSeconds: median(cpu),
      };
      log(`${target.padEnd(7)} ${direction.padEnd(8)} ${seconds.toFixed(2)} s  ${(MB / seconds).toFixed(1)} MB/s`);
    }
  }
  clearInterval(sampler);
  const recordingBytes = dirBytes(path.join(dataDir, 'recordings'));
  const summary = {
    mb: MB,
    runs: RUNS,
    results,
    ratios: Object.fromEntries(Object.keys(directions).map((d) => [d, { wall: results.warden[d].wallMBps / results.direct[d].wallMBps, transfer: results.warden[d].transferMBps / results.direct[d].transferMBps }])),
    wardenPeakRssMb: peakRss / 1024,
    recordingMb: recordingBytes / 1e6,
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, loadAverage: os.loadavg()[0] },
    ...(values.cipher ? { cipher: values.cipher } : {}),
  };
  if (values.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  else {
    const lines = ['', `${MB} MB, median of ${RUNS} runs, OpenSSH client → sshd on 127.0.0.1${values.cipher ? `, cipher ${values.cipher}` : ''}; load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} CPUs`, '', '| direction | direct MB/s | Warden MB/s | ratio (wall) | ratio (w/o connect) |', '|---|---|---|---|---|'];
    for (const d of Object.keys(directions)) {
      lines.push(`| ${d} | ${results.direct[d].wallMBps.toFixed(1)} | ${results.warden[d].wallMBps.toFixed(1)} | ${summary.ratios[d].wall.toFixed(2)}× | ${summary.ratios[d].transfer.toFixed(2)}× |`);
    }
    lines.push('', `Warden CPU per transfer: ${Object.keys(directions).map((d) => `${d} ${results.warden[d].wardenCpuSeconds.toFixed(2)} s (${(MB / Math.max(results.warden[d].wardenCpuSeconds, 1e-3)).toFixed(0)} MB per CPU-second)`).join(', ')}`);
    lines.push(`connect (ssh … true): direct ${(results.direct.connectSeconds * 1000).toFixed(0)} ms, Warden ${(results.warden.connectSeconds * 1000).toFixed(0)} ms`);
    lines.push(`Warden peak RSS ${summary.wardenPeakRssMb.toFixed(0)} MB; recordings ${summary.recordingMb.toFixed(0)} MB`);
    lines.push(`target ≥ 0.80×: ${Object.keys(directions).map((d) => `${d} ${summary.ratios[d].wall >= 0.8 ? 'PASS' : 'MISS'}`).join(', ')}`);
    process.stdout.write(`${lines.join('\n')}\n`);
  }
} finally {
  if (gateway && gateway.exitCode === null) {
    const exited = new Promise((resolve) => gateway.once('exit', resolve));
    gateway.kill('SIGTERM');
    await exited;
  }
  await sshd.stop();
  if (values.keep) log(`kept ${tmp}`);
  else fs.rmSync(tmp, { recursive: true, force: true });
}
