/**
 * One trusted token issuer, and the checks that make its configuration safe to use.
 */
import { WardenError } from '../errors';

/** A trusted OIDC issuer whose JWT access tokens Warden accepts. */
export interface IssuerConfig {
  /** Exactly the `iss` value of its tokens (and of its discovery document). */
  readonly issuer: string;
  /** Tokens must name at least one of these in `aud`. */
  readonly audience: string | readonly string[];
  /** Where the signing keys are; else discovered from `issuer + '/.well-known/openid-configuration'`. */
  readonly jwksUri?: string;
  /**
   * The claim holding the groups; default `groups`. A name that is not a claim of the token but has
   * dots is followed as a path (`realm_access.roles`).
   */
  readonly groupsClaim?: string;
  /** Identities in any of these groups are kind `agent`. */
  readonly agentGroups?: readonly string[];
  /** Accepted JWS algorithms; default `RS256`, `ES256`, `EdDSA`, `PS256`. Asymmetric only. */
  readonly algorithms?: readonly string[];
  /** Leeway for `exp` and `nbf`; default 30. */
  readonly clockToleranceSeconds?: number;
  /** Default true: a token without the groups claim is refused. */
  readonly requireGroups?: boolean;
}

/** An `IssuerConfig` with its defaults filled in. */
export interface ResolvedIssuerConfig {
  readonly issuer: string;
  readonly audience: readonly string[];
  readonly jwksUri?: string;
  readonly groupsClaim: string;
  readonly agentGroups: ReadonlySet<string>;
  readonly algorithms: readonly string[];
  readonly clockToleranceSeconds: number;
  readonly requireGroups: boolean;
}

export const DEFAULT_ALGORITHMS: readonly string[] = ['RS256', 'ES256', 'EdDSA', 'PS256'];
export const DEFAULT_GROUPS_CLAIM = 'groups';
export const DEFAULT_CLOCK_TOLERANCE_SECONDS = 30;

/** Asymmetric JWS algorithms (RFC 7518, RFC 8037); keys come from public JWKS, so HMAC makes no sense. */
const ASYMMETRIC_ALGORITHMS = new Set(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519']);

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** `new URL` without the throw (`URL.parse` is not in Node 20's typings). */
export function parseUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

/** Plain http carries bearer-token trust in the clear; only a loopback address makes that acceptable. */
export function isAcceptableKeyUrl(url: URL): boolean {
  if (url.protocol === 'https:') return true;
  return url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname);
}

/**
 * Fill in defaults and refuse what cannot work or would be unsafe, as `WardenError('config')`.
 * `hasLocalKeys` says whether the verifier was given the issuer's key set directly, in which case
 * the issuer may be a URN (the dev issuer is `urn:warden:dev`) and nothing is fetched.
 */
export function resolveIssuerConfig(config: IssuerConfig, path: readonly (string | number)[], hasLocalKeys: boolean): ResolvedIssuerConfig {
  const fail = (message: string, key: string): never => {
    throw new WardenError('config', message, { path: [...path, key] });
  };
  if (typeof config.issuer !== 'string' || config.issuer.length === 0) fail('issuer must be a non-empty string', 'issuer');

  const audience = typeof config.audience === 'string' ? [config.audience] : Array.isArray(config.audience) ? [...config.audience] : [];
  if (audience.length === 0 || audience.some((a) => typeof a !== 'string' || a.length === 0)) {
    fail(`audience of ${config.issuer} must be a non-empty string or list of strings`, 'audience');
  }

  if (config.jwksUri !== undefined) {
    const url = parseUrl(config.jwksUri);
    if (!url) fail(`jwksUri of ${config.issuer} is not a URL`, 'jwksUri');
    else if (!isAcceptableKeyUrl(url)) fail(`jwksUri of ${config.issuer} must use https (plain http only on a loopback address)`, 'jwksUri');
  }

  const issuerUrl = parseUrl(config.issuer);
  if (issuerUrl && (issuerUrl.protocol === 'http:' || issuerUrl.protocol === 'https:')) {
    if (!isAcceptableKeyUrl(issuerUrl)) fail(`issuer ${config.issuer} must use https (plain http only on a loopback address)`, 'issuer');
  } else if (!hasLocalKeys && config.jwksUri === undefined) {
    fail(`issuer ${config.issuer} is not an http(s) URL, so its keys cannot be discovered: give jwksUri or local keys`, 'issuer');
  }

  const algorithms = config.algorithms === undefined ? [...DEFAULT_ALGORITHMS] : [...config.algorithms];
  if (algorithms.length === 0) fail(`algorithms of ${config.issuer} must not be empty`, 'algorithms');
  for (const alg of algorithms) {
    if (!ASYMMETRIC_ALGORITHMS.has(alg)) fail(`algorithm ${String(alg)} is not accepted: use an asymmetric JWS algorithm`, 'algorithms');
  }

  const clockToleranceSeconds = config.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS;
  if (!Number.isFinite(clockToleranceSeconds) || clockToleranceSeconds < 0 || clockToleranceSeconds > 600) {
    fail('clockToleranceSeconds must be between 0 and 600', 'clockToleranceSeconds');
  }

  const groupsClaim = config.groupsClaim ?? DEFAULT_GROUPS_CLAIM;
  if (typeof groupsClaim !== 'string' || groupsClaim.length === 0) fail('groupsClaim must be a non-empty string', 'groupsClaim');

  return {
    issuer: config.issuer,
    audience,
    ...(config.jwksUri === undefined ? {} : { jwksUri: config.jwksUri }),
    groupsClaim,
    agentGroups: new Set(config.agentGroups ?? []),
    algorithms,
    clockToleranceSeconds,
    requireGroups: config.requireGroups ?? true,
  };
}
