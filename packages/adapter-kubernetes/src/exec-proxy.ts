/**
 * exec / attach / portforward over WebSocket, after the decision: Warden opens its own WebSocket to
 * the target first (so the client gets the subprotocol the target chose, or the target's refusal),
 * then completes the client's upgrade and relays message by message with back-pressure.
 *
 * Channel protocol (https://github.com/kubernetes/kubernetes/blob/master/staging/src/k8s.io/apimachinery/pkg/util/remotecommand/constants.go):
 * every binary message is `[channel byte][data]`: 0 stdin, 1 stdout, 2 stderr, 3 error/status
 * (a JSON `Status`), 4 resize (`{"Width":…,"Height":…}`), and in v5 255 = close the stream
 * named by the next byte.
 */
import path from 'node:path';
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { toWardenError, type Logger, type Ruling, type Session } from '@warden/core';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { AsciicastRecorder, type RecordingSummary } from '@warden/core';
import { ExecOutputNotText, TerminalOutputMasker } from './exec-output-masker';
import type { KubeResourceRequest } from './kube-request';
import type { KubernetesTarget } from './kubernetes-target';
import { kubeStatus, statusBody, type KubeStatus } from './status-response';
import { targetHeaders, targetTls, targetUrl } from './target-client';

/** Subprotocols Warden relays: the binary channel protocols (base64 variants are not offered). */
export const CHANNEL_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'] as const;
export const CHANNEL = { stdin: 0, stdout: 1, stderr: 2, status: 3, resize: 4, close: 255 } as const;
/** Pause the sending side while this much is queued towards the other. */
const HIGH_WATER_BYTES = 1024 * 1024;
/** A partial output line held for masking goes out after this long (prompts, keystroke echoes). */
const FLUSH_AFTER_MS = 20;

/** Answers an upgrade request with a Status and closes the socket. */
export function refuseUpgrade(socket: Duplex, status: KubeStatus): void {
  const body = statusBody(status);
  const phrase = STATUS_CODES[status.code] ?? 'Error';
  socket.end(`HTTP/1.1 ${status.code} ${phrase}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

/** The binary channel subprotocols the client offers, in its order of preference. */
export function offeredProtocols(req: IncomingMessage): string[] {
  const header = req.headers['sec-websocket-protocol'] ?? '';
  return header
    .split(',')
    .map((item) => item.trim())
    .filter((item) => (CHANNEL_PROTOCOLS as readonly string[]).includes(item));
}

export interface ExecProxyOptions {
  readonly target: KubernetesTarget;
  readonly log: Logger;
  readonly session: Session;
  readonly ruling: Ruling;
  readonly request: KubeResourceRequest;
  readonly protocols: readonly string[];
  /** `<dataDir>/recordings`, or undefined when recording is off (no data directory). */
  readonly recordingsDir: string | undefined;
  /** Per gateway process, for unique recording file names. */
  readonly recordingNumber: number;
  /** Register work that must finish before the session's end record. */
  readonly track: (work: Promise<unknown>) => void;
  readonly failClosed: (reason: string) => void;
}

/** The WebSocket server side, shared: it only completes handshakes. */
const clientSide = new WebSocketServer({ noServer: true, perMessageDeflate: false, handleProtocols: (_offered, req: IncomingMessage & { wardenProtocol?: string }) => req.wardenProtocol ?? false });

export function proxyExec(req: IncomingMessage, socket: Duplex, head: Buffer, options: ExecProxyOptions): void {
  const { target, session, ruling } = options;
  const began = performance.now();
  const headers = targetHeaders(target, req.headers, session.identity);
  for (const name of Object.keys(headers)) if (name.startsWith('sec-websocket-')) delete headers[name];
  const upstream = new WebSocket(targetUrl(target, req.url ?? '/', 'wss'), [...options.protocols], {
    headers: headers as Record<string, string>,
    perMessageDeflate: false,
    handshakeTimeout: target.connectTimeoutMs,
    ...targetTls(target),
  });
  let exitStatus = 'closed';
  let outBytes = 0;
  let recorder: AsciicastRecorder | undefined;
  let done = false;
  const maskedCounts: Record<string, number> = {};

  const finish = (status: string, error?: { code: string; message: string }) => {
    if (done) return;
    done = true;
    const masked = Object.keys(maskedCounts).length > 0 ? { masked: { ...maskedCounts } } : {};
    session.recordResult(ruling.command.seq, { rows: outBytes, durationMs: Math.round(performance.now() - began), status, ...masked, ...(error ? { error } : {}) });
    const active = recorder;
    recorder = undefined;
    if (active) {
      options.track(
        active.close().then(
          (summary: RecordingSummary) =>
            session.recordEvent('recording', { seq: ruling.command.seq, file: path.basename(summary.file), sha256: summary.sha256, bytes: summary.bytes, events: summary.events }),
          (failure: unknown) => session.recordEvent('recording incomplete', { seq: ruling.command.seq, error: toWardenError(failure).message }),
        ),
      );
    }
  };

  upstream.on('unexpected-response', (_request, answer) => {
    // The target refused the upgrade (not found, forbidden by its RBAC, …): relay its answer.
    const chunks: Buffer[] = [];
    answer.on('data', (chunk: Buffer) => chunks.push(chunk));
    answer.on('end', () => {
      const body = Buffer.concat(chunks);
      let message = answer.statusMessage ?? '';
      try {
        const parsed = JSON.parse(body.toString('utf8')) as { message?: unknown };
        if (typeof parsed.message === 'string') message = parsed.message.slice(0, 500);
      } catch {
        // Not a Status.
      }
      finish(`HTTP ${answer.statusCode ?? 502}`, { code: `http-${answer.statusCode ?? 502}`, message });
      socket.write(
        `HTTP/1.1 ${answer.statusCode ?? 502} ${answer.statusMessage ?? ''}\r\nContent-Type: ${answer.headers['content-type'] ?? 'application/json'}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
      );
      socket.end(body);
    });
  });
  upstream.on('error', (error) => {
    if (done) return;
    options.log.warn('target exec failed', { session: session.id, error: error.message });
    finish('error', { code: 'target-unavailable', message: 'the Kubernetes API server is unreachable' });
    refuseUpgrade(socket, kubeStatus(503, 'Warden: the Kubernetes API server is unreachable'));
  });

  upstream.on('open', () => {
    (req as IncomingMessage & { wardenProtocol?: string }).wardenProtocol = upstream.protocol;
    clientSide.handleUpgrade(req, socket, head, (client) => relay(client));
  });

  function relay(client: WebSocket): void {
    const tty = options.request.tty;
    if (options.recordingsDir !== undefined) {
      const file = path.join(options.recordingsDir, `${session.id}-${options.recordingNumber}.cast`);
      recorder = new AsciicastRecorder(file, { width: 80, height: 24, timestamp: Math.floor(Date.now() / 1000), title: recordingTitle(ruling), ...(tty ? { env: { TERM: 'xterm' } } : {}) }, (error) => {
        // A session that cannot be recorded does not go on.
        options.log.error('recording failed', { session: session.id, error: error.message });
        client.close(1011, 'Warden: the session recording cannot be written');
        upstream.close();
      });
    }

    const recorderDrained = (): Promise<void> | undefined => (recorder?.backedUp ? recorder.drained() : undefined);
    pump(client, upstream, (data) => {
      const channel = data[0];
      if (channel === CHANNEL.stdin) recorder?.input(data.subarray(1));
      else if (channel === CHANNEL.resize) {
        try {
          const size = JSON.parse(data.subarray(1).toString('utf8')) as { Width?: number; Height?: number };
          if (typeof size.Width === 'number' && typeof size.Height === 'number') recorder?.resize(size.Width, size.Height);
        } catch {
          // A malformed resize is the target's to reject.
        }
      }
      return [data];
    }, recorderDrained);

    // The connection's content detectors on stdout and stderr (exec and attach; portforward is
    // refused before it gets here when masking is on). What the client sees and what is recorded
    // are the same masked bytes.
    const masker = ruling.masker?.active && options.request.verb !== 'portforward' ? ruling.masker : undefined;
    const outputMaskers = new Map<number, TerminalOutputMasker>();
    if (masker) {
      const maskText = (text: string) => masker.maskFreeText(text, maskedCounts);
      outputMaskers.set(CHANNEL.stdout, new TerminalOutputMasker({ maskText, tty }));
      outputMaskers.set(CHANNEL.stderr, new TerminalOutputMasker({ maskText, tty }));
    }
    let flushTimer: ReturnType<typeof setTimeout> | undefined;
    let cutOff = false;
    /** One output frame on its way to the client: counted and recorded as sent. */
    const output = (channel: number, payload: Buffer, original?: Buffer): Buffer[] => {
      if (payload.length === 0) return [];
      outBytes += payload.length;
      recorder?.output(payload);
      return [original ?? Buffer.concat([Buffer.from([channel]), payload])];
    };
    /** Sends what the output maskers hold: a partial line after FLUSH_AFTER_MS, or everything at the end. */
    const release = (end: boolean) => {
      clearTimeout(flushTimer);
      flushTimer = undefined;
      for (const [channel, held] of outputMaskers) {
        if (cutOff) return;
        try {
          for (const frame of output(channel, end ? held.end() : held.flush())) send(frame);
        } catch (error) {
          cut(error, channel);
        }
      }
    };
    /** Output Warden cannot mask ends the stream, with a Status the client prints. */
    const cut = (error: unknown, channel?: number) => {
      // The text before the first byte that is not text still goes out.
      if (error instanceof ExecOutputNotText && channel !== undefined) for (const frame of output(channel, error.before)) send(frame);
      cutOff = true;
      clearTimeout(flushTimer);
      const message = error instanceof ExecOutputNotText ? 'the output is not text and this connection masks PHI; the stream was cut' : 'the output could not be masked; the stream was cut';
      options.log.warn('exec output refused', { session: session.id, error: error instanceof Error ? error.message : String(error) });
      finish('refused', { code: 'not-inspectable', message });
      const status = { metadata: {}, status: 'Failure', message: `Warden: ${message}`, reason: 'InternalError', code: 500 };
      if (client.readyState === WebSocket.OPEN) client.send(Buffer.concat([Buffer.from([CHANNEL.status]), Buffer.from(JSON.stringify(status))]), () => client.close(1000));
      upstream.terminate();
    };
    const send = pump(upstream, client, (data) => {
      if (cutOff) return [];
      const channel = data[0]!;
      const stream = outputMaskers.get(channel);
      try {
        if (stream) {
          const frames = output(channel, stream.write(data.subarray(1)));
          if (stream.heldBytes > 0 && flushTimer === undefined) flushTimer = setTimeout(() => release(false), FLUSH_AFTER_MS);
          return frames;
        }
        if (channel === CHANNEL.stdout || channel === CHANNEL.stderr) return output(channel, data.subarray(1), data);
        if (channel === CHANNEL.status) {
          exitStatus = exitOf(data.subarray(1));
          // Output held for masking goes first: the exit status ends the stream.
          release(true);
          return cutOff ? [] : [data];
        }
        return [data];
      } catch (error) {
        cut(error, channel);
        return [];
      }
    }, recorderDrained);
    upstream.on('close', (code, reason) => {
      if (!cutOff) release(true);
      finish(exitStatus);
      if (client.readyState === WebSocket.OPEN) client.close(validCloseCode(code), reason);
    });
    client.on('close', (code, reason) => {
      clearTimeout(flushTimer);
      if (upstream.readyState === WebSocket.OPEN) upstream.close(validCloseCode(code), reason);
      else if (upstream.readyState === WebSocket.CONNECTING) upstream.terminate();
    });
    client.on('error', () => upstream.terminate());
  }
}

/**
 * Relays messages from one socket to the other, pausing the source while the sink is backed up.
 * `forward` turns each binary message into the frames to send (none, the same, or rewritten);
 * text messages pass as they are. Returns a sender for frames produced outside a message (flushes).
 */
function pump(from: WebSocket, to: WebSocket, forward: (data: Buffer) => readonly Buffer[], recorderDrained?: () => Promise<void> | undefined): (frame: Buffer) => void {
  const send = (frame: Buffer, isBinary = true) => {
    if (to.readyState !== WebSocket.OPEN) return;
    to.send(frame, { binary: isBinary }, () => {
      if (from.isPaused && to.bufferedAmount < HIGH_WATER_BYTES) from.resume();
    });
    if (to.bufferedAmount >= HIGH_WATER_BYTES) from.pause();
  };
  from.on('message', (data: RawData, isBinary: boolean) => {
    const buffer = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    if (!isBinary || buffer.length === 0) return send(buffer, isBinary);
    for (const frame of forward(buffer)) send(frame);
    // A recording that cannot keep up holds the source too: it never buffers without bound.
    const drained = recorderDrained?.();
    if (drained) {
      from.pause();
      void drained.then(() => {
        if (to.bufferedAmount < HIGH_WATER_BYTES) from.resume();
      });
    }
  });
  return send;
}

/** The command line as the recording's title; PHI in it masked like the output (the audit log redacts it too). */
function recordingTitle(ruling: Ruling): string {
  const text = ruling.command.text.slice(0, 200);
  return ruling.masker?.active ? ruling.masker.maskFreeText(text) : text;
}

/** `exit 0`, `exit 3`, or the Status message's reason, from a channel-3 Status. */
function exitOf(data: Buffer): string {
  try {
    const status = JSON.parse(data.toString('utf8')) as { status?: string; reason?: string; details?: { causes?: { reason?: string; message?: string }[] } };
    if (status.status === 'Success') return 'exit 0';
    const code = status.details?.causes?.find((cause) => cause.reason === 'ExitCode')?.message;
    if (code !== undefined) return `exit ${code}`;
    return `failure ${status.reason ?? 'unknown'}`;
  } catch {
    return 'closed';
  }
}

/** Close codes a peer may send (1005/1006/1015 are reserved for reporting). */
function validCloseCode(code: number): number {
  return code === 1000 || (code >= 1001 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999) ? code : 1000;
}
