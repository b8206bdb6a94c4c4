/**
 * Where one issuer's signing keys come from: a local key set, a configured `jwks_uri`, or the
 * issuer's OIDC discovery document. The remote key set is created once and reused: jose caches
 * the keys, and refetches (with a cooldown) when a token names a key it has not seen.
 */
import { createLocalJWKSet, createRemoteJWKSet, customFetch, errors } from 'jose';
import type { FetchImplementation, JSONWebKeySet, JWTVerifyGetKey } from 'jose';
import { isAcceptableKeyUrl, parseUrl } from './issuer-config';
import type { ResolvedIssuerConfig } from './issuer-config';

const DISCOVERY_TIMEOUT_MS = 5000;

/** The issuer's keys could not be obtained (network, HTTP status, bad document). Not the token's fault. */
export class KeyFetchError extends Error {
  override readonly name = 'KeyFetchError';
}

/** Errors jose raises about the token against a key set that was obtained fine. */
function isTokenKeyError(error: unknown): boolean {
  return (
    error instanceof errors.JWKSNoMatchingKey ||
    error instanceof errors.JWKSMultipleMatchingKeys ||
    error instanceof errors.JOSEAlgNotAllowed ||
    error instanceof errors.JOSENotSupported ||
    error instanceof errors.JWKInvalid
  );
}

export interface IssuerKeysOptions {
  readonly fetch?: typeof fetch;
  readonly localKeys?: JSONWebKeySet;
}

export class IssuerKeys {
  readonly #config: ResolvedIssuerConfig;
  readonly #fetch: typeof fetch;
  readonly #customFetch: boolean;
  #keys: JWTVerifyGetKey | undefined;
  #discovery: Promise<JWTVerifyGetKey> | undefined;

  /** Throws (jose's error) when `localKeys` is not a valid JWK set. */
  constructor(config: ResolvedIssuerConfig, options: IssuerKeysOptions = {}) {
    this.#config = config;
    this.#customFetch = options.fetch !== undefined;
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
    if (options.localKeys) this.#keys = createLocalJWKSet(options.localKeys);
    else if (config.jwksUri) this.#keys = this.#remote(config.jwksUri);
  }

  /** The key-resolution function for `jwtVerify`; discovers the issuer's `jwks_uri` on first use. */
  async keys(): Promise<JWTVerifyGetKey> {
    if (this.#keys) return this.#keys;
    this.#discovery ??= this.#discover().then(
      (keys) => {
        this.#keys = keys;
        return keys;
      },
      (error: unknown) => {
        // Retry on the next verification rather than remember an outage.
        this.#discovery = undefined;
        throw error;
      },
    );
    return this.#discovery;
  }

  #remote(jwksUri: string): JWTVerifyGetKey {
    const remote = createRemoteJWKSet(new URL(jwksUri), this.#customFetch ? { [customFetch]: this.#fetch as FetchImplementation } : {});
    return async (header, token) => {
      try {
        return await remote(header, token);
      } catch (error) {
        if (isTokenKeyError(error)) throw error;
        throw new KeyFetchError(`cannot fetch ${jwksUri}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
    };
  }

  async #discover(): Promise<JWTVerifyGetKey> {
    const issuer = this.#config.issuer;
    const url = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
    let document: unknown;
    try {
      const response = await this.#fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(DISCOVERY_TIMEOUT_MS) });
      if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
      document = await response.json();
    } catch (error) {
      throw new KeyFetchError(`cannot fetch ${url}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    if (document === null || typeof document !== 'object') throw new KeyFetchError(`${url} is not a JSON object`);
    const { issuer: documentIssuer, jwks_uri: jwksUri } = document as Record<string, unknown>;
    if (documentIssuer !== issuer) throw new KeyFetchError(`${url} names issuer ${String(documentIssuer)}, not ${issuer}`);
    const jwksUrl = typeof jwksUri === 'string' ? parseUrl(jwksUri) : undefined;
    if (!jwksUrl) throw new KeyFetchError(`${url} has no valid jwks_uri`);
    if (!isAcceptableKeyUrl(jwksUrl)) throw new KeyFetchError(`${url} names a jwks_uri without https: ${jwksUrl.href}`);
    return this.#remote(jwksUrl.href);
  }
}
