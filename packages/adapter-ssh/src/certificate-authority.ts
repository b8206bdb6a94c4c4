/**
 * Warden's SSH user certificate authority: `warden ssh login` exchanges an OIDC token for a short-lived
 * certificate over the caller's public key, because OpenSSH cuts passwords at 1023 bytes and OIDC
 * tokens are often longer.
 *
 * Groups stay server-side: the certificate carries only the subject (key id and principal). Every
 * issued certificate is recorded as `<dataDir>/ssh/issued/<serial>.json` with the identity snapshot
 * (groups, issuer, kind, expiry) and the connection it was issued for; the adapter admits a
 * certificate only through that record, so a certificate Warden did not record (or one for another
 * connection, or expired) is refused even when its signature is good.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { WardenError, type Identity } from '@warden/core';
import { utils } from 'ssh2';
import { CERTIFICATE_ROLE, certificateLine, ed25519KeyOfLine, parseCertificate, signCertificate, signedBy, type ParsedCertificate } from './openssh-certificate';
import { generateEd25519KeyPair, type Ed25519KeyPair } from './ed25519-key-pair';
import { fingerprint } from './host-key';
import { sshString } from './ssh-wire';

/** Extensions of an issued certificate: a pty, nothing else (no port, agent or X11 forwarding). */
const EXTENSIONS: ReadonlyMap<string, Buffer> = new Map([['permit-pty', Buffer.alloc(0)]]);
/** Certificates start a minute in the past, for clock skew between Warden and the client (as ssh-keygen does). */
const BACKDATE_SECONDS = 60;

export interface IssueCertificateInput {
  /** The verified identity of the caller. */
  readonly identity: Identity;
  /** The caller's OpenSSH public key line (`ssh-ed25519 AAAA…`). */
  readonly publicKey: string;
  /** The SSH connection the certificate admits to. */
  readonly connection: string;
  /** The configured maximum validity; the token's remaining lifetime may cut it shorter. */
  readonly maxValiditySeconds: number;
  readonly now: Date;
}

export interface IssuedCertificate {
  /** The `-cert.pub` line. */
  readonly certificate: string;
  readonly serial: string;
  readonly principal: string;
  readonly validAfter: Date;
  readonly validBefore: Date;
}

/** What Warden keeps about a certificate it issued. */
interface IssuedRecord {
  readonly serial: string;
  readonly connection: string;
  readonly keyId: string;
  readonly keyFingerprint: string;
  readonly validAfter: number;
  readonly validBefore: number;
  readonly issuedAt: string;
  readonly identity: Omit<Identity, 'expiresAt'> & { readonly expiresAt: string };
}

/** A certificate that authenticated: who it admits, and the facts for the audit log. */
export interface CertificateAdmission {
  readonly identity: Identity;
  readonly serial: string;
  readonly keyId: string;
  readonly certificate: ParsedCertificate;
  /**
   * Past its `valid before`. The identity's `expiresAt` is then in the past too, and
   * `gateway.admitIdentity` refuses it — so the refusal is audited with the subject.
   */
  readonly expired: boolean;
}

export class SshCertificateAuthority {
  private constructor(
    private readonly dir: string,
    private readonly privateKey: ReturnType<typeof utils.parseKey> & { sign(data: Buffer): Buffer },
    /** The CA's public key blob. */
    readonly publicKeyBlob: Buffer,
  ) {}

  /** Loads the CA key from `<dataDir>/ssh/user_ca_ed25519_key`, generating it once. */
  static async open(dataDir: string): Promise<SshCertificateAuthority> {
    const dir = path.join(dataDir, 'ssh');
    const file = path.join(dir, 'user_ca_ed25519_key');
    await mkdir(path.join(dir, 'issued'), { recursive: true, mode: 0o700 });
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      const pair = generateEd25519KeyPair('warden user CA');
      try {
        // `wx`: a concurrent opener's key wins; both then read the same file.
        await writeFile(file, pair.privateKey, { mode: 0o600, flag: 'wx' });
        await writeFile(`${file}.pub`, `${pair.publicKey}\n`, { mode: 0o644 });
      } catch (writeError) {
        if ((writeError as NodeJS.ErrnoException).code !== 'EEXIST') throw writeError;
      }
      text = await readFile(file, 'utf8');
    }
    const parsed = utils.parseKey(text);
    if (parsed instanceof Error || Array.isArray(parsed) || parsed.type !== 'ssh-ed25519') throw new WardenError('config', `${file} is not an ed25519 private key`);
    return new SshCertificateAuthority(dir, parsed as SshCertificateAuthority['privateKey'], parsed.getPublicSSH());
  }

  /** The CA's public key as an OpenSSH line (for `@cert-authority` or TrustedUserCAKeys, if ever wanted). */
  get publicKeyLine(): string {
    return `ssh-ed25519 ${this.publicKeyBlob.toString('base64')} warden-user-ca`;
  }

  /** Signs the caller's public key and records the certificate. */
  async issue(input: IssueCertificateInput): Promise<IssuedCertificate> {
    const { identity, now } = input;
    const userKey = ed25519KeyOfLine(input.publicKey);
    const nowSeconds = Math.floor(now.getTime() / 1000);
    const validBefore = Math.min(nowSeconds + input.maxValiditySeconds, Math.floor(identity.expiresAt.getTime() / 1000));
    if (validBefore <= nowSeconds) throw new WardenError('unauthenticated', 'the token expires too soon to issue a certificate');
    const validAfter = nowSeconds - BACKDATE_SECONDS;
    // 63 random bits: unique without coordination, and a valid non-negative uint64 everywhere.
    const serial = randomBytes(8).readBigUInt64BE() >> 1n;
    const blob = signCertificate(
      {
        publicKey: userKey,
        serial,
        role: CERTIFICATE_ROLE.user,
        keyId: identity.subject,
        principals: [identity.subject],
        validAfter: BigInt(validAfter),
        validBefore: BigInt(validBefore),
        criticalOptions: new Map(),
        extensions: EXTENSIONS,
      },
      { publicKeyBlob: this.publicKeyBlob, sign: (data) => this.privateKey.sign(data) },
    );
    const record: IssuedRecord = {
      serial: serial.toString(),
      connection: input.connection,
      keyId: identity.subject,
      keyFingerprint: fingerprint(userKeyBlob(userKey)),
      validAfter,
      validBefore,
      issuedAt: now.toISOString(),
      identity: { ...identity, expiresAt: identity.expiresAt.toISOString() },
    };
    await writeFile(this.recordFile(record.serial), `${JSON.stringify(record)}\n`, { mode: 0o600, flag: 'wx' });
    return {
      certificate: certificateLine(blob, `warden:${input.connection}:${identity.subject}`),
      serial: record.serial,
      principal: identity.subject,
      validAfter: new Date(validAfter * 1000),
      validBefore: new Date(validBefore * 1000),
    };
  }

  /**
   * Checks a certificate blob a client presented on `connection` and resolves the identity from
   * Warden's record of it. Throws an `unauthenticated` WardenError whose message is safe to show.
   * The caller still verifies the client's signature with the certificate's key, and refuses an
   * `expired` admission (the core's `admitIdentity` does, since `identity.expiresAt` is then past).
   */
  async admit(blob: Buffer, connection: string, now: Date): Promise<CertificateAdmission> {
    const certificate = parseCertificate(blob);
    if (!signedBy(certificate, this.publicKeyBlob)) throw new WardenError('unauthenticated', 'the certificate is not signed by Warden\'s certificate authority');
    if (certificate.role !== CERTIFICATE_ROLE.user) throw new WardenError('unauthenticated', 'not a user certificate');
    const nowSeconds = BigInt(Math.floor(now.getTime() / 1000));
    if (nowSeconds < certificate.validAfter) throw new WardenError('unauthenticated', 'the certificate is not valid yet');
    const serial = certificate.serial.toString();
    let record: IssuedRecord;
    try {
      record = JSON.parse(await readFile(this.recordFile(serial), 'utf8')) as IssuedRecord;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new WardenError('unauthenticated', `certificate serial ${serial} was not issued by this Warden`);
      throw new WardenError('unauthenticated', 'the certificate record cannot be read', { cause: error });
    }
    if (record.connection !== connection) throw new WardenError('unauthenticated', `certificate serial ${serial} was issued for connection ${record.connection}`);
    if (
      record.keyId !== certificate.keyId ||
      record.keyFingerprint !== fingerprint(userKeyBlob(certificate.publicKey)) ||
      BigInt(record.validBefore) !== certificate.validBefore ||
      !certificate.principals.includes(record.identity.subject)
    ) {
      throw new WardenError('unauthenticated', `certificate serial ${serial} does not match Warden's record of it`);
    }
    // The session lives no longer than the certificate.
    const identity: Identity = { ...record.identity, expiresAt: new Date(record.validBefore * 1000) };
    return { identity, serial, keyId: certificate.keyId, certificate, expired: nowSeconds >= certificate.validBefore };
  }

  private recordFile(serial: string): string {
    if (!/^[0-9]{1,20}$/.test(serial)) throw new WardenError('unauthenticated', 'malformed certificate serial');
    return path.join(this.dir, 'issued', `${serial}.json`);
  }
}

function userKeyBlob(raw: Buffer): Buffer {
  return Buffer.concat([sshString('ssh-ed25519'), sshString(raw)]);
}

/** A new ed25519 key pair for a client, in OpenSSH formats (`warden ssh login` writes it to ~/.ssh). */
export function generateUserKeyPair(comment: string): Ed25519KeyPair {
  return generateEd25519KeyPair(comment);
}
