import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { WardenError, type Identity } from '@warden/core';
import { SshCertificateAuthority, generateUserKeyPair } from './certificate-authority';
import { parseCertificate } from './openssh-certificate';

const NOW = new Date('2030-01-01T12:00:00Z');
const alice: Identity = { subject: 'alice', issuer: 'https://idp.example', groups: ['ops', 'oncall'], kind: 'human', expiresAt: new Date(NOW.getTime() + 3600_000) };

let dir: string;
let ca: SshCertificateAuthority;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'warden-ca-'));
  ca = await SshCertificateAuthority.open(dir);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const blobOf = (line: string) => Buffer.from(line.split(' ')[1]!, 'base64');

async function refusal(promise: Promise<unknown>): Promise<WardenError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(WardenError);
  expect((error as WardenError).code).toBe('unauthenticated');
  return error as WardenError;
}

describe('SshCertificateAuthority', () => {
  it('issues a certificate OpenSSH reads: key id and principal = subject, no forwarding extensions, validity cut to the token', async () => {
    const key = generateUserKeyPair('test');
    const issued = await ca.issue({ identity: alice, publicKey: key.publicKey, connection: 'box', maxValiditySeconds: 8 * 3600, now: NOW });
    expect(issued.validBefore).toEqual(alice.expiresAt);
    expect(issued.principal).toBe('alice');
    const file = path.join(dir, 'key-cert.pub');
    await writeFile(file, `${issued.certificate}\n`);
    const listed = spawnSync('ssh-keygen', ['-L', '-f', file], { encoding: 'utf8' });
    expect(listed.status).toBe(0);
    expect(listed.stdout).toContain('Type: ssh-ed25519-cert-v01@openssh.com user certificate');
    expect(listed.stdout).toContain('Key ID: "alice"');
    expect(listed.stdout).toContain(`Serial: ${issued.serial}`);
    expect(listed.stdout).toMatch(/Principals: \n\s+alice\n/);
    expect(listed.stdout).toMatch(/Critical Options: \(none\)/);
    expect(listed.stdout).toMatch(/Extensions: \n\s+permit-pty\n/);
    expect(listed.stdout).not.toMatch(/permit-(port|agent|X11)/);
    expect(listed.stdout).not.toContain('oncall');
  });

  it('caps validity at the configured maximum when the token lives longer', async () => {
    const issued = await ca.issue({ identity: alice, publicKey: generateUserKeyPair('t').publicKey, connection: 'box', maxValiditySeconds: 600, now: NOW });
    expect(issued.validBefore.getTime()).toBe(NOW.getTime() + 600_000);
  });

  it('admits its own certificate with the recorded identity (groups from the record), and flags it expired after validBefore', async () => {
    const issued = await ca.issue({ identity: alice, publicKey: generateUserKeyPair('t').publicKey, connection: 'box', maxValiditySeconds: 600, now: NOW });
    const admission = await ca.admit(blobOf(issued.certificate), 'box', NOW);
    expect(admission).toMatchObject({ serial: issued.serial, keyId: 'alice', expired: false });
    expect(admission.identity).toEqual({ ...alice, expiresAt: issued.validBefore });
    const later = await ca.admit(blobOf(issued.certificate), 'box', new Date(NOW.getTime() + 601_000));
    expect(later.expired).toBe(true);
  });

  it('refuses a certificate for another connection, an unknown serial, a foreign CA and a tampered certificate', async () => {
    const issued = await ca.issue({ identity: alice, publicKey: generateUserKeyPair('t').publicKey, connection: 'box', maxValiditySeconds: 600, now: NOW });
    expect((await refusal(ca.admit(blobOf(issued.certificate), 'other', NOW))).message).toMatch(/issued for connection box/);

    const foreignDir = await mkdtemp(path.join(tmpdir(), 'warden-ca-foreign-'));
    const foreign = await SshCertificateAuthority.open(foreignDir);
    const forged = await foreign.issue({ identity: { ...alice, groups: ['admins'] }, publicKey: generateUserKeyPair('t').publicKey, connection: 'box', maxValiditySeconds: 600, now: NOW });
    await rm(foreignDir, { recursive: true, force: true });
    expect((await refusal(ca.admit(blobOf(forged.certificate), 'box', NOW))).message).toMatch(/not signed by Warden's certificate authority/);

    const tampered = Buffer.from(blobOf(issued.certificate));
    tampered.writeUInt8(tampered.readUInt8(tampered.length - 80) ^ 1, tampered.length - 80);
    await refusal(ca.admit(tampered, 'box', NOW));

    const unrecorded = await ca.issue({ identity: alice, publicKey: generateUserKeyPair('t').publicKey, connection: 'box', maxValiditySeconds: 600, now: NOW });
    await unlink(path.join(dir, 'ssh', 'issued', `${unrecorded.serial}.json`));
    expect((await refusal(ca.admit(blobOf(unrecorded.certificate), 'box', NOW))).message).toMatch(/was not issued by this Warden/);
  });

  it('refuses to issue when the token is already expired, and for a key that is not ssh-ed25519', async () => {
    await refusal(ca.issue({ identity: { ...alice, expiresAt: NOW }, publicKey: generateUserKeyPair('t').publicKey, connection: 'box', maxValiditySeconds: 600, now: NOW }));
    await refusal(ca.issue({ identity: alice, publicKey: 'ssh-rsa AAAAB3NzaC1yc2E= x', connection: 'box', maxValiditySeconds: 600, now: NOW }));
  });

  it('keeps its CA key across restarts', async () => {
    const again = await SshCertificateAuthority.open(dir);
    expect(again.publicKeyBlob.equals(ca.publicKeyBlob)).toBe(true);
  });
});

describe('parseCertificate', () => {
  it('refuses every truncation of a valid certificate as unauthenticated, never crashing', async () => {
    const issued = await ca.issue({ identity: alice, publicKey: generateUserKeyPair('t').publicKey, connection: 'box', maxValiditySeconds: 600, now: NOW });
    const blob = blobOf(issued.certificate);
    expect(parseCertificate(blob).serial.toString()).toBe(issued.serial);
    for (let length = 0; length < blob.length; length++) {
      expect(() => parseCertificate(blob.subarray(0, length))).toThrow(WardenError);
    }
    expect(() => parseCertificate(Buffer.concat([blob, Buffer.from([0])]))).toThrow(/trailing bytes/);
  });
});

describe('generateUserKeyPair', () => {
  it('always yields a full 32-byte ed25519 key (ssh2 alone drops a leading zero byte in ~1/256 keys)', () => {
    for (let i = 0; i < 1000; i++) {
      const { publicKey } = generateUserKeyPair('t');
      expect(Buffer.from(publicKey.split(' ')[1]!, 'base64')).toHaveLength(51);
    }
  });
});
