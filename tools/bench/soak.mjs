#!/usr/bin/env node
/**
 * Soak: N concurrent client sessions across every protocol, for D seconds, through the built
 * gateway in its own process — mixed reads, blocked statements (which must come back as the
 * protocol's own refusal) and reads of masked PHI columns (which must come back masked). A short
 * direct phase with the same mix against the same targets comes first, as the latency baseline.
 *
 *   postgres    node-postgres (`pg`), simple queries, to a private PostgreSQL (tools/testing) whose
 *               max_connections is raised for the run (the machine's server stays untouched)
 *   mysql       mysql2 text queries, to the machine's MariaDB (max_connections raised with
 *               SET GLOBAL for the run when too low, restored at the end)
 *   kubernetes  HTTPS keep-alive requests to the fake kube-apiserver TEST DOUBLE (tools/testing),
 *               in its own process
 *   ssh         ssh2 client exec requests to a private sshd (tools/testing)
 *
 * Identity: an in-process OIDC provider (tools/testing), one client-credentials token for all
 * sessions. Audit: the file log with `--durability` (default disk, fdatasync'ed group commits).
 *
 * Reports commands/s per protocol, p50/p99 latency per protocol and kind through Warden and direct
 * (and the difference), errors, the gateway's RSS every 10 s with a growth verdict, and at the end
 * that `warden audit verify` passes and that the log holds exactly one `command` record per command
 * a client saw acknowledged (allowed ones as `allow`, refused ones as `block`), per protocol.
 * Exit status 0 when all of that holds with no client error, 1 otherwise, 2 for bad flags.
 *
 *   npx tsc -b tsconfig.build.json
 *   node tools/bench/soak.mjs [--sessions 500] [--duration 600] [--mix pg=60,mysql=25,k8s=10,ssh=5]
 *     [--direct-duration S] [--think-ms 250] [--ssh-think-ms 30000] [--durability disk|os] [--out FILE] [--keep]
 *
 * SSH sessions think longer (`--ssh-think-ms`): every exec starts the target account's shell
 * (with its rc files) on this same machine, which costs far more than a database round trip.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(here, '../..');
const GATEWAY_MAIN = path.join(ROOT, 'apps/gateway/dist/main.js');
const TESTING_MAIN = path.join(ROOT, 'tools/testing/dist/index.js');

const PROTOCOLS = ['pg', 'mysql', 'k8s', 'ssh'];
const KINDS = ['read', 'masked', 'blocked'];
/** Share of each kind of command in every session's loop. */
const KIND_WEIGHTS = { read: 0.7, masked: 0.2, blocked: 0.1 };
const SAMPLE_EVERY_MS = 10_000;
const ACCOUNTS = 10_000;
const PATIENTS = 1_000;
const MYSQL_DB = 'warden_soak';
const MYSQL_USER = { user: 'warden_soak', password: 'warden-soak-Secret-1' };
const PG_USER = { name: 'warden', password: 'warden-soak-password', method: 'scram-sha-256' };
/**
 * Agent identities (OIDC clients), each with at most this many of the sessions: the gateway allows
 * 100 open sessions per identity by default, and many agents is the realistic shape anyway.
 */
const SESSIONS_PER_IDENTITY = 50;

const usage = 'usage: node tools/bench/soak.mjs [--sessions N] [--duration S] [--mix pg=60,mysql=25,k8s=10,ssh=5] [--direct-duration S] [--think-ms MS] [--ssh-think-ms MS] [--durability disk|os] [--out FILE] [--keep]';
let values;
try {
  ({ values } = parseArgs({
    options: {
      sessions: { type: 'string', default: '500' },
      duration: { type: 'string', default: '600' },
      mix: { type: 'string', default: 'pg=60,mysql=25,k8s=10,ssh=5' },
      'direct-duration': { type: 'string' },
      'think-ms': { type: 'string', default: '250' },
      'ssh-think-ms': { type: 'string', default: '30000' },
      durability: { type: 'string', default: 'disk' },
      out: { type: 'string' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  }));
} catch (error) {
  process.stderr.write(`soak.mjs: ${error.message}\n${usage}\n`);
  process.exit(2);
}
if (values.help) {
  process.stdout.write(`${usage}\n`);
  process.exit(0);
}
const fail = (text) => {
  process.stderr.write(`soak.mjs: ${text}\n${usage}\n`);
  process.exit(2);
};
const SESSIONS = Number(values.sessions);
const DURATION = Number(values.duration);
const THINK_MS = Number(values['think-ms']);
const SSH_THINK_MS = Number(values['ssh-think-ms']);
const thinkMs = (protocol) => (protocol === 'ssh' ? SSH_THINK_MS : THINK_MS);
const DIRECT_DURATION = values['direct-duration'] === undefined ? Math.min(60, Math.max(10, Math.ceil(DURATION / 10))) : Number(values['direct-duration']);
if (!Number.isInteger(SESSIONS) || SESSIONS < 1) fail('--sessions is a positive integer');
if (!Number.isInteger(DURATION) || DURATION < 1) fail('--duration is a positive number of seconds');
if (!Number.isInteger(DIRECT_DURATION) || DIRECT_DURATION < 0) fail('--direct-duration is a number of seconds (0: no direct phase)');
if (!Number.isFinite(THINK_MS) || THINK_MS < 0 || !Number.isFinite(SSH_THINK_MS) || SSH_THINK_MS < 0) fail('--think-ms and --ssh-think-ms are numbers of milliseconds');
if (!['disk', 'os'].includes(values.durability)) fail('--durability is disk or os');
const MIX = parseMix(values.mix);
const OIDC_CLIENTS = Array.from({ length: Math.ceil(SESSIONS / SESSIONS_PER_IDENTITY) }, (_, i) => ({ clientId: `soak-agent-${i + 1}`, clientSecret: `soak-agent-${i + 1}-secret`, groups: ['soak'] }));
for (const file of [GATEWAY_MAIN, TESTING_MAIN]) if (!fs.existsSync(file)) fail(`${file} is missing; run npx tsc -b tsconfig.build.json first`);

const pg = require('pg');
const mysql = require('mysql2/promise');
const { Client: SshClient } = require('ssh2');
const { startOidcProvider, startPrivatePostgres, startPrivateSshd } = require(TESTING_MAIN);

const log = (text) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${text}\n`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function parseMix(text) {
  const weights = Object.fromEntries(PROTOCOLS.map((protocol) => [protocol, 0]));
  for (const part of text.split(',')) {
    const [name, weight] = part.split('=');
    if (!PROTOCOLS.includes(name) || !(Number(weight) >= 0)) fail(`--mix: "${part}" is not PROTOCOL=WEIGHT with PROTOCOL one of ${PROTOCOLS.join(', ')}`);
    weights[name] = Number(weight);
  }
  const total = Object.values(weights).reduce((a, b) => a + b, 0);
  if (!(total > 0)) fail('--mix needs a positive weight');
  // Largest remainder, so that the counts add up to --sessions.
  const exact = PROTOCOLS.map((protocol) => ({ protocol, value: (weights[protocol] / total) * SESSIONS }));
  const counts = Object.fromEntries(exact.map(({ protocol, value }) => [protocol, Math.floor(value)]));
  let left = SESSIONS - Object.values(counts).reduce((a, b) => a + b, 0);
  for (const { protocol } of [...exact].sort((a, b) => (b.value % 1) - (a.value % 1))) {
    if (left-- <= 0) break;
    counts[protocol]++;
  }
  return counts;
}

/** Synthetic PHI, a pure function of the row id, so that a client can tell a raw value from a masked one. */
const patient = (id) => ({
  ssn: `9${String(id % 100).padStart(2, '0')}-55-${String(id).padStart(4, '0')}`,
  dob: new Date(Date.UTC(1950, 0, 1) + id * 86_400_000 * 17).toISOString().slice(0, 10),
});
const SSN_PATTERN = /\b\d{3}-\d{2}-\d{4}\b/;
const K8S_PHI = { ssn: '412-55-7301', email: 'ann.smith@example.org' };
const SSH_PHI_SSN = '412-55-7302';

function rssKb(pid) {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}
function cpuSeconds(pid) {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}
function openFiles(pid) {
  try {
    return fs.readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0;
  }
}
function openFilesLimit() {
  const line = fs.readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
  return Number(line?.split(/\s+/)[3]);
}

function output(command, args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs `work` over `items` with at most `limit` at a time. */
async function inBatches(items, limit, work) {
  const results = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await work(items[index], index);
      }
    }),
  );
  return results;
}

// ---------------------------------------------------------------------------------------------
// Targets

async function startPostgresTarget() {
  const server = await startPrivatePostgres({ users: [PG_USER] });
  // Two phases, one after the other, each with one connection per pg session (Warden opens one
  // target connection per client session), plus the setup connection and headroom.
  const maxConnections = MIX.pg + 50;
  if (Number(await server.adminQuery('SHOW max_connections')) < maxConnections) {
    // A private server: a restart for ALTER SYSTEM touches nobody else.
    await server.adminQuery(`ALTER SYSTEM SET max_connections = ${maxConnections}`);
    await server.restart();
  }
  await server.adminQuery(`CREATE DATABASE soak OWNER ${PG_USER.name}`);
  const client = new pg.Client({ host: server.host, port: server.port, user: PG_USER.name, password: PG_USER.password, database: 'soak' });
  await client.connect();
  await client.query(`
    CREATE TABLE accounts (id int PRIMARY KEY, name text NOT NULL, balance int NOT NULL);
    INSERT INTO accounts SELECT i, 'account ' || i, i * 10 FROM generate_series(1, ${ACCOUNTS}) AS i;
    CREATE TABLE patients (id int PRIMARY KEY, ssn text NOT NULL, dob date NOT NULL);`);
  for (let id = 1; id <= PATIENTS; id += 500) {
    const rows = Array.from({ length: Math.min(500, PATIENTS - id + 1) }, (_, i) => patient(id + i));
    await client.query(`INSERT INTO patients SELECT * FROM unnest($1::int[], $2::text[], $3::date[])`, [rows.map((_, i) => id + i), rows.map((row) => row.ssn), rows.map((row) => row.dob)]);
  }
  const shown = (await client.query('SHOW max_connections')).rows[0].max_connections;
  await client.end();
  return { server, maxConnections: Number(shown) };
}

async function startMysqlTarget() {
  const root = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', multipleStatements: true });
  const [[{ max }]] = await root.query('SELECT @@GLOBAL.max_connections AS max');
  const wanted = MIX.mysql + 60; // each phase's sessions, other users of the server, headroom
  let raisedFrom;
  if (max < wanted) {
    await root.query(`SET GLOBAL max_connections = ${wanted}`);
    raisedFrom = max;
  }
  await root.query(`
    CREATE USER IF NOT EXISTS '${MYSQL_USER.user}'@'127.0.0.1' IDENTIFIED BY '${MYSQL_USER.password}';
    ALTER USER '${MYSQL_USER.user}'@'127.0.0.1' IDENTIFIED BY '${MYSQL_USER.password}';
    DROP DATABASE IF EXISTS ${MYSQL_DB};
    CREATE DATABASE ${MYSQL_DB};
    GRANT ALL ON ${MYSQL_DB}.* TO '${MYSQL_USER.user}'@'127.0.0.1';
    CREATE TABLE ${MYSQL_DB}.accounts (id INT PRIMARY KEY, name VARCHAR(50) NOT NULL, balance INT NOT NULL);
    INSERT INTO ${MYSQL_DB}.accounts SELECT seq, CONCAT('account ', seq), seq * 10 FROM ${MYSQL_DB}.seq_1_to_${ACCOUNTS};
    CREATE TABLE ${MYSQL_DB}.patients (id INT PRIMARY KEY, ssn CHAR(11) NOT NULL, dob DATE NOT NULL);`);
  const rows = Array.from({ length: PATIENTS }, (_, i) => [i + 1, patient(i + 1).ssn, patient(i + 1).dob]);
  await root.query(`INSERT INTO ${MYSQL_DB}.patients VALUES ?`, [rows]);
  return {
    maxConnections: Math.max(max, wanted),
    restore: async () => {
      if (raisedFrom !== undefined) await root.query(`SET GLOBAL max_connections = ${raisedFrom}`);
      await root.query(`DROP DATABASE IF EXISTS ${MYSQL_DB}`);
      await root.end();
    },
    raisedFrom,
  };
}

/** The fake kube-apiserver in a child process, so that its work does not share the load generator's event loop. */
async function startKubeTarget(tmp) {
  const objects = [
    ...Array.from({ length: 20 }, (_, i) => ({ resource: 'pods', object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: `web-${i}`, namespace: 'default', labels: { app: 'web' } }, spec: { containers: [{ name: 'main', image: 'busybox:1.36' }] } } })),
    { resource: 'pods', object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'intake-0', namespace: 'default' }, spec: { containers: [{ name: 'main', image: 'busybox:1.36' }] } } },
  ];
  const logText = `intake: ssn ${K8S_PHI.ssn}, mail ${K8S_PHI.email}, ward seven\n`;
  const script = `
const { startFakeKubeApiserver } = require(${JSON.stringify(TESTING_MAIN)});
startFakeKubeApiserver({ objects: ${JSON.stringify(objects)} }).then((fake) => (fake.appendLog('default', 'intake-0', ${JSON.stringify(logText)}), fake)).then((fake) => process.stdout.write(JSON.stringify({ url: fake.url, ca: fake.ca, token: fake.token }) + '\\n'));
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

// ---------------------------------------------------------------------------------------------
// The gateway

function gatewayConfig({ dataDir, pgTarget, sshd, kube, oidc }) {
  const sshTarget = `{ host: 127.0.0.1, port: ${sshd.port}, user: ${sshd.user}, privateKey: ${JSON.stringify(sshd.clientPrivateKey)}, hostKey: "${sshd.hostKeyFingerprint}", maskLiveOutput: true }`;
  return `# Written by tools/bench/soak.mjs
dataDir: ${JSON.stringify(dataDir)}
identity:
  issuers: [{ issuer: ${JSON.stringify(oidc.issuer)}, audience: warden }]
audit: { durability: ${values.durability} }
connections:
  - name: soak-pg
    protocol: postgres
    listen: 127.0.0.1:0
    target: { host: 127.0.0.1, port: ${pgTarget.server.port}, database: soak, user: ${PG_USER.name}, password: ${PG_USER.password} }
  - name: soak-mysql
    protocol: mysql
    listen: 127.0.0.1:0
    target: { host: 127.0.0.1, port: 3306, database: ${MYSQL_DB}, user: ${MYSQL_USER.user}, password: ${MYSQL_USER.password} }
  - { name: soak-ssh, protocol: ssh, listen: 127.0.0.1:0, target: ${sshTarget} }
  - { name: soak-k8s, protocol: kubernetes, listen: 127.0.0.1:0, tls: self-signed, target: { server: "${kube.url}", token: "${kube.token}", ca: ${JSON.stringify(kube.ca)} } }
grants:
  - { connection: soak-pg, groups: [soak], access: read-write }
  - { connection: soak-mysql, groups: [soak], access: read-write }
  - { connection: soak-ssh, groups: [soak], access: full }
  - { connection: soak-k8s, groups: [soak], access: full }
rules:
  - { name: no-ddl-pg, match: { connection: soak-pg, action: ddl }, effect: block, reason: schema changes are not allowed here }
  - { name: no-ddl-mysql, match: { connection: soak-mysql, action: ddl }, effect: block, reason: schema changes are not allowed here }
  - { name: no-pipe-to-shell, match: { connection: soak-ssh, objects: ["curl|*sh"] }, effect: block, reason: piping a download into a shell is not allowed }
  - { name: no-delete-in-prod, match: { connection: soak-k8s, objects: ["namespace:prod"], text: "^(delete|deletecollection) " }, effect: block, reason: deleting in prod needs a change ticket }
masking:
  - { connection: soak-pg, columns: { patients.ssn: redact, patients.dob: year-only } }
  - { connection: soak-mysql, columns: { patients.ssn: redact, patients.dob: year-only } }
  - { connection: soak-ssh, detect: [ssn] }
  - { connection: soak-k8s, detect: [ssn, email] }
`;
}

async function startGatewayProcess(configFile, logFile) {
  const fd = fs.openSync(logFile, 'w');
  const child = spawn(process.execPath, [GATEWAY_MAIN, 'serve', '--config', configFile], { stdio: ['ignore', fd, fd], cwd: ROOT });
  fs.closeSync(fd);
  const wanted = ['soak-pg', 'soak-mysql', 'soak-ssh', 'soak-k8s'];
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the gateway exited ${child.exitCode}: ${fs.readFileSync(logFile, 'utf8').slice(-2000)}`);
    if (Date.now() > deadline) throw new Error(`the gateway did not start in 30 s; see ${logFile}`);
    const ports = new Map();
    for (const line of fs.readFileSync(logFile, 'utf8').split('\n')) {
      try {
        const entry = JSON.parse(line);
        if (entry.msg === 'listening' && entry.connection) ports.set(entry.connection, Number(entry.address.slice(entry.address.lastIndexOf(':') + 1)));
      } catch {
        /* a partial line */
      }
    }
    if (wanted.every((name) => ports.has(name))) return { child, ports };
    await sleep(50);
  }
}

async function stopProcess(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  child.kill('SIGTERM');
  return exited;
}

// ---------------------------------------------------------------------------------------------
// Client sessions: each is { run(kind) → Promise<void> that throws on an unexpected outcome, close() }

/** An outcome that is not what the command should have produced: counted as an error, never as acknowledged. */
class Unexpected extends Error {}

function pgSession({ direct, ...endpoint }, n) {
  const client = new pg.Client({ ...endpoint, types: { getTypeParser: () => (value) => value } });
  client.on('error', () => undefined);
  return client.connect().then(() => ({
    async run(kind) {
      if (kind === 'read') {
        const id = 1 + ((n * 7919 + Math.floor(Math.random() * ACCOUNTS)) % ACCOUNTS);
        const result = await client.query(`SELECT name, balance FROM accounts WHERE id = ${id}`);
        if (result.rows.length !== 1 || result.rows[0].balance !== String(id * 10)) throw new Unexpected('pg read: wrong row');
      } else if (kind === 'masked') {
        const id = 1 + Math.floor(Math.random() * PATIENTS);
        const result = await client.query(`SELECT id, ssn, dob FROM patients WHERE id = ${id}`);
        const row = result.rows[0];
        if (result.rows.length !== 1 || row.id !== String(id)) throw new Unexpected('pg masked: wrong row');
        const raw = patient(id);
        if (direct) {
          if (row.ssn !== raw.ssn) throw new Unexpected('pg direct: wrong ssn');
        } else if (row.ssn === raw.ssn || SSN_PATTERN.test(row.ssn) || row.dob !== `${raw.dob.slice(0, 4)}-01-01`) throw new Unexpected('pg masked: a PHI column came back unmasked');
      } else {
        try {
          await client.query('DROP TABLE soak_no_such_table');
        } catch (error) {
          // Direct, the target answers (the table does not exist); through Warden, the policy refuses it first.
          if (direct ? error.code === '42P01' : error.code === '42501' && error.message === 'Warden: schema changes are not allowed here') return;
          throw error;
        }
        throw new Unexpected('pg blocked: the statement was not refused');
      }
    },
    close: () => client.end(),
  }));
}

function mysqlSession({ direct, ...endpoint }, n) {
  return mysql.createConnection({ ...endpoint, dateStrings: true }).then((connection) => {
    connection.on('error', () => undefined);
    return {
      async run(kind) {
        if (kind === 'read') {
          const id = 1 + ((n * 7919 + Math.floor(Math.random() * ACCOUNTS)) % ACCOUNTS);
          const [rows] = await connection.query(`SELECT name, balance FROM accounts WHERE id = ${id}`);
          if (rows.length !== 1 || rows[0].balance !== id * 10) throw new Unexpected('mysql read: wrong row');
        } else if (kind === 'masked') {
          const id = 1 + Math.floor(Math.random() * PATIENTS);
          const [rows] = await connection.query(`SELECT id, ssn, dob FROM patients WHERE id = ${id}`);
          const row = rows[0];
          if (rows.length !== 1 || row.id !== id) throw new Unexpected('mysql masked: wrong row');
          const raw = patient(id);
          if (direct) {
            if (row.ssn !== raw.ssn) throw new Unexpected('mysql direct: wrong ssn');
          } else if (row.ssn === raw.ssn || SSN_PATTERN.test(row.ssn) || row.dob !== `${raw.dob.slice(0, 4)}-01-01`) throw new Unexpected('mysql masked: a PHI column came back unmasked');
        } else {
          try {
            await connection.query('DROP TABLE soak_no_such_table');
          } catch (error) {
            if (direct ? error.code === 'ER_BAD_TABLE_ERROR' : error.errno === 1142 && /^Warden: schema changes are not allowed here/.test(error.message)) return;
            throw error;
          }
          throw new Unexpected('mysql blocked: the statement was not refused');
        }
      },
      close: () => connection.end(),
    };
  });
}

/** The message of a Kubernetes Status answer (Warden's and the API server's name reasons, not data). */
function statusMessage(body) {
  try {
    return String(JSON.parse(body).message ?? '').slice(0, 120);
  } catch {
    return '';
  }
}

function k8sSession(endpoint, n) {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: endpoint.ca });
  // A keep-alive socket the server closed while idle fails the next request on it with ECONNRESET
  // before the server saw it: sent again once, as Node's documentation recommends.
  const request = (method, urlPath, retried = false) =>
    new Promise((resolve, reject) => {
      const req = https.request(new URL(urlPath, endpoint.url), { method, agent, headers: { authorization: `Bearer ${endpoint.token}`, accept: 'application/json' } }, (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode, body }));
        response.on('error', reject);
      });
      req.on('error', (error) => (!retried && req.reusedSocket && error.code === 'ECONNRESET' ? request(method, urlPath, true).then(resolve, reject) : reject(error)));
      req.end();
    });
  return Promise.resolve({
    async run(kind) {
      if (kind === 'read') {
        const name = `web-${(n + Math.floor(Math.random() * 20)) % 20}`;
        const { status, body } = await request('GET', `/api/v1/namespaces/default/pods/${name}`);
        if (status !== 200 || JSON.parse(body).metadata?.name !== name) throw new Unexpected(`k8s read: HTTP ${status} ${statusMessage(body)}`);
      } else if (kind === 'masked') {
        // Pod logs are what the Kubernetes adapter masks with the connection's detectors.
        const { status, body } = await request('GET', '/api/v1/namespaces/default/pods/intake-0/log');
        if (status !== 200) throw new Unexpected(`k8s masked: HTTP ${status} ${statusMessage(body)}`);
        if (endpoint.direct ? !body.includes(K8S_PHI.ssn) : body.includes(K8S_PHI.ssn) || body.includes(K8S_PHI.email) || !body.startsWith('intake: ssn ')) throw new Unexpected('k8s masked: PHI came back unmasked');
      } else {
        const { status, body } = await request('DELETE', '/api/v1/namespaces/prod/pods/ghost');
        if (endpoint.direct ? status === 404 : status === 403 && JSON.parse(body).reason === 'Forbidden' && /rule "no-delete-in-prod"/.test(JSON.parse(body).message)) return;
        throw new Unexpected(`k8s blocked: HTTP ${status} ${statusMessage(body)}`);
      }
    },
    close: async () => agent.destroy(),
  });
}

function sshSession(endpoint) {
  return new Promise((resolve, reject) => {
    const client = new SshClient();
    client.once('ready', () => resolve(client));
    client.once('error', reject);
    client.on('keyboard-interactive', (_name, _instructions, _lang, prompts, finish) => finish(prompts.map(() => endpoint.password ?? '')));
    client.connect({ host: '127.0.0.1', port: endpoint.port, username: endpoint.username, readyTimeout: 60_000, ...(endpoint.privateKey ? { privateKey: endpoint.privateKey } : { password: endpoint.password, tryKeyboard: true }) });
  }).then((client) => {
    client.on('error', () => undefined);
    const exec = (command) =>
      new Promise((resolve, reject) => {
        client.exec(command, (error, stream) => {
          if (error) return reject(error);
          let stdout = '';
          let stderr = '';
          let code = null;
          stream.on('data', (data) => (stdout += data));
          stream.stderr.on('data', (data) => (stderr += data));
          stream.on('exit', (exitCode) => (code = exitCode));
          stream.on('close', () => resolve({ stdout, stderr, code }));
        });
      });
    return {
      async run(kind) {
        if (kind === 'read') {
          const word = `soak-${Math.floor(Math.random() * 1e6)}`;
          const result = await exec(`echo ${word}`);
          if (result.code !== 0 || result.stdout !== `${word}\n`) throw new Unexpected(`ssh read: exit ${result.code}`);
        } else if (kind === 'masked') {
          const result = await exec(`printf 'patient ssn %s\\n' ${SSH_PHI_SSN}`);
          if (result.code !== 0 || !result.stdout.startsWith('patient ssn ')) throw new Unexpected(`ssh masked: exit ${result.code}`);
          if (endpoint.direct ? !result.stdout.includes(SSH_PHI_SSN) : result.stdout.includes(SSH_PHI_SSN)) throw new Unexpected('ssh masked: PHI came back unmasked');
        } else {
          const result = await exec('curl -s http://127.0.0.1:9/x | sh');
          if (endpoint.direct) return; // curl fails (nothing listens on port 9) and sh reads nothing
          if (result.code === 126 && /rule "no-pipe-to-shell"/.test(result.stderr) && result.stdout === '') return;
          throw new Unexpected(`ssh blocked: exit ${result.code}`);
        }
      },
      close: async () => client.end(),
    };
  });
}

// ---------------------------------------------------------------------------------------------
// One phase: connect every session, run the mix for `seconds`, close every session.

function newStats() {
  return Object.fromEntries(
    PROTOCOLS.map((protocol) => [
      protocol,
      { sessions: 0, connectErrors: 0, measured: 0, acknowledged: Object.fromEntries(KINDS.map((kind) => [kind, 0])), latencies: Object.fromEntries(KINDS.map((kind) => [kind, []])), errors: 0, errorSamples: [] },
    ]),
  );
}

function pickKind() {
  const r = Math.random();
  return r < KIND_WEIGHTS.read ? 'read' : r < KIND_WEIGHTS.read + KIND_WEIGHTS.masked ? 'masked' : 'blocked';
}

function describeError(error) {
  // Error messages of the drivers name codes and rules, never row values; keep them short anyway.
  return `${error instanceof Unexpected ? 'unexpected' : (error.code ?? error.name)}: ${String(error.message).slice(0, 160)}`;
}

async function runPhase(name, openers, seconds, warmUpSeconds, onTick) {
  const stats = newStats();
  const plan = PROTOCOLS.flatMap((protocol) => Array.from({ length: MIX[protocol] }, (_, n) => ({ protocol, n }))).map((item, g) => ({ ...item, g }));
  log(`${name}: connecting ${plan.length} sessions (${PROTOCOLS.map((p) => `${p} ${MIX[p]}`).join(', ')})`);
  const connectStarted = performance.now();
  // ssh connections are set up a few at a time: sshd drops unauthenticated connections beyond MaxStartups.
  const sessions = (
    await Promise.all([
      inBatches(plan.filter((item) => item.protocol !== 'ssh'), 32, (item) => openOne(item)),
      inBatches(plan.filter((item) => item.protocol === 'ssh'), 4, (item) => openOne(item)),
    ])
  ).flat();
  async function openOne(item) {
    try {
      const session = await openers[item.protocol](item.n, item.g);
      stats[item.protocol].sessions++;
      return { ...item, session };
    } catch (error) {
      stats[item.protocol].connectErrors++;
      if (stats[item.protocol].errorSamples.length < 5) stats[item.protocol].errorSamples.push(`connect ${describeError(error)}`);
      return undefined;
    }
  }
  const connectSeconds = (performance.now() - connectStarted) / 1000;
  log(`${name}: ${sessions.filter(Boolean).length} sessions connected in ${connectSeconds.toFixed(1)} s; running ${seconds} s`);
  // The load generator's own health: a busy event loop delays every client's reading of its answers.
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const stopAt = started + seconds * 1000;
  const measureFrom = started + warmUpSeconds * 1000;
  // Sessions still in their last command after the end, by protocol: a slow tail shows here.
  const inFlight = Object.fromEntries(PROTOCOLS.map((protocol) => [protocol, 0]));
  const straggling = setInterval(() => {
    if (performance.now() > stopAt + 5000) log(`${name}: still finishing their last command: ${PROTOCOLS.filter((p) => inFlight[p] > 0).map((p) => `${p} ${inFlight[p]}`).join(', ')}`);
  }, 5000);
  const ticker = onTick ? setInterval(() => onTick((performance.now() - started) / 1000, stats), SAMPLE_EVERY_MS) : undefined;
  onTick?.(0, stats);
  await Promise.all(
    sessions.filter(Boolean).map(async ({ protocol, session }) => {
      const own = stats[protocol];
      inFlight[protocol]++;
      // Spread the sessions' first commands over one think time.
      await sleep(Math.random() * thinkMs(protocol));
      while (performance.now() < stopAt) {
        const kind = pickKind();
        const began = performance.now();
        try {
          await session.run(kind);
          // Latency and throughput figures leave out the warm-up (lazy parser loads, JIT); the audit count does not.
          if (began >= measureFrom) {
            own.latencies[kind].push(performance.now() - began);
            own.measured++;
          }
          own.acknowledged[kind]++;
        } catch (error) {
          own.errors++;
          if (own.errorSamples.length < 5) own.errorSamples.push(`${kind} ${describeError(error)}`);
          if (!(error instanceof Unexpected)) break; // the session is likely gone
        }
        if (thinkMs(protocol) > 0) await sleep(Math.random() * 2 * thinkMs(protocol));
      }
      inFlight[protocol]--;
    }),
  );
  clearInterval(straggling);
  const wall = (performance.now() - started) / 1000;
  loopDelay.disable();
  const cpu = process.cpuUsage(cpuBefore);
  const loadGenerator = {
    cpuPercentOfOneCore: ((cpu.user + cpu.system) / 1e6 / wall) * 100,
    eventLoopDelayMs: { p50: loopDelay.percentile(50) / 1e6, p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 },
  };
  log(`${name}: load generator ${loadGenerator.cpuPercentOfOneCore.toFixed(0)} % of one core, event loop delay p50 ${loadGenerator.eventLoopDelayMs.p50.toFixed(1)} ms p99 ${loadGenerator.eventLoopDelayMs.p99.toFixed(1)} ms max ${loadGenerator.eventLoopDelayMs.max.toFixed(0)} ms`);
  log(`${name}: commands stopped ${(wall - seconds).toFixed(1)} s after the end (the last in-flight commands); closing sessions`);
  const measuredWall = wall - warmUpSeconds;
  if (ticker) clearInterval(ticker);
  await Promise.all(sessions.filter(Boolean).map(({ session }) => Promise.resolve(session.close()).catch(() => undefined)));
  log(`${name}: sessions closed`);
  return { stats, wall, measuredWall, warmUpSeconds, connectSeconds, loadGenerator };
}

const percentile = (sorted, p) => (sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]);

function summarise(phase) {
  const out = {};
  for (const protocol of PROTOCOLS) {
    const own = phase.stats[protocol];
    if (MIX[protocol] === 0) continue;
    const all = KINDS.flatMap((kind) => own.latencies[kind]).sort((a, b) => a - b);
    const byKind = {};
    for (const kind of KINDS) {
      const sorted = [...own.latencies[kind]].sort((a, b) => a - b);
      byKind[kind] = { commands: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
    }
    const acknowledged = KINDS.reduce((sum, kind) => sum + own.acknowledged[kind], 0);
    out[protocol] = {
      sessions: own.sessions,
      connectErrors: own.connectErrors,
      acknowledged: own.acknowledged,
      acknowledgedTotal: acknowledged,
      commandsPerSecond: own.measured / phase.measuredWall,
      p50: percentile(all, 50),
      p99: percentile(all, 99),
      byKind,
      errors: own.errors,
      errorSamples: own.errorSamples,
    };
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Audit: exactly one command record per acknowledged command

/** The log's files in order: `audit.log`, then segments `audit/000002.jsonl`, … once it rotated. */
function auditFiles(dataDir) {
  const segments = path.join(dataDir, 'audit');
  const rest = fs.existsSync(segments) ? fs.readdirSync(segments).filter((name) => /^\d{6,}\.jsonl$/.test(name)).sort().map((name) => path.join(segments, name)) : [];
  return [path.join(dataDir, 'audit.log'), ...rest];
}

async function auditCounts(dataDir) {
  const protocolOf = new Map();
  const counts = Object.fromEntries(PROTOCOLS.map((protocol) => [protocol, { allow: 0, block: 0, review: 0, results: 0, sessions: 0 }]));
  const byConnection = { 'soak-pg': 'pg', 'soak-mysql': 'mysql', 'soak-ssh': 'ssh', 'soak-k8s': 'k8s' };
  const kinds = {};
  const files = auditFiles(dataDir);
  for (const file of files) {
    // Line by line: a long soak writes more than fits in one string.
    for await (const line of readline.createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity })) {
      if (!line) continue;
      const record = JSON.parse(line);
      kinds[record.type] = (kinds[record.type] ?? 0) + 1;
      if (record.type === 'session.start') {
        protocolOf.set(record.sessionId, byConnection[record.connection]);
        counts[byConnection[record.connection]].sessions++;
      } else if (record.type === 'command') {
        const protocol = protocolOf.get(record.sessionId);
        if (protocol) counts[protocol][record.decision.effect]++;
      } else if (record.type === 'result') {
        const protocol = protocolOf.get(record.sessionId);
        if (protocol) counts[protocol].results++;
      }
    }
  }
  const bytes = files.reduce((sum, file) => sum + fs.statSync(file).size, 0);
  return { counts, kinds, files: files.length, bytes };
}

// ---------------------------------------------------------------------------------------------

const limit = openFilesLimit();
const neededFds = SESSIONS * 2 + 200;
if (limit < neededFds) {
  process.stderr.write(`soak.mjs: ${SESSIONS} sessions need about ${neededFds} open files in this process and about ${SESSIONS * 2 + 200} in the gateway; the limit is ${limit}. Raise it first (ulimit -n ${neededFds * 2}).\n`);
  process.exit(2);
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-bench-soak-'));
let pgTarget;
let mysqlTarget;
let sshd;
let kube;
let oidc;
let gateway;
let failed = false;
const cleanups = [];
async function cleanUp() {
  await stopProcess(gateway?.child);
  if (kube) await stopProcess(kube.child);
  await Promise.allSettled([pgTarget?.server.stop(), sshd?.stop(), oidc?.close(), mysqlTarget?.restore()]);
  for (const cleanup of cleanups) cleanup();
  if (values.keep || failed) log(`kept ${tmp}`);
  else fs.rmSync(tmp, { recursive: true, force: true });
}
process.once('SIGINT', () => {
  log('interrupted; cleaning up');
  failed = true;
  void cleanUp().finally(() => process.exit(130));
});

try {
  log('starting targets: private PostgreSQL, MariaDB database, private sshd, fake kube-apiserver, OIDC provider');
  // Each is kept as soon as it runs, so that a failure of another still stops it.
  const started = await Promise.allSettled([
    startPostgresTarget().then((value) => (pgTarget = value)),
    startMysqlTarget().then((value) => (mysqlTarget = value)),
    startPrivateSshd().then((value) => (sshd = value)),
    startKubeTarget(tmp).then((value) => (kube = value)),
    startOidcProvider({ clients: OIDC_CLIENTS, accessTokenTtlSeconds: DURATION + DIRECT_DURATION + 3600 }).then((value) => (oidc = value)),
  ]);
  for (const outcome of started) if (outcome.status === 'rejected') throw outcome.reason;
  log(`PostgreSQL max_connections ${pgTarget.maxConnections}; MariaDB max_connections ${mysqlTarget.maxConnections}${mysqlTarget.raisedFrom !== undefined ? ` (raised from ${mysqlTarget.raisedFrom} for the run)` : ''}`);

  // Direct phase: the same mix against the targets themselves.
  const directOpeners = {
    pg: (n) => pgSession({ host: '127.0.0.1', port: pgTarget.server.port, user: PG_USER.name, password: PG_USER.password, database: 'soak', direct: true }, n),
    mysql: (n) => mysqlSession({ host: '127.0.0.1', port: 3306, user: MYSQL_USER.user, password: MYSQL_USER.password, database: MYSQL_DB, direct: true }, n),
    k8s: (n) => k8sSession({ url: kube.url, ca: kube.ca, token: kube.token, direct: true }, n),
    ssh: () => sshSession({ port: sshd.port, username: sshd.user, privateKey: sshd.clientPrivateKey, direct: true }),
  };
  const direct = DIRECT_DURATION > 0 ? await runPhase('direct', directOpeners, DIRECT_DURATION, DIRECT_DURATION * 0.2) : undefined;
  const directSummary = direct ? summarise(direct) : undefined;

  const dataDir = path.join(tmp, 'warden');
  const configFile = path.join(tmp, 'warden.yaml');
  fs.writeFileSync(configFile, gatewayConfig({ dataDir, pgTarget, sshd, kube, oidc }));
  gateway = await startGatewayProcess(configFile, path.join(tmp, 'warden.log'));
  const tokens = await Promise.all(OIDC_CLIENTS.map((client) => oidc.clientCredentialsToken(client.clientId)));
  // Session number g of the whole plan logs in as identity g mod the number of identities.
  const identity = (g) => ({ user: OIDC_CLIENTS[g % OIDC_CLIENTS.length].clientId, token: tokens[g % OIDC_CLIENTS.length] });
  const wardenCa = fs.readFileSync(path.join(dataDir, 'soak-k8s.tls.crt'), 'utf8');
  const port = (name) => gateway.ports.get(name);
  const wardenOpeners = {
    pg: (n, g) => pgSession({ host: '127.0.0.1', port: port('soak-pg'), user: identity(g).user, password: identity(g).token, database: 'soak-pg' }, n),
    // Loopback without TLS: the token travels through mysql_clear_password.
    mysql: (n, g) => mysqlSession({ host: '127.0.0.1', port: port('soak-mysql'), user: identity(g).user, password: identity(g).token, database: 'soak-mysql', enableCleartextPlugin: true }, n),
    k8s: (n, g) => k8sSession({ url: `https://127.0.0.1:${port('soak-k8s')}`, ca: wardenCa, token: identity(g).token }, n),
    ssh: (n, g) => sshSession({ port: port('soak-ssh'), username: identity(g).user, password: identity(g).token }),
  };

  const pid = gateway.child.pid;
  const samples = [];
  const cpuAtStart = cpuSeconds(pid);
  const sample = (t, stats) => {
    const acknowledged = PROTOCOLS.reduce((sum, p) => sum + KINDS.reduce((s, k) => s + stats[p].acknowledged[k], 0), 0);
    const entry = { t: Math.round(t), rssMb: rssKb(pid) / 1024, openFiles: openFiles(pid), cpuSeconds: cpuSeconds(pid) - cpuAtStart, acknowledged };
    samples.push(entry);
    log(`  t=${String(entry.t).padStart(4)} s  RSS ${entry.rssMb.toFixed(1)} MB  open files ${entry.openFiles}  acknowledged ${acknowledged}`);
  };
  const warmUp = Math.min(DURATION / 2, Math.max(SAMPLE_EVERY_MS / 1000, Math.min(60, DURATION * 0.1)));
  const warden = await runPhase('warden', wardenOpeners, DURATION, warmUp, sample);
  sample(warden.wall, warden.stats);
  const wardenSummary = summarise(warden);

  // The growth verdict: RSS after warm-up, last third against first third.
  const steady = samples.filter((entry) => entry.t >= warmUp);
  const third = Math.max(1, Math.floor(steady.length / 3));
  const mean = (list) => list.reduce((sum, entry) => sum + entry.rssMb, 0) / list.length;
  const firstThird = steady.length >= 2 ? mean(steady.slice(0, third)) : null;
  const lastThird = steady.length >= 2 ? mean(steady.slice(-third)) : null;
  const growthMb = firstThird === null ? null : lastThird - firstThird;
  const growthPct = firstThird === null ? null : (growthMb / firstThird) * 100;
  // Growth under 10 % or under 20 MB is noise of the allocator and the GC; more is a leak suspect.
  const rssVerdict = growthMb === null ? 'too few samples (run longer)' : growthPct > 10 && growthMb > 20 ? 'GROWS' : 'flat';
  const peakRssMb = Math.max(...samples.map((entry) => entry.rssMb));

  const stopped = await stopProcess(gateway.child);
  const verify = await output(process.execPath, [GATEWAY_MAIN, 'audit', 'verify', '--config', configFile], { cwd: ROOT });
  const verified = verify.code === 0 && /: OK, \d+ records/.test(verify.stdout);
  const audit = await auditCounts(dataDir);
  const accounting = {};
  let auditMatches = true;
  for (const protocol of PROTOCOLS) {
    if (MIX[protocol] === 0) continue;
    const acknowledged = warden.stats[protocol].acknowledged;
    const expected = { allow: acknowledged.read + acknowledged.masked, block: acknowledged.blocked };
    const recorded = { allow: audit.counts[protocol].allow, block: audit.counts[protocol].block };
    // A command sent but never answered (an error) may or may not have a record; every acknowledged one must.
    const unanswered = warden.stats[protocol].errors;
    const exact = recorded.allow === expected.allow && recorded.block === expected.block;
    const ok = exact || (recorded.allow >= expected.allow && recorded.block >= expected.block && recorded.allow + recorded.block - expected.allow - expected.block <= unanswered);
    if (!ok || audit.counts[protocol].review !== 0) auditMatches = false;
    accounting[protocol] = { clientAcknowledged: expected, auditCommandRecords: recorded, auditReview: audit.counts[protocol].review, auditResultRecords: audit.counts[protocol].results, auditSessions: audit.counts[protocol].sessions, clientSessions: warden.stats[protocol].sessions, exact, ok };
  }

  const totalErrors = PROTOCOLS.reduce((sum, p) => sum + warden.stats[p].errors + warden.stats[p].connectErrors, 0);
  const directErrors = direct ? PROTOCOLS.reduce((sum, p) => sum + direct.stats[p].errors + direct.stats[p].connectErrors, 0) : 0;
  failed = !verified || !auditMatches || totalErrors > 0 || stopped?.code !== 0;
  const result = {
    parameters: { sessions: SESSIONS, mix: MIX, duration: DURATION, directDuration: DIRECT_DURATION, thinkMs: THINK_MS, kindWeights: KIND_WEIGHTS, sshThinkMs: SSH_THINK_MS, durability: values.durability },
    limits: { openFiles: limit, postgresMaxConnections: pgTarget.maxConnections, mariadbMaxConnections: mysqlTarget.maxConnections },
    direct: directSummary ? { wall: direct.wall, warmUpSeconds: direct.warmUpSeconds, loadGenerator: direct.loadGenerator, connectSeconds: direct.connectSeconds, protocols: directSummary, errors: directErrors } : null,
    warden: { wall: warden.wall, warmUpSeconds: warden.warmUpSeconds, loadGenerator: warden.loadGenerator, connectSeconds: warden.connectSeconds, protocols: wardenSummary, errors: totalErrors },
    addedLatencyMs: Object.fromEntries(
      PROTOCOLS.filter((p) => MIX[p] > 0 && directSummary).map((p) => [
        p,
        {
          p50: wardenSummary[p].p50 - directSummary[p].p50,
          p99: wardenSummary[p].p99 - directSummary[p].p99,
          byKind: Object.fromEntries(KINDS.map((k) => [k, { p50: wardenSummary[p].byKind[k].p50 - directSummary[p].byKind[k].p50, p99: wardenSummary[p].byKind[k].p99 - directSummary[p].byKind[k].p99 }])),
        },
      ]),
    ),
    gatewayCpu: { seconds: samples.at(-1).cpuSeconds, percentOfOneCore: (samples.at(-1).cpuSeconds / warden.wall) * 100 },
    rss: { samples, warmUpSeconds: warmUp, firstThirdMb: firstThird, lastThirdMb: lastThird, growthMb, growthPct, verdict: rssVerdict, peakMb: peakRssMb },
    gatewayExit: stopped,
    audit: { verified, verifyOutput: (verify.stdout + verify.stderr).trim(), recordsByType: audit.kinds, files: audit.files, bytes: audit.bytes, accounting, matches: auditMatches },
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, loadAverage: os.loadavg() },
    ok: !failed,
  };

  const fmt = (n, digits = 1) => (n === null || n === undefined || Number.isNaN(n) ? '-' : n.toFixed(digits));
  const lines = [
    '',
    `${SESSIONS} sessions (${PROTOCOLS.map((p) => `${p} ${MIX[p]}`).join(', ')}), ${DURATION} s through Warden after ${DIRECT_DURATION} s direct; think time ${THINK_MS} ms mean (ssh ${SSH_THINK_MS} ms); audit durability ${values.durability}; latency and cmds/s after a warm-up of ${warmUp.toFixed(0)} s (Warden) and ${(DIRECT_DURATION * 0.2).toFixed(0)} s (direct)`,
    '',
    'protocol  cmds/s warden  cmds/s direct  p50 ms warden  p50 direct  p99 ms warden  p99 direct  added p50  added p99  acked (read/masked/blocked)  errors',
    ...PROTOCOLS.filter((p) => MIX[p] > 0).map((p) => {
      const w = wardenSummary[p];
      const d = directSummary?.[p];
      return `${p.padEnd(9)} ${fmt(w.commandsPerSecond).padStart(13)}  ${fmt(d?.commandsPerSecond).padStart(13)}  ${fmt(w.p50, 2).padStart(13)}  ${fmt(d?.p50, 2).padStart(10)}  ${fmt(w.p99, 2).padStart(13)}  ${fmt(d?.p99, 2).padStart(10)}  ${fmt(d ? w.p50 - d.p50 : null, 2).padStart(9)}  ${fmt(d ? w.p99 - d.p99 : null, 2).padStart(9)}  ${`${w.acknowledged.read}/${w.acknowledged.masked}/${w.acknowledged.blocked}`.padStart(27)}  ${w.errors + w.connectErrors}`;
    }),
    '',
    `gateway RSS every ${SAMPLE_EVERY_MS / 1000} s (MB): ${samples.map((entry) => `${entry.t}s:${entry.rssMb.toFixed(0)}`).join(' ')}`,
    `load generator (this process): ${direct ? `direct ${fmt(direct.loadGenerator.cpuPercentOfOneCore, 0)} % CPU, event loop delay p99 ${fmt(direct.loadGenerator.eventLoopDelayMs.p99)} ms; ` : ''}warden ${fmt(warden.loadGenerator.cpuPercentOfOneCore, 0)} % CPU, event loop delay p99 ${fmt(warden.loadGenerator.eventLoopDelayMs.p99)} ms (over ~50 ms: the figures include the load generator's own delay)`,
    `gateway CPU ${fmt(samples.at(-1).cpuSeconds)} s in ${fmt(warden.wall)} s (${fmt((samples.at(-1).cpuSeconds / warden.wall) * 100, 0)} % of one core); machine load average ${os.loadavg().map((n) => n.toFixed(1)).join(' ')} on ${os.cpus().length} CPUs`,
    `RSS after ${warmUp.toFixed(0)} s warm-up: first third ${fmt(firstThird)} MB, last third ${fmt(lastThird)} MB (${fmt(growthPct)} %) → ${rssVerdict}; peak ${fmt(peakRssMb)} MB`,
    `audit verify: ${verified ? 'OK' : 'FAILED'} — ${(verify.stdout + verify.stderr).trim().split('\n')[0]}`,
    ...Object.entries(accounting).map(([p, a]) => `audit ${p.padEnd(6)} client acked allow ${a.clientAcknowledged.allow} block ${a.clientAcknowledged.block}; command records allow ${a.auditCommandRecords.allow} block ${a.auditCommandRecords.block} → ${a.exact ? 'exactly one each' : a.ok ? 'one each, plus records of unanswered commands' : 'MISMATCH'}`),
    ...PROTOCOLS.flatMap((p) => [...(direct?.stats[p].errorSamples ?? []).map((e) => `direct ${p} error: ${e}`), ...warden.stats[p].errorSamples.map((e) => `warden ${p} error: ${e}`)]),
    `result: ${failed ? 'FAIL' : 'PASS'}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  const outFile = values.out ?? path.join(here, 'results', `soak-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  fs.mkdirSync(path.dirname(path.resolve(outFile)), { recursive: true });
  fs.writeFileSync(outFile, `${JSON.stringify(result, null, 2)}\n`);
  log(`figures written to ${outFile}`);
} catch (error) {
  failed = true;
  process.stderr.write(`soak.mjs: ${error.stack ?? error}\n`);
} finally {
  await cleanUp();
}
process.exit(failed ? 1 : 0);
