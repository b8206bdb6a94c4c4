/**
 * The Kubernetes adapter: Warden serves the Kubernetes API over HTTPS (its own certificate) and
 * proxies each request to the target API server with Warden's own credential, impersonating the
 * caller. The caller's credential is its OIDC token as the bearer token (kubectl's `token` or an
 * exec credential plugin, see `warden kubeconfig`).
 *
 * Every resource request is a command, decided before it is forwarded; discovery documents
 * (`/version`, `/api`, `/apis`, `/openapi`) are not commands: they describe the server, not what is
 * stored in it, and kubectl asks for them constantly. exec/attach/portforward arrive as WebSocket
 * upgrades and are decided before the upgrade; SPDY upgrades are refused.
 */
import { mkdir } from 'node:fs/promises';
import { createServer, type Agent, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { DEFAULT_LIMITS, WardenError, toWardenError, type Adapter, type AdapterContext, type AdapterFactory, type GatewayLimits, type ListenAddress, type Ruling, type Session } from '@warden/core';
import { listenOn } from '@warden/adapter-kit';
import { forwardRequest, sendStatus } from './api-proxy';
import { ClientSessions } from './client-sessions';
import { offeredProtocols, proxyExec, refuseUpgrade } from './exec-proxy';
import { carriedObject, carriesObject, classifyKubeRequest, classifyNonResource, commandText, parseKubeRequest, qualifiedResource, type CarriedObject, type KubeResourceRequest } from './kube-request';
import { parseKubernetesTarget, type KubernetesTarget } from './kubernetes-target';
import { PodLabelCache, fetchPodLabels, needsPodLabels, reachesIntoPod } from './pod-labels';
import { readBody } from './request-body';
import { kubeStatus, refusalStatus, type KubeStatus } from './status-response';
import { targetAgent } from './target-client';

/** The Kubernetes adapter, registered under protocol `kubernetes`. */
export const kubernetesAdapter: AdapterFactory<KubernetesTarget> = {
  protocol: 'kubernetes',
  parseTarget: parseKubernetesTarget,
  create: (context) => new KubernetesAdapter(context),
};

/** The largest create or update body Warden reads to decide on it: kube-apiserver's own limit (3 MiB). */
const MAX_INSPECTED_BODY_BYTES = 3 * 1024 * 1024;

/** Outcome of authenticating and deciding one request. */
type Admission = { readonly ok: true; readonly session: Session; readonly ruling?: Ruling; readonly request?: KubeResourceRequest; readonly body?: Buffer } | { readonly ok: false; readonly status: KubeStatus; readonly durable?: Promise<void>; readonly fatal?: true };

class KubernetesAdapter implements Adapter {
  private server: Server | undefined;
  private readonly agent: Agent;
  private readonly sessions: ClientSessions;
  private recordingsDir: string | undefined;
  private recordings = 0;
  private readonly podLabels: PodLabelCache;
  private readonly limits: GatewayLimits;
  /** Client connections past their TLS handshake; those over `maxConnectionsPerListener` are in `overLimit`. */
  private readonly clients = new Set<TLSSocket>();
  private readonly overLimit = new Set<TLSSocket>();
  /** Plain requests being answered, and upgraded streams (exec, attach, port forwarding): what a drain waits for. */
  private active = 0;
  private readonly streams = new Set<Duplex>();
  private stopping: Promise<void> | undefined;
  private onSettled: (() => void) | undefined;

  constructor(private readonly context: AdapterContext<KubernetesTarget>) {
    this.limits = context.limits ?? DEFAULT_LIMITS;
    this.agent = targetAgent(context.connection.target);
    this.sessions = new ClientSessions(context, context.clock);
    this.podLabels = new PodLabelCache((namespace, name) => fetchPodLabels(context.connection.target, this.agent, namespace, name), context.clock);
  }

  async start(): Promise<ListenAddress> {
    const { connection, dataDir } = this.context;
    if (!connection.tls) throw new WardenError('config', `connection ${connection.name}: the kubernetes adapter serves HTTPS only; set tls (a certificate, or self-signed)`);
    if (dataDir !== undefined) {
      this.recordingsDir = path.join(dataDir, 'recordings');
      await mkdir(this.recordingsDir, { recursive: true, mode: 0o700 });
    }
    const { limits } = this;
    const loginTimeoutMs = limits.loginTimeoutSeconds * 1000;
    // HTTP/1.1 only: exec's WebSocket upgrade needs it, and kubectl falls back to it without h2 in ALPN.
    const server = createServer(
      {
        cert: connection.tls.cert,
        key: connection.tls.key,
        // Slow-loris: the TLS handshake and each request's headers must arrive within the login
        // timeout (Node answers 408 and closes); a whole request body within 5 minutes or the login timeout.
        handshakeTimeout: loginTimeoutMs,
        headersTimeout: loginTimeoutMs,
        requestTimeout: Math.max(loginTimeoutMs, 300_000),
        connectionsCheckingInterval: Math.min(30_000, Math.max(100, loginTimeoutMs / 4)),
        // An idle keep-alive connection (and with it its sessions) ends after the idle timeout; 0 = never.
        keepAliveTimeout: limits.idleTimeoutSeconds * 1000,
      },
      (req, res) => void this.handle(req, res).catch((error: unknown) => this.failed(req.socket, error)),
    );
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => void this.upgrade(req, socket, head).catch((error: unknown) => this.failed(socket, error)));
    server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
      // The headers timeout (slow-loris): say so, as Node does by default; anything else malformed is dropped.
      if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT' && socket.writable) {
        socket.end('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        setTimeout(() => socket.destroy(), 1000).unref();
        return;
      }
      socket.destroy();
    });
    // With `server.timeout` at 0, a socket times out only when idle between requests (keepAliveTimeout).
    server.on('timeout', (socket: Socket) => {
      this.sessions.closedIdle(socket, `idle for ${limits.idleTimeoutSeconds} s`);
      socket.destroy();
    });
    server.on('secureConnection', (socket: TLSSocket) => {
      if (this.clients.size >= limits.maxConnectionsPerListener) {
        // Refused at its first request, with a Status the client can show (see `refusal`).
        this.overLimit.add(socket);
        this.context.log.warn('connection refused: listener full', { client: `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`, limit: limits.maxConnectionsPerListener });
        socket.once('close', () => this.overLimit.delete(socket));
        return;
      }
      this.clients.add(socket);
      socket.once('close', () => this.clients.delete(socket));
    });
    this.server = server;
    const { listen } = connection;
    return listenOn(server, listen, this.context.log, { protocol: 'kubernetes' });
  }

  stop(): Promise<void> {
    return (this.stopping ??= this.drain());
  }

  /**
   * Requests from here on are answered 503 (the listener stays open so that clients learn why);
   * requests in flight and exec streams finish, up to `limits.drainTimeoutSeconds`; then watches,
   * log follows and streams still open are ended with their connections.
   */
  private async drain(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.sessions.draining();
    server.closeIdleConnections();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.limits.drainTimeoutSeconds * 1000)));
    const settled = new Promise<void>((resolve) => {
      this.onSettled = () => {
        server.closeIdleConnections();
        if (this.active === 0 && this.streams.size === 0) resolve();
      };
      this.onSettled();
    });
    await Promise.race([settled, timedOut]);
    clearTimeout(timer);
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const stream of this.streams) stream.destroy();
    server.closeAllConnections();
    await this.sessions.shutdown();
    await closed;
    this.agent.destroy();
  }

  /** A request the listener does not take: the gateway is stopping, or the connection is over the limit. */
  private refusal(socket: Socket): KubeStatus | undefined {
    if (this.stopping) return kubeStatus(503, 'Warden is shutting down; try again once it is back');
    if (this.overLimit.has(socket as TLSSocket)) return kubeStatus(503, `Warden: too many connections on this listener (the limit is ${this.limits.maxConnectionsPerListener}); try again later`);
    return undefined;
  }

  /** Counts a plain request until its response is done. */
  private begin(res: ServerResponse): void {
    this.active++;
    res.once('close', () => {
      this.active--;
      this.onSettled?.();
    });
  }

  /** A request handler threw: end that connection (fail closed) rather than the whole gateway. */
  private failed(socket: Duplex, error: unknown): void {
    this.context.log.error('request failed', { error: toWardenError(error).message });
    socket.destroy();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const socket = req.socket;
    const refused = this.refusal(socket);
    if (refused) {
      res.setHeader('Connection', 'close');
      return sendStatus(res, refused);
    }
    this.begin(res);
    const admission = await this.admit(req, socket, 'http');
    if (!admission.ok) {
      const durable = await admission.durable?.then(
        () => true,
        () => false,
      );
      if (admission.fatal || durable === false) res.once('finish', () => socket.destroy());
      return sendStatus(res, admission.durable && durable === false ? kubeStatus(503, 'Warden: the audit log is unavailable') : admission.status);
    }
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > this.limits.maxMessageBytes) {
      // Refused before a byte of it is forwarded; a chunked body is counted as it passes (forwardRequest).
      this.context.log.warn('request refused: body too large', { session: admission.session.id, bytes: declared, limit: this.limits.maxMessageBytes });
      if (admission.ruling) admission.session.recordResult(admission.ruling.command.seq, { rows: 0, durationMs: 0, status: 'refused', error: { code: 'too-large', message: `request body of ${declared} bytes is over the limit of ${this.limits.maxMessageBytes}` } });
      res.setHeader('Connection', 'close');
      return sendStatus(res, kubeStatus(413, `Warden: the request body is larger than ${this.limits.maxMessageBytes} bytes (the limit)`));
    }
    if (admission.ruling) {
      // Fail closed: the request reaches the API server only once its audit record is written.
      try {
        await admission.ruling.durable;
      } catch (error) {
        res.once('finish', () => socket.destroy());
        return sendStatus(res, kubeStatus(503, `Warden: ${toWardenError(error).message}`));
      }
    }
    forwardRequest(req, res, {
      target: this.context.connection.target,
      agent: this.agent,
      log: this.context.log,
      session: admission.session,
      ...(admission.ruling ? { ruling: admission.ruling } : {}),
      ...(admission.request ? { request: admission.request } : {}),
      ...(admission.body ? { body: admission.body } : {}),
      failClosed: () => socket.destroy(),
      maxBodyBytes: this.limits.maxMessageBytes,
    });
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const netSocket = req.socket;
    const refused = this.refusal(netSocket);
    if (refused) return refuseUpgrade(socket, refused);
    // Counted from here: a drain waits for the stream (or the decision on it) to end.
    this.streams.add(socket);
    socket.once('close', () => {
      this.streams.delete(socket);
      this.onSettled?.();
    });
    const upgradeTo = (req.headers.upgrade ?? '').toLowerCase();
    if (upgradeTo !== 'websocket') {
      // Audited like any request, then refused: the stream would be opaque to Warden.
      const admission = await this.admit(req, netSocket, 'spdy');
      if (!admission.ok) return refuseUpgrade(socket, admission.status);
      if (admission.ruling) admission.session.recordResult(admission.ruling.command.seq, { rows: 0, durationMs: 0, status: 'refused', error: { code: 'spdy-refused', message: 'SPDY streams are not supported' } });
      return refuseUpgrade(socket, kubeStatus(400, 'Warden: SPDY streams are not supported; use a kubectl that speaks WebSocket (1.31 or later does by default) or a client that offers v5.channel.k8s.io'));
    }
    const protocols = offeredProtocols(req);
    const admission = await this.admit(req, netSocket, 'websocket');
    if (!admission.ok) {
      await admission.durable?.catch(() => undefined);
      return refuseUpgrade(socket, admission.status);
    }
    const { session, ruling, request } = admission;
    if (!ruling || !request || !['exec', 'attach', 'portforward'].includes(request.verb)) {
      if (ruling) session.recordResult(ruling.command.seq, { rows: 0, durationMs: 0, status: 'refused', error: { code: 'bad-upgrade', message: 'not a streaming subresource' } });
      return refuseUpgrade(socket, kubeStatus(400, 'Warden: only exec, attach and portforward are served over WebSocket'));
    }
    if (request.verb === 'portforward' && ruling.masker?.active) {
      // Forwarded ports carry arbitrary protocols: Warden cannot apply the connection's masking to them.
      session.recordResult(ruling.command.seq, { rows: 0, durationMs: 0, status: 'refused', error: { code: 'not-inspectable', message: 'port forwarding cannot be masked' } });
      return refuseUpgrade(socket, kubeStatus(403, 'Warden: this connection masks PHI, and port-forwarded traffic cannot be masked; refused'));
    }
    if (protocols.length === 0) {
      session.recordResult(ruling.command.seq, { rows: 0, durationMs: 0, status: 'refused', error: { code: 'bad-upgrade', message: 'no binary channel subprotocol offered' } });
      return refuseUpgrade(socket, kubeStatus(400, 'Warden: offer one of the v5.channel.k8s.io / v4.channel.k8s.io subprotocols'));
    }
    try {
      await ruling.durable;
    } catch (error) {
      refuseUpgrade(socket, kubeStatus(503, `Warden: ${toWardenError(error).message}`));
      return;
    }
    proxyExec(req, socket, head, {
      target: this.context.connection.target,
      log: this.context.log,
      session,
      ruling,
      request,
      protocols,
      recordingsDir: this.recordingsDir,
      recordingNumber: ++this.recordings,
      track: (work) => this.sessions.track(netSocket, work),
      failClosed: () => socket.destroy(),
    });
  }

  /** Authenticates the bearer token and decides the request; a refusal comes back as a Status. */
  private async admit(req: IncomingMessage, socket: Socket, transport: 'http' | 'websocket' | 'spdy'): Promise<Admission> {
    const token = bearerToken(req.headers.authorization);
    if (token === undefined) return { ok: false, status: kubeStatus(401, 'Warden: a bearer token is required (an OIDC access token; `warden kubeconfig` sets kubectl up)') };
    let session: Session;
    try {
      session = await this.sessions.sessionFor(socket, token, req.headers['user-agent']);
    } catch (error) {
      const wardenError = toWardenError(error);
      if (wardenError.code === 'unauthenticated') return { ok: false, status: kubeStatus(401, `Warden: ${wardenError.message}`) };
      if (wardenError.code === 'forbidden') return { ok: false, status: kubeStatus(403, `Warden: ${wardenError.message}`) };
      if (wardenError.code === 'internal') this.context.log.error('admission failed', { error: wardenError.message });
      return { ok: false, status: kubeStatus(503, `Warden: ${wardenError.code === 'internal' ? 'Warden could not admit the session' : wardenError.message}`) };
    }
    const method = (req.method ?? 'GET').toUpperCase();
    const parsed = parseKubeRequest(method, req.url ?? '/');
    if (parsed.kind === 'discovery') return { ok: true, session };
    let input;
    let request: KubeResourceRequest | undefined;
    let body: Buffer | undefined;
    if (parsed.kind === 'resource') {
      request = parsed;
      const labels = await this.podLabelsFor(session, parsed);
      if (labels.kind === 'refused') return { ok: false, status: labels.status };
      // A create or update names (and labels) its object in the body: read it before deciding.
      let carried: CarriedObject | undefined;
      if (carriesObject(parsed)) {
        const limit = Math.min(MAX_INSPECTED_BODY_BYTES, this.limits.maxMessageBytes);
        const read = await readBody(req, limit);
        if (!read.ok) return { ok: false, status: kubeStatus(413, `Warden: the request body is over ${limit} bytes, the most Warden reads to decide on a ${parsed.verb}; refused`), fatal: true };
        body = read.body;
        carried = carriedObject(parsed, req.headers['content-type'], body);
      }
      input = {
        text: commandText(parsed, carried),
        classification: classifyKubeRequest(parsed, labels.labels, carried),
        detail: {
          method,
          verb: parsed.verb,
          resource: qualifiedResource(parsed),
          transport,
          ...(parsed.subresource === undefined ? {} : { subresource: parsed.subresource }),
          ...(parsed.verb === 'exec' || parsed.verb === 'attach' ? { tty: parsed.tty } : {}),
        },
      };
    } else if (parsed.kind === 'non-resource') {
      input = { text: `${method} ${parsed.path}`.slice(0, 1000), classification: classifyNonResource(parsed.path, method), detail: { method, transport } };
    } else {
      // Unparseable: recorded and refused by policy as `unknown` (fail closed).
      input = {
        text: `${method} ${(req.url ?? '').slice(0, 500)}`,
        classification: { action: 'unknown' as const, objects: [], bulk: false, statementCount: 1, statements: [{ action: 'unknown' as const, objects: [], bulk: false, note: parsed.reason }] },
        detail: { method, transport },
      };
    }
    let ruling: Ruling;
    try {
      ruling = await session.decide(input);
    } catch (error) {
      // Warden cannot decide or audit: refuse, and end the connection (and with it the session).
      return { ok: false, status: kubeStatus(503, `Warden: ${toWardenError(error).message}`), fatal: true };
    }
    if (ruling.decision.effect !== 'allow') return { ok: false, status: refusalStatus(ruling.decision), durable: ruling.durable };
    // A change to a pod may change its labels: the next decision about it looks them up again.
    if (request && request.resource === 'pods' && request.group === '' && request.namespace !== undefined && request.name !== undefined && requestChangesObject(request)) {
      this.podLabels.forget(request.namespace, request.name);
    }
    return { ok: true, session, ruling, ...(request ? { request } : {}), ...(body ? { body } : {}) };
  }

  /**
   * The labels of the pod a request names, when its decision needs them (see `needsPodLabels`).
   * Warden cannot decide without them: a failed lookup refuses the request (and is audited as a
   * session event); exec into a pod that does not exist is refused as the API server would.
   */
  private async podLabelsFor(session: Session, request: KubeResourceRequest): Promise<{ kind: 'ok'; labels?: Readonly<Record<string, string>> } | { kind: 'refused'; status: KubeStatus }> {
    if (!needsPodLabels(request)) return { kind: 'ok' };
    const namespace = request.namespace!;
    const name = request.name!;
    try {
      const lookup = await this.podLabels.labels(namespace, name);
      if (lookup.kind === 'found') return { kind: 'ok', labels: lookup.labels };
      if (!reachesIntoPod(request)) return { kind: 'ok' };
      session.recordEvent('pod labels unavailable', { verb: request.verb, namespace, pod: name, error: 'pod not found' });
      return { kind: 'refused', status: kubeStatus(404, `pods "${name}" not found`) };
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      this.context.log.warn('pod label lookup failed', { session: session.id, error: reason });
      session.recordEvent('pod labels unavailable', { verb: request.verb, namespace, pod: name, error: reason });
      return { kind: 'refused', status: kubeStatus(503, `Warden: cannot read the labels of pod ${namespace}/${name} to decide on ${request.verb} (${reason}); refused`) };
    }
  }
}

function requestChangesObject(request: KubeResourceRequest): boolean {
  return request.verb === 'update' || request.verb === 'patch' || request.verb === 'delete';
}

function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}
