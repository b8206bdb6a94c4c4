/**
 * Faults a running gateway meets (issue 9, "Faults"), each as the user sees it: the target restarts
 * under an open session, the audit store stops accepting writes, the OIDC issuer goes away, and the
 * gateway process is asked to stop with SIGTERM while a query runs.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SignJWT, generateKeyPair } from 'jose';
import { Client, type ClientConfig } from 'pg';
import { DevIssuer, WardenError, type AuditEvent, type AuditReceipt, type AuditRecord, type AuditSink } from '@warden/core';
import { startOidcProvider, startPrivatePostgres, type PrivatePostgres, type TestOidcProvider } from '@warden/testing';
import { runCli, type CliIo } from '../cli';
import { ensureGatewayBuilt, startGatewayProcess } from './gateway-process';
import { createTestDatabase, PG, startTestGateway, type TestGateway } from './harness';

let database: { name: string; drop(): Promise<void> };

beforeAll(async () => {
  ensureGatewayBuilt();
  database = await createTestDatabase();
  const setup = new Client({ ...PG, database: database.name });
  await setup.connect();
  await setup.query('CREATE TABLE fault_marker (v text)');
  await setup.end();
}, 120_000);

afterAll(async () => {
  await database?.drop();
});

function clientOf(gateway: TestGateway, user: string, password: string, extra: Partial<ClientConfig> = {}): Client {
  return new Client({ host: '127.0.0.1', port: gateway.port, user, database: 'clinic', password, ...extra });
}

/** Connects, or rejects with what the gateway answered. */
async function connect(client: Client): Promise<Client> {
  await client.connect();
  return client;
}

describe('the target restarts mid-session', () => {
  let target: PrivatePostgres;
  let gateway: TestGateway;

  beforeAll(async () => {
    target = await startPrivatePostgres({ users: [{ name: 'warden', method: 'trust' }] });
    gateway = await startTestGateway({
      database: database.name,
      // The private server trusts its own `warden` role, not the machine's `postgres`.
      extraConnections: `
  - name: restarting
    protocol: postgres
    listen: 127.0.0.1:0
    target: { host: 127.0.0.1, port: ${target.port}, database: postgres, user: warden, connectTimeoutMs: 3000 }`,
      grants: `
  - { connection: restarting, groups: [clinicians], access: read-write }`,
    });
  }, 60_000);
  afterAll(async () => {
    await gateway?.stop();
    await target?.stop();
  });

  it('ends the open session with a FATAL the client sees, records why, and serves new sessions once the target is back', async () => {
    const token = await gateway.token('nurse-1', ['clinicians']);
    const port = gateway.gateway.addresses.get('restarting')!.port;
    const client = clientOf(gateway, 'nurse-1', token, { port, database: 'restarting' });
    const errors: Array<Error & { code?: string; severity?: string }> = [];
    client.on('error', (error) => errors.push(error));
    await connect(client);
    expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);

    await target.restart();
    // The session was idle when the target went away: the client learns it from an error event,
    // and its next query fails instead of hanging.
    await expect(client.query('SELECT 1')).rejects.toThrow();
    expect(errors.map((error) => [error.severity, error.code, error.message])).toContainEqual(['FATAL', '08006', `Warden: the target 127.0.0.1:${target.port} closed the connection`]);
    await client.end().catch(() => undefined);

    const again = await connect(clientOf(gateway, 'nurse-1', token, { port, database: 'restarting' }));
    try {
      expect((await again.query('SELECT 2 AS two')).rows).toEqual([{ two: 2 }]);
    } finally {
      await again.end();
    }
    const ends = (await gateway.auditRecords()).filter((record) => record.type === 'session.end');
    expect(ends[0]).toMatchObject({ reason: 'target-closed', error: `the target 127.0.0.1:${target.port} closed the connection` });
  }, 30_000);
});

/**
 * An audit sink that, once told to, fails its next write and every later one, as `FileAuditLog`
 * does when the disk is full or the file unwritable (a real full disk can't be made on demand here).
 */
class BreakableAuditSink implements AuditSink {
  #armed = false;
  #broken = false;
  constructor(private readonly inner: AuditSink) {}

  breakNextWrite(): void {
    this.#armed = true;
  }

  get failed(): boolean {
    return this.#broken || this.inner.failed;
  }

  append(event: AuditEvent): Promise<AuditReceipt> {
    if (this.#armed) {
      this.#armed = false;
      this.#broken = true;
    }
    if (this.#broken) return Promise.reject(new WardenError('audit-unavailable', 'the audit log cannot be written: ENOSPC: no space left on device'));
    return this.inner.append(event);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

async function markerRows(): Promise<string[]> {
  const direct = new Client({ ...PG, database: database.name });
  await direct.connect();
  try {
    return (await direct.query<{ v: string }>('SELECT v FROM fault_marker ORDER BY v')).rows.map((row) => row.v);
  } finally {
    await direct.end();
  }
}

describe('the audit store becomes unwritable while sessions are open', () => {
  let gateway: TestGateway;
  let sink: BreakableAuditSink | undefined;

  beforeAll(async () => {
    gateway = await startTestGateway({ database: database.name, wrapAudit: (audit) => (sink = new BreakableAuditSink(audit)) });
  });
  afterAll(async () => gateway?.stop());

  it('refuses the command being audited and every later one, forwards none of them, and refuses new sessions', async () => {
    const token = await gateway.token('nurse-1', ['clinicians']);
    const client = await connect(clientOf(gateway, 'nurse-1', token));
    const other = await connect(clientOf(gateway, 'nurse-1', token));
    client.on('error', () => undefined);
    other.on('error', () => undefined);
    await client.query("INSERT INTO fault_marker VALUES ('before')");

    sink!.breakNextWrite();
    const refusal = { severity: 'FATAL', code: '58000', message: 'Warden: the audit log cannot be written: ENOSPC: no space left on device' };
    await expect(client.query("INSERT INTO fault_marker VALUES ('in-flight')")).rejects.toMatchObject(refusal);
    // Another open session: its next command is refused before it is forwarded.
    await expect(other.query("INSERT INTO fault_marker VALUES ('next')")).rejects.toMatchObject({ message: expect.stringMatching(/^Warden: the audit log cannot be written/) });
    await client.end().catch(() => undefined);
    await other.end().catch(() => undefined);

    await expect(connect(clientOf(gateway, 'nurse-1', token))).rejects.toMatchObject({ message: expect.stringMatching(/^Warden: .*audit log cannot be written/) });
    expect(await markerRows()).toEqual(['before']);
  }, 20_000);
});

describe('the audit store becomes unwritable before a refusal of a name the client does not have', () => {
  let gateway: TestGateway;
  let sink: BreakableAuditSink | undefined;

  beforeAll(async () => {
    gateway = await startTestGateway({ database: database.name, wrapAudit: (audit) => (sink = new BreakableAuditSink(audit)) });
  });
  afterAll(async () => gateway?.stop());

  it('ends the session instead of answering it unaudited (unaudited-refusal bypass)', async () => {
    const client = await connect(clientOf(gateway, 'nurse-1', await gateway.token('nurse-1', ['clinicians'])));
    client.on('error', () => undefined);
    await expect(client.query('EXECUTE ghost')).rejects.toMatchObject({ code: '26000' });
    sink!.breakNextWrite();
    // Not PostgreSQL's 26000: the refusal cannot be audited, so nothing of it goes on.
    await expect(client.query('EXECUTE ghost')).rejects.toMatchObject({ severity: 'FATAL', code: '58000', message: expect.stringMatching(/^Warden: the audit log cannot be written/) });
    await client.end().catch(() => undefined);
  }, 20_000);
});

describe("the OIDC issuer's JWKS is unreachable", () => {
  let oidc: TestOidcProvider;
  let gateway: TestGateway;

  beforeAll(async () => {
    oidc = await startOidcProvider({ clients: [{ clientId: 'billing-agent', clientSecret: 'billing-secret', groups: ['coding-agents'] }] });
    gateway = await startTestGateway({ database: database.name, issuers: `[{ issuer: ${JSON.stringify(oidc.issuer)}, audience: warden }]` });
  }, 60_000);
  afterAll(async () => {
    await gateway?.stop();
    await oidc?.close().catch(() => undefined);
  });

  it('keeps admitting tokens signed with a cached key and refuses a token naming a key it has not seen', async () => {
    const first = await oidc.clientCredentialsToken('billing-agent');
    const second = await oidc.clientCredentialsToken('billing-agent');
    const online = await connect(clientOf(gateway, 'billing-agent', first));
    await online.end();
    await oidc.close();

    const cached = await connect(clientOf(gateway, 'billing-agent', second));
    try {
      expect((await cached.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await cached.end();
    }

    const { privateKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT({ groups: ['coding-agents'] })
      .setProtectedHeader({ alg: 'ES256', kid: 'rotated-in-after-outage' })
      .setIssuer(oidc.issuer)
      .setAudience('warden')
      .setSubject('billing-agent')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
    await expect(connect(clientOf(gateway, 'billing-agent', forged))).rejects.toMatchObject({
      code: '28P01',
      message: expect.stringMatching(new RegExp(`^Warden: (token signing key is not one of ${oidc.issuer}'s keys|cannot fetch signing keys for ${oidc.issuer})$`)),
    });
  }, 20_000);
});

async function cli(args: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = { out: (text) => void (out += text), err: (text) => void (err += text), stopSignal: () => new Promise(() => undefined) };
  return { code: await runCli(args, io), out, err };
}

describe('the gateway process receives SIGTERM', () => {
  let dir: string;
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('lets the running query finish, refuses new sessions, exits 0 and closes the log with gateway.stop', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'warden-sigterm-'));
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
grants:
  - { connection: clinic, groups: [clinicians], access: read-write }
`,
    );
    const dataDir = path.join(dir, 'data');
    const token = await (await DevIssuer.loadOrCreate(dataDir)).issue({ subject: 'nurse-1', groups: ['clinicians'], kind: 'human' });
    const gateway = await startGatewayProcess(config, ['clinic']);
    const port = gateway.ports.get('clinic')!;
    const client = new Client({ host: '127.0.0.1', port, user: 'nurse-1', password: token, database: 'clinic' });
    client.on('error', () => undefined);
    await client.connect();

    const slow = client.query('SELECT pg_sleep(1) AS slept').then(
      (result) => ({ ok: true as const, rows: result.rows }),
      (error: Error & { code?: string }) => ({ ok: false as const, code: error.code, message: error.message }),
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    gateway.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const late = new Client({ host: '127.0.0.1', port, user: 'nurse-1', password: token, database: 'clinic' });
    late.on('error', () => undefined);
    await expect(late.connect()).rejects.toMatchObject({ message: expect.stringMatching(/ECONNREFUSED|Warden is shutting down/) });

    expect(await slow).toEqual({ ok: true, rows: [{ slept: '' }] });
    // Then the session ends, as Postgres's own shutdown ends it.
    await expect(client.query('SELECT 1')).rejects.toThrow();
    await client.end().catch(() => undefined);
    expect(await gateway.exited).toEqual({ code: 0, signal: null });

    const records = (await readFile(path.join(dataDir, 'audit.log'), 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as AuditRecord);
    expect(records.filter((record) => record.type === 'session.end')).toEqual([expect.objectContaining({ reason: 'shutdown' })]);
    expect(records.filter((record) => record.type === 'gateway.stop')).toHaveLength(1);
    const verified = await cli(['audit', 'verify', '--config', config]);
    expect(verified.out).toMatch(/OK, \d+ records/);
    expect(verified.code).toBe(0);
  }, 20_000);
});
