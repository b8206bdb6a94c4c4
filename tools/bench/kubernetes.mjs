#!/usr/bin/env node
/**
 * Kubernetes API through Warden vs direct. The target is the TEST DOUBLE of kube-apiserver
 * (tools/testing fake-kube-apiserver, in its own Node process): no real API server runs here, so
 * the direct figures are the double's, not a real cluster's.
 *
 *   list    GET /api/v1/namespaces/default/pods (JSON, --pods pods) from --concurrency keep-alive
 *           HTTPS clients for --seconds: requests/s, p50 and p99 latency
 *   exec    `kubectl exec POD -- sh -c 'yes LINE | head -c N'` > /dev/null with the real kubectl
 *           (WebSocket v5.channel.k8s.io): MB/s, through Warden without masking and with the
 *           connection's content detectors on the output (recorded as asciicast either way)
 *
 * Warden is the built gateway in its own process (`npx tsc -b tsconfig.build.json` first), with the
 * dev issuer, a `full` grant, a durable (fdatasync'ed) audit log: every request is a decided,
 * audited command. See tools/bench/README.md.
 *
 *   node tools/bench/kubernetes.mjs [--seconds 10] [--concurrency 8] [--pods 20] [--exec-mb 50] [--runs 3] [--durability disk|os] [--keep] [--json]
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(here, '../..');
const GATEWAY_MAIN = path.join(ROOT, 'apps/gateway/dist/main.js');
const TESTING_MAIN = path.join(ROOT, 'tools/testing/dist/index.js');

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '8' },
    pods: { type: 'string', default: '20' },
    'exec-mb': { type: 'string', default: '50' },
    runs: { type: 'string', default: '3' },
    durability: { type: 'string', default: 'disk' },
    keep: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
  strict: true,
});
const SECONDS = Number(values.seconds);
const CONCURRENCY = Number(values.concurrency);
const PODS = Number(values.pods);
const EXEC_MB = Number(values['exec-mb']);
const RUNS = Number(values.runs);
for (const [name, value] of Object.entries({ seconds: SECONDS, concurrency: CONCURRENCY, pods: PODS, 'exec-mb': EXEC_MB, runs: RUNS })) {
  if (!Number.isInteger(value) || value < 1) {
    process.stderr.write(`kubernetes.mjs: --${name} is a positive integer\n`);
    process.exit(2);
  }
}
for (const file of [GATEWAY_MAIN, TESTING_MAIN]) {
  if (!fs.existsSync(file)) {
    process.stderr.write(`kubernetes.mjs: ${file} is missing; run npx tsc -b tsconfig.build.json first\n`);
    process.exit(2);
  }
}
if (!['disk', 'os'].includes(values.durability)) {
  process.stderr.write('kubernetes.mjs: --durability is disk or os\n');
  process.exit(2);
}
const log = (text) => process.stderr.write(`${text}\n`);

/** The test double in a child process, so that its work does not share the load generator's event loop. */
async function startFake(tmp) {
  const script = `
const { startFakeKubeApiserver } = require(${JSON.stringify(TESTING_MAIN)});
const pods = Array.from({ length: ${PODS} }, (_, i) => ({ resource: 'pods', object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-' + i, namespace: 'default', labels: { app: 'web', tier: 'frontend' } }, spec: { containers: [{ name: 'main', image: 'busybox:1.36', command: ['sleep', 'infinity'], resources: { limits: { cpu: '100m', memory: '64Mi' } } }] } } }));
startFakeKubeApiserver({ objects: pods }).then((fake) => process.stdout.write(JSON.stringify({ url: fake.url, ca: fake.ca, token: fake.token }) + '\\n'));
`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'], cwd: tmp });
  const info = await new Promise((resolve, reject) => {
    let text = '';
    child.stdout.on('data', (chunk) => {
      text += chunk;
      if (text.includes('\n')) resolve(JSON.parse(text));
    });
    child.on('exit', (code) => reject(new Error(`the fake kube-apiserver exited ${code}`)));
  });
  return { child, ...info };
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
    const found = [];
    for (const line of fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n') : []) {
      try {
        const value = pick(JSON.parse(line));
        if (value !== undefined) found.push(value);
      } catch {
        /* partial line */
      }
    }
    if (found.length > 0) return found;
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

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const median = (numbers) => [...numbers].sort((a, b) => a - b)[Math.floor(numbers.length / 2)];

/** `--concurrency` clients listing pods back to back for `seconds`; latencies in ms. */
async function listLoad(base, ca, token, seconds) {
  const agent = new https.Agent({ keepAlive: true, maxSockets: CONCURRENCY, ca });
  const url = new URL('/api/v1/namespaces/default/pods', base);
  const once = () =>
    new Promise((resolve, reject) => {
      const started = process.hrtime.bigint();
      const request = https.get(url, { agent, headers: { authorization: `Bearer ${token}`, accept: 'application/json' } }, (response) => {
        let bytes = 0;
        response.on('data', (chunk) => (bytes += chunk.length));
        response.on('end', () => {
          if (response.statusCode !== 200) return reject(new Error(`HTTP ${response.statusCode}`));
          resolve({ ms: Number(process.hrtime.bigint() - started) / 1e6, bytes });
        });
      });
      request.on('error', reject);
    });
  const latencies = [];
  let bytes = 0;
  const until = Date.now() + seconds * 1000;
  const began = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < until) {
        const result = await once();
        latencies.push(result.ms);
        bytes = result.bytes;
      }
    }),
  );
  const wall = Number(process.hrtime.bigint() - began) / 1e9;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return { requests: latencies.length, rps: latencies.length / wall, p50: percentile(latencies, 50), p99: percentile(latencies, 99), responseBytes: bytes };
}

function kubeconfig(file, server, ca, token) {
  fs.writeFileSync(
    file,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster: { server, 'certificate-authority-data': Buffer.from(ca).toString('base64') } }],
      users: [{ name: 'u', user: { token } }],
      contexts: [{ name: 'c', context: { cluster: 'c', user: 'u', namespace: 'default' } }],
      'current-context': 'c',
    }),
  );
  return file;
}

/** One `kubectl exec` streaming EXEC_MB of text lines to /dev/null; wall seconds. */
function execOnce(config, cacheDir) {
  return new Promise((resolve, reject) => {
    const script = `yes 'visit 2024 ward seven room twelve, vitals stable, plan unchanged, follow up in clinic' | head -c ${EXEC_MB * 1024 * 1024}`;
    const started = process.hrtime.bigint();
    const child = spawn('kubectl', ['--kubeconfig', config, '--cache-dir', cacheDir, 'exec', 'web-0', '--', 'sh', '-c', script], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(Number(process.hrtime.bigint() - started) / 1e9) : reject(new Error(`kubectl exec exited ${code}: ${stderr.trim()}`))));
  });
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-bench-k8s-'));
let fake;
let gateway;
try {
  fake = await startFake(tmp);
  const dataDir = path.join(tmp, 'warden');
  const config = path.join(tmp, 'warden.yaml');
  const target = `{ server: "${fake.url}", token: "${fake.token}", ca: ${JSON.stringify(fake.ca)} }`;
  fs.writeFileSync(
    config,
    `# Written by tools/bench/kubernetes.mjs
dataDir: ${JSON.stringify(dataDir)}
identity: { devIssuer: true }
audit: { durability: ${values.durability} }
connections:
  - { name: k8s, protocol: kubernetes, listen: 127.0.0.1:0, tls: self-signed, target: ${target} }
  - { name: k8s-masked, protocol: kubernetes, listen: 127.0.0.1:0, tls: self-signed, target: ${target} }
grants:
  - { connection: k8s, groups: [bench], access: full }
  - { connection: k8s-masked, groups: [bench], access: full }
masking:
  - { connection: k8s-masked, detect: [ssn, email, phone, mrn, credit-card] }
`,
  );
  const logFile = path.join(tmp, 'warden.stderr.log');
  const logFd = fs.openSync(logFile, 'w');
  gateway = spawn(process.execPath, [GATEWAY_MAIN, 'serve', '--config', config], { stdio: ['ignore', logFd, logFd], cwd: ROOT });
  const pick = (line) => (line.msg === 'listening' && line.protocol === 'kubernetes' ? { connection: line.connection, port: Number(/:(\d+)$/.exec(line.address)[1]) } : undefined);
  let listening = await waitForLog(logFile, gateway, pick);
  while (listening.length < 2) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    listening = await waitForLog(logFile, gateway, pick);
  }
  const token = (await output(process.execPath, [GATEWAY_MAIN, 'token', '--dev', '--subject', 'bench', '--groups', 'bench', '--ttl', '7200', '--data-dir', dataDir])).trim();
  const wardenCa = (name) => fs.readFileSync(path.join(dataDir, `${name}.tls.crt`), 'utf8');
  const portOf = (name) => listening.find((entry) => entry.connection === name).port;
  const servers = {
    direct: { url: fake.url, ca: fake.ca, token: fake.token },
    warden: { url: `https://127.0.0.1:${portOf('k8s')}`, ca: wardenCa('k8s'), token },
    'warden-masked': { url: `https://127.0.0.1:${portOf('k8s-masked')}`, ca: wardenCa('k8s-masked'), token },
  };

  let peakRss = rssKb(gateway.pid);
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssKb(gateway.pid))), 100);
  const list = {};
  for (const name of ['direct', 'warden']) {
    const server = servers[name];
    await listLoad(server.url, server.ca, server.token, 1); // warm-up
    list[name] = await listLoad(server.url, server.ca, server.token, SECONDS);
    log(`list ${name.padEnd(7)} ${list[name].rps.toFixed(0)} req/s  p50 ${list[name].p50.toFixed(2)} ms  p99 ${list[name].p99.toFixed(2)} ms  (${list[name].requests} requests, ${list[name].responseBytes} B each)`);
  }
  const exec = {};
  const cacheDir = path.join(tmp, 'kube-cache');
  for (const [name, server] of Object.entries(servers)) {
    const file = kubeconfig(path.join(tmp, `kubeconfig-${name}`), server.url, server.ca, server.token);
    await execOnce(file, cacheDir).catch((error) => {
      throw new Error(`${name}: ${error.message}`);
    });
    const runs = [];
    for (let i = 0; i < RUNS; i++) runs.push(await execOnce(file, cacheDir));
    const seconds = median(runs);
    exec[name] = { seconds, mbps: EXEC_MB / seconds, runs };
    log(`exec ${name.padEnd(13)} ${seconds.toFixed(2)} s  ${(EXEC_MB / seconds).toFixed(1)} MB/s`);
  }
  clearInterval(sampler);
  const summary = {
    target: 'fake-kube-apiserver (test double, tools/testing), not a real kube-apiserver',
    seconds: SECONDS,
    durability: values.durability,
    concurrency: CONCURRENCY,
    pods: PODS,
    execMb: EXEC_MB,
    runs: RUNS,
    list,
    exec,
    ratios: { listRps: list.warden.rps / list.direct.rps, exec: exec.warden.mbps / exec.direct.mbps, execMasked: exec['warden-masked'].mbps / exec.direct.mbps },
    wardenPeakRssMb: peakRss / 1024,
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
  };
  if (values.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  else {
    const lines = [
      '',
      `Target: the fake kube-apiserver TEST DOUBLE (not a real API server). ${CONCURRENCY} clients, ${SECONDS} s, ${PODS} pods per list, audit durability ${values.durability}.`,
      '',
      '| list pods | req/s | p50 ms | p99 ms |',
      '|---|---|---|---|',
      ...['direct', 'warden'].map((name) => `| ${name} | ${list[name].rps.toFixed(0)} | ${list[name].p50.toFixed(2)} | ${list[name].p99.toFixed(2)} |`),
      '',
      `| kubectl exec, ${EXEC_MB} MB of text (median of ${RUNS}) | s | MB/s |`,
      '|---|---|---|',
      ...Object.entries(exec).map(([name, result]) => `| ${name} | ${result.seconds.toFixed(2)} | ${result.mbps.toFixed(1)} |`),
      '',
      `Warden/direct: list ${summary.ratios.listRps.toFixed(2)}×, exec ${summary.ratios.exec.toFixed(2)}×, exec masked ${summary.ratios.execMasked.toFixed(2)}×; Warden peak RSS ${summary.wardenPeakRssMb.toFixed(0)} MB`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  }
} finally {
  if (gateway && gateway.exitCode === null) {
    const exited = new Promise((resolve) => gateway.once('exit', resolve));
    gateway.kill('SIGTERM');
    await exited;
  }
  if (fake && fake.child.exitCode === null) fake.child.kill('SIGTERM');
  if (values.keep) log(`kept ${tmp}`);
  else fs.rmSync(tmp, { recursive: true, force: true });
}
