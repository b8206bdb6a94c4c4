/**
 * The local development issuer: an Ed25519 key on disk that signs access tokens for local use.
 * Its tokens take the same path as a real issuer's: `TokenVerifier` with `issuerConfig()` and
 * `publicJwks()` as local keys. Never trust it outside development.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK } from 'jose';
import type { CryptoKey, JWK } from 'jose';
import { WardenError } from '../errors';
import type { IdentityKind } from '../events';
import type { IssuerConfig } from './issuer-config';

export const DEV_ISSUER = 'urn:warden:dev';
export const DEV_AUDIENCE = 'warden';
export const DEV_ISSUER_KEY_FILE = 'dev-issuer.jwk.json';

export interface DevTokenOptions {
  readonly subject: string;
  readonly groups: readonly string[];
  /** `agent` tokens are client-credentials tokens: they carry `client_id` equal to the subject. */
  readonly kind?: IdentityKind;
  /** Default 3600. */
  readonly ttlSeconds?: number;
  /** Who acts on the subject's behalf (RFC 8693 `act`). */
  readonly actor?: string;
  readonly name?: string;
  /** Issue time; default now. */
  readonly now?: Date;
}

function isEd25519PrivateJwk(value: unknown): value is JWK & { kty: 'OKP'; crv: 'Ed25519'; x: string; d: string } {
  if (value === null || typeof value !== 'object') return false;
  const jwk = value as Record<string, unknown>;
  return jwk['kty'] === 'OKP' && jwk['crv'] === 'Ed25519' && typeof jwk['x'] === 'string' && typeof jwk['d'] === 'string';
}

export class DevIssuer {
  readonly #privateKey: CryptoKey;
  readonly #publicJwk: JWK;
  readonly #kid: string;

  private constructor(privateKey: CryptoKey, publicJwk: JWK, kid: string) {
    this.#privateKey = privateKey;
    this.#publicJwk = publicJwk;
    this.#kid = kid;
  }

  /**
   * Load the key from `<dataDir>/dev-issuer.jwk.json`, or create it (mode 0600, directory created
   * if missing) on first use.
   */
  static async loadOrCreate(dataDir: string): Promise<DevIssuer> {
    const file = join(dataDir, DEV_ISSUER_KEY_FILE);
    let text: string | undefined;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new WardenError('config', `cannot read ${file}`, { cause: error });
    }
    if (text === undefined) {
      const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
      const jwk = await exportJWK(privateKey);
      const stored = { ...jwk, kid: await calculateJwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: jwk.x ?? '' }), alg: 'EdDSA', use: 'sig' };
      text = `${JSON.stringify(stored, null, 2)}\n`;
      try {
        await mkdir(dataDir, { recursive: true, mode: 0o700 });
        // `wx`: two processes starting at once must not overwrite each other's key.
        await writeFile(file, text, { mode: 0o600, flag: 'wx' });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw new WardenError('config', `cannot write ${file}`, { cause: error });
        text = await readFile(file, 'utf8');
      }
    }
    return DevIssuer.#fromText(text, file);
  }

  static async #fromText(text: string, file: string): Promise<DevIssuer> {
    let jwk: unknown;
    try {
      jwk = JSON.parse(text);
    } catch (error) {
      throw new WardenError('config', `${file} is not JSON`, { cause: error });
    }
    if (!isEd25519PrivateJwk(jwk)) throw new WardenError('config', `${file} does not hold an Ed25519 private JWK`);
    const publicJwk: JWK = { kty: 'OKP', crv: 'Ed25519', x: jwk.x };
    const kid = await calculateJwkThumbprint(publicJwk);
    let privateKey: CryptoKey;
    try {
      const imported = await importJWK({ kty: 'OKP', crv: 'Ed25519', x: jwk.x, d: jwk.d }, 'EdDSA');
      if (imported instanceof Uint8Array) throw new TypeError('not an asymmetric key');
      privateKey = imported;
    } catch (error) {
      throw new WardenError('config', `${file} holds an unusable key`, { cause: error });
    }
    return new DevIssuer(privateKey, { ...publicJwk, kid, alg: 'EdDSA', use: 'sig' }, kid);
  }

  /** The key id: the public key's JWK thumbprint (RFC 7638). */
  get kid(): string {
    return this.#kid;
  }

  /** Trust the dev issuer with this, and `publicJwks()` as its local keys. */
  issuerConfig(): IssuerConfig {
    return { issuer: DEV_ISSUER, audience: DEV_AUDIENCE, algorithms: ['EdDSA'] };
  }

  publicJwks(): { keys: JWK[] } {
    return { keys: [{ ...this.#publicJwk }] };
  }

  /** Sign an access token for `DEV_AUDIENCE`. */
  async issue(options: DevTokenOptions): Promise<string> {
    const ttlSeconds = options.ttlSeconds ?? 3600;
    if (!Number.isFinite(ttlSeconds) || ttlSeconds <= 0) throw new WardenError('config', 'ttlSeconds must be positive');
    if (typeof options.subject !== 'string' || options.subject.length === 0) throw new WardenError('config', 'subject must be a non-empty string');
    const iat = Math.floor((options.now ?? new Date()).getTime() / 1000);
    const claims: Record<string, unknown> = { groups: [...options.groups], jti: randomUUID() };
    if (options.kind === 'agent') claims['client_id'] = options.subject;
    if (options.name !== undefined) claims['name'] = options.name;
    if (options.actor !== undefined) claims['act'] = { sub: options.actor };
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'EdDSA', kid: this.#kid, typ: 'at+jwt' })
      .setIssuer(DEV_ISSUER)
      .setAudience(DEV_AUDIENCE)
      .setSubject(options.subject)
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(iat + Math.floor(ttlSeconds))
      .sign(this.#privateKey);
  }
}
