/**
 * Verify an OIDC access token (a JWT) against the issuer that signed it, and map it to an
 * `Identity`. Every refusal is a `WardenError('unauthenticated')` whose message says why, is safe
 * to show the client, and never contains the token.
 */
import { decodeJwt, decodeProtectedHeader, errors, jwtVerify } from 'jose';
import type { JSONWebKeySet, JWTPayload } from 'jose';
import { systemClock } from '../clock';
import type { Clock } from '../clock';
import { WardenError } from '../errors';
import type { Identity } from '../events';
import { identityFromClaims, printable } from './identity-from-claims';
import { resolveIssuerConfig } from './issuer-config';
import type { IssuerConfig, ResolvedIssuerConfig } from './issuer-config';
import { IssuerKeys, KeyFetchError } from './issuer-keys';
import { VerifiedTokenCache } from './verified-token-cache';
import type { VerifiedTokenCacheOptions } from './verified-token-cache';

/** Real access tokens are a few KiB; anything much larger is not worth hashing or decoding. */
const MAX_TOKEN_LENGTH = 16 * 1024;

export interface TokenVerifierOptions {
  /** The trusted issuers; a token from any other is refused. */
  readonly issuers: readonly IssuerConfig[];
  /** Token lifetimes are checked against this clock. */
  readonly clock?: Clock;
  /** Used for OIDC discovery and for fetching key sets; the global `fetch` by default. */
  readonly fetch?: typeof fetch;
  /** Key sets given directly, by issuer (the dev issuer's); nothing is fetched for these issuers. */
  readonly localKeys?: ReadonlyMap<string, JSONWebKeySet>;
  /** The verified-token cache; `false` turns it off. */
  readonly cache?: VerifiedTokenCacheOptions | false;
  /**
   * The longest lifetime a token may have: `exp` minus `iat` (minus now, for a token without `iat`).
   * A stolen long-lived token is a long-lived key; default `DEFAULT_MAX_TOKEN_LIFETIME_SECONDS` (one day).
   */
  readonly maxLifetimeSeconds?: number;
}

/** One day: longer than any access token an identity provider issues by default. */
export const DEFAULT_MAX_TOKEN_LIFETIME_SECONDS = 86_400;

interface TrustedIssuer {
  readonly config: ResolvedIssuerConfig;
  readonly keys: IssuerKeys;
}

function refuse(message: string, cause?: unknown): never {
  throw new WardenError('unauthenticated', message, cause === undefined ? undefined : { cause });
}

function isoTime(seconds: unknown): string {
  return typeof seconds === 'number' && Number.isFinite(seconds) ? new Date(seconds * 1000).toISOString() : printable(seconds);
}

/** Decode without trusting anything, only to choose the issuer and pre-check the algorithm. */
function decodeUntrusted(token: string): { alg: unknown; claims: JWTPayload } {
  const parts = token.split('.');
  if (parts.length === 5) refuse('encrypted tokens (JWE) are not accepted');
  if (parts.length !== 3) refuse('credential is not a JWT');
  try {
    return { alg: decodeProtectedHeader(token).alg, claims: decodeJwt(token) };
  } catch (error) {
    return refuse('credential is not a JWT', error);
  }
}

/** Translate jose's verification errors into messages a client may see. */
function refusalFor(error: unknown, config: ResolvedIssuerConfig, claims: JWTPayload): WardenError {
  const refusal = (message: string) => new WardenError('unauthenticated', message, { cause: error });
  if (error instanceof KeyFetchError) return refusal(`cannot fetch signing keys for ${config.issuer}`);
  if (error instanceof errors.JWTExpired) return refusal(`token expired at ${isoTime(claims.exp)}`);
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.reason === 'missing') return refusal(`token has no ${printable(error.claim)} claim`);
    switch (error.claim) {
      case 'nbf':
        return error.reason === 'invalid' ? refusal('token nbf claim is not a number') : refusal(`token is not valid before ${isoTime(claims.nbf)}`);
      case 'aud':
        return refusal(`token audience does not include ${config.audience.join(' or ')}`);
      case 'iss':
        return refusal(`token issuer is not ${config.issuer}`);
      default:
        return refusal(`token ${printable(error.claim)} claim is invalid`);
    }
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return refusal('token signature does not verify');
  if (error instanceof errors.JWKSNoMatchingKey) return refusal(`token signing key is not one of ${config.issuer}'s keys`);
  if (error instanceof errors.JWKSMultipleMatchingKeys) return refusal(`token does not say which of ${config.issuer}'s keys signed it`);
  if (error instanceof errors.JOSEAlgNotAllowed) return refusal(`token algorithm is not accepted for ${config.issuer}`);
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return refusal('credential is not a JWT');
  return refusal('token could not be verified');
}

/**
 * Verifies bearer tokens from the configured issuers.
 *
 * @example
 * ```ts
 * const verifier = new TokenVerifier({ issuers: [{ issuer: 'https://login.example.com', audience: 'warden' }] });
 * const identity = await verifier.verify(password); // throws WardenError('unauthenticated')
 * ```
 */
export class TokenVerifier {
  readonly #issuers = new Map<string, TrustedIssuer>();
  readonly #clock: Clock;
  readonly #cache: VerifiedTokenCache | undefined;
  readonly #maxLifetimeSeconds: number;

  /** Throws `WardenError('config')` for an unusable or unsafe issuer configuration. */
  constructor(options: TokenVerifierOptions) {
    this.#clock = options.clock ?? systemClock;
    this.#cache = options.cache === false ? undefined : new VerifiedTokenCache(this.#clock, options.cache);
    this.#maxLifetimeSeconds = options.maxLifetimeSeconds ?? DEFAULT_MAX_TOKEN_LIFETIME_SECONDS;
    if (!Number.isFinite(this.#maxLifetimeSeconds) || this.#maxLifetimeSeconds <= 0) {
      throw new WardenError('config', 'the maximum token lifetime must be a positive number of seconds', { path: ['maxTokenLifetimeSeconds'] });
    }
    if (!Array.isArray(options.issuers) || options.issuers.length === 0) {
      throw new WardenError('config', 'at least one trusted issuer is required', { path: ['issuers'] });
    }
    const localKeys = options.localKeys ?? new Map<string, JSONWebKeySet>();
    options.issuers.forEach((raw, index) => {
      const config = resolveIssuerConfig(raw, ['issuers', index], localKeys.has(raw.issuer));
      if (this.#issuers.has(config.issuer)) {
        throw new WardenError('config', `issuer ${config.issuer} is configured twice`, { path: ['issuers', index, 'issuer'] });
      }
      const local = localKeys.get(config.issuer);
      let keys: IssuerKeys;
      try {
        keys = new IssuerKeys(config, { ...(options.fetch ? { fetch: options.fetch } : {}), ...(local ? { localKeys: local } : {}) });
      } catch (error) {
        throw new WardenError('config', `the key set of ${config.issuer} is invalid`, { cause: error, path: ['issuers', index] });
      }
      this.#issuers.set(config.issuer, { config, keys });
    });
    for (const issuer of localKeys.keys()) {
      if (!this.#issuers.has(issuer)) throw new WardenError('config', `local keys given for ${issuer}, which is not a configured issuer`, { path: ['localKeys'] });
    }
  }

  /** Verify a token and return who it names. Rejects with `WardenError('unauthenticated')`. */
  async verify(token: string): Promise<Identity> {
    if (typeof token !== 'string' || token.length === 0) refuse('no credential was given');
    if (token.length > MAX_TOKEN_LENGTH) refuse('credential is too long to be a token');

    const cacheKey = this.#cache ? VerifiedTokenCache.keyOf(token) : undefined;
    if (cacheKey !== undefined) {
      const cached = this.#cache?.get(cacheKey);
      if (cached) return cached;
    }

    const { alg, claims } = decodeUntrusted(token);
    if (typeof claims.iss !== 'string') refuse('token has no iss claim');
    const trusted = this.#issuers.get(claims.iss);
    if (!trusted) refuse(`token issuer ${printable(claims.iss)} is not trusted`);
    const { config } = trusted;
    if (alg === undefined) refuse('token header has no alg');
    if (alg === 'none') refuse('unsigned tokens (alg none) are not accepted');
    if (typeof alg !== 'string' || !config.algorithms.includes(alg)) {
      refuse(`token algorithm ${printable(alg)} is not accepted for ${config.issuer}`);
    }

    let payload: JWTPayload;
    try {
      const keys = await trusted.keys.keys();
      ({ payload } = await jwtVerify(token, keys, {
        issuer: config.issuer,
        audience: [...config.audience],
        algorithms: [...config.algorithms],
        clockTolerance: config.clockToleranceSeconds,
        currentDate: this.#clock.now(),
        requiredClaims: ['exp'],
      }));
    } catch (error) {
      throw refusalFor(error, config, claims);
    }

    this.#checkLifetime(payload);
    const identity = identityFromClaims(payload, config);
    if (cacheKey !== undefined) this.#cache?.set(cacheKey, identity);
    return identity;
  }

  /** Refuses a token that lives longer than the maximum (`exp` is required, so it is a number here). */
  #checkLifetime(payload: JWTPayload): void {
    const exp = payload.exp as number;
    const from = typeof payload.iat === 'number' ? payload.iat : this.#clock.now().getTime() / 1000;
    const lifetime = Math.ceil(exp - from);
    if (lifetime > this.#maxLifetimeSeconds) {
      const measured = typeof payload.iat === 'number' ? 'from its iat to its exp' : 'from now to its exp';
      refuse(`token lifetime (${lifetime} s ${measured}) is longer than the ${this.#maxLifetimeSeconds} s this gateway accepts (identity.maxTokenLifetimeSeconds); use a shorter-lived token`);
    }
  }

  /** Forget every verified token (e.g. after the trusted issuers' policy changed). */
  clearCache(): void {
    this.#cache?.clear();
  }
}
