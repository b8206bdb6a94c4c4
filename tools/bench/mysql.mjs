#!/usr/bin/env node
/**
 * A mysql2 load loop, directly against MariaDB/MySQL and through Warden (policy and durable audit
 * on), with the same clients, queries and duration; prints queries per second and the ratio.
 *
 * Each client runs, in a loop, a point lookup (`SELECT … WHERE id = ?`) either as a text query
 * (`--mode query`) or as a prepared statement (`--mode execute`).
 *
 * Needs: a built tree (`npx tsc -b tsconfig.build.json`), a MariaDB/MySQL at --host:--port where
 * --root-user (no password) may create a database and a user.
 *
 *   node tools/bench/mysql.mjs [--duration 10] [--clients 8] [--mode query|execute|both] [--audit-durability disk|os]
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import mysql from 'mysql2/promise';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');
const GATEWAY_MAIN = path.join(ROOT, 'apps/gateway/dist/main.js');
const BENCH_DB = 'warden_bench_mysql';
const BENCH_USER = { user: 'warden_bench', password: 'warden-bench-Secret-1' };
const ROWS = 10_000;

const { values: options } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    clients: { type: 'string', default: '8' },
    mode: { type: 'string', default: 'both' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '3306' },
    'root-user': { type: 'string', default: 'root' },
    'audit-durability': { type: 'string', default: 'disk' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (options.help) {
  console.log('Usage: node tools/bench/mysql.mjs [--duration SECONDS] [--clients N] [--mode query|execute|both] [--host H] [--port P] [--root-user U] [--audit-durability disk|os]');
  process.exit(0);
}
const duration = Number(options.duration) * 1000;
const clients = Number(options.clients);
const modes = options.mode === 'both' ? ['query', 'execute'] : [options.mode];

async function prepareDatabase() {
  const root = await mysql.createConnection({ host: options.host, port: Number(options.port), user: options['root-user'], multipleStatements: true });
  await root.query(`
    CREATE USER IF NOT EXISTS '${BENCH_USER.user}'@'127.0.0.1' IDENTIFIED BY '${BENCH_USER.password}';
    ALTER USER '${BENCH_USER.user}'@'127.0.0.1' IDENTIFIED BY '${BENCH_USER.password}';
    DROP DATABASE IF EXISTS ${BENCH_DB};
    CREATE DATABASE ${BENCH_DB};
    GRANT ALL ON ${BENCH_DB}.* TO '${BENCH_USER.user}'@'127.0.0.1';
    CREATE TABLE ${BENCH_DB}.accounts (id INT PRIMARY KEY, name VARCHAR(50) NOT NULL, balance INT NOT NULL);
    INSERT INTO ${BENCH_DB}.accounts SELECT seq, CONCAT('account ', seq), seq * 10 FROM ${BENCH_DB}.seq_1_to_${ROWS};
  `);
  await root.end();
}

async function startWarden(tmpDir) {
  const dataDir = path.join(tmpDir, 'data');
  const config = path.join(tmpDir, 'warden.yaml');
  fs.writeFileSync(
    config,
    `# Written by tools/bench/mysql.mjs
dataDir: ${JSON.stringify(dataDir)}
identity:
  devIssuer: true
audit:
  durability: ${options['audit-durability'] === 'os' ? 'os' : 'disk'}
connections:
  - name: bench
    protocol: mysql
    listen: 127.0.0.1:0
    target: { host: ${JSON.stringify(options.host)}, port: ${Number(options.port)}, database: ${BENCH_DB}, user: ${BENCH_USER.user}, password: ${BENCH_USER.password} }
grants:
  - { connection: bench, groups: [bench], access: read-write }
rules:
  - name: no-ddl
    match: { connection: bench, action: ddl }
    effect: block
`,
  );
  const logFile = path.join(tmpDir, 'warden.log');
  const fd = fs.openSync(logFile, 'w');
  const child = spawn(process.execPath, [GATEWAY_MAIN, 'serve', '--config', config], { cwd: ROOT, stdio: ['ignore', fd, fd] });
  const deadline = Date.now() + 30_000;
  let port;
  while (port === undefined) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`warden did not start; see ${logFile}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    for (const line of fs.readFileSync(logFile, 'utf8').split('\n')) {
      if (!line.includes('"msg":"listening"') || !line.includes('mysql')) continue;
      const match = /:(\d+)"/.exec(line);
      if (match) port = Number(match[1]);
    }
  }
  const token = await new Promise((resolve, reject) => {
    const tokenProcess = spawn(process.execPath, [GATEWAY_MAIN, 'token', '--dev', '--subject', 'bench', '--groups', 'bench', '--ttl', '86400', '--data-dir', dataDir], { cwd: ROOT });
    let out = '';
    tokenProcess.stdout.on('data', (chunk) => (out += chunk));
    tokenProcess.on('close', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`warden token exited ${code}`))));
  });
  return { child, port, token };
}

async function loop(connectionOptions, mode) {
  const connections = await Promise.all(Array.from({ length: clients }, () => mysql.createConnection(connectionOptions)));
  let count = 0;
  const stopAt = Date.now() + duration;
  await Promise.all(
    connections.map(async (connection) => {
      while (Date.now() < stopAt) {
        const id = 1 + Math.floor(Math.random() * ROWS);
        if (mode === 'query') await connection.query(`SELECT name, balance FROM accounts WHERE id = ${id}`);
        else await connection.execute('SELECT name, balance FROM accounts WHERE id = ?', [id]);
        count++;
      }
    }),
  );
  await Promise.all(connections.map((connection) => connection.end()));
  return count / (duration / 1000);
}

const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-bench-mysql-'));
let warden;
try {
  await prepareDatabase();
  warden = await startWarden(tmpDir);
  const direct = { host: options.host, port: Number(options.port), user: BENCH_USER.user, password: BENCH_USER.password, database: BENCH_DB };
  // Through Warden on loopback without TLS: the token travels through mysql_clear_password.
  const through = { host: '127.0.0.1', port: warden.port, user: 'bench', password: warden.token, database: 'bench', enableCleartextPlugin: true };
  console.log(`mysql2 load loop: ${clients} clients, ${duration / 1000} s per run, point lookups on ${ROWS} rows`);
  console.log('mode      direct q/s   warden q/s   warden/direct');
  for (const mode of modes) {
    const directQps = await loop(direct, mode);
    const wardenQps = await loop(through, mode);
    console.log(`${mode.padEnd(9)} ${directQps.toFixed(0).padStart(10)}   ${wardenQps.toFixed(0).padStart(10)}   ${(wardenQps / directQps).toFixed(2).padStart(13)}`);
  }
} finally {
  warden?.child.kill('SIGTERM');
  const root = await mysql.createConnection({ host: options.host, port: Number(options.port), user: options['root-user'] }).catch(() => undefined);
  await root?.query(`DROP DATABASE IF EXISTS ${BENCH_DB}`);
  await root?.end();
  fs.rmSync(tmpDir, { recursive: true, force: true });
}
