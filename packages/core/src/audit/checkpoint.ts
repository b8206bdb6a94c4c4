/**
 * Signed checkpoints: the gateway's Ed25519 signature over the Merkle tree (size, root) of the
 * audit log at a point in time. A verifier holding only the public key can then tell whether a log
 * (or one record with its inclusion proof) is the one the gateway wrote, and a log cut short below
 * a checkpoint's size is detectable — which the hash chain alone cannot show.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { WardenError } from '../errors';
import { canonicalJson } from './canonical-json';

export interface Checkpoint {
  /** Records covered: the first `size` records of the log. */
  readonly size: number;
  /** Merkle tree root over those records, hex. */
  readonly root: string;
  /** ISO-8601 time of signing. */
  readonly time: string;
  readonly keyId: string;
  /** Ed25519 signature over `checkpointMessage`, base64. */
  readonly signature: string;
}

export type UnsignedCheckpoint = Omit<Checkpoint, 'signature'>;

/** Domain separation: a signature over a checkpoint cannot be replayed as any other signed message. */
const CHECKPOINT_CONTEXT = 'warden-audit-checkpoint-v1\n';

/** The exact bytes signed: a context line, then the canonical JSON of `{ keyId, root, size, time }`. */
export function checkpointMessage(checkpoint: UnsignedCheckpoint): Buffer {
  const { size, root, time, keyId } = checkpoint;
  return Buffer.from(CHECKPOINT_CONTEXT + canonicalJson({ size, root, time, keyId }), 'utf8');
}

export function signCheckpoint(unsigned: UnsignedCheckpoint, privateKey: KeyObject): Checkpoint {
  return { ...unsigned, signature: sign(null, checkpointMessage(unsigned), privateKey).toString('base64') };
}

/** True when the checkpoint is well-formed and its signature verifies with `publicKey`. */
export function verifyCheckpointSignature(checkpoint: Checkpoint, publicKey: KeyObject): boolean {
  if (!isCheckpoint(checkpoint)) return false;
  try {
    return verify(null, checkpointMessage(checkpoint), publicKey, Buffer.from(checkpoint.signature, 'base64'));
  } catch {
    return false;
  }
}

export function isCheckpoint(value: unknown): value is Checkpoint {
  if (value === null || typeof value !== 'object') return false;
  const c = value as Record<string, unknown>;
  return (
    typeof c.size === 'number' &&
    Number.isSafeInteger(c.size) &&
    c.size >= 0 &&
    typeof c.root === 'string' &&
    /^[0-9a-f]{64}$/.test(c.root) &&
    typeof c.time === 'string' &&
    typeof c.keyId === 'string' &&
    typeof c.signature === 'string'
  );
}

/** The signing key of a gateway, and the id checkpoints name it by. */
export interface AuditSigningKey {
  readonly keyId: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

/** The key file inside the data directory. */
export const SIGNING_KEY_FILE = 'audit-signing-key.pem';

/**
 * A short, stable id for a public key: `ed25519:` + the first 16 hex digits of SHA-256 over its
 * SubjectPublicKeyInfo (DER). Used when the configuration names no key id.
 */
export function defaultKeyId(publicKey: KeyObject): string {
  return `ed25519:${createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16)}`;
}

/**
 * The gateway's Ed25519 checkpoint key: `<dataDir>/audit-signing-key.pem` (PKCS#8, mode 0600),
 * generated on first use and kept. `keyId` from the configuration, else `defaultKeyId`.
 */
export async function loadOrCreateSigningKey(dataDir: string, keyId?: string): Promise<AuditSigningKey> {
  const file = path.join(dataDir, SIGNING_KEY_FILE);
  let pem: string;
  try {
    pem = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new WardenError('audit-unavailable', `cannot read the audit signing key ${file}: ${(error as Error).message}`, { cause: error });
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    const generated = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    try {
      // 'wx': never replace a key another process created meanwhile; read that one instead.
      await writeFile(file, generated, { flag: 'wx', mode: 0o600 });
      pem = generated;
    } catch (writeError) {
      if ((writeError as NodeJS.ErrnoException).code !== 'EEXIST') throw new WardenError('audit-unavailable', `cannot write the audit signing key ${file}: ${(writeError as Error).message}`, { cause: writeError });
      pem = await readFile(file, 'utf8');
    }
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch (error) {
    throw new WardenError('audit-unavailable', `the audit signing key ${file} is not a valid private key`, { cause: error });
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new WardenError('audit-unavailable', `the audit signing key ${file} is not an Ed25519 key`);
  const publicKey = createPublicKey(privateKey);
  return { keyId: keyId ?? defaultKeyId(publicKey), privateKey, publicKey };
}

/** Parse a public key given as PEM (SPKI) or as a JWK (JSON, `kty: OKP`, `crv: Ed25519`). */
export function parsePublicKey(text: string): KeyObject {
  const trimmed = text.trim();
  let key: KeyObject;
  try {
    if (trimmed.startsWith('{')) {
      const jwk = JSON.parse(trimmed) as { kty?: string; crv?: string; x?: string };
      key = createPublicKey({ key: { kty: jwk.kty ?? '', crv: jwk.crv ?? '', x: jwk.x ?? '' }, format: 'jwk' });
    } else {
      key = createPublicKey(trimmed);
    }
  } catch (error) {
    throw new WardenError('config', 'the public key is neither a PEM public key nor an Ed25519 JWK', { cause: error });
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new WardenError('config', 'the public key is not an Ed25519 key');
  return key;
}
