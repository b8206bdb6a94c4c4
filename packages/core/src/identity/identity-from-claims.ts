/**
 * Map the claims of a verified access token to a Warden `Identity`. Runs only after the signature,
 * issuer, audience and lifetime checked out; what it refuses is a token whose claims are unusable.
 */
import { WardenError } from '../errors';
import type { Actor, Identity, IdentityKind } from '../events';
import type { ResolvedIssuerConfig } from './issuer-config';

/** RFC 8693 chains are short in practice; a deep one is a malformed (or hostile) token. */
const MAX_ACTOR_DEPTH = 16;
const MAX_GROUPS = 1000;

type Claims = Readonly<Record<string, unknown>>;

/** A claim value from the token, made safe to put in a message shown to a client. */
export function printable(value: unknown, max = 100): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

function refuse(message: string): never {
  throw new WardenError('unauthenticated', message);
}

function nonEmptyString(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function readGroupsClaim(claims: Claims, claim: string): unknown {
  if (Object.hasOwn(claims, claim)) return claims[claim];
  if (!claim.includes('.')) return undefined;
  let value: unknown = claims;
  for (const part of claim.split('.')) {
    if (value === null || typeof value !== 'object' || Array.isArray(value) || !Object.hasOwn(value, part)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** Groups as an array of strings, or one string separated by spaces or commas. */
export function parseGroups(claims: Claims, config: ResolvedIssuerConfig): string[] {
  const raw = readGroupsClaim(claims, config.groupsClaim);
  if (raw === undefined || raw === null) {
    if (config.requireGroups) refuse(`token has no ${config.groupsClaim} claim`);
    return [];
  }
  let list: unknown[];
  if (typeof raw === 'string') list = raw.split(/[\s,]+/);
  else if (Array.isArray(raw)) list = raw;
  else return refuse(`token ${config.groupsClaim} claim is not a list of strings`);
  if (list.length > MAX_GROUPS) refuse(`token ${config.groupsClaim} claim has more than ${MAX_GROUPS} groups`);
  const groups = new Set<string>();
  for (const group of list) {
    if (typeof group !== 'string') refuse(`token ${config.groupsClaim} claim is not a list of strings`);
    if (group.length > 0) groups.add(group);
  }
  return [...groups];
}

/** The RFC 8693 `act` chain, outermost (current) actor first. */
export function parseActors(claims: Claims): Actor[] | undefined {
  let act = claims['act'];
  if (act === undefined) return undefined;
  const actors: Actor[] = [];
  while (act !== undefined) {
    if (act === null || typeof act !== 'object' || Array.isArray(act)) refuse('token act claim is not an object');
    const link = act as Record<string, unknown>;
    const subject = nonEmptyString(link['sub']);
    if (!subject) refuse('token act claim has no sub');
    if (link['iss'] !== undefined && !nonEmptyString(link['iss'])) refuse('token act claim has an invalid iss');
    const issuer = nonEmptyString(link['iss']);
    actors.push(issuer === undefined ? { subject } : { subject, issuer });
    if (actors.length > MAX_ACTOR_DEPTH) refuse(`token act claim is nested deeper than ${MAX_ACTOR_DEPTH}`);
    act = link['act'];
  }
  return actors;
}

/** Build the identity; `claims` must already be verified (signature, iss, aud, exp, nbf). */
export function identityFromClaims(claims: Claims, config: ResolvedIssuerConfig): Identity {
  const exp = claims['exp'];
  if (typeof exp !== 'number' || !Number.isFinite(exp)) refuse('token has no exp claim');

  const sub = nonEmptyString(claims['sub']);
  const clientId = nonEmptyString(claims['client_id']);
  const subject = sub ?? clientId ?? nonEmptyString(claims['azp']);
  if (!subject) refuse('token has no sub claim');

  const groups = parseGroups(claims, config);
  // A client-credentials token names no user: it has no `sub`, or its `sub` is the client itself.
  const clientCredentials = sub === undefined || (clientId !== undefined && sub === clientId);
  const kind: IdentityKind = clientCredentials || groups.some((g) => config.agentGroups.has(g)) ? 'agent' : 'human';
  const name = nonEmptyString(claims['name']) ?? nonEmptyString(claims['preferred_username']) ?? nonEmptyString(claims['email']);
  const actors = parseActors(claims);

  // Frozen: a cached identity is shared by every session that presents the same token.
  return Object.freeze({
    subject,
    issuer: config.issuer,
    groups: Object.freeze(groups),
    kind,
    ...(name === undefined ? {} : { name }),
    ...(actors === undefined ? {} : { actors: Object.freeze(actors.map((a) => Object.freeze(a))) }),
    expiresAt: new Date(exp * 1000),
  });
}
