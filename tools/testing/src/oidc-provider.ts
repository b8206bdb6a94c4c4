/**
 * A real OIDC provider (oidc-provider 9) in-process on 127.0.0.1, for tests that need genuine
 * issuer behaviour: discovery, a JWKS endpoint, client authentication and signed JWT access tokens.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import type { JWK } from 'jose';
import { Provider } from 'oidc-provider';
import type { ProviderToken } from 'oidc-provider';

export interface TestOidcClient {
  readonly clientId: string;
  readonly clientSecret: string;
  /** Put in the access token as the `groups` claim; when omitted, the token has no `groups` claim. */
  readonly groups?: readonly string[];
}

export interface StartOidcProviderOptions {
  /** Confidential clients allowed the client_credentials grant; default one: `test-agent` / `test-agent-secret`, groups `['agents']`. */
  readonly clients?: readonly TestOidcClient[];
  /** The `aud` of access tokens when the client names no other; default `warden`. */
  readonly audience?: string;
  /** Access token lifetime; default 3600. */
  readonly accessTokenTtlSeconds?: number;
}

export interface TestOidcProvider {
  /** `http://127.0.0.1:<port>`; discovery at `${issuer}/.well-known/openid-configuration`. */
  readonly issuer: string;
  /** The default audience of its access tokens. */
  readonly audience: string;
  /** A JWT access token from the client_credentials grant (client_secret_basic), for `audience` or the default. */
  clientCredentialsToken(clientId: string, options?: { readonly audience?: string }): Promise<string>;
  close(): Promise<void>;
}

export const DEFAULT_TEST_CLIENT: TestOidcClient = { clientId: 'test-agent', clientSecret: 'test-agent-secret', groups: ['agents'] };

/**
 * RFC 8707 resource indicators must be absolute URIs, while audiences such as `warden` are not:
 * a plain audience travels as a URN and the resource server info maps it back.
 */
const AUDIENCE_URN = 'urn:warden:test-audience:';

function isAbsoluteUri(text: string): boolean {
  try {
    new URL(text);
    return true;
  } catch {
    return false;
  }
}

function resourceIndicatorFor(audience: string): string {
  return isAbsoluteUri(audience) && !audience.startsWith(AUDIENCE_URN) ? audience : `${AUDIENCE_URN}${encodeURIComponent(audience)}`;
}

function audienceFor(resourceIndicator: string): string {
  return resourceIndicator.startsWith(AUDIENCE_URN) ? decodeURIComponent(resourceIndicator.slice(AUDIENCE_URN.length)) : resourceIndicator;
}

let signingKey: Promise<JWK> | undefined;

/** One RSA key per process: generating it is the slowest part of starting a provider. */
function rsaSigningKey(): Promise<JWK> {
  signingKey ??= generateKeyPair('RS256', { extractable: true, modulusLength: 2048 })
    .then(({ privateKey }) => exportJWK(privateKey))
    .then((jwk) => ({ ...jwk, kid: `test-${randomBytes(6).toString('hex')}`, alg: 'RS256', use: 'sig' }));
  return signingKey;
}

/**
 * Start a provider on a free loopback port. Close it after the suite.
 *
 * @example
 * ```ts
 * const idp = await startOidcProvider({ clients: [{ clientId: 'ci', clientSecret: 's', groups: ['agents'] }] });
 * const token = await idp.clientCredentialsToken('ci'); // aud 'warden', groups ['agents']
 * await idp.close();
 * ```
 */
export async function startOidcProvider(options: StartOidcProviderOptions = {}): Promise<TestOidcProvider> {
  const clients = options.clients ?? [DEFAULT_TEST_CLIENT];
  const audience = options.audience ?? 'warden';
  const accessTokenTtl = options.accessTokenTtlSeconds ?? 3600;
  const byId = new Map(clients.map((client) => [client.clientId, client]));

  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}`;

  let provider: Provider;
  try {
    provider = new Provider(issuer, {
      clients: clients.map((client) => ({
        client_id: client.clientId,
        client_secret: client.clientSecret,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
      })),
      jwks: { keys: [await rsaSigningKey()] },
      cookies: { keys: [randomBytes(32).toString('hex')] },
      ttl: { ClientCredentials: accessTokenTtl },
      features: {
        devInteractions: { enabled: false },
        clientCredentials: { enabled: true },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => resourceIndicatorFor(audience),
          useGrantedResource: () => true,
          getResourceServerInfo: (_ctx: unknown, resourceIndicator: string) => ({
            audience: audienceFor(resourceIndicator),
            scope: '',
            accessTokenFormat: 'jwt',
            accessTokenTTL: accessTokenTtl,
          }),
        },
      },
      extraTokenClaims: (_ctx: unknown, token: ProviderToken) => {
        const groups = token.clientId === undefined ? undefined : byId.get(token.clientId)?.groups;
        return groups === undefined ? undefined : { groups: [...groups] };
      },
    });
  } catch (error) {
    server.close();
    throw error;
  }
  server.on('request', provider.callback());

  const tokenEndpoint = `${issuer}/token`;
  return {
    issuer,
    audience,
    async clientCredentialsToken(clientId, tokenOptions = {}) {
      const client = byId.get(clientId);
      if (!client) throw new Error(`startOidcProvider: no client ${clientId}`);
      // RFC 6749 §2.3.1: id and secret are form-urlencoded before they are joined for Basic.
      const basic = Buffer.from(`${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret)}`).toString('base64');
      const body = new URLSearchParams({ grant_type: 'client_credentials' });
      if (tokenOptions.audience !== undefined) body.set('resource', resourceIndicatorFor(tokenOptions.audience));
      const response = await fetch(tokenEndpoint, {
        method: 'POST',
        headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body,
      });
      const result = (await response.json()) as { access_token?: unknown; error?: unknown; error_description?: unknown };
      if (response.status !== 200 || typeof result.access_token !== 'string') {
        throw new Error(`startOidcProvider: token request for ${clientId} failed: HTTP ${response.status} ${String(result.error)} ${String(result.error_description)}`);
      }
      return result.access_token;
    },
    close() {
      return new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}
