/**
 * One SSH `session` channel of an admitted client, relayed to a channel on Warden's own connection to
 * the target (RFC 4254 §6). Requests before the program starts (`pty-req`, `env`) are remembered and
 * replayed to the target with it; `exec` is decided before anything runs; `shell` is decided as a
 * whole and each typed line is recorded (best effort, see ShellLineTracker); on `subsystem sftp`
 * each file operation (open, remove, rename, mkdir, rmdir, setstat, symlink) is decided before it is
 * forwarded, and a refused one is answered with SSH_FX_PERMISSION_DENIED. `auth-agent-req` and
 * `x11-req` are refused.
 */
import path from 'node:path';
import type { Writable } from 'node:stream';
import { toWardenError, type Classification, type Logger, type Ruling, type Session } from '@warden/core';
import type { Client, ClientChannel, PseudoTtyInfo, PseudoTtyOptions, ServerChannel, Session as SshSession } from 'ssh2';
import { AsciicastRecorder, type RecordingSummary, type TextMasker } from '@warden/core';
import { LiveOutputMasker } from './live-output-masker';
import { REFUSED_EXIT_STATUS, failureMessage, refusalMessage } from './refusal-message';
import { classifyShell } from './shell-classifier';
import { SFTP_STATUS, SftpPacketFramer, decodeSftpRequest, encodeSftpStatus } from './sftp-protocol';
import { SftpResultTracker } from './sftp-results';
import { ShellLineTracker } from './shell-line-tracker';
import { envAllowed, type SshTarget } from './ssh-target';

export interface SessionChannelOptions {
  readonly session: Session;
  readonly target: Client;
  readonly targetSpec: SshTarget;
  /** Where recordings go (`<dataDir>/recordings`). */
  readonly recordingsDir: string;
  /** Per connection, for recording file names. */
  readonly channelNumber: number;
  readonly log: Logger;
  /** Called when Warden cannot go on (audit unavailable): the whole connection ends. */
  readonly failClosed: (reason: string) => void;
  /** Register work that must finish before the session's end record (recording summaries). */
  readonly track: (work: Promise<unknown>) => void;
  /** Channel data passed, either way (for the idle timeout). */
  readonly activity?: () => void;
  /** Whether the gateway is stopping: a program not yet started is refused. */
  readonly draining?: () => boolean;
  /** An exec command ended (the channel is no longer busy). */
  readonly finished?: () => void;
  /** The channel closed. */
  readonly closed?: () => void;
}

/** Exit status of a program Warden stopped (gateway stop, idle timeout): 128 + SIGTERM, as a shell reports it. */
const STOPPED_EXIT_STATUS = 143;

/** Classifications for the channel requests that are not command lines. */
const REQUEST_CLASSES = {
  shell: { action: 'exec', objects: ['shell'], bulk: false, note: 'interactive shell' },
  // Opening sftp does nothing by itself: each file operation on it is decided (read or write).
  sftp: { action: 'connect', objects: ['sftp'], bulk: false, note: 'sftp subsystem' },
} as const;

function requestClassification(kind: keyof typeof REQUEST_CLASSES): Classification {
  const statement = REQUEST_CLASSES[kind];
  return { action: statement.action, objects: statement.objects, bulk: false, statementCount: 1, statements: [statement] };
}

export class SessionChannel {
  private pty: PseudoTtyInfo | undefined;
  private readonly env: Record<string, string> = {};
  private targetChannel: ClientChannel | undefined;
  private recorder: AsciicastRecorder | undefined;
  private started = false;
  /** What runs on the channel, once started. */
  private kind: 'exec' | 'shell' | 'sftp' | undefined;
  /** The client side of the channel, once a program was requested. */
  private client: ServerChannel | undefined;
  private ended = false;

  constructor(
    private readonly channel: SshSession,
    private readonly options: SessionChannelOptions,
  ) {
    channel.on('pty', (accept, reject, info) => {
      if (this.started) return reject?.();
      this.pty = info;
      accept?.();
    });
    channel.on('window-change', (accept, _reject, info) => {
      this.pty = this.pty ? { ...this.pty, cols: info.cols, rows: info.rows, width: info.width, height: info.height } : this.pty;
      this.targetChannel?.setWindow(info.rows, info.cols, info.height, info.width);
      this.recorder?.resize(info.cols, info.rows);
      accept?.();
    });
    channel.on('env', (accept, reject, info) => {
      if (!this.started && envAllowed(options.targetSpec, info.key)) {
        this.env[info.key] = info.val;
        accept?.();
      } else {
        options.session.recordEvent('env refused', { name: info.key.slice(0, 100) });
        reject?.();
      }
    });
    channel.on('signal', (accept, _reject, info) => {
      this.targetChannel?.signal(info.name);
      accept?.();
    });
    channel.on('auth-agent', (_accept, reject) => {
      options.session.recordEvent('agent forwarding refused');
      reject?.();
    });
    channel.on('x11', (_accept, reject) => {
      options.session.recordEvent('x11 forwarding refused');
      reject?.();
    });
    channel.on('exec', (accept, reject, info) => {
      if (this.started) return reject?.();
      const client = this.begin('exec', accept());
      if (client) void this.exec(client, info.command);
    });
    channel.on('shell', (accept, reject) => {
      if (this.started) return reject?.();
      const client = this.begin('shell', accept());
      if (client) void this.shell(client);
    });
    channel.on('subsystem', (accept, reject, info) => {
      if (this.started || info.name !== 'sftp') {
        options.session.recordEvent('subsystem refused', { name: info.name.slice(0, 100) });
        return reject?.();
      }
      const client = this.begin('sftp', accept());
      if (client) void this.sftp(client);
    });
    channel.on('close', () => options.closed?.());
  }

  /** A program was requested: the channel is started; while the gateway stops, it is refused instead. */
  private begin(kind: 'exec' | 'shell' | 'sftp', client: ServerChannel): ServerChannel | undefined {
    this.started = true;
    this.kind = kind;
    this.client = client;
    if (this.options.draining?.()) {
      client.stderr.write(`${failureMessage('Warden is shutting down; try again once it is back')}\n`);
      this.close(client, REFUSED_EXIT_STATUS);
      return undefined;
    }
    return client;
  }

  /** An exec command is being decided or runs: the session is busy, not idle, and a drain waits for it. */
  get busy(): boolean {
    return this.kind === 'exec' && !this.ended;
  }

  /** Gateway stop: a shell or sftp channel is told why and closed; an exec command runs on. */
  drain(message: string): void {
    if (this.kind !== 'exec') this.closeFor(message);
  }

  /** Ends the channel now, telling the client why on stderr (the target's program is stopped with it). */
  closeFor(message: string): void {
    const client = this.client;
    if (!client || this.ended) return;
    client.stderr.write(`${message}${this.pty ? '\r\n' : '\n'}`);
    this.targetChannel?.close();
    this.close(client, STOPPED_EXIT_STATUS);
  }

  /** `exec`: the command line is decided before anything runs. */
  private async exec(client: ServerChannel, command: string): Promise<void> {
    const ruling = await this.decide(client, command, classifyShell(command), { request: 'exec' });
    if (!ruling) return;
    this.options.target.exec(command, { env: this.env, ...(this.pty ? { pty: this.ptyOptions() } : {}) }, (error, stream) => {
      if (error) return this.targetFailed(client, ruling, error);
      this.relay(client, stream, ruling, { record: true, title: command });
    });
  }

  /** `shell`: opening it is one decision; then each typed line is recorded (and decided, best effort). */
  private async shell(client: ServerChannel): Promise<void> {
    const ruling = await this.decide(client, 'shell', requestClassification('shell'), { request: 'shell' });
    if (!ruling) return;
    const window = this.pty ? this.ptyOptions() : false;
    this.options.target.shell(window, { env: this.env }, (error, stream) => {
      if (error) return this.targetFailed(client, ruling, error);
      this.relay(client, stream, ruling, { record: true, title: 'shell', tracker: this.pty ? new ShellLineTracker() : undefined });
    });
  }

  /** `subsystem sftp`: opening it is one decision; then each file operation is decided (see `sftpRequests`). */
  private async sftp(client: ServerChannel): Promise<void> {
    const ruling = await this.decide(client, 'sftp', requestClassification('sftp'), { request: 'subsystem' });
    if (!ruling) return;
    this.options.target.subsys('sftp', (error, stream) => {
      if (error) return this.targetFailed(client, ruling, error);
      this.relay(client, stream, ruling, { record: false, title: 'sftp', sftp: true });
    });
  }

  /** Decides; on refusal tells the client on stderr and closes the channel with a non-zero status. */
  private async decide(client: ServerChannel, text: string, classification: Classification, detail: Record<string, string>): Promise<Ruling | undefined> {
    try {
      const ruling = await this.options.session.decide({ text, classification, detail });
      if (ruling.decision.effect === 'allow') {
        // Fail closed: nothing runs on the target before its audit record is written.
        await ruling.durable;
        if (this.ended) {
          // Closed while it was being decided (gateway stop, idle timeout): it never starts.
          this.options.session.recordResult(ruling.command.seq, { rows: 0, durationMs: 0, status: 'closed', error: { code: 'closed', message: 'the channel closed before the program started' } });
          return undefined;
        }
        return ruling;
      }
      this.refuse(client, refusalMessage(ruling.decision), ruling);
      return undefined;
    } catch (error) {
      const message = toWardenError(error).message;
      this.refuse(client, failureMessage(message));
      this.options.failClosed(message);
      return undefined;
    }
  }

  private refuse(client: ServerChannel, message: string, ruling?: Ruling): void {
    client.stderr.write(`${message}${this.pty ? '\r\n' : '\n'}`);
    // The refusal reaches the client only once its audit record is durable.
    const durable = ruling ? ruling.durable : Promise.resolve();
    durable.then(
      () => this.close(client, REFUSED_EXIT_STATUS),
      (error: unknown) => {
        this.close(client, REFUSED_EXIT_STATUS);
        this.options.failClosed(toWardenError(error).message);
      },
    );
  }

  private targetFailed(client: ServerChannel, ruling: Ruling, error: Error): void {
    this.options.log.warn('target channel failed', { session: this.options.session.id, error: error.message });
    this.options.session.recordResult(ruling.command.seq, { rows: 0, durationMs: 0, status: 'error', error: { code: 'target-channel', message: error.message } });
    client.stderr.write(`${failureMessage(`the target refused the request: ${error.message}`)}\n`);
    this.close(client, REFUSED_EXIT_STATUS);
  }

  private relay(client: ServerChannel, target: ClientChannel, ruling: Ruling, how: { record: boolean; title: string; tracker?: ShellLineTracker | undefined; sftp?: true }): void {
    this.targetChannel = target;
    const began = performance.now();
    let bytesOut = 0;
    // The connection's content detectors: on the recording always, on the live stream when configured.
    const masker = how.record && ruling.masker?.active ? ruling.masker : undefined;
    if (how.record) this.recorder = this.openRecorder(client, how.title, masker);
    const recorder = this.recorder;
    const tracker = how.tracker;
    // Each side stays paused while anything it feeds (the other side, the recording) is full.
    const targetValve = new Valve(target);
    const clientValve = new Valve(client);

    const send = (stream: NodeJS.WritableStream, data: Buffer | string) => {
      // Text held for masking can come after the client closed its side (flushed at the target's close).
      if ((stream as Writable).writableEnded) return;
      if (!stream.write(data)) targetValve.holdUntil(new Promise((resolve) => stream.once('drain', resolve)));
    };
    let toClient: (stream: NodeJS.WritableStream, data: Buffer) => void;
    // Values masked on the live stream, by detector (undefined: the live stream is not masked).
    const liveCounts: Record<string, number> | undefined = masker && this.options.targetSpec.maskLiveOutput ? {} : undefined;
    const liveMaskers: LiveOutputMasker[] = [];
    if (masker && liveCounts) {
      const counts = liveCounts;
      const live = new Map<NodeJS.WritableStream, LiveOutputMasker>();
      for (const stream of [client, client.stderr] as NodeJS.WritableStream[]) {
        const streamMasker = new LiveOutputMasker(masker, counts, (piece) => {
          if (piece.kind === 'text') {
            send(stream, piece.text);
            recorder?.outputText(piece.text);
            tracker?.output(Buffer.from(piece.text));
          } else {
            send(stream, piece.data);
            recorder?.outputBinary(piece.data);
            tracker?.output(piece.data);
          }
        });
        live.set(stream, streamMasker);
        liveMaskers.push(streamMasker);
      }
      toClient = (stream, data) => {
        bytesOut += data.length;
        live.get(stream)!.push(data);
        if (recorder?.backedUp) targetValve.holdUntil(recorder.drained());
      };
    } else {
      // The hot path: forward the chunk first, then record it.
      toClient = (stream, data) => {
        bytesOut += data.length;
        send(stream, data);
        tracker?.output(data);
        if (recorder) {
          recorder.output(data);
          if (recorder.backedUp) targetValve.holdUntil(recorder.drained());
        }
      };
    }
    const activity = this.options.activity ?? (() => undefined);
    target.on('data', (data: Buffer) => {
      activity();
      toClient(client, data);
    });
    target.stderr.on('data', (data: Buffer) => {
      activity();
      toClient(client.stderr, data);
    });
    client.on('data', activity);

    if (tracker) {
      client.on('data', (data: Buffer) => {
        client.pause();
        this.typed(tracker, target, client, data).then(
          () => client.resume(),
          (error: unknown) => {
            client.stderr.write(`${failureMessage(toWardenError(error).message)}\r\n`);
            this.options.failClosed(toWardenError(error).message);
          },
        );
      });
    } else if (how.sftp) {
      const framer = new SftpPacketFramer();
      // Each decided file operation's outcome, read from the target's replies.
      const results = new SftpResultTracker((seq, result) => this.options.session.recordResult(seq, result));
      target.on('data', (data: Buffer) => results.targetData(data));
      target.on('close', () => results.finish());
      client.on('data', (data: Buffer) => {
        client.pause();
        this.sftpRequests(framer, data, target, client, results).then(
          () => client.resume(),
          (error: unknown) => {
            const message = toWardenError(error).message;
            this.options.log.warn('sftp stream refused', { session: this.options.session.id, error: message });
            this.options.session.recordEvent('sftp refused', { error: message.slice(0, 200) });
            if (toWardenError(error).code === 'protocol') this.close(client, REFUSED_EXIT_STATUS);
            else this.options.failClosed(message);
          },
        );
      });
    } else {
      client.on('data', (data: Buffer) => {
        if (!target.write(data)) clientValve.holdUntil(new Promise((resolve) => target.once('drain', resolve)));
        if (recorder) {
          recorder.input(data);
          if (recorder.backedUp) clientValve.holdUntil(recorder.drained());
        }
      });
    }
    client.on('end', () => target.end());

    let exit: { code: number } | { signal: string; coreDumped: boolean; message: string } = { code: 0 };
    let exitSeen = false;
    target.on('exit', (code: number | null, signal?: string, coreDumped?: boolean, message?: string) => {
      exitSeen = true;
      exit = code === null || code === undefined ? { signal: signal ?? 'KILL', coreDumped: coreDumped === true, message: message ?? '' } : { code };
    });
    target.on('close', () => {
      // Text held back for masking reaches the client before the exit status.
      for (const live of liveMaskers) live.end();
      const masked = liveCounts && Object.keys(liveCounts).length > 0 ? { masked: { ...liveCounts } } : {};
      const summary = {
        rows: bytesOut,
        durationMs: Math.round(performance.now() - began),
        status: !exitSeen ? 'closed' : 'code' in exit ? `exit ${exit.code}` : `signal ${exit.signal}`,
        ...masked,
      };
      // The client learns the command finished only once its audit record is durable.
      ruling.durable.then(
        () => {
          this.options.session.recordResult(ruling.command.seq, summary);
          if (!exitSeen) this.close(client);
          else if ('code' in exit) this.close(client, exit.code);
          else this.close(client, exit);
        },
        (error: unknown) => {
          client.stderr.write(`${failureMessage(toWardenError(error).message)}\n`);
          this.close(client, REFUSED_EXIT_STATUS);
          this.options.failClosed(toWardenError(error).message);
        },
      );
    });
    client.on('close', () => target.close());
  }

  /** Client keystrokes in a shell: plain bytes pass at once; a completed line is decided before its Enter. */
  private async typed(tracker: ShellLineTracker, target: ClientChannel, client: ServerChannel, data: Buffer): Promise<void> {
    for (const segment of tracker.input(data)) {
      if (segment.kind === 'secret') {
        target.write(segment.data);
        continue;
      }
      if (segment.kind === 'bytes') {
        this.recorder?.input(segment.data);
        target.write(segment.data);
        continue;
      }
      this.recorder?.input(segment.enter);
      if (segment.text.trim() === '') {
        target.write(segment.enter);
        continue;
      }
      const detail = { request: 'shell-line', enforcement: 'best-effort', ...(segment.edited ? { edited: true } : {}) };
      const ruling = await this.options.session.decide({ text: segment.text, classification: classifyShell(segment.text), detail });
      await ruling.durable;
      if (ruling.decision.effect === 'allow') {
        target.write(segment.enter);
        continue;
      }
      // Refused: Ctrl-U then Ctrl-C make the target's line editor drop the line instead of running it.
      target.write(Buffer.from([0x15, 0x03]));
      const message = `\r\n${refusalMessage(ruling.decision)}\r\n`;
      this.recorder?.output(Buffer.from(message));
      client.write(message);
    }
  }

  /**
   * Client bytes on the sftp channel: whole packets that change or open files are decided before
   * they are forwarded (in order); a refused one is answered SSH_FX_PERMISSION_DENIED with the
   * reason and never reaches the target. Everything else passes as it came. A malformed stream
   * rejects with a `protocol` error and the channel closes.
   */
  private async sftpRequests(framer: SftpPacketFramer, data: Buffer, target: ClientChannel, client: ServerChannel, results: SftpResultTracker): Promise<void> {
    for (const packet of framer.push(data)) {
      const operation = decodeSftpRequest(packet);
      if (operation) {
        const ruling = await this.options.session.decide({
          text: operation.text,
          classification: operation.classification,
          detail: { request: 'sftp', operation: operation.operation },
        });
        await ruling.durable;
        if (ruling.decision.effect !== 'allow') {
          client.write(encodeSftpStatus(operation.id, SFTP_STATUS.SSH_FX_PERMISSION_DENIED, refusalMessage(ruling.decision)));
          continue;
        }
        if (operation.readsFile && ruling.masker?.active && this.options.targetSpec.maskLiveOutput) {
          // The client sees only masked output on this connection; a file's bytes cannot be masked
          // without corrupting it, so a download would be the way around masking.
          this.options.session.recordResult(ruling.command.seq, { rows: 0, durationMs: 0, status: 'refused', error: { code: 'not-inspectable', message: 'file downloads cannot be masked' } });
          client.write(encodeSftpStatus(operation.id, SFTP_STATUS.SSH_FX_PERMISSION_DENIED, 'Warden: this connection masks PHI in what the client sees, and file contents cannot be masked; download refused'));
          continue;
        }
        results.decided(operation.id, ruling.command.seq, operation.operation);
      }
      results.clientPacket(packet);
      if (!target.write(packet)) await new Promise((resolve) => target.once('drain', resolve));
    }
  }

  /** The client's pty request, as the target gets it (terminal modes pass through). */
  private ptyOptions(): PseudoTtyOptions {
    const pty = this.pty!;
    return { term: pty.term, cols: pty.cols, rows: pty.rows, width: pty.width, height: pty.height, modes: pty.modes };
  }

  private openRecorder(client: ServerChannel, title: string, masker: TextMasker | undefined): AsciicastRecorder {
    const file = path.join(this.options.recordingsDir, `${this.options.session.id}-${this.options.channelNumber}.cast`);
    const recorder = new AsciicastRecorder(
      file,
      {
        width: this.pty?.cols ?? 80,
        height: this.pty?.rows ?? 24,
        timestamp: Math.floor(Date.now() / 1000),
        // The command line can carry a value too (`grep 123-45-6789 …`).
        title: (masker ? masker.maskFreeText(title) : title).slice(0, 200),
        ...(this.pty ? { env: { TERM: this.pty.term } } : {}),
      },
      (error) => {
        // A session that cannot be recorded does not go on.
        this.options.log.error('recording failed', { session: this.options.session.id, error: error.message });
        client.stderr.write(`${failureMessage('the session recording cannot be written; Warden closes the channel')}\n`);
        this.close(client, REFUSED_EXIT_STATUS);
      },
      // Without a pty, a program's output is often a file being copied, not a screen to replay.
      { detectBinary: this.pty === undefined, ...(masker ? { masker } : {}) },
    );
    return recorder;
  }

  private close(client: ServerChannel, status?: number | { signal: string; coreDumped: boolean; message: string }): void {
    if (this.ended) return;
    this.ended = true;
    if (status !== undefined) {
      // exit-status/exit-signal must precede the channel close, or OpenSSH reports 255.
      if (typeof status === 'number') client.exit(status);
      else client.exit(status.signal, status.coreDumped, status.message);
    }
    client.end();
    this.finishRecording();
    this.options.finished?.();
  }

  private finishRecording(): void {
    const recorder = this.recorder;
    if (!recorder) return;
    this.recorder = undefined;
    const { session } = this.options;
    const done = recorder.close().then(
      (summary: RecordingSummary) =>
        session.recordEvent('recording', {
          channel: this.options.channelNumber,
          file: path.basename(summary.file),
          sha256: summary.sha256,
          bytes: summary.bytes,
          events: summary.events,
          ...(summary.binaryOutputBytes ? { binaryOutputBytes: summary.binaryOutputBytes } : {}),
          ...(summary.binaryInputBytes ? { binaryInputBytes: summary.binaryInputBytes } : {}),
          ...(summary.masked ? { masked: Object.entries(summary.masked).map(([detector, count]) => `${detector}:${count}`).join(',') } : {}),
        }),
      (error: unknown) => session.recordEvent('recording incomplete', { channel: this.options.channelNumber, error: toWardenError(error).message }),
    );
    this.options.track(done);
  }
}

/** Pauses a stream while any of the waits it was given is pending; resumes it when the last one ends. */
class Valve {
  private pending = 0;

  constructor(private readonly stream: { pause(): unknown; resume(): unknown }) {}

  holdUntil(wait: Promise<unknown>): void {
    if (this.pending++ === 0) this.stream.pause();
    void wait.finally(() => {
      if (--this.pending === 0) this.stream.resume();
    });
  }
}
