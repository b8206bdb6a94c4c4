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
