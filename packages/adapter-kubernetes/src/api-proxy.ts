/**
 * One plain (non-upgrade) Kubernetes API request through Warden: decided, forwarded to the target
 * with Warden's credential and the caller's identity, and its response streamed back (with back-
 * pressure), redacting Secret values and masking PHI in pod logs where that applies.
 */
import { request as httpsRequest, type Agent } from 'node:https';
import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import { Transform, pipeline } from 'node:stream';
import { toWardenError, type Logger, type Ruling, type Session } from '@warden/core';
import type { KubernetesTarget } from './kubernetes-target';
import { LineTransform } from './line-transform';
import type { KubeResourceRequest } from './kube-request';
import { redactSecrets, redactSecretsJson } from './secret-redaction';
import { kubeStatus, statusBody, type KubeStatus } from './status-response';
import { isStaleConnection, targetHeaders, targetUrl } from './target-client';

/** Largest error body or redacted document Warden holds in memory. */
const MAX_BUFFERED_BYTES = 64 * 1024 * 1024;
/** How many times a request that failed on a stale kept-alive connection is sent again. */
const STALE_RETRIES = 3;
/** Response headers that belong to one hop. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'trailer', 'upgrade', 'proxy-connection']);

export interface ForwardOptions {
  readonly target: KubernetesTarget;
  readonly agent: Agent;
  readonly log: Logger;
  readonly session: Session;
  /** Absent for discovery requests, which are not commands. */
  readonly ruling?: Ruling;
  readonly request?: KubeResourceRequest;
  /** The request body, when Warden read it whole to decide (a create or update): sent in its place. */
  readonly body?: Buffer;
  /** Warden cannot go on (audit unavailable): drop the client connection. */
  readonly failClosed: (reason: string) => void;
  /** Largest request body forwarded (`limits.maxMessageBytes`); a longer one is cut off and answered 413. */
  readonly maxBodyBytes?: number;
}

/** Writes a Status as the whole response. */
export function sendStatus(res: ServerResponse, status: KubeStatus): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = statusBody(status);
  res.writeHead(status.code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-cache, private' });
  res.end(body);
}

/** What Warden does to a response body. */
type BodyHandling = { readonly kind: 'pass' } | { readonly kind: 'redact-secrets'; readonly stream: boolean } | { readonly kind: 'mask-logs' };

function bodyHandling(options: ForwardOptions): BodyHandling {
  const { request, session, ruling } = options;
  if (!request) return { kind: 'pass' };
  // Secret values reach only identities with `full` access on the connection.
  if (request.group === '' && request.resource === 'secrets' && request.subresource === undefined && session.access !== 'full') {
    return { kind: 'redact-secrets', stream: request.verb === 'watch' };
  }
  if (request.verb === 'logs' && ruling?.masker?.active) return { kind: 'mask-logs' };
  return { kind: 'pass' };
}

/** Forwards an allowed (or discovery) request and streams the answer back. */
export function forwardRequest(req: IncomingMessage, res: ServerResponse, options: ForwardOptions): void {
  const { target, session, ruling } = options;
  const began = performance.now();
  const handling = bodyHandling(options);
  const headers = targetHeaders(target, req.headers, session.identity);
  if (handling.kind !== 'pass') {
    // Warden must read what it rewrites: JSON, uncompressed.
    headers['accept'] = 'application/json';
    delete headers['accept-encoding'];
  }
  // A body read whole goes out whole, with its length (the client may have sent it chunked).
  if (options.body) headers['content-length'] = String(options.body.length);
  const url = targetUrl(target, req.url ?? '/');
  const method = req.method ?? 'GET';
  // A request that can be sent again as it was (no body, or one Warden holds whole) is retried once
  // when a kept-alive connection turns out to have been closed by the API server.
  const replayable = options.body !== undefined || method === 'GET' || method === 'HEAD';
  let retries = 0;
  let upstream = send();
  let bytes = 0;
  let finished = false;
  const maskedCounts: Record<string, number> = {};

  const record = (status: string, error?: { code: string; message: string }) => {
    if (finished || !ruling) return;
    finished = true;
    const masked = Object.keys(maskedCounts).length > 0 ? { masked: { ...maskedCounts } } : {};
    session.recordResult(ruling.command.seq, { rows: bytes, durationMs: Math.round(performance.now() - began), status, ...masked, ...(error ? { error } : {}) });
  };

  let bodyRefused = false;
  function send(): ClientRequest {
    const request = httpsRequest(url, { method, headers, agent: options.agent, timeout: 0 });
    request.on('error', (error) => upstreamFailed(request, error));
    request.on('response', (answer) => answered(answer));
    return request;
  }
  function upstreamFailed(request: ClientRequest, error: Error): void {
    if (bodyRefused || request !== upstream) return;
    // Several pooled connections can have gone stale together: each failure drops one from the pool.
    if (replayable && retries < STALE_RETRIES && isStaleConnection(request, error)) {
      retries++;
      upstream = send();
      upstream.end(options.body);
      return;
    }
    options.log.warn('target request failed', { session: session.id, error: error.message });
    record('error', { code: 'target-unavailable', message: 'the Kubernetes API server is unreachable' });
    sendStatus(res, kubeStatus(503, 'Warden: the Kubernetes API server is unreachable'));
  }
  res.on('close', () => {
    // The client went away (e.g. ended a watch): stop the target request too.
    if (!upstream.destroyed) upstream.destroy();
  });
  if (options.body) upstream.end(options.body);
  else if (options.maxBodyBytes === undefined) pipeline(req, upstream, () => undefined);
  // Not `pipeline`: a body over the limit must not end the client's request, which is still read
  // (and dropped) so that the client gets to read the 413.
  else req.pipe(bodyLimit(options.maxBodyBytes, () => tooLarge())).pipe(upstream);

  /** A body sent chunked (no Content-Length to refuse up front) went over the limit: the target never gets all of it. */
  function tooLarge(): void {
    bodyRefused = true;
    upstream.destroy();
    options.log.warn('request refused: body too large', { session: session.id, limit: options.maxBodyBytes });
    record('refused', { code: 'too-large', message: `request body larger than ${options.maxBodyBytes} bytes` });
    res.setHeader('Connection', 'close');
    sendStatus(res, kubeStatus(413, `Warden: the request body is larger than ${options.maxBodyBytes} bytes (the limit)`));
  }

  function answered(answer: IncomingMessage): void {
    // The client sees the result only once the command's audit record is durable.
    const durable = ruling ? ruling.durable : Promise.resolve();
    durable.then(
      () => respond(answer),
      (error: unknown) => {
        answer.destroy();
        const message = toWardenError(error).message;
        sendStatus(res, kubeStatus(503, `Warden: ${message}`));
        options.failClosed(message);
      },
    );
  }

  function copyHeaders(answer: IncomingMessage, transformed: boolean): Record<string, string | string[]> {
    const out: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(answer.headers)) {
      if (value === undefined || HOP_BY_HOP.has(name)) continue;
      if (transformed && name === 'content-length') continue;
      out[name] = value;
    }
    return out;
  }

  function respond(answer: IncomingMessage): void {
    const code = answer.statusCode ?? 502;
    const status = `HTTP ${code}`;
    if (code >= 400) return relayError(answer, code);
    const json = /json/i.test(answer.headers['content-type'] ?? '');
    if (handling.kind === 'redact-secrets') {
      if (!json || answer.headers['content-encoding'] !== undefined) {
        answer.destroy();
        record('refused', { code: 'not-inspectable', message: 'secret response is not plain JSON' });
        return sendStatus(res, kubeStatus(502, 'Warden: the API server answered in a format Warden cannot inspect for secret values; refused'));
      }
      if (handling.stream) {
        const redactor = new LineTransform((line) => {
          if (line.trim() === '') return line;
          const value: unknown = JSON.parse(line);
          maskedCounts['secret'] = (maskedCounts['secret'] ?? 0) + redactSecrets(value);
          return JSON.stringify(value);
        });
        res.writeHead(code, copyHeaders(answer, true));
        return stream(answer, redactor);
      }
      return bufferWhole(answer, (text) => {
        const redacted = redactSecretsJson(text);
        maskedCounts['secret'] = (maskedCounts['secret'] ?? 0) + redacted.count;
        const headers = copyHeaders(answer, true);
        res.writeHead(code, { ...headers, 'content-length': String(Buffer.byteLength(redacted.text)) });
        bytes += Buffer.byteLength(redacted.text);
        res.end(redacted.text);
        record(status);
      });
    }
    if (handling.kind === 'mask-logs') {
      if (answer.headers['content-encoding'] !== undefined) {
        answer.destroy();
        record('refused', { code: 'not-inspectable', message: 'log response is compressed' });
        return sendStatus(res, kubeStatus(502, 'Warden: the API server sent compressed logs that Warden cannot mask; refused'));
      }
      const masker = ruling!.masker!;
      res.writeHead(code, copyHeaders(answer, true));
      return stream(answer, new LineTransform((line) => masker.maskFreeText(line, maskedCounts)));
    }
    res.writeHead(code, copyHeaders(answer, false));
    stream(answer);
  }

  function stream(answer: IncomingMessage, transform?: LineTransform): void {
    const counter = (chunk: Buffer) => (bytes += chunk.length);
    const source = transform ? answer.pipe(transform) : answer;
    if (transform) {
      transform.on('data', counter);
      answer.on('error', (error) => transform.destroy(error));
    } else {
      answer.on('data', counter);
    }
    pipeline(source, res, (error) => {
      if (error && transform && !res.writableFinished) {
        // A response Warden could not inspect is cut off rather than passed on raw.
        options.log.warn('response refused mid-stream', { session: session.id, error: error.message });
        record('refused', { code: 'not-inspectable', message: 'response could not be inspected' });
        return;
      }
      record(error ? 'closed' : `HTTP ${answer.statusCode ?? 200}`);
    });
  }

  function bufferWhole(answer: IncomingMessage, done: (text: string) => void): void {
    const chunks: Buffer[] = [];
    let size = 0;
    answer.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BUFFERED_BYTES) {
        answer.destroy();
        record('refused', { code: 'too-large', message: 'response too large to inspect' });
        sendStatus(res, kubeStatus(502, 'Warden: the response is too large to inspect for secret values; refused'));
        return;
      }
      chunks.push(chunk);
    });
    answer.on('end', () => {
      if (res.headersSent) return;
      try {
        done(Buffer.concat(chunks).toString('utf8'));
      } catch {
        record('refused', { code: 'not-inspectable', message: 'response is not valid JSON' });
        sendStatus(res, kubeStatus(502, 'Warden: the API server response could not be inspected for secret values; refused'));
      }
    });
    answer.on('error', () => res.destroy());
  }

  /** Errors are small Status objects: relayed as they are, their message recorded. */
  function relayError(answer: IncomingMessage, code: number): void {
    const chunks: Buffer[] = [];
    let size = 0;
    answer.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= 1024 * 1024) chunks.push(chunk);
    });
    answer.on('end', () => {
      const body = Buffer.concat(chunks);
      bytes += body.length;
      let message = answer.statusMessage ?? '';
      let reason = `http-${code}`;
      try {
        const parsed = JSON.parse(body.toString('utf8')) as { message?: unknown; reason?: unknown };
        if (typeof parsed.message === 'string') message = parsed.message.slice(0, 500);
        if (typeof parsed.reason === 'string') reason = parsed.reason;
      } catch {
        // Not a Status: the HTTP reason phrase is all there is to record.
      }
      record(`HTTP ${code}`, { code: reason, message });
      res.writeHead(code, { ...copyHeaders(answer, true), 'content-length': String(body.length) });
      res.end(body);
    });
    answer.on('error', () => res.destroy());
  }
}

/** Passes a request body through until it grows past `limit` bytes; then calls `over` once and passes nothing more. */
function bodyLimit(limit: number, over: () => void): Transform {
  let size = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      size += chunk.length;
      if (size > limit) {
        if (size - chunk.length <= limit) over();
        return callback();
      }
      callback(null, chunk);
    },
  });
}
