/**
 * Warden's side towards kube-apiserver: TLS settings (CA, pinned certificate or, in tests, no
 * verification), Warden's own credential, and the headers that carry the caller's identity
 * (user impersonation, https://kubernetes.io/docs/reference/access-authn-authz/authentication/#user-impersonation).
 */
import { Agent } from 'node:https';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { PeerCertificate } from 'node:tls';
import type { Identity } from '@warden/core';
import type { KubernetesTarget } from './kubernetes-target';

/** TLS options for `https.request` and `ws` towards the target. */
export interface TargetTls {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly rejectUnauthorized: boolean;
  readonly checkServerIdentity?: (host: string, cert: PeerCertificate) => Error | undefined;
}

export function targetTls(target: KubernetesTarget): TargetTls {
  const pinned = target.certSha256;
  return {
    ...(target.ca === undefined ? {} : { ca: target.ca }),
    ...(target.clientCert === undefined ? {} : { cert: target.clientCert, key: target.clientKey! }),
    // A pinned certificate is trusted by its fingerprint alone: no CA chain to check.
    rejectUnauthorized: !target.insecureSkipTlsVerify && pinned === undefined,
    ...(pinned === undefined
      ? {}
      : { checkServerIdentity: (_host: string, cert: PeerCertificate) => (cert.fingerprint256 === pinned ? undefined : new Error('the API server certificate does not match the pinned certSha256')) }),
  };
}

export function targetAgent(target: KubernetesTarget): Agent {
  return new Agent({ keepAlive: true, maxSockets: 256, ...targetTls(target) });
}

/** Request headers clients may not pass through: hop-by-hop, credentials, impersonation. */
function dropped(name: string): boolean {
  return (
    name === 'authorization' ||
    name === 'host' ||
    name === 'connection' ||
    name === 'keep-alive' ||
    name === 'proxy-authorization' ||
    name === 'proxy-connection' ||
    name === 'te' ||
    name === 'trailer' ||
    name === 'transfer-encoding' ||
    name === 'upgrade' ||
    name.startsWith('impersonate-')
  );
}

/**
 * The headers Warden sends the target: the client's own (minus credentials and any impersonation
 * the client asked for), Warden's credential, and the caller's identity as impersonation headers.
 */
export function targetHeaders(target: KubernetesTarget, client: IncomingHttpHeaders, identity: Identity): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(client)) {
    if (value !== undefined && !dropped(name)) headers[name] = value;
  }
  headers['host'] = target.server.host;
  if (target.token !== undefined) headers['authorization'] = `Bearer ${target.token}`;
  if (target.impersonate) {
    headers['impersonate-user'] = identity.subject;
    if (identity.groups.length > 0) headers['impersonate-group'] = [...identity.groups];
  }
  return headers;
}

/** The target URL for a client request target (`/api/v1/pods?watch=true`). */
export function targetUrl(target: KubernetesTarget, requestTarget: string, scheme: 'https' | 'wss' = 'https'): URL {
  const base = target.server.pathname.replace(/\/$/, '');
  return new URL(`${scheme}://${target.server.host}${base}${requestTarget}`);
}

/**
 * An error on a request sent on a reused keep-alive connection that the server had closed while it
 * sat idle (the documented race of HTTP keep-alive): the request never reached the server, and
 * sending it again on a new connection is safe when the request can be sent again as it was.
 */
export function isStaleConnection(request: { readonly reusedSocket: boolean }, error: Error): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return request.reusedSocket && (code === 'ECONNRESET' || code === 'EPIPE');
}
