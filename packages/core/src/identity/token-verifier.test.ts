import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import type { JWK } from 'jose';
import { startOidcProvider } from '@warden/testing';
import type { TestOidcProvider } from '@warden/testing';
import type { Clock } from '../clock';
import { WardenError } from '../errors';
import { DEV_AUDIENCE, DEV_ISSUER, DevIssuer } from './dev-issuer';
import type { IssuerConfig } from './issuer-config';
import { TokenVerifier } from './token-verifier';
import type { TokenVerifierOptions } from './token-verifier';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const claimsOf = (token: string): Record<string, unknown> => JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>;
const expOf = (token: string) => new Date((claimsOf(token)['exp'] as number) * 1000);

/** A clock the test moves by hand. */
function manualClock(start = new Date()): Clock & { set(date: Date): void } {
  let now = start;
  return { now: () => now, set: (date) => (now = date) };
}

/** The global fetch, counting what it fetched. */
function countingFetch(): { fetch: typeof fetch; urls: string[] } {
  const urls: string[] = [];
  return {
    urls,
    fetch: (input, init) => {
      urls.push(input instanceof Request ? input.url : String(input));
      return fetch(input, init);
    },
  };
}

/** The refusal's message, after checking it is an `unauthenticated` WardenError that does not echo the token. */
async function refusalOf(verifier: TokenVerifier, token: string): Promise<string> {
  const error: unknown = await verifier.verify(token).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WardenError);
  const refusal = error as WardenError;
  expect(refusal.code).toBe('unauthenticated');
  if (token.length >= 8) expect(refusal.message).not.toContain(token);
  const signature = token.split('.')[2] ?? '';
  if (signature.length >= 8) expect(refusal.message).not.toContain(signature);
  return refusal.message;
}

/** Change one character in the middle of the signature (the last one may only hold padding bits). */
function tamperSignature(token: string): string {
  const [header, payload, signature = ''] = token.split('.');
  const i = Math.floor(signature.length / 2);
  const replacement = signature[i] === 'A' ? 'B' : 'A';
  return `${header}.${payload}.${signature.slice(0, i)}${replacement}${signature.slice(i + 1)}`;
}

describe('TokenVerifier with a real OIDC provider', () => {
  let idp: TestOidcProvider;
  let verifier: TokenVerifier;
  const config = (): IssuerConfig => ({ issuer: idp.issuer, audience: 'warden' });

  beforeAll(async () => {
    idp = await startOidcProvider({
      clients: [
        { clientId: 'ci-agent', clientSecret: 'ci-secret', groups: ['agents', 'deployers'] },
        { clientId: 'no-groups', clientSecret: 'ng-secret' },
      ],
    });
    verifier = new TokenVerifier({ issuers: [config()] });
  });
  afterAll(() => idp.close());

  it('maps a client-credentials token to an agent identity with its groups', async () => {
    const token = await idp.clientCredentialsToken('ci-agent');
    const identity = await verifier.verify(token);
    expect(identity).toEqual({ subject: 'ci-agent', issuer: idp.issuer, groups: ['agents', 'deployers'], kind: 'agent', expiresAt: expOf(token) });
    expect(Object.isFrozen(identity)).toBe(true);
  });

  it('discovers the keys once, and a cache hit fetches nothing', async () => {
    const counting = countingFetch();
    const fresh = new TokenVerifier({ issuers: [config()], fetch: counting.fetch });
    const token = await idp.clientCredentialsToken('ci-agent');

    const first = await fresh.verify(token);
    expect(counting.urls).toEqual([`${idp.issuer}/.well-known/openid-configuration`, `${idp.issuer}/jwks`]);
    const again = await fresh.verify(token);
    expect(again).toBe(first);
    // Another token of the same issuer is verified (not a cache hit) against the cached keys.
    const other = await fresh.verify(await idp.clientCredentialsToken('ci-agent'));
    expect(other).not.toBe(first);
    expect(other.subject).toBe('ci-agent');
    expect(counting.urls).toHaveLength(2);
  });

  it('refuses an expired token, naming when it expired', async () => {
    const token = await idp.clientCredentialsToken('ci-agent');
    const late = new TokenVerifier({ issuers: [config()], clock: { now: () => new Date(expOf(token).getTime() + 60_000) } });
    expect(await refusalOf(late, token)).toBe(`token expired at ${expOf(token).toISOString()}`);
  });

  it('does not serve a cached identity past its token expiry', async () => {
    const clock = manualClock();
    const cached = new TokenVerifier({ issuers: [config()], clock });
    const token = await idp.clientCredentialsToken('ci-agent');
    await cached.verify(token);
    clock.set(new Date(expOf(token).getTime() + 31_000));
    expect(await refusalOf(cached, token)).toBe(`token expired at ${expOf(token).toISOString()}`);
  });

  it('refuses a token for another audience', async () => {
    const token = await idp.clientCredentialsToken('ci-agent', { audience: 'billing-api' });
    expect(claimsOf(token)['aud']).toBe('billing-api');
    expect(await refusalOf(verifier, token)).toBe('token audience does not include warden');
  });

  it('refuses a token whose signature was tampered with', async () => {
    const token = tamperSignature(await idp.clientCredentialsToken('ci-agent'));
    expect(await refusalOf(verifier, token)).toBe('token signature does not verify');
  });

  it('refuses an unsigned token (alg none) and an algorithm outside the list', async () => {
    const [, payload] = (await idp.clientCredentialsToken('ci-agent')).split('.');
    expect(await refusalOf(verifier, `${b64({ alg: 'none' })}.${payload}.`)).toBe('unsigned tokens (alg none) are not accepted');
    expect(await refusalOf(verifier, `${b64({ typ: 'JWT' })}.${payload}.c2lnbmF0dXJl`)).toBe('token header has no alg');
    // The classic key-confusion attempt: HMAC "signed" with the issuer's public key.
    expect(await refusalOf(verifier, `${b64({ alg: 'HS256', typ: 'JWT' })}.${payload}.c2lnbmF0dXJl`)).toBe(`token algorithm HS256 is not accepted for ${idp.issuer}`);
  });

  it('refuses a token without the groups claim unless groups are optional', async () => {
    const token = await idp.clientCredentialsToken('no-groups');
    expect(await refusalOf(verifier, token)).toBe('token has no groups claim');
    const lenient = new TokenVerifier({ issuers: [{ ...config(), requireGroups: false }] });
    expect(await lenient.verify(token)).toMatchObject({ subject: 'no-groups', groups: [], kind: 'agent' });
  });

  it('refuses a token from an issuer it does not trust', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'warden-dev-'));
    try {
      const dev = await DevIssuer.loadOrCreate(dir);
      const token = await dev.issue({ subject: 'alice', groups: ['dba'] });
      expect(await refusalOf(verifier, token)).toBe(`token issuer ${DEV_ISSUER} is not trusted`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses what is not a JWT', async () => {
    expect(await refusalOf(verifier, 'hunter2')).toBe('credential is not a JWT');
    expect(await refusalOf(verifier, 'a.b.c')).toBe('credential is not a JWT');
    expect(await refusalOf(verifier, `${b64({ alg: 'RS256' })}.${b64('not an object')}.sig`)).toBe('credential is not a JWT');
    expect(await refusalOf(verifier, 'x'.repeat(20_000))).toBe('credential is too long to be a token');
    expect(await refusalOf(verifier, '')).toBe('no credential was given');
  });

  it('refuses when the signing keys cannot be fetched', async () => {
    const unreachable = new TokenVerifier({ issuers: [{ ...config(), jwksUri: 'http://127.0.0.1:1/jwks' }] });
    const token = await idp.clientCredentialsToken('ci-agent');
    expect(await refusalOf(unreachable, token)).toBe(`cannot fetch signing keys for ${idp.issuer}`);
  });

  it('retries discovery on the next verification after a failure', async () => {
    let fail = true;
    const flaky: typeof fetch = (input, init) => (fail ? Promise.reject(new TypeError('fetch failed')) : fetch(input, init));
    const retrying = new TokenVerifier({ issuers: [config()], fetch: flaky });
    const token = await idp.clientCredentialsToken('ci-agent');
    expect(await refusalOf(retrying, token)).toBe(`cannot fetch signing keys for ${idp.issuer}`);
    fail = false;
    expect((await retrying.verify(token)).subject).toBe('ci-agent');
  });

  it('refuses keys from a discovery document that names another issuer', async () => {
    const lying: typeof fetch = async () => Response.json({ issuer: 'https://evil.example', jwks_uri: `${idp.issuer}/jwks` });
    const misled = new TokenVerifier({ issuers: [config()], fetch: lying });
    expect(await refusalOf(misled, await idp.clientCredentialsToken('ci-agent'))).toBe(`cannot fetch signing keys for ${idp.issuer}`);
  });
});

describe('TokenVerifier with the dev issuer', () => {
  let dir: string;
  let dev: DevIssuer;
  let verifier: TokenVerifier;
  const options = (extra: Partial<IssuerConfig> = {}, rest: Partial<TokenVerifierOptions> = {}): TokenVerifierOptions => ({
    issuers: [{ ...dev.issuerConfig(), ...extra }],
    localKeys: new Map([[DEV_ISSUER, dev.publicJwks()]]),
    ...rest,
  });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'warden-dev-'));
    dev = await DevIssuer.loadOrCreate(join(dir, 'data'));
    verifier = new TokenVerifier(options({ agentGroups: ['robots'] }));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('verifies a human token with name and groups', async () => {
    const token = await dev.issue({ subject: 'alice', groups: ['dba', 'oncall'], name: 'Alice Adams' });
    expect(await verifier.verify(token)).toEqual({
      subject: 'alice',
      issuer: DEV_ISSUER,
      groups: ['dba', 'oncall'],
      kind: 'human',
      name: 'Alice Adams',
      expiresAt: expOf(token),
    });
    expect(claimsOf(token)).toMatchObject({ iss: DEV_ISSUER, aud: DEV_AUDIENCE });
  });

  it('marks agent tokens and members of agent groups as agents', async () => {
    const agent = await dev.issue({ subject: 'etl-job', groups: ['loaders'], kind: 'agent' });
    expect(claimsOf(agent)['client_id']).toBe('etl-job');
    expect(await verifier.verify(agent)).toMatchObject({ subject: 'etl-job', kind: 'agent' });
    const robot = await dev.issue({ subject: 'bob', groups: ['robots'] });
    expect(await verifier.verify(robot)).toMatchObject({ subject: 'bob', kind: 'agent' });
  });

  it('records the act claim as the actor chain', async () => {
    const token = await dev.issue({ subject: 'alice', groups: ['dba'], actor: 'claude-agent' });
    expect((await verifier.verify(token)).actors).toEqual([{ subject: 'claude-agent' }]);
  });

  it('refuses a dev token that is expired or not yet valid, by the injected clock', async () => {
    const issuedAt = new Date('2030-01-01T00:00:00Z');
    const token = await dev.issue({ subject: 'alice', groups: ['dba'], ttlSeconds: 60, now: issuedAt });
    const before = new TokenVerifier(options({}, { clock: { now: () => new Date('2029-12-31T23:00:00Z') } }));
    expect(await refusalOf(before, token)).toBe('token is not valid before 2030-01-01T00:00:00.000Z');
    const during = new TokenVerifier(options({}, { clock: { now: () => new Date('2030-01-01T00:00:30Z') } }));
    expect((await during.verify(token)).subject).toBe('alice');
    const after = new TokenVerifier(options({}, { clock: { now: () => new Date('2030-01-01T00:02:00Z') } }));
    expect(await refusalOf(after, token)).toBe('token expired at 2030-01-01T00:01:00.000Z');
  });

  it('keeps its key across restarts, in a file only its owner can read', async () => {
    const { stat } = await import('node:fs/promises');
    const again = await DevIssuer.loadOrCreate(join(dir, 'data'));
    expect(again.kid).toBe(dev.kid);
    expect((await stat(join(dir, 'data', 'dev-issuer.jwk.json'))).mode & 0o777).toBe(0o600);
    const token = await again.issue({ subject: 'alice', groups: ['dba'] });
    expect((await verifier.verify(token)).subject).toBe('alice');
  });
});

describe('TokenVerifier with hand-made tokens', () => {
  const issuer = 'https://idp.example.test';
  let sign: (claims: Record<string, unknown>) => Promise<string>;
  let verifier: TokenVerifier;
  let jwks: { keys: JWK[] };

  beforeAll(async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
    jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' }] };
    sign = (claims) =>
      new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer(issuer).setAudience(['warden', 'other']).setIssuedAt().setExpirationTime('10m').sign(privateKey);
    verifier = new TokenVerifier({ issuers: [{ issuer, audience: 'warden', groupsClaim: 'realm_access.roles' }], localKeys: new Map([[issuer, jwks]]) });
  });

  it('follows a nested act chain, outermost actor first', async () => {
    const token = await sign({
      sub: 'alice',
      realm_access: { roles: ['dba'] },
      act: { sub: 'agent-b', iss: 'https://agents.example.test', act: { sub: 'agent-a' } },
    });
    expect((await verifier.verify(token)).actors).toEqual([{ subject: 'agent-b', issuer: 'https://agents.example.test' }, { subject: 'agent-a' }]);
  });

  it('reads groups from a nested claim path and from a separated string', async () => {
    expect((await verifier.verify(await sign({ sub: 'alice', realm_access: { roles: ['a', 'b'] } }))).groups).toEqual(['a', 'b']);
    const flat = new TokenVerifier({ issuers: [{ issuer, audience: 'warden' }], localKeys: new Map([[issuer, jwks]]) });
    expect((await flat.verify(await sign({ sub: 'alice', groups: 'dba, oncall  readers,dba' }))).groups).toEqual(['dba', 'oncall', 'readers']);
  });

  it('uses client_id or azp as the subject of a token without sub, as an agent', async () => {
    expect(await verifier.verify(await sign({ client_id: 'svc-1', realm_access: { roles: ['x'] } }))).toMatchObject({ subject: 'svc-1', kind: 'agent' });
    expect(await verifier.verify(await sign({ azp: 'svc-2', realm_access: { roles: ['x'] } }))).toMatchObject({ subject: 'svc-2', kind: 'agent' });
    expect(await verifier.verify(await sign({ sub: 'alice', client_id: 'web-app', realm_access: { roles: ['x'] }, preferred_username: 'alice@example.test' }))).toMatchObject({
      subject: 'alice',
      kind: 'human',
      name: 'alice@example.test',
    });
  });

  it('refuses malformed act and groups claims', async () => {
    expect(await refusalOf(verifier, await sign({ sub: 'alice', realm_access: { roles: ['dba'] }, act: 'agent' }))).toBe('token act claim is not an object');
    expect(await refusalOf(verifier, await sign({ sub: 'alice', realm_access: { roles: [1, 2] } }))).toBe('token realm_access.roles claim is not a list of strings');
  });

  it('refuses a token signed by a key the issuer does not publish', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const token = await new SignJWT({ sub: 'alice', realm_access: { roles: ['dba'] } })
      .setProtectedHeader({ alg: 'ES256', kid: 'k2' })
      .setIssuer(issuer)
      .setAudience('warden')
      .setExpirationTime('10m')
      .sign(privateKey);
    expect(await refusalOf(verifier, token)).toBe(`token signing key is not one of ${issuer}'s keys`);
  });

  it('refuses a token without exp', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const jwk = await exportJWK(publicKey);
    const noExp = new TokenVerifier({ issuers: [{ issuer, audience: 'warden', requireGroups: false }], localKeys: new Map([[issuer, { keys: [jwk] }]]) });
    const token = await new SignJWT({ sub: 'alice' }).setProtectedHeader({ alg: 'ES256' }).setIssuer(issuer).setAudience('warden').sign(privateKey);
    expect(await refusalOf(noExp, token)).toBe('token has no exp claim');
  });

  describe('maximum token lifetime (long-lived-token bypass)', () => {
    let privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
    let lifetimeKeys: { keys: JWK[] };
    const now = new Date('2030-06-01T00:00:00Z');
    const nowSeconds = now.getTime() / 1000;
    const verifierWith = (maxLifetimeSeconds?: number) =>
      new TokenVerifier({
        issuers: [{ issuer, audience: 'warden', requireGroups: false }],
        localKeys: new Map([[issuer, lifetimeKeys]]),
        clock: { now: () => now },
        ...(maxLifetimeSeconds === undefined ? {} : { maxLifetimeSeconds }),
      });
    const token = (iat: number | undefined, exp: number) => {
      const jwt = new SignJWT({ sub: 'alice' }).setProtectedHeader({ alg: 'ES256' }).setIssuer(issuer).setAudience('warden').setExpirationTime(exp);
      return (iat === undefined ? jwt : jwt.setIssuedAt(iat)).sign(privateKey);
    };

    beforeAll(async () => {
      const pair = await generateKeyPair('ES256');
      privateKey = pair.privateKey;
      lifetimeKeys = { keys: [await exportJWK(pair.publicKey)] };
    });

    it('accepts a token of exactly the default maximum, one day, and refuses one a second longer, without echoing it', async () => {
      expect((await verifierWith().verify(await token(nowSeconds - 60, nowSeconds - 60 + 86_400))).subject).toBe('alice');
      expect(await refusalOf(verifierWith(), await token(nowSeconds - 60, nowSeconds - 60 + 86_401))).toBe(
        'token lifetime (86401 s from its iat to its exp) is longer than the 86400 s this gateway accepts (identity.maxTokenLifetimeSeconds); use a shorter-lived token',
      );
    });

    it('measures from now for a token without iat', async () => {
      expect(await refusalOf(verifierWith(3600), await token(undefined, nowSeconds + 7200))).toBe(
        'token lifetime (7200 s from now to its exp) is longer than the 3600 s this gateway accepts (identity.maxTokenLifetimeSeconds); use a shorter-lived token',
      );
      expect((await verifierWith(3600).verify(await token(undefined, nowSeconds + 1800))).subject).toBe('alice');
    });

    it('refuses a ten-year token even though it is validly signed and not expired', async () => {
      expect(await refusalOf(verifierWith(), await token(nowSeconds, nowSeconds + 10 * 365 * 86_400))).toMatch(/^token lifetime \(315360000 s from its iat/);
    });

    it('is a config error when not a positive number', () => {
      for (const bad of [0, -1, Number.NaN]) expect(() => verifierWith(bad)).toThrow(/maximum token lifetime/);
    });
  });
});

describe('TokenVerifier configuration', () => {
  const configError = (options: TokenVerifierOptions): WardenError => {
    try {
      new TokenVerifier(options);
    } catch (error) {
      expect(error).toBeInstanceOf(WardenError);
      expect((error as WardenError).code).toBe('config');
      return error as WardenError;
    }
    throw new Error('expected a config error');
  };

  it('refuses plain http except on loopback', () => {
    expect(configError({ issuers: [{ issuer: 'http://idp.example.com', audience: 'warden' }] }).path).toEqual(['issuers', 0, 'issuer']);
    expect(configError({ issuers: [{ issuer: 'https://idp.example.com', audience: 'warden', jwksUri: 'http://idp.example.com/jwks' }] }).path).toEqual(['issuers', 0, 'jwksUri']);
    for (const issuer of ['http://127.0.0.1:8080', 'http://localhost:8080', 'http://[::1]:8080', 'https://idp.example.com']) {
      expect(new TokenVerifier({ issuers: [{ issuer, audience: 'warden' }] })).toBeInstanceOf(TokenVerifier);
    }
  });

  it('refuses symmetric algorithms, duplicate issuers, stray local keys and keyless URN issuers', () => {
    configError({ issuers: [{ issuer: 'https://idp.example.com', audience: 'warden', algorithms: ['HS256'] }] });
    configError({ issuers: [{ issuer: 'https://idp.example.com', audience: 'warden' }, { issuer: 'https://idp.example.com', audience: 'x' }] });
    configError({ issuers: [{ issuer: 'https://idp.example.com', audience: 'warden' }], localKeys: new Map([['https://other.example.com', { keys: [] }]]) });
    configError({ issuers: [{ issuer: DEV_ISSUER, audience: DEV_AUDIENCE }] });
    configError({ issuers: [] });
  });
});
