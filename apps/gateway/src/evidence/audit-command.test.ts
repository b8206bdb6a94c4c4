/**
 * `warden audit verify | prove | check-proof | public-key`, run in-process through `runCli` on the
 * log of a real gateway (the e2e harness, with psql-free node-postgres traffic).
 */
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { Client } from 'pg';
import { runCli, type CliIo } from '../cli';
import { createTestDatabase, startTestGateway, type TestGateway } from '../e2e/harness';

let database: { name: string; drop(): Promise<void> };
let gateway: TestGateway;
let dataDir: string;

async function cli(args: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = { out: (text) => void (out += text), err: (text) => void (err += text), stopSignal: () => new Promise(() => undefined) };
  return { code: await runCli(args, io), out, err };
}

beforeAll(async () => {
  database = await createTestDatabase();
  gateway = await startTestGateway({ database: database.name, extraTopLevel: 'audit: { checkpoint: { everyRecords: 5, everySeconds: 3600 } }' });
  dataDir = gateway.dataDir;
  const client = new Client({ host: '127.0.0.1', port: gateway.port, user: 'nurse-1', password: await gateway.token('nurse-1', ['clinicians']), database: 'clinic' });
  await client.connect();
  for (let i = 0; i < 6; i++) await client.query(`INSERT INTO notes (body) VALUES ('note ${i}')`);
  await client.query('SELECT count(*) FROM patients');
  await client.query('DROP TABLE patients').catch(() => undefined);
  await client.end();
  await gateway.gateway.stop(); // keeps the data directory; a clean stop checkpoints everything
}, 60_000);

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
  await database?.drop();
});

const logPath = () => path.join(dataDir, 'audit.log');

describe('warden audit verify', () => {
  it('checks chain, tree and signatures of a real gateway log (and the one session\'s recording)', async () => {
    const result = await cli(['audit', 'verify', '--data-dir', dataDir]);
    expect(result.code).toBe(0);
    expect(result.out).toMatch(/OK, (\d+) records, head [0-9a-f]{64}; \d+ signed checkpoints \(latest: \1 records at .*, key ed25519:[0-9a-f]{16}\); 1 recordings match/);
  });

  it('names the first record of a log truncated below the last checkpoint', async () => {
    const original = readFileSync(logPath(), 'utf8');
    const lines = original.split('\n').filter(Boolean);
    try {
      writeFileSync(logPath(), lines.slice(0, lines.length - 2).map((line) => `${line}\n`).join(''));
      const result = await cli(['audit', 'verify', '--data-dir', dataDir]);
      expect(result.code).toBe(1);
      expect(result.out).toContain(`FAILED at record ${lines.length - 1} (line ${lines.length - 1}): the log ends after record ${lines.length - 2}, but a signed checkpoint covers ${lines.length} records`);
    } finally {
      writeFileSync(logPath(), original);
    }
  });

  it('refuses checkpoints that the given public key did not sign', async () => {
    const other = path.join(dataDir, 'other.pem');
    writeFileSync(other, generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }));
    const result = await cli(['audit', 'verify', '--data-dir', dataDir, '--public-key', other]);
    expect(result.code).toBe(1);
    expect(result.out).toMatch(/signed with key 'ed25519:[0-9a-f]{16}', which is not a trusted key/);
  });
});

describe('warden audit prove / check-proof / public-key', () => {
  let pem: string;
  beforeAll(async () => {
    const printed = await cli(['audit', 'public-key', '--data-dir', dataDir]);
    expect(printed.code).toBe(0);
    pem = path.join(dataDir, 'gateway-public.pem');
    writeFileSync(pem, printed.out);
  });

  it('prints the public key as PEM and as JWK', async () => {
    expect(readFileSync(pem, 'utf8')).toMatch(/^-----BEGIN PUBLIC KEY-----\n[\s\S]+\n-----END PUBLIC KEY-----\n$/);
    const jwk = await cli(['audit', 'public-key', '--data-dir', dataDir, '--format', 'jwk']);
    expect(JSON.parse(jwk.out)).toMatchObject({ kty: 'OKP', crv: 'Ed25519', x: expect.any(String), kid: expect.stringMatching(/^ed25519:/), alg: 'EdDSA' });
    expect(JSON.parse(jwk.out)).not.toHaveProperty('d');
  });

  it('proves a command record that a third party checks with the public key alone', async () => {
    const records = readFileSync(logPath(), 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as { seq: number; type: string; text?: string });
    const drop = records.find((record) => record.type === 'command' && record.text === 'DROP TABLE patients')!;
    const proved = await cli(['audit', 'prove', '--record', String(drop.seq), '--data-dir', dataDir]);
    expect(proved.code).toBe(0);
    const proof = JSON.parse(proved.out) as { record: { text: string; decision: { effect: string } }; path: string[] };
    expect(proof.record).toMatchObject({ text: 'DROP TABLE patients', decision: { effect: 'block' } });
    const file = path.join(dataDir, 'proof.json');
    writeFileSync(file, proved.out);
    // Only the proof and the key: a directory without the log.
    const checked = await cli(['audit', 'check-proof', file, '--public-key', pem]);
    expect(checked).toMatchObject({ code: 0, out: expect.stringMatching(new RegExp(`OK, record ${drop.seq} \\(command, .*\\) is in the audit log signed by ed25519:`)) });

    // The record rewritten to look allowed: its own hash no longer matches.
    writeFileSync(file, proved.out.replace('"effect": "block"', '"effect": "allow"'));
    expect(await cli(['audit', 'check-proof', file, '--public-key', pem])).toMatchObject({ code: 1, out: expect.stringMatching(/FAILED: the record: hash mismatch/) });
    // A proof against the first checkpoint also works while the record is covered by it.
    const early = await cli(['audit', 'prove', '--record', '2', '--checkpoint', '1', '--data-dir', dataDir]);
    writeFileSync(file, early.out);
    expect((await cli(['audit', 'check-proof', file, '--public-key', pem])).code).toBe(0);
  });

  it('refuses a record no checkpoint covers yet, and bad arguments', async () => {
    expect(await cli(['audit', 'prove', '--record', '9999', '--data-dir', dataDir])).toMatchObject({ code: 1, err: expect.stringMatching(/record 9999 is not covered/) });
    expect(await cli(['audit', 'prove', '--record', '7', '--checkpoint', '1', '--data-dir', dataDir])).toMatchObject({ code: 1, err: expect.stringMatching(/not covered by checkpoint 1 \(size 5\)/) });
    expect((await cli(['audit', 'prove', '--data-dir', dataDir])).code).toBe(2);
    expect((await cli(['audit', 'check-proof', 'x.json'])).code).toBe(2);
  });
});
