/**
 * Identity hygiene end to end: a user who pastes the access token into psql's `user=` (as well as,
 * or instead of, the password) is admitted or refused exactly as before, and neither the audit log
 * nor the gateway's log (nor anything else in the data directory) holds the token's text: only a
 * short SHA-256 prefix of it. Tokens that live longer than `identity.maxTokenLifetimeSeconds` are
 * refused with a reason that does not echo them.
 */
import { appendFileSync } from 'node:fs';
import { readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createJsonLogger } from '@warden/core';
import { Client } from 'pg';
import { createTestDatabase, psql, startTestGateway, type TestGateway } from './harness';

let database: { name: string; drop(): Promise<void> };
let gateway: TestGateway;
let logFile: string;

/** Anything JWT-shaped: a base64url JSON header (`eyJ`), a payload and a signature. */
const JWT_PATTERN = /eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/;

beforeAll(async () => {
  database = await createTestDatabase();
  logFile = path.join(tmpdir(), `warden-token-user-${process.pid}.log`);
  gateway = await startTestGateway({
    database: database.name,
    log: createJsonLogger((line) => appendFileSync(logFile, line)),
  });
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  await database?.drop();
  if (logFile) await rm(logFile, { force: true });
});

/** Every file the gateway wrote (audit segments, recordings, …) but its own signing keys, and its log. */
async function everythingWritten(): Promise<string> {
  const files = (await readdir(gateway.dataDir, { recursive: true, withFileTypes: true }))
    .filter((entry) => entry.isFile() && !entry.name.endsWith('.jwk.json') && !entry.name.endsWith('.pem') && !entry.name.includes('key'))
    .map((entry) => path.join(entry.parentPath, entry.name));
  const texts = await Promise.all([...files, logFile].map((file) => readFile(file, 'latin1')));
  return texts.join('\n');
}

function expectNoTokenIn(text: string, token: string): void {
  const [header, payload, signature] = token.split('.');
  expect(text).not.toContain(token);
  expect(text).not.toContain(payload!);
  expect(text).not.toContain(signature!);
  expect(text).not.toContain(header!);
  expect(text).not.toMatch(JWT_PATTERN);
}

describe('a token pasted into the user name (token-as-user-name leak)', () => {
  it('admits psql with the token in user= and as the password, and stores only its hash', async () => {
    const token = await gateway.token('agent-1', ['coding-agents']);
    const result = await psql(gateway, token, ['-At', '-c', 'SELECT count(*) FROM patients'], { user: token });
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('50\n');

    const records = await gateway.auditRecords();
    const start = records.find((record) => record.type === 'session.start' && record.identity.subject === 'agent-1');
    expect(start).toBeDefined();
    expectNoTokenIn(await everythingWritten(), token);
  });

  it('refuses a bad token given in user= and as the password as before, recording sha256:… as the claimed user', async () => {
    const token = await gateway.token('agent-1', ['coding-agents']);
    const [header, payload, signature] = token.split('.');
    const tampered = `${header}.${payload}.${signature!.startsWith('A') ? 'B' : 'A'}${signature!.slice(1)}`;
    const client = new Client({ host: '127.0.0.1', port: gateway.port, user: tampered, database: 'clinic', password: tampered });
    await expect(client.connect()).rejects.toMatchObject({ code: '28P01', message: 'Warden: token signature does not verify' });

    const records = await gateway.auditRecords();
    const failure = records.filter((record) => record.type === 'auth.failure').at(-1);
    expect(failure).toMatchObject({ claimedUser: expect.stringMatching(/^sha256:[0-9a-f]{12}$/), reason: 'token signature does not verify' });
    const written = await everythingWritten();
    expectNoTokenIn(written, tampered);
    expectNoTokenIn(written, token);
  });

  it('keeps an ordinary user name as given', async () => {
    const token = await gateway.token('agent-1', ['coding-agents']);
    const client = new Client({ host: '127.0.0.1', port: gateway.port, user: 'agent.one@clinic', database: 'clinic', password: `${token}x` });
    await expect(client.connect()).rejects.toMatchObject({ code: '28P01' });
    const failure = (await gateway.auditRecords()).filter((record) => record.type === 'auth.failure').at(-1);
    expect(failure).toMatchObject({ claimedUser: 'agent.one@clinic' });
  });
});

describe('identity.maxTokenLifetimeSeconds (long-lived-token bypass)', () => {
  it('refuses a token that lives longer than a day, saying why without echoing it; the canary row is not reached', async () => {
    const token = await gateway.token('agent-1', ['coding-agents'], { ttlSeconds: 2 * 86_400 });
    const result = await psql(gateway, token, ['-At', '-c', 'SELECT count(*) FROM patients']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('Warden: token lifetime (172800 s from its iat to its exp) is longer than the 86400 s this gateway accepts (identity.maxTokenLifetimeSeconds)');
    expect(result.stderr).not.toContain(token.split('.')[2]!);
    const failure = (await gateway.auditRecords()).filter((record) => record.type === 'auth.failure').at(-1);
    expect(failure).toMatchObject({ reason: expect.stringMatching(/^token lifetime \(172800 s/) });
    expect(await everythingWritten()).not.toContain(token.split('.')[2]!);

    // A day exactly is still accepted.
    const day = await gateway.token('agent-1', ['coding-agents'], { ttlSeconds: 86_400 });
    expect(await psql(gateway, day, ['-At', '-c', 'SELECT 1'])).toMatchObject({ stdout: '1\n' });
  });
});
