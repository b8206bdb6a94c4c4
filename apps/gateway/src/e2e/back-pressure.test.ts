/**
 * Back-pressure through a real gateway process (its memory is read from /proc), both ways:
 *
 * - a slow client: node-postgres (and mysql2) stop reading a large result; the gateway stops
 *   reading from the target, so the target's backend waits on its write (`ClientWrite` in
 *   pg_stat_activity, `Writing to net` in MariaDB's processlist) instead of the gateway holding
 *   the result; once the client reads again it gets every row;
 * - a slow target: a proxy that stops reading from the gateway (tools/testing slow-proxy) stands
 *   between Warden and PostgreSQL while psql sends a large `COPY … FROM STDIN`; the upload backs
 *   up to the client (its writes stop being accepted) instead of into the gateway, and completes
 *   once the target reads again.
 *
 * Sizes are chosen so that holding the whole payload would show: every result and upload is
 * several times what the sockets between the processes can hold.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DevIssuer } from '@warden/core';
import { startSlowProxy, type SlowProxy } from '@warden/testing';
import mysql from 'mysql2';
import { Client, Query } from 'pg';
import { ensureGatewayBuilt, startGatewayProcess, type GatewayProcess } from './gateway-process';
import { createTestDatabase, PG } from './harness';
import { createMysqlTestDatabase, MARIADB, TARGET_USER, type MysqlTestDatabase } from './mysql-harness';

/** Rows × width of the large results: 96 MB of row data. */
const ROWS = 48_000;
const WIDTH = 2_000;
const RESULT_BYTES = ROWS * WIDTH;
/** The COPY upload: 128 MiB of text rows. */
const UPLOAD_ROW = 1_024;
const UPLOAD_ROWS = 128 * 1_024;
const UPLOAD_BYTES = UPLOAD_ROW * UPLOAD_ROWS;
/**
 * How much may sit between a paused reader and its sender: the kernel's socket buffers on the
 * two hops (loopback autotuning lets a receive buffer grow to tens of MB here) and the gateway's
 * own, bounded, buffers. Well below the payloads, so that a gateway holding them fails the tests.
 */
const IN_FLIGHT_BOUND = 40 * 1024 * 1024;
/**
 * How much the gateway's RSS may grow meanwhile: half the payload. A first large result grows the
 * JavaScript heap's young generation by a few tens of MB whatever happens to the rows; a gateway
 * holding the payload grows by at least all of it.
 */
const RSS_BOUND = RESULT_BYTES / 2;

let database: { name: string; drop(): Promise<void> };
let mysqlDatabase: MysqlTestDatabase;
let dir: string;
let proxy: SlowProxy;
let gateway: GatewayProcess;
let token: string;

beforeAll(async () => {
  ensureGatewayBuilt();
  [database, mysqlDatabase] = await Promise.all([createTestDatabase(), createMysqlTestDatabase()]);
  const admin = new Client({ ...PG, database: database.name });
  await admin.connect();
  await admin.query('CREATE UNLOGGED TABLE uploads (n int NOT NULL, body text NOT NULL)');
  await admin.end();
  proxy = await startSlowProxy({ target: { host: PG.host, port: PG.port } });
  dir = await mkdtemp(path.join(tmpdir(), 'warden-back-pressure-'));
  const config = path.join(dir, 'warden.yaml');
  await writeFile(
    config,
    `
dataDir: ./data
identity: { devIssuer: true }
connections:
  - name: clinic
    protocol: postgres
    listen: 127.0.0.1:0
    target: { host: ${PG.host}, port: ${PG.port}, database: ${database.name}, user: ${PG.user} }
  - name: clinic-slow
    protocol: postgres
    listen: 127.0.0.1:0
    target: { host: ${proxy.host}, port: ${proxy.port}, database: ${database.name}, user: ${PG.user} }
  - name: clinic-my
    protocol: mysql
    listen: 127.0.0.1:0
    target: { host: ${MARIADB.host}, port: ${MARIADB.port}, database: ${mysqlDatabase.name}, user: ${TARGET_USER.user}, password: ${TARGET_USER.password} }
grants:
  - { connection: clinic, groups: [clinicians], access: read-write }
  - { connection: clinic-slow, groups: [clinicians], access: read-write }
  - { connection: clinic-my, groups: [clinicians], access: read-write }
`,
  );
  token = await (await DevIssuer.loadOrCreate(path.join(dir, 'data'))).issue({ subject: 'nurse-1', groups: ['clinicians'], kind: 'human' });
  gateway = await startGatewayProcess(config, ['clinic', 'clinic-slow', 'clinic-my']);
}, 120_000);

afterAll(async () => {
  if (gateway && gateway.child.exitCode === null) {
    gateway.child.kill('SIGTERM');
    await gateway.exited;
  }
  await proxy?.stop();
  await Promise.all([database?.drop(), mysqlDatabase?.drop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

function gatewayRssBytes(): number {
  const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${gateway.child.pid}/status`, 'utf8'))?.[1];
  return Number(kb) * 1024;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it answers something other than undefined (the test's own timeout bounds the wait). */
async function until<T>(probe: () => Promise<T | undefined>): Promise<T> {
  for (;;) {
    const answer = await probe();
    if (answer !== undefined) return answer;
    await pause(100);
  }
}

async function pgAdmin<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const admin = new Client({ ...PG, database: database.name });
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.end();
  }
}

describe('a client that reads slowly', () => {
  it('PostgreSQL: the target waits on ClientWrite while the client is paused, the gateway does not hold the result, and every row arrives', async () => {
    const sql = `SELECT i, repeat('x', ${WIDTH}) AS pad FROM generate_series(1, ${ROWS}) AS i`;
    // Through the proxy (reading freely here), whose count of bytes from the target tells how far the target got.
    const client = new Client({ host: '127.0.0.1', port: gateway.ports.get('clinic-slow')!, user: 'nurse-1', password: token, database: 'clinic-slow' });
    await client.connect();
    const socket = (client as unknown as { connection: { stream: Socket } }).connection.stream;
    // A first, small result: the gateway's one-time costs (the SQL parser's first load) are not the session's.
    expect((await client.query(`SELECT count(*)::int AS n FROM (${sql.replace(String(ROWS), '100')}) AS small`)).rows).toEqual([{ n: 100 }]);
    const rssBefore = gatewayRssBytes();
    const sentBefore = proxy.sent;
    let rows = 0;
    let wrongRows = 0;
    let lastId = 0;
    const query = client.query(new Query(sql));
    query.on('row', (row: { i: number; pad: string }) => {
      rows++;
      if (row.i !== rows || row.pad.length !== WIDTH) wrongRows++;
      lastId = row.i;
      if (rows === 1) socket.pause();
    });
    const finished = new Promise<void>((resolve, reject) => {
      query.on('end', () => resolve());
      query.on('error', reject);
    });

    // The backend either blocks writing to the gateway (back-pressure) or finishes (the gateway took it all).
    const backend = await until(() =>
      pgAdmin(async (admin) => {
        const found = await admin.query<{ state: string; wait_event: string | null }>(
          `SELECT state, wait_event FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() AND query = $2`,
          [database.name, sql],
        );
        const state = found.rows[0];
        return state && (state.wait_event === 'ClientWrite' || state.state !== 'active') ? state : undefined;
      }),
    );
    expect(backend).toEqual({ state: 'active', wait_event: 'ClientWrite' });
    const rowsWhilePaused = rows;
    const rssPaused = gatewayRssBytes();
    // What the target sent that the client has not read sits in socket buffers and the gateway.
    const inFlight = proxy.sent - sentBefore - socket.bytesRead;
    expect(rowsWhilePaused).toBeLessThan(ROWS);
    expect(inFlight).toBeLessThan(IN_FLIGHT_BOUND);
    expect(rssPaused - rssBefore).toBeLessThan(RSS_BOUND);

    socket.resume();
    await finished;
    await client.end();
    expect({ rows, lastId, wrongRows }).toEqual({ rows: ROWS, lastId: ROWS, wrongRows: 0 });
  }, 120_000);

  it('MySQL: the target waits writing to the net while the client is paused, the gateway does not hold the result, and every row arrives', async () => {
    const sql = `SELECT seq, REPEAT('x', ${WIDTH}) AS pad FROM seq_1_to_${ROWS}`;
    const connection = mysql.createConnection({ host: '127.0.0.1', port: gateway.ports.get('clinic-my')!, user: 'nurse-1', password: token, database: 'clinic-my', enableCleartextPlugin: true });
    connection.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => connection.query('SELECT seq FROM seq_1_to_100', (error) => (error ? reject(error) : resolve())));
    const rssBefore = gatewayRssBytes();
    let rows = 0;
    let wrongRows = 0;
    let lastId = 0;
    let firstRow: () => void = () => undefined;
    const started = new Promise<void>((resolve) => (firstRow = resolve));
    const finished = new Promise<void>((resolve, reject) => {
      const query = connection.query(sql);
      query.on('result', (row) => {
        const { seq, pad } = row as { seq: number; pad: string };
        rows++;
        if (seq !== rows || pad.length !== WIDTH) wrongRows++;
        lastId = seq;
        if (rows === 1) {
          connection.pause();
          firstRow();
        }
      });
      query.on('end', () => resolve());
      query.on('error', reject);
    });
    await Promise.race([started, finished]);

    const root = await mysql.createConnection(MARIADB).promise();
    let state: string;
    try {
      state = await until(async () => {
        const [found] = await root.query<mysql.RowDataPacket[]>(`SELECT STATE, COMMAND FROM information_schema.PROCESSLIST WHERE DB = ? AND INFO = ?`, [mysqlDatabase.name, sql]);
        const thread = found[0] as { STATE: string; COMMAND: string } | undefined;
        // Gone from the list (or idle): the target already sent everything.
        if (!thread || thread.COMMAND !== 'Query') return 'finished';
        return thread.STATE === 'Writing to net' ? thread.STATE : undefined;
      });
    } finally {
      await root.end();
    }
    expect(state).toBe('Writing to net');
    expect(rows).toBeLessThan(ROWS);
    expect(gatewayRssBytes() - rssBefore).toBeLessThan(RSS_BOUND);

    connection.resume();
    await finished;
    await new Promise<void>((resolve) => connection.end(() => resolve()));
    expect({ rows, lastId, wrongRows }).toEqual({ rows: ROWS, lastId: ROWS, wrongRows: 0 });
  }, 120_000);
});

describe('a target that reads slowly', () => {
  it('PostgreSQL COPY FROM STDIN: the client is held back instead of the gateway buffering the upload, and the COPY completes', async () => {
    const conninfo = `host=127.0.0.1 port=${gateway.ports.get('clinic-slow')} user=nurse-1 dbname=clinic-slow sslmode=disable`;
    const psql: ChildProcessWithoutNullStreams = spawn('psql', [conninfo, '-X', '-v', 'ON_ERROR_STOP=1', '-c', 'COPY uploads (n, body) FROM STDIN'], {
      env: { ...process.env, PGPASSWORD: token, PGCONNECT_TIMEOUT: '10' },
    });
    let stdout = '';
    let stderr = '';
    psql.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    psql.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    psql.stdin.on('error', () => undefined);
    const exited = new Promise<number | null>((resolve) => psql.on('close', (code) => resolve(code)));

    // The COPY has reached the target (it waits for data) before the proxy stops reading.
    await until(() =>
      pgAdmin(async (admin) => {
        const found = await admin.query(`SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND state = 'active' AND query LIKE 'COPY uploads%'`, [database.name]);
        return found.rowCount ? true : undefined;
      }),
    );
    proxy.setRate(0);
    const receivedAtHold = proxy.received;
    const rssBefore = gatewayRssBytes();

    // Push the upload as fast as psql takes it; `pushed` counts bytes psql's stdin accepted.
    let pushed = 0;
    const body = 'u'.repeat(UPLOAD_ROW - 16);
    const writer = (async () => {
      const perChunk = 64;
      for (let n = 0; n < UPLOAD_ROWS; n += perChunk) {
        let chunk = '';
        for (let i = n; i < n + perChunk; i++) chunk += `${String(i).padStart(14, '0')}\t${body}\n`;
        const accepted = psql.stdin.write(chunk, () => (pushed += chunk.length));
        if (!accepted) await new Promise((resolve) => psql.stdin.once('drain', resolve));
      }
      psql.stdin.end();
    })();

    // Wait until the client's pushes stall (no progress over 20 polls) or the whole upload was taken.
    let last = -1;
    let still = 0;
    while (pushed < UPLOAD_BYTES && still < 20) {
      await pause(100);
      still = pushed === last ? still + 1 : 0;
      last = pushed;
    }
    const heldInFlight = pushed - (proxy.received - receivedAtHold);
    const rssHeld = gatewayRssBytes();
    expect(pushed).toBeLessThan(UPLOAD_BYTES);
    expect(heldInFlight).toBeLessThan(IN_FLIGHT_BOUND);
    expect(rssHeld - rssBefore).toBeLessThan(RSS_BOUND);

    // A target that reads, slowly: the client moves on at the target's pace, no further ahead than before.
    proxy.setRate(32 * 1024 * 1024);
    await until(async () => (proxy.received - receivedAtHold >= UPLOAD_BYTES / 2 ? true : undefined));
    expect(pushed - (proxy.received - receivedAtHold)).toBeLessThan(IN_FLIGHT_BOUND);
    proxy.setRate(Infinity);
    await writer;
    expect(await exited).toBe(0);
    expect(stderr).toBe('');
    expect(stdout.trim()).toBe(`COPY ${UPLOAD_ROWS}`);
    const stored = await pgAdmin((admin) => admin.query<{ rows: string; bytes: string }>('SELECT count(*) AS rows, sum(length(body) + 16) AS bytes FROM uploads'));
    expect(stored.rows[0]).toEqual({ rows: String(UPLOAD_ROWS), bytes: String(UPLOAD_BYTES) });
  }, 180_000);
});
