import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { Client } from 'pg';
import { startPrivatePostgres } from './private-postgres';
import type { PrivatePostgres } from './private-postgres';

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('startPrivatePostgres', () => {
  let pg: PrivatePostgres;

  beforeAll(async () => {
    pg = await startPrivatePostgres({
      ssl: true,
      logStatements: true,
      users: [
        { name: 'md5_user', password: "it's-md5", method: 'md5' },
        { name: 'scram_user', password: 'scram-secret', method: 'scram-sha-256' },
        { name: 'trust_user', method: 'trust' },
        { name: 'tls_user', password: 'tls-secret', method: 'scram-sha-256', tlsOnly: true },
      ],
    });
  }, 60_000);

  afterAll(async () => {
    await pg?.stop();
  });

  it('stores md5 users with md5 hashes and the others with SCRAM verifiers', async () => {
    const rows = await pg.adminQuery(
      "SELECT rolname || ':' || coalesce(split_part(rolpassword, '$', 1), '-') FROM pg_authid WHERE rolname LIKE '%\\_user' ORDER BY rolname",
    );
    const [md5, ...others] = rows.split('\n');
    expect(md5).toMatch(/^md5_user:md5[0-9a-f]{32}$/);
    expect(others).toEqual(['scram_user:SCRAM-SHA-256', 'tls_user:SCRAM-SHA-256', 'trust_user:-']);
  });

  it('lets a real client in with each method, over TLS verified against caCert', async () => {
    const logins = [
      { user: 'md5_user', password: "it's-md5" },
      { user: 'scram_user', password: 'scram-secret' },
      { user: 'trust_user' },
    ];
    for (const login of logins) {
      const client = new Client({ host: pg.host, port: pg.port, database: 'postgres', ...login });
      await client.connect();
      const { rows } = await client.query<{ user: string }>('SELECT current_user AS user');
      expect(rows[0]!.user).toBe(login.user);
      await client.end();
    }
    const tls = new Client({ host: pg.host, port: pg.port, database: 'postgres', user: 'tls_user', password: 'tls-secret', ssl: { ca: pg.caCert!, rejectUnauthorized: true } });
    await tls.connect();
    const { rows } = await tls.query<{ ssl: boolean }>('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
    expect(rows[0]!.ssl).toBe(true);
    await tls.end();
  });

  it('refuses a wrong password, and a tlsOnly user without TLS', async () => {
    const wrong = new Client({ host: pg.host, port: pg.port, database: 'postgres', user: 'scram_user', password: 'nope' });
    await expect(wrong.connect()).rejects.toMatchObject({ code: '28P01' });
    const plain = new Client({ host: pg.host, port: pg.port, database: 'postgres', user: 'tls_user', password: 'tls-secret' });
    await expect(plain.connect()).rejects.toMatchObject({ code: '28000' });
  });

  it('logs every statement with its session, pid and application_name (logStatements)', async () => {
    const client = new Client({ host: pg.host, port: pg.port, database: 'postgres', user: 'trust_user', application_name: 'log-probe' });
    await client.connect();
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    await client.query({ name: 'probe', text: "SELECT $1::text AS quoted, 'two\nlines' AS text", values: ["it's"] });
    await client.end();
    const mine = (await pg.statementLog()).filter((entry) => entry.application_name === 'log-probe');
    expect(mine.every((entry) => entry.pid === rows[0]!.pid && entry.session_id === mine[0]!.session_id)).toBe(true);
    expect(mine.map((entry) => entry.message)).toEqual(['statement: SELECT pg_backend_pid() AS pid', "execute probe: SELECT $1::text AS quoted, 'two\nlines' AS text"]);
    expect(mine[1]!.detail).toBe("parameters: $1 = 'it''s'");
  });

  it('reports how long start-up took', () => {
    expect(pg.timings.totalMs).toBeGreaterThan(0);
    expect(pg.timings.totalMs).toBeGreaterThanOrEqual(pg.timings.initdbMs + pg.timings.startMs);
  });

  it('stops the server and removes its directory, and a second stop is harmless', async () => {
    const other = await startPrivatePostgres({ users: [{ name: 'someone', method: 'trust' }] });
    expect(other.caCert).toBeUndefined();
    expect(await accepts(other.port)).toBe(true);
    await Promise.all([other.stop(), other.stop()]);
    await other.stop();
    expect(await accepts(other.port)).toBe(false);
    expect(existsSync(other.dataDir)).toBe(false);
  }, 60_000);

  it('rejects user lists it cannot honour before starting anything', async () => {
    await expect(startPrivatePostgres({ users: [{ name: 'x; DROP', method: 'trust' }] })).rejects.toThrow(/plain identifier/);
    await expect(startPrivatePostgres({ users: [{ name: 'a', method: 'trust', tlsOnly: true }] })).rejects.toThrow(/needs ssl/);
  });
});
