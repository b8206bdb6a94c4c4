/**
 * Identity at the gateway: tokens from a real OIDC provider (oidc-provider, in-process) and from the
 * development issuer; every refusal the client can meet, as psql and node-postgres show it.
 */
import { SignJWT, generateKeyPair } from 'jose';
import { Client } from 'pg';
import { startOidcProvider, type TestOidcProvider } from '@warden/testing';
import { createTestDatabase, psql, startTestGateway, type TestGateway } from './harness';

let database: { name: string; drop(): Promise<void> };
let gateway: TestGateway;
let oidc: TestOidcProvider;

beforeAll(async () => {
  oidc = await startOidcProvider({
    clients: [
      { clientId: 'billing-agent', clientSecret: 'billing-secret', groups: ['coding-agents'] },
      { clientId: 'groupless-agent', clientSecret: 'groupless-secret' },
      { clientId: 'stranger', clientSecret: 'stranger-secret', groups: ['nobody'] },
    ],
  });
  database = await createTestDatabase();
  gateway = await startTestGateway({
    database: database.name,
    issuers: `[{ issuer: ${JSON.stringify(oidc.issuer)}, audience: warden }]`,
  });
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  await database?.drop();
  await oidc?.close();
});

async function tryConnect(password: string, user = 'someone'): Promise<Client> {
  const client = new Client({ host: '127.0.0.1', port: gateway.port, user, database: 'clinic', password });
  await client.connect();
  return client;
}

describe('tokens from a real OIDC provider', () => {
  it('admits an agent with a client-credentials token and records who it is', async () => {
    const token = await oidc.clientCredentialsToken('billing-agent');
    const client = await tryConnect(token, 'billing-agent');
    try {
      const result = await client.query('SELECT count(*)::int AS n FROM patients');
      expect(result.rows).toEqual([{ n: 50 }]);
    } finally {
      await client.end();
    }
    const records = await gateway.auditRecords();
    const start = records.find((r) => r.type === 'session.start' && r.identity.subject === 'billing-agent');
    expect(start).toMatchObject({ identity: { issuer: oidc.issuer, kind: 'agent', groups: ['coding-agents'] }, access: 'read-only' });
  });

  it('refuses a token for another audience', async () => {
    const token = await oidc.clientCredentialsToken('billing-agent', { audience: 'billing-api' });
    await expect(tryConnect(token)).rejects.toMatchObject({ code: '28P01', message: 'Warden: token audience does not include warden' });
  });

  it('refuses a token without the groups claim', async () => {
    const token = await oidc.clientCredentialsToken('groupless-agent');
    await expect(tryConnect(token)).rejects.toMatchObject({ code: '28P01', message: expect.stringMatching(/^Warden: token has no groups claim/) });
  });

  it('refuses a valid identity with no grant for the connection (28000)', async () => {
    const token = await oidc.clientCredentialsToken('stranger');
    await expect(tryConnect(token)).rejects.toMatchObject({ code: '28000', message: 'Warden: stranger has no grant for connection clinic' });
  });
});

describe('refusals with the development issuer', () => {
  it('refuses an expired token', async () => {
    const token = await gateway.dev.issue({ subject: 'agent-1', groups: ['coding-agents'], ttlSeconds: 60, now: new Date(Date.now() - 3_600_000) });
    await expect(tryConnect(token)).rejects.toMatchObject({ code: '28P01', message: expect.stringMatching(/^Warden: token expired at /) });
  });

  it('refuses a token whose signature was tampered with', async () => {
    const token = await gateway.token('agent-1', ['coding-agents']);
    const [header, payload, signature] = token.split('.');
    const flipped = signature!.startsWith('A') ? `B${signature!.slice(1)}` : `A${signature!.slice(1)}`;
    await expect(tryConnect(`${header}.${payload}.${flipped}`)).rejects.toMatchObject({ code: '28P01', message: 'Warden: token signature does not verify' });
  });

  it('refuses an unsigned token (alg: none)', async () => {
    const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const token = `${encode({ alg: 'none', typ: 'JWT' })}.${encode({ iss: 'urn:warden:dev', aud: 'warden', sub: 'root', groups: ['dba'], exp: now + 600 })}.`;
    await expect(tryConnect(token)).rejects.toMatchObject({ code: '28P01', message: expect.stringContaining('alg none') });
  });

  it('refuses a token from an issuer it does not trust', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const token = await new SignJWT({ groups: ['dba'] })
      .setProtectedHeader({ alg: 'ES256' })
      .setIssuer('https://evil.example')
      .setAudience('warden')
      .setSubject('mallory')
      .setExpirationTime('10m')
      .sign(privateKey);
    await expect(tryConnect(token)).rejects.toMatchObject({ code: '28P01', message: 'Warden: token issuer https://evil.example is not trusted' });
  });

  it('refuses a password that is not a token, and psql shows why', async () => {
    const result = await psql(gateway, 'hunter2', ['-c', 'SELECT 1']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('FATAL:  Warden: credential is not a JWT');
    expect(result.stderr).not.toContain('hunter2');
  });

  it('refuses a database that this listener does not serve', async () => {
    const token = await gateway.token('agent-1', ['coding-agents']);
    const result = await psql(gateway, token, ['-c', 'SELECT 1'], { dbname: 'billing' });
    expect(result.stderr).toContain('FATAL:  Warden: database "billing" is not served on this port; use dbname=clinic');
  });

  it('records every refusal in the audit log without the token', async () => {
    const token = await gateway.dev.issue({ subject: 'late-agent', groups: ['coding-agents'], ttlSeconds: 1, now: new Date(Date.now() - 60_000) });
    await expect(tryConnect(token)).rejects.toMatchObject({ code: '28P01' });
    const records = await gateway.auditRecords();
    const failure = records.find((r) => r.type === 'auth.failure' && r.subject === 'late-agent');
    expect(failure).toMatchObject({ code: 'unauthenticated', connection: 'clinic', reason: expect.stringMatching(/^token expired at /) });
    const log = JSON.stringify(records);
    expect(log).not.toContain(token);
    expect(log).not.toContain(token.split('.')[2]!);
  });
});
