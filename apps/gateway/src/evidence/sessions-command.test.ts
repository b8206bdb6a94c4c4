/**
 * `warden sessions list/show`, `warden replay`, and the `evidence.read` records they leave, run
 * in-process through `runCli` on a real gateway's log: node-postgres sessions (a database timeline)
 * and an ssh2 exec through a private sshd (an asciicast recording).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { userInfo } from 'node:os';
import path from 'node:path';
import type { AuditRecord } from '@warden/core';
import { startPrivateSshd, type PrivateSshd } from '@warden/testing';
import { Client as PgClient } from 'pg';
import { Client as SshClient } from 'ssh2';
import { runCli, type CliIo } from '../cli';
import { createTestDatabase, startTestGateway, type TestGateway } from '../e2e/harness';

let database: { name: string; drop(): Promise<void> };
let sshd: PrivateSshd;
let gateway: TestGateway;
let dataDir: string;
let cliConfig: string;
let dbSession: string;
let sshSession: string;

async function cli(args: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = { out: (text) => void (out += text), err: (text) => void (err += text), stopSignal: () => new Promise(() => undefined) };
  return { code: await runCli(args, io), out, err };
}

const records = (): AuditRecord[] => readFileSync(path.join(dataDir, 'audit.log'), 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as AuditRecord);
const reads = () => records().filter((record): record is Extract<AuditRecord, { type: 'evidence.read' }> => record.type === 'evidence.read');

function sshExec(port: number, password: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const client = new SshClient();
    client.once('error', reject);
    client.once('ready', () =>
      client.exec(command, (error, stream) => {
        if (error) return reject(error);
        let out = '';
        stream.on('data', (data: Buffer) => (out += data.toString()));
        stream.on('close', () => {
          client.end();
          resolve(out);
        });
      }),
    );
    client.connect({ host: '127.0.0.1', port, username: 'alice', password, readyTimeout: 10_000 });
  });
}

beforeAll(async () => {
  [database, sshd] = await Promise.all([createTestDatabase(), startPrivateSshd()]);
  gateway = await startTestGateway({
    database: database.name,
    extraConnections: `  - { name: box, protocol: ssh, listen: 127.0.0.1:0, target: { host: 127.0.0.1, port: ${sshd.port}, user: ${sshd.user}, privateKey: ${JSON.stringify(sshd.clientPrivateKey)}, hostKey: "${sshd.hostKeyFingerprint}" } }`,
    extraTopLevel: 'admin: { listen: 127.0.0.1:0 }',
    grants: `
  - { connection: clinic, groups: [clinicians], access: read-write }
  - { connection: box, groups: [ops], access: full }`,
  });
  dataDir = gateway.dataDir;

  const pg = new PgClient({ host: '127.0.0.1', port: gateway.port, user: 'nurse-1', password: await gateway.token('nurse-1', ['clinicians']), database: 'clinic' });
  await pg.connect();
  await pg.query("INSERT INTO notes (body) VALUES ('seen by the auditor')");
  await pg.query('SELECT full_name FROM patients WHERE id = 1');
  await pg.query('DROP TABLE patients').catch(() => undefined);
  await pg.end();
  expect(await sshExec(gateway.gateway.addresses.get('box')!.port, await gateway.token('alice', ['ops']), 'echo hello-from-the-recording')).toBe('hello-from-the-recording\n');

  // The CLI's view of this gateway: its data directory and its admin API.
  cliConfig = path.join(dataDir, 'cli.yaml');
  writeFileSync(
    cliConfig,
    `dataDir: ${JSON.stringify(dataDir)}
identity: { devIssuer: true }
admin: { listen: 127.0.0.1:${gateway.gateway.admin!.address.port} }
connections: [{ name: clinic, protocol: postgres, listen: 127.0.0.1:0, target: { host: 127.0.0.1, port: 5432, database: x, user: postgres } }]
`,
  );
  // Both sessions are recorded: the database one as a timeline, the ssh one in asciicast.
  for (let attempt = 0; attempt < 100 && records().filter((r) => r.type === 'session.event' && r.name === 'recording').length < 2; attempt++) await new Promise((resolve) => setTimeout(resolve, 50));
  const starts = records().filter((r): r is Extract<AuditRecord, { type: 'session.start' }> => r.type === 'session.start');
  dbSession = starts.find((r) => r.connection === 'clinic')!.sessionId;
  sshSession = starts.find((r) => r.connection === 'box')!.sessionId;
}, 60_000);

afterAll(async () => {
  await gateway?.gateway.stop();
  await sshd?.stop();
  await rm(dataDir, { recursive: true, force: true });
  await database?.drop();
});

describe('while the gateway runs', () => {
  it('records reads through the admin API with the verified subject', async () => {
    const token = await gateway.token('auditor-1', ['compliance']);
    const listed = await cli(['sessions', 'list', '--config', cliConfig, '--token', token, '--connection', 'clinic']);
    expect(listed.code).toBe(0);
    expect(listed.out).toContain(`${dbSession}  `);
    expect(listed.out).toMatch(/nurse-1 \(human\) → clinic \[postgres, read-write\]  3 commands, 1 blocked, 1 rows, 1 recordings/);
    expect(listed.out).not.toContain(sshSession);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(reads().at(-1)).toMatchObject({ action: 'sessions.list', by: 'auditor-1', byKind: 'token', osUser: userInfo().username, target: { connection: 'clinic' } });
  });

  it('refuses to show evidence it cannot record (gateway running, no token for its admin API)', async () => {
    const before = reads().length;
    const refused = await cli(['sessions', 'list', '--data-dir', dataDir]);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/reading the evidence must be audited, and the audit log in .* is in use by the warden gateway .*admin API/);
    expect(refused.out).toBe('');
    expect(reads().length).toBe(before);
  });

  it('shows a database session as a timeline', async () => {
    const token = await gateway.token('auditor-1', ['compliance']);
    const shown = await cli(['sessions', 'show', dbSession, '--config', cliConfig, '--token', token]);
    expect(shown.code).toBe(0);
    const lines = shown.out.split('\n');
    expect(lines[0]).toBe(`session ${dbSession}: nurse-1 (human; groups clinicians) on clinic [postgres, read-write] from ${lines[0]!.split(' from ')[1]}`);
    expect(shown.out).toMatch(/session start \(access read-write\)/);
    expect(shown.out).toMatch(/#1 INSERT INTO notes \(body\) VALUES \('seen by the auditor'\) {2}→ ALLOW \(write notes\)\n.*#1 result: INSERT 0 1, 0 rows, [\d.]+ ms\n.*#2 SELECT full_name FROM patients WHERE id = 1 {2}→ ALLOW \(read patients\)\n.*#2 result: SELECT 1, 1 rows/);
    expect(shown.out).toMatch(/#3 DROP TABLE patients {2}→ BLOCK \(ddl patients\) — rule "no-ddl": /);
  });

  it('replays a terminal session from its recording, and a database session command by command', async () => {
    const token = await gateway.token('auditor-1', ['compliance']);
    const replayed = await cli(['replay', sshSession, '--no-wait', '--config', cliConfig, '--token', token]);
    expect(replayed).toMatchObject({ code: 0, out: 'hello-from-the-recording\n' });
    const stepped = await cli(['replay', dbSession, '--speed', '1000', '--config', cliConfig, '--token', token]);
    expect(stepped.code).toBe(0);
    expect(stepped.out.split('\n').filter((line) => line.includes('→'))).toHaveLength(3);
    // …with the rows the client received, from the session's recording.
    expect(stepped.out).toMatch(/#2 SELECT full_name FROM patients WHERE id = 1 {2}→ ALLOW\n.*#2 columns: full_name\n {4}│ Patient 1\n/);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(reads().slice(-2).map((read) => [read.action, read.target])).toEqual([
      ['replay', { session: sshSession }],
      ['replay', { session: dbSession }],
    ]);
  });
});

describe('after the gateway stopped', () => {
  beforeAll(async () => {
    await gateway.gateway.stop();
  });

  it('records reads itself under the lock, as --as or the OS user', async () => {
    expect((await cli(['sessions', 'list', '--data-dir', dataDir, '--identity', 'alice'])).out).toContain(sshSession);
    expect(reads().at(-1)).toMatchObject({ action: 'sessions.list', by: userInfo().username, byKind: 'os-user', target: { identity: 'alice' } });
    await cli(['sessions', 'show', sshSession, '--data-dir', dataDir, '--as', 'jane.auditor']);
    expect(reads().at(-1)).toMatchObject({ action: 'sessions.show', by: 'jane.auditor', byKind: 'as', target: { session: sshSession } });
    // …and the log, reads included, still verifies.
    expect((await cli(['audit', 'verify', '--data-dir', dataDir])).code).toBe(0);
  });

  it('verify and replay fail, naming it, when a recording was edited or deleted', async () => {
    const recording = records().find((r): r is Extract<AuditRecord, { type: 'session.event' }> => r.type === 'session.event' && r.name === 'recording' && r.sessionId === sshSession)!;
    const file = path.join(dataDir, 'recordings', String(recording.detail?.['file']));
    const original = readFileSync(file, 'utf8');
    try {
      writeFileSync(file, original.replace('hello-from-the-recording', 'hello-from-the-forgery!!'));
      const verified = await cli(['audit', 'verify', '--data-dir', dataDir]);
      expect(verified.code).toBe(1);
      expect(verified.out).toContain(`recording ${path.basename(file)} (record ${recording.seq}, session ${sshSession}) was altered`);
      const replayed = await cli(['replay', sshSession, '--no-wait', '--data-dir', dataDir]);
      expect(replayed).toMatchObject({ code: 1, out: '', err: expect.stringMatching(/does not match the SHA-256 in the audit log/) });
      await rm(file);
      expect((await cli(['audit', 'verify', '--data-dir', dataDir])).out).toMatch(/recording .* is missing/);
    } finally {
      writeFileSync(file, original);
    }
  });

  it('exports an evidence bundle that check-bundle verifies offline, and catches tampering', async () => {
    const bundle = path.join(dataDir, 'bundle');
    const since = new Date(Date.now() - 3600_000).toISOString();
    const until = new Date(Date.now() + 3600_000).toISOString();
    const exported = await cli(['audit', 'export', '--data-dir', dataDir, '--since', since, '--until', until, '--out', bundle, '--as', 'jane.auditor']);
    expect(exported.code).toBe(0);
    expect(exported.out).toMatch(/evidence bundle .*: \d+ records \(seq 1\.\.\d+\) under the checkpoint of \d+ records, 2 recordings/);
    expect(reads().at(-1)).toMatchObject({ action: 'export', by: 'jane.auditor', target: { since, until } });

    const key = path.join(dataDir, 'key.pem');
    writeFileSync(key, (await cli(['audit', 'public-key', '--data-dir', dataDir])).out);
    expect(await cli(['audit', 'check-bundle', bundle, '--public-key', key])).toMatchObject({ code: 0, out: expect.stringMatching(/OK, \d+ records proven\n$/) });
    const readme = readFileSync(path.join(bundle, 'README.md'), 'utf8');
    expect(readme).toMatch(/nurse-1 → clinic\/notes: 1 commands/);
    expect(readme).toMatch(/nurse-1 on clinic: `DROP TABLE patients` — rule "no-ddl"/);
    expect(readme).toMatch(/alice \(human\) on box \[ssh, full\]/);

    // A record edited in the bundle, with the manifest's file hash updated to match: its proof fails.
    const recordsFile = path.join(bundle, 'records.jsonl');
    const original = readFileSync(recordsFile, 'utf8');
    writeFileSync(recordsFile, original.replace('"effect":"block"', '"effect":"allow"'));
    const manifestFile = path.join(bundle, 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { files: Record<string, string> };
    const { createHash } = await import('node:crypto');
    manifest.files['records.jsonl'] = createHash('sha256').update(readFileSync(recordsFile)).digest('hex');
    writeFileSync(manifestFile, JSON.stringify(manifest));
    const forged = await cli(['audit', 'check-bundle', bundle, '--public-key', key]);
    expect(forged.code).toBe(1);
    expect(forged.out).toMatch(/record \d+: the record: hash mismatch/);

    // A bundle checked with another key than the gateway's fails.
    const { generateKeyPairSync } = await import('node:crypto');
    const otherKey = path.join(dataDir, 'other-key.pem');
    writeFileSync(otherKey, generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }));
    expect((await cli(['audit', 'check-bundle', bundle, '--public-key', otherKey])).out).toMatch(/not signed by the given key/);
  });

  it('exports one identity only', async () => {
    const bundle = path.join(dataDir, 'bundle-alice');
    const exported = await cli(['audit', 'export', '--data-dir', dataDir, '--since', '2000-01-01T00:00:00Z', '--until', '2100-01-01T00:00:00Z', '--identity', 'alice', '--out', bundle]);
    expect(exported.code).toBe(0);
    const exportedRecords = readFileSync(path.join(bundle, 'records.jsonl'), 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as { sessionId?: string });
    expect(exportedRecords.length).toBeGreaterThan(2);
    expect(exportedRecords.every((record) => record.sessionId === sshSession)).toBe(true);
    // Its recording travels with it; deleting it is caught.
    expect((await cli(['audit', 'check-bundle', bundle])).out).toMatch(/OK, .* pass --public-key/);
    const recordingsDir = path.join(bundle, 'recordings');
    const { readdirSync } = await import('node:fs');
    await rm(path.join(recordingsDir, readdirSync(recordingsDir)[0]!));
    expect((await cli(['audit', 'check-bundle', bundle])).out).toMatch(/recordings\/.*\.cast is missing/);
  });

  it('rejects bad arguments', async () => {
    expect((await cli(['sessions', 'list', '--data-dir', dataDir, '--since', 'yesterday'])).code).toBe(2);
    expect((await cli(['sessions', 'show', '--data-dir', dataDir])).code).toBe(2);
    expect((await cli(['sessions', 'show', 'no-such-session', '--data-dir', dataDir])).code).toBe(1);
    expect((await cli(['replay', sshSession, '--speed', '0', '--data-dir', dataDir])).code).toBe(2);
  });
});
