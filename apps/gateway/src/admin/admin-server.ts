import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { WardenError, toWardenError, type ApprovalService, type Identity, type IdentityVerifier, type ListenAddress, type Logger, type TlsMaterial } from '@warden/core';
import { issueSshCertificate, type SshCertificateIssuer } from './ssh-certificate-endpoint';

export interface AdminServerOptions {
  readonly listen: ListenAddress;
  readonly tls?: TlsMaterial;
  readonly verifier: IdentityVerifier;
  readonly approvals: ApprovalService;
  readonly log: Logger;
  /** `POST /v1/ssh/certificate`; absent when no ssh connection is configured. */
  readonly sshCertificates?: SshCertificateIssuer;
  /** `POST /v1/audit/evidence-read`: records that the caller read evidence (see evidence/evidence-read.ts). */
  readonly evidenceRead?: (caller: Identity, body: Readonly<Record<string, unknown>>) => Promise<unknown>;
}

export interface AdminServer {
  readonly address: ListenAddress;
  readonly url: string;
  stop(): Promise<void>;
}

/** Largest request body accepted (a reason text). */
const MAX_BODY_BYTES = 64 * 1024;

const STATUS_BY_CODE: Readonly<Partial<Record<WardenError['code'], number>>> = {
  unauthenticated: 401,
  forbidden: 403,
  'not-found': 404,
  conflict: 409,
  config: 400,
  protocol: 400,
  limit: 413,
};

const STATUSES: ReadonlySet<string> = new Set(['pending', 'approved', 'denied', 'expired', 'used']);

/**
 * The admin HTTP API. Every call but `/healthz` carries an OIDC access token from the same issuers
 * the gateway trusts (`Authorization: Bearer …`); what the caller may see and decide is checked on
 * every call against the request's approver groups.
 *
 * - `GET  /v1/approvals[?status=pending]`   requests the caller may decide, and its own
 * - `GET  /v1/approvals/{id}`
 * - `POST /v1/approvals/{id}/approve`        body `{ "reason": "…" }` (optional)
 * - `POST /v1/approvals/{id}/deny`           body `{ "reason": "…" }` (required)
 * - `POST /v1/ssh/certificate`               body `{ "connection", "publicKey" }` (see ssh-certificate-endpoint.ts)
 */
export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const handler = (request: http.IncomingMessage, response: http.ServerResponse): void => {
    handle(request, options)
      .then(({ status, body }) => send(response, status, body))
      .catch((error: unknown) => {
        const wardenError = toWardenError(error);
        const status = STATUS_BY_CODE[wardenError.code] ?? 500;
        if (status === 500) options.log.error('admin API error', { path: request.url, error: wardenError.message });
        else options.log.warn('admin API refused', { path: request.url, status, error: wardenError.message });
        send(response, status, { error: { code: wardenError.code, message: status === 500 ? 'internal error' : wardenError.message } });
      });
  };
  const server = options.tls ? https.createServer({ cert: options.tls.cert, key: options.tls.key, minVersion: 'TLSv1.2' }, handler) : http.createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(new WardenError('config', `admin API cannot listen on ${options.listen.host}:${options.listen.port}: ${error.code ?? error.message}`, { cause: error })),
    );
    server.listen(options.listen.port, options.listen.host, () => resolve());
  });
  const bound = server.address() as AddressInfo;
  const address = { host: bound.address, port: bound.port };
  const url = `${options.tls ? 'https' : 'http'}://${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`;
  options.log.info('admin API listening', { address: `${bound.address}:${bound.port}`, tls: options.tls !== undefined });
  return {
    address,
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(request: http.IncomingMessage, options: AdminServerOptions): Promise<{ status: number; body: unknown }> {
  const url = new URL(request.url ?? '/', 'http://admin.invalid');
  if (request.method === 'GET' && url.pathname === '/healthz') return { status: 200, body: { ok: true } };

  const caller = await authenticate(request, options.verifier);
  if (request.method === 'POST' && url.pathname === '/v1/ssh/certificate') return issueSshCertificate(caller, await readJson(request), options.sshCertificates);
  if (request.method === 'POST' && url.pathname === '/v1/audit/evidence-read' && options.evidenceRead) return { status: 200, body: await options.evidenceRead(caller, await readJson(request)) };
  const { approvals } = options;
  const parts = url.pathname.split('/').filter(Boolean);
  if (parts[0] !== 'v1' || parts[1] !== 'approvals') throw new WardenError('not-found', `no such endpoint: ${request.method} ${url.pathname}`);

  if (parts.length === 2 && request.method === 'GET') {
    const status = url.searchParams.get('status');
    if (status !== null && !STATUSES.has(status)) throw new WardenError('config', `status must be one of ${[...STATUSES].join(', ')}`);
    const requests = await approvals.visibleTo(caller, status === null ? {} : { status: status as 'pending' });
    return { status: 200, body: { requests } };
  }
  const id = decodeURIComponent(parts[2] ?? '');
  if (parts.length === 3 && request.method === 'GET') return { status: 200, body: await approvals.get(id, caller) };
  if (parts.length === 4 && request.method === 'POST' && (parts[3] === 'approve' || parts[3] === 'deny')) {
    const body = await readJson(request);
    const reason = typeof body.reason === 'string' ? body.reason : undefined;
    const decided = parts[3] === 'approve' ? await approvals.approve(id, caller, reason) : await approvals.deny(id, caller, reason ?? '');
    return { status: 200, body: decided };
  }
  throw new WardenError('not-found', `no such endpoint: ${request.method} ${url.pathname}`);
}

async function authenticate(request: http.IncomingMessage, verifier: IdentityVerifier): Promise<Identity> {
  const header = request.headers.authorization ?? '';
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match?.[1]) throw new WardenError('unauthenticated', 'send an OIDC access token: Authorization: Bearer <token>');
  try {
    return await verifier.verify(match[1]);
  } catch (error) {
    const wardenError = toWardenError(error);
    throw wardenError.code === 'unauthenticated' ? wardenError : new WardenError('unauthenticated', 'the token could not be verified', { cause: error });
  }
}

async function readJson(request: http.IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new WardenError('limit', `the request body is larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    return parsed as Record<string, unknown>;
  } catch {
    throw new WardenError('protocol', 'the request body must be a JSON object, e.g. {"reason": "…"}');
  }
}

function send(response: http.ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body, null, 2)}\n`;
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  response.end(text);
}
