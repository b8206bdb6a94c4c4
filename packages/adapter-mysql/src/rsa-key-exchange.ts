/**
 * caching_sha2_password full authentication without TLS: the RSA key exchange.
 * https://dev.mysql.com/doc/dev/mysql-server/latest/page_caching_sha2_authentication_exchanges.html
 *
 * After AuthMoreData 0x04 ("perform full authentication") a client without TLS either has the
 * server's public key already or asks for it (a packet holding 0x02; the server answers
 * AuthMoreData 0x01 + the PEM public key, SubjectPublicKeyInfo). It then sends
 *   RSA-OAEP (SHA-1, MGF1-SHA-1) of (password + NUL) XOR the 20-byte nonce, the nonce repeated
 * as one raw packet of exactly the key's size. (libmariadb plugins/auth/caching_sha2_pw.c,
 * mysql2 lib/auth_plugins/caching_sha2_password.js.)
 *
 * OAEP with SHA-1 carries at most keyBytes − 42 bytes, so the token (+ NUL) must fit in that:
 * 981 bytes of token with an 8192-bit key, 469 with 4096, 213 with 2048. libmariadb encrypts into a
 * 1024-byte buffer (MAX_PW_LEN), so a key above 8192 bits would overflow its stack buffer and a
 * token of 1024 bytes or more never goes through RSA with it: 8192 bits is both the default and
 * the largest size Warden allows.
 */
import { constants, createPrivateKey, createPublicKey, generateKeyPair, privateDecrypt, type KeyObject } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { WardenError, type Logger } from '@warden/core';

/** RSA key sizes Warden accepts for the exchange; see the module comment for the upper bound. */
export const RSA_KEY_SIZES = [2048, 3072, 4096, 8192] as const;
export type RsaKeySize = (typeof RSA_KEY_SIZES)[number];
export const DEFAULT_RSA_KEY_BITS: RsaKeySize = 8192;

/** OAEP with SHA-1: 2 × 20 bytes of hash + 2. */
const OAEP_SHA1_OVERHEAD = 42;

/** Why a client's encrypted token was not accepted (the message is safe to show the client). */
export type RsaTokenRefusal = { readonly refused: string };

/** One RSA key pair for the exchange. */
export class RsaKeyExchange {
  /** The public key as the client receives it (PEM, SubjectPublicKeyInfo). */
  readonly publicKeyPem: Buffer;
  /** The key's modulus size in bytes: every ciphertext is exactly this long. */
  readonly keyBytes: number;

  constructor(private readonly privateKey: KeyObject) {
    if (privateKey.asymmetricKeyType !== 'rsa') throw new WardenError('config', 'the caching_sha2_password key must be an RSA private key');
    const bits = privateKey.asymmetricKeyDetails?.modulusLength ?? 0;
    this.keyBytes = Math.ceil(bits / 8);
    this.publicKeyPem = Buffer.from(createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }) as string);
  }

  /** The longest token (in UTF-8 bytes) a client can send through this key. */
  get maxTokenBytes(): number {
    return this.keyBytes - OAEP_SHA1_OVERHEAD - 1;
  }

  /**
   * Recovers the token from the client's ciphertext, or says why it cannot.
   * @example
   * const result = key.decryptToken(packetPayload, nonce);
   * if ('refused' in result) refuse(result.refused); else admit(result.token);
   */
  decryptToken(ciphertext: Buffer, nonce: Buffer): { readonly token: Buffer } | RsaTokenRefusal {
    if (ciphertext.length !== this.keyBytes) {
      return { refused: `the client's RSA-encrypted token is ${ciphertext.length} bytes; Warden's ${this.keyBytes * 8}-bit key makes ${this.keyBytes} (was it encrypted with another server's public key?)` };
    }
    let plain: Buffer;
    try {
      plain = privateDecrypt({ key: this.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, ciphertext);
    } catch {
      return { refused: "the client's RSA-encrypted token does not decrypt with Warden's key (was it encrypted with another server's public key?)" };
    }
    for (let i = 0; i < plain.length; i++) plain[i] = plain[i]! ^ nonce[i % nonce.length]!;
    if (plain.length === 0 || plain[plain.length - 1] !== 0) return { refused: "the client's RSA-encrypted token is not a NUL-terminated password" };
    return { token: plain.subarray(0, plain.length - 1) };
  }
}

export interface RsaKeyOptions {
  readonly dataDir: string;
  readonly connection: string;
  readonly bits: RsaKeySize;
  /** A PEM RSA private key to use instead of the one Warden generates. */
  readonly keyFile?: string;
  /** Called before a key is generated (8192 bits take seconds to tens of seconds). */
  readonly onGenerate?: (file: string) => void;
}

const generate = promisify(generateKeyPair);

/**
 * Loads the key from `keyFile`, or from `<dataDir>/mysql/<connection>_rsa_<bits>_key.pem`,
 * generating that once (off the event loop; mode 0600, next to `.pub.pem` for clients that want
 * the public key up front, e.g. mysql2's `serverPublicKey`).
 */
export async function loadOrCreateRsaKey(options: RsaKeyOptions): Promise<RsaKeyExchange> {
  if (options.keyFile !== undefined) return fromPem(await readFile(options.keyFile, 'utf8'), options.keyFile);
  const dir = path.join(options.dataDir, 'mysql');
  const file = path.join(dir, `${options.connection}_rsa_${options.bits}_key.pem`);
  try {
    return fromPem(await readFile(file, 'utf8'), file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  options.onGenerate?.(file);
  const pair = await generate('rsa', { modulusLength: options.bits, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
  // `wx`: if another process created the key meanwhile, use theirs rather than overwrite it.
  try {
    await writeFile(file, pair.privateKey, { mode: 0o600, flag: 'wx' });
    await writeFile(file.replace(/_key\.pem$/, '_key.pub.pem'), pair.publicKey, { mode: 0o644 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return fromPem(await readFile(file, 'utf8'), file);
}

function fromPem(pem: string, file: string): RsaKeyExchange {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (error) {
    throw new WardenError('config', `${file} is not a PEM private key`, { cause: error });
  }
  const exchange = new RsaKeyExchange(key);
  if (exchange.keyBytes * 8 < 2048 || exchange.keyBytes * 8 > 8192) {
    throw new WardenError('config', `${file}: the caching_sha2_password RSA key must have 2048 to 8192 bits (clients built on libmariadb cannot take a larger one)`);
  }
  return exchange;
}

export interface RsaKeySourceOptions {
  readonly settings: { readonly bits: RsaKeySize; readonly keyFile?: string };
  readonly connection: string;
  readonly dataDir: string | undefined;
  readonly log: Logger;
}

/**
 * The adapter's key for the exchange: loaded (or generated) once, shared by every client; a failed
 * load is retried by the next client. Throws a config error when there is nowhere to keep a key.
 */
export function rsaKeySource(options: RsaKeySourceOptions): () => Promise<RsaKeyExchange> {
  const { settings, connection, dataDir, log } = options;
  if (settings.keyFile === undefined && dataDir === undefined) {
    throw new WardenError('config', `connection ${connection}: rsaKeyExchange needs a data directory for its key, or rsaKeyFile`);
  }
  let loading: Promise<RsaKeyExchange> | undefined;
  return () =>
    (loading ??= loadOrCreateRsaKey({
      dataDir: dataDir ?? '',
      connection,
      bits: settings.bits,
      ...(settings.keyFile === undefined ? {} : { keyFile: settings.keyFile }),
      onGenerate: (file) => log.info('generating the RSA key for caching_sha2_password key exchange (once)', { bits: settings.bits, file }),
    }).catch((error: unknown) => {
      loading = undefined;
      log.error('cannot load the RSA key for caching_sha2_password key exchange', { error: error instanceof Error ? error.message : String(error) });
      throw error;
    }));
}
