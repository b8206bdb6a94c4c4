/**
 * `warden ssh login` end to end: the CLI exchanges an OIDC token (longer than OpenSSH's 1023-byte
 * password limit) for a certificate from Warden's CA through the admin API, and the real `ssh`
 * client logs in with it — no password. Expired certificates, certificates from another CA and
 * callers without a grant are refused.
 */
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SshCertificateAuthority, generateUserKeyPair, parseCertificate } from '@warden/adapter-ssh';
import type { Identity } from '@warden/core';
import { Client, utils, type ParsedKey, type PublicKeyAuthMethod } from 'ssh2';
import { runCli } from '../cli';
import { run } from './harness';
import { sshdTarget, sshGatewayFixture, type AuditEntry } from './ssh-gateway-fixture';

/** Bound in config to the service identity ci-bot (group ops), and to nobody-bot (no grant). */
const botKey = generateUserKeyPair('ci-bot');
const orphanKey = generateUserKeyPair('nobody-bot');

const fixture = sshGatewayFixture(
  (sshd) => `
admin: { listen: 127.0.0.1:0 }
connections:
  - name: box
    protocol: ssh
    listen: 127.0.0.1:0
    target: { ${sshdTarget(sshd)}, maxCertificateSeconds: 1800,
      publicKeys: [
        { publicKey: "${botKey.publicKey}", identity: { subject: ci-bot, groups: [ops], kind: agent } },
        { publicKey: "${orphanKey.publicKey}", identity: { subject: nobody-bot, groups: [visitors] } } ] }
grants:
  - { connection: box, groups: [ops], access: full }`,
);

async function login(token: string, out: string): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io = { out: (text: string) => void (stdout += text), err: (text: string) => void (stderr += text), stopSignal: () => new Promise<string>(() => undefined) };
  const code = await runCli(['ssh', 'login', 'box', '--url', fixture.gateway.admin!.url, '--token', token, '--out', out], io);
  return { code, stdout, stderr };
}

/** The real `ssh` client with a key file (and its -cert.pub), public key authentication only. */
function ssh(args: readonly string[], command: string) {
  return run('ssh', [
    '-F', '/dev/null',
    '-o', 'StrictHostKeyChecking=no',
    '-o', 'UserKnownHostsFile=/dev/null',
    '-o', 'BatchMode=yes',
    '-o', 'IdentitiesOnly=yes',
    '-o', 'PreferredAuthentications=publickey',
    '-o', 'LogLevel=ERROR',
    ...args,
    command,
  ]);
}

/** Writes a key pair and a certificate the way `ssh` looks for them. */
async function writeKeyWithCertificate(name: string, privateKey: string, certificate: string): Promise<string> {
  const file = path.join(fixture.dataDir, name);
  await writeFile(file, privateKey, { mode: 0o600 });
  await writeFile(`${file}-cert.pub`, `${certificate}\n`);
  return file;
}

describe('warden ssh login + OpenSSH with a Warden certificate', () => {
  it('exchanges a token longer than 1023 bytes for a certificate and logs in with the real ssh client, no password', async () => {
    // Many groups make the token longer than OpenSSH would ever send as a password.
    const groups = ['ops', ...Array.from({ length: 60 }, (_, i) => `team-with-a-long-name-${i}`)];
    const token = await fixture.dev.issue({ subject: 'alice', groups, ttlSeconds: 3600 });
    expect(token.length).toBeGreaterThan(1023);
    const keyFile = path.join(fixture.dataDir, 'keys', 'warden-box');
    const result = await login(token, keyFile);
    expect(result).toMatchObject({ code: 0 });
    expect(result.stdout).toBe(`ssh -i ${keyFile} -p ${fixture.port} alice@127.0.0.1\n`);

    const certificate = parseCertificate(Buffer.from((await readFile(`${keyFile}-cert.pub`, 'utf8')).split(' ')[1]!, 'base64'));
    expect(certificate).toMatchObject({ keyId: 'alice', principals: ['alice'] });
    expect([...certificate.extensions.keys()]).toEqual(['permit-pty']);
    // min(token lifetime, maxCertificateSeconds = 1800)
    const lifetime = Number(certificate.validBefore) - Date.now() / 1000;
    expect(lifetime).toBeGreaterThan(1700);
    expect(lifetime).toBeLessThanOrEqual(1800);

    const printed = result.stdout.trim().split(' ').slice(1);
    const session = await ssh(printed, 'echo via-certificate; exit 4');
    expect(session.stdout).toBe('via-certificate\n');
    expect(session.code).toBe(4);

    const records = await fixture.auditRecords();
    const started = records.filter((record) => record.type === 'session.start' && (record['identity'] as Identity).subject === 'alice');
    // The groups come from Warden's record of the certificate, not from the certificate.
    expect(started.at(-1)!['identity']).toMatchObject({ subject: 'alice', groups });
    const event = records.find((record) => record.type === 'session.event' && record['name'] === 'ssh certificate' && record['sessionId'] === started.at(-1)!['sessionId']);
    expect(event).toMatchObject({ detail: { serial: certificate.serial.toString(), keyId: 'alice' } });
    expect(records.find((record) => record.type === 'command' && record['text'] === 'echo via-certificate; exit 4')).toMatchObject({ decision: { effect: 'allow' } });
    // Issuing the certificate is itself on record, before the login that used it.
    const issued = records.findIndex((record) => record.type === 'credential.issued' && record['serial'] === certificate.serial.toString());
    expect(records[issued]).toMatchObject({ kind: 'ssh-certificate', subject: 'alice', connection: expect.any(String) });
    expect(issued).toBeLessThan(records.indexOf(started.at(-1)!));
  });

  it('copies files with the real scp (SFTP) and rsync (exec) through Warden, each audited', async () => {
    const token = await fixture.dev.issue({ subject: 'carol', groups: ['ops'], ttlSeconds: 3600 });
    const keyFile = path.join(fixture.dataDir, 'keys', 'warden-box-carol');
    expect((await login(token, keyFile)).code).toBe(0);
    const options = ['-F', '/dev/null', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-o', 'LogLevel=ERROR', '-i', keyFile];
    const local = await mkdtemp(path.join(tmpdir(), 'warden-scp-'));
    const remote = await mkdtemp(path.join(tmpdir(), 'warden-scp-remote-'));
    await chmod(remote, 0o777);
    try {
      const content = `synthetic file ${'x'.repeat(100_000)}\n`;
      await writeFile(path.join(local, 'upload.txt'), content);
      const up = await run('scp', [...options, '-P', String(fixture.port), path.join(local, 'upload.txt'), `carol@127.0.0.1:${remote}/copied.txt`]);
      expect(up).toMatchObject({ code: 0, stderr: '' });
      expect(await readFile(path.join(remote, 'copied.txt'), 'utf8')).toBe(content);
      const down = await run('scp', [...options, '-P', String(fixture.port), `carol@127.0.0.1:${remote}/copied.txt`, path.join(local, 'back.txt')]);
      expect(down).toMatchObject({ code: 0 });
      expect(await readFile(path.join(local, 'back.txt'), 'utf8')).toBe(content);

      const sshCommand = ['ssh', ...options, '-p', String(fixture.port)].join(' ');
      const synced = await run('rsync', ['-a', '-e', sshCommand, `${local}/`, `carol@127.0.0.1:${remote}/synced/`]);
      expect(synced).toMatchObject({ code: 0 });
      expect(await readFile(path.join(remote, 'synced', 'upload.txt'), 'utf8')).toBe(content);

      const records = await fixture.auditRecords();
      // scp speaks SFTP: its writes are decided operations; rsync runs its server over exec.
      expect(records.some((record) => record.type === 'command' && String(record['text']).includes('copied.txt'))).toBe(true);
      expect(records.some((record) => record.type === 'command' && String(record['text']).startsWith('rsync --server'))).toBe(true);
    } finally {
      await rm(local, { recursive: true, force: true });
      await rm(remote, { recursive: true, force: true });
    }
  });

  it('refuses an expired certificate Warden issued, and audits the refusal with the subject', async () => {
    const ca = await SshCertificateAuthority.open(fixture.dataDir);
    const key = generateUserKeyPair('expired');
    const past = new Date(Date.now() - 2 * 3600_000);
    const identity: Identity = { subject: 'erin', issuer: 'https://dev.invalid', groups: ['ops'], kind: 'human', expiresAt: new Date(past.getTime() + 3600_000) };
    const issued = await ca.issue({ identity, publicKey: key.publicKey, connection: 'box', maxValiditySeconds: 3600, now: past });
    const file = await writeKeyWithCertificate('expired-key', key.privateKey, issued.certificate);
    const result = await ssh(['-i', file, '-p', String(fixture.port), 'erin@127.0.0.1'], 'echo should-not-run');
    expect(result.code).toBe(255);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/Permission denied/);
    const failure = (await fixture.auditRecords()).find((record) => record.type === 'auth.failure' && record['subject'] === 'erin');
    expect(failure).toMatchObject({ code: 'unauthenticated', reason: 'the credential has expired', connection: 'box' });
  });

  it('refuses a certificate signed by another CA, even one claiming a subject with a grant', async () => {
    const foreignDir = await mkdtemp(path.join(tmpdir(), 'warden-foreign-ca-'));
    const foreign = await SshCertificateAuthority.open(foreignDir);
    const key = generateUserKeyPair('foreign');
    const identity: Identity = { subject: 'mallory', issuer: 'https://dev.invalid', groups: ['ops'], kind: 'human', expiresAt: new Date(Date.now() + 3600_000) };
    const issued = await foreign.issue({ identity, publicKey: key.publicKey, connection: 'box', maxValiditySeconds: 3600, now: new Date() });
    await rm(foreignDir, { recursive: true, force: true });
    const file = await writeKeyWithCertificate('foreign-key', key.privateKey, issued.certificate);
    const result = await ssh(['-i', file, '-p', String(fixture.port), 'mallory@127.0.0.1'], 'echo should-not-run');
    expect(result.code).toBe(255);
    expect(result.stderr).toMatch(/Permission denied/);
    const records = await fixture.auditRecords();
    expect(records.some((record) => record.type === 'session.start' && (record['identity'] as Identity).subject === 'mallory')).toBe(false);
    // Audited, not only logged: the subject is the certificate's (unverified) key id.
    expect(records.filter((record) => record.type === 'auth.failure' && record['subject'] === 'mallory')).toEqual([
      expect.objectContaining({ code: 'unauthenticated', connection: 'box', claimedUser: 'mallory', reason: "the certificate is not signed by Warden's certificate authority" }),
    ]);
  });

  it('refuses and audits a certificate signed by Warden\'s CA whose serial Warden has no record of', async () => {
    const ca = await SshCertificateAuthority.open(fixture.dataDir);
    const key = generateUserKeyPair('unrecorded');
    const identity: Identity = { subject: 'uma', issuer: 'https://dev.invalid', groups: ['ops'], kind: 'human', expiresAt: new Date(Date.now() + 3600_000) };
    const issued = await ca.issue({ identity, publicKey: key.publicKey, connection: 'box', maxValiditySeconds: 3600, now: new Date() });
    await rm(path.join(fixture.dataDir, 'ssh', 'issued', `${issued.serial}.json`));
    const file = await writeKeyWithCertificate('unrecorded-key', key.privateKey, issued.certificate);
    const result = await ssh(['-i', file, '-p', String(fixture.port), 'uma@127.0.0.1'], 'echo should-not-run');
    expect(result.code).toBe(255);
    expect(result.stdout).toBe('');
    const failure = (await fixture.auditRecords()).find((record) => record.type === 'auth.failure' && record['subject'] === 'uma');
    expect(failure).toMatchObject({ code: 'unauthenticated', reason: `certificate serial ${issued.serial} was not issued by this Warden` });
  });

  it('refuses to issue a certificate to a caller without a grant, or with a bad token', async () => {
    const outsider = await login(await fixture.dev.issue({ subject: 'oscar', groups: ['visitors'] }), path.join(fixture.dataDir, 'keys', 'oscar'));
    expect(outsider.code).toBe(1);
    expect(outsider.stderr).toContain('oscar has no grant for connection box');
    const forged = await login('not-a-token', path.join(fixture.dataDir, 'keys', 'forged'));
    expect(forged.code).toBe(1);
  });
});

describe('public keys bound to service identities in config', () => {
  async function keyFile(name: string, privateKey: string): Promise<string> {
    const file = path.join(fixture.dataDir, name);
    await writeFile(file, privateKey, { mode: 0o600 });
    return file;
  }

  it('logs in with the real ssh client and a bound key as the service identity, audited like any login', async () => {
    const file = await keyFile('ci-bot-key', botKey.privateKey);
    const result = await ssh(['-i', file, '-p', String(fixture.port), 'ci-bot@127.0.0.1'], 'echo via-bound-key; exit 5');
    expect(result.stdout).toBe('via-bound-key\n');
    expect(result.code).toBe(5);
    const records = await fixture.auditRecords();
    const started = records.filter((record) => record.type === 'session.start' && (record['identity'] as Identity).subject === 'ci-bot');
    expect(started).toHaveLength(1);
    expect(started[0]!['identity']).toMatchObject({ subject: 'ci-bot', groups: ['ops'], kind: 'agent', issuer: 'warden:ssh-public-keys' });
    const sessionId = started[0]!['sessionId'];
    const fingerprint = (await run('ssh-keygen', ['-lf', file])).stdout.split(' ')[1];
    expect(records.find((record) => record.type === 'session.event' && record['sessionId'] === sessionId && record['name'] === 'ssh public key')).toMatchObject({ detail: { fingerprint } });
    expect(records.find((record) => record.type === 'command' && record['sessionId'] === sessionId)).toMatchObject({ text: 'echo via-bound-key; exit 5', decision: { effect: 'allow' } });
  });

  it('refuses a key bound to no identity, and audits the refusal once', async () => {
    const stranger = generateUserKeyPair('stranger');
    const file = await keyFile('stranger-key', stranger.privateKey);
    const result = await ssh(['-i', file, '-p', String(fixture.port), 'stranger@127.0.0.1'], 'echo should-not-run');
    expect(result.code).toBe(255);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/Permission denied/);
    let failures: AuditEntry[] = [];
    for (let attempt = 0; attempt < 100 && failures.length === 0; attempt++) {
      failures = (await fixture.auditRecords()).filter((record) => record.type === 'auth.failure' && record['claimedUser'] === 'stranger');
      if (failures.length === 0) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(failures).toEqual([expect.objectContaining({ code: 'unauthenticated', reason: 'the public key the client offered is bound to no identity on this connection' })]);
  });

  it('refuses a bound key whose signature was made with another key, and audits it', async () => {
    const forged = utils.parseKey(botKey.privateKey) as ParsedKey;
    const other = utils.parseKey(generateUserKeyPair('other').privateKey) as ParsedKey;
    // Presents ci-bot's public key, signs with another private key.
    Object.assign(forged, { sign: (data: Buffer, algo?: string) => other.sign(data, algo) });
    const method: PublicKeyAuthMethod = { type: 'publickey', username: 'ci-bot', key: forged };
    const error = await new Promise<Error>((resolve) => {
      const client = new Client();
      client.once('ready', () => {
        client.end();
        resolve(new Error('admitted'));
      });
      client.once('error', resolve);
      client.connect({ host: '127.0.0.1', port: fixture.port, username: 'ci-bot', authHandler: [method], readyTimeout: 10_000 });
    });
    expect(error.message).toMatch(/authentication methods failed/);
    const failure = (await fixture.auditRecords()).find((record) => record.type === 'auth.failure' && record['subject'] === 'ci-bot');
    expect(failure).toMatchObject({ code: 'unauthenticated', reason: expect.stringMatching(/^public key SHA256:\S+: the signature does not verify$/) });
  });

  it('refuses a bound key whose identity has no grant, as forbidden', async () => {
    const file = await keyFile('orphan-key', orphanKey.privateKey);
    const result = await ssh(['-i', file, '-p', String(fixture.port), 'nobody-bot@127.0.0.1'], 'echo should-not-run');
    expect(result.code).toBe(255);
    const failure = (await fixture.auditRecords()).find((record) => record.type === 'auth.failure' && record['subject'] === 'nobody-bot');
    expect(failure).toMatchObject({ code: 'forbidden', reason: 'nobody-bot has no grant for connection box' });
  });
});
