/**
 * OpenSSH user certificates for ed25519 keys (`ssh-ed25519-cert-v01@openssh.com`), as specified in
 * OpenSSH's PROTOCOL.certkeys (https://cvsweb.openbsd.org/src/usr.bin/ssh/PROTOCOL.certkeys). ssh2
 * hands a server the certificate as an opaque key blob and verifies nothing of it, so Warden parses
 * and checks it here.
 *
 * Wire layout of the certificate blob:
 *   string  "ssh-ed25519-cert-v01@openssh.com"
 *   string  nonce
 *   string  pk                     (the user's 32-byte ed25519 public key)
 *   uint64  serial
 *   uint32  type                   (1 = user, 2 = host)
 *   string  key id
 *   string  valid principals       (a sequence of `string`)
 *   uint64  valid after            (seconds since the epoch)
 *   uint64  valid before
 *   string  critical options       (name/data `string` pairs)
 *   string  extensions             (name/data `string` pairs, sorted by name)
 *   string  reserved
 *   string  signature key          (the CA's public key blob)
 *   string  signature              (over everything above, by the CA)
 */
import { createPublicKey, randomBytes, verify, type KeyObject } from 'node:crypto';
import { WardenError } from '@warden/core';
import { SshReader, sshString, sshUint32, sshUint64 } from './ssh-wire';

export const CERTIFICATE_TYPES = {
  ed25519: 'ssh-ed25519-cert-v01@openssh.com',
} as const;

/** PROTOCOL.certkeys: certificate `type` values. */
export const CERTIFICATE_ROLE = { user: 1, host: 2 } as const;

const ED25519 = 'ssh-ed25519';

export interface CertificateFields {
  /** The user's raw 32-byte ed25519 public key. */
  readonly publicKey: Buffer;
  readonly serial: bigint;
  readonly role: number;
  readonly keyId: string;
  readonly principals: readonly string[];
  /** Seconds since the epoch. */
  readonly validAfter: bigint;
  readonly validBefore: bigint;
  readonly criticalOptions: ReadonlyMap<string, Buffer>;
  /** e.g. `permit-pty` → empty. */
  readonly extensions: ReadonlyMap<string, Buffer>;
}

export interface ParsedCertificate extends CertificateFields {
  /** The CA's public key blob (`string "ssh-ed25519" string key`). */
  readonly signatureKey: Buffer;
  /** The bytes the CA signed. */
  readonly signed: Buffer;
  /** The signature algorithm and raw signature. */
  readonly signature: { readonly algorithm: string; readonly data: Buffer };
}

/** A signer: the CA's public key blob and a function returning a raw ed25519 signature. */
export interface CertificateSigner {
  readonly publicKeyBlob: Buffer;
  sign(data: Buffer): Buffer;
}

/** Builds and signs a certificate; returns the certificate blob. */
export function signCertificate(fields: CertificateFields, signer: CertificateSigner): Buffer {
  const pairs = (map: ReadonlyMap<string, Buffer>) =>
    Buffer.concat(
      [...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).flatMap(([name, data]) => [sshString(name), sshString(data.length === 0 ? data : sshString(data))]),
    );
  const body = Buffer.concat([
    sshString(CERTIFICATE_TYPES.ed25519),
    sshString(randomBytes(32)),
    sshString(fields.publicKey),
    sshUint64(fields.serial),
    sshUint32(fields.role),
    sshString(fields.keyId),
    sshString(Buffer.concat(fields.principals.map((principal) => sshString(principal)))),
    sshUint64(fields.validAfter),
    sshUint64(fields.validBefore),
    sshString(pairs(fields.criticalOptions)),
    sshString(pairs(fields.extensions)),
    sshString(Buffer.alloc(0)),
    sshString(signer.publicKeyBlob),
  ]);
  const signature = sshString(Buffer.concat([sshString(ED25519), sshString(signer.sign(body))]));
  return Buffer.concat([body, signature]);
}

/** Parses a certificate blob. Throws an `unauthenticated` WardenError when it is not one Warden reads. */
export function parseCertificate(blob: Buffer): ParsedCertificate {
  try {
    const reader = new SshReader(blob);
    const type = reader.text();
    if (type !== CERTIFICATE_TYPES.ed25519) throw new WardenError('unauthenticated', `unsupported certificate type ${type.slice(0, 60)}`);
    reader.string(); // nonce
    const publicKey = Buffer.from(reader.string());
    if (publicKey.length !== 32) throw new WardenError('unauthenticated', 'malformed ed25519 certificate key');
    const serial = reader.uint64();
    const role = reader.uint32();
    const keyId = reader.text();
    const principals = strings(reader.string());
    const validAfter = reader.uint64();
    const validBefore = reader.uint64();
    const criticalOptions = readPairs(reader.string());
    const extensions = readPairs(reader.string());
    reader.string(); // reserved
    const signatureKey = Buffer.from(reader.string());
    const signed = blob.subarray(0, reader.offset);
    const signatureReader = new SshReader(reader.string());
    const algorithm = signatureReader.text();
    const data = Buffer.from(signatureReader.string());
    if (reader.remaining !== 0) throw new WardenError('unauthenticated', 'trailing bytes after the certificate');
    return { publicKey, serial, role, keyId, principals, validAfter, validBefore, criticalOptions, extensions, signatureKey, signed, signature: { algorithm, data } };
  } catch (error) {
    if (error instanceof WardenError && error.code === 'unauthenticated') throw error;
    throw new WardenError('unauthenticated', 'malformed certificate', { cause: error });
  }
}

/** Whether the certificate is signed by the CA with this public key blob (compared byte for byte). */
export function signedBy(certificate: ParsedCertificate, caPublicKeyBlob: Buffer): boolean {
  if (!certificate.signatureKey.equals(caPublicKeyBlob) || certificate.signature.algorithm !== ED25519) return false;
  return verify(null, certificate.signed, ed25519PublicKey(ed25519KeyOfBlob(caPublicKeyBlob)), certificate.signature.data);
}

/**
 * Verifies a client's publickey-authentication signature (RFC 4252 §7) made with the certificate's
 * key. `signature` is the SSH signature blob (`string "ssh-ed25519" string sig`) or the bare signature.
 */
export function verifyUserSignature(certificate: ParsedCertificate, signedData: Buffer, signature: Buffer): boolean {
  let raw = signature;
  if (signature.length !== 64) {
    try {
      const reader = new SshReader(signature);
      if (reader.text() !== ED25519) return false;
      raw = reader.string();
    } catch {
      return false;
    }
  }
  return verify(null, signedData, ed25519PublicKey(certificate.publicKey), raw);
}

/** The raw ed25519 key inside a public key blob (`string "ssh-ed25519" string key`). */
export function ed25519KeyOfBlob(blob: Buffer): Buffer {
  const reader = new SshReader(blob);
  const type = reader.text();
  const key = reader.string();
  if (type !== ED25519 || key.length !== 32 || reader.remaining !== 0) throw new WardenError('unauthenticated', 'not an ssh-ed25519 public key');
  return Buffer.from(key);
}

/** Reads an OpenSSH public key line (`ssh-ed25519 AAAA… comment`) into its raw ed25519 key. */
export function ed25519KeyOfLine(line: string): Buffer {
  const [type, base64] = line.trim().split(/\s+/);
  if (type !== ED25519 || base64 === undefined) throw new WardenError('unauthenticated', 'the public key must be an OpenSSH ssh-ed25519 key line');
  return ed25519KeyOfBlob(Buffer.from(base64, 'base64'));
}

/** The OpenSSH line of a certificate, as `ssh` reads it from `<key>-cert.pub`. */
export function certificateLine(blob: Buffer, comment: string): string {
  return `${CERTIFICATE_TYPES.ed25519} ${blob.toString('base64')} ${comment}`;
}

/** SPKI DER prefix of an Ed25519 public key (RFC 8410 §4): the raw 32 bytes follow it. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

function ed25519PublicKey(raw: Buffer): KeyObject {
  return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

function strings(data: Buffer): string[] {
  const reader = new SshReader(data);
  const values: string[] = [];
  while (reader.remaining > 0) values.push(reader.text());
  return values;
}

function readPairs(data: Buffer): Map<string, Buffer> {
  const reader = new SshReader(data);
  const pairs = new Map<string, Buffer>();
  while (reader.remaining > 0) pairs.set(reader.text(), Buffer.from(reader.string()));
  return pairs;
}
