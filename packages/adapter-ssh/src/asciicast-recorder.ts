/**
 * Terminal recordings in asciicast v2 (https://docs.asciinema.org/manual/asciicast/v2/): a JSON
 * header line, then one JSON array per event, `[seconds, type, data]`, where type is `o` (output the
 * client saw), `i` (input the client typed) or `r` (resize, `COLSxROWS`). `asciinema play` and the
 * asciinema web player replay it.
 */
import { createHash, type Hash } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

export interface AsciicastHeader {
  readonly width: number;
  readonly height: number;
  /** Unix time (seconds) of the start. */
  readonly timestamp: number;
  readonly command?: string;
  readonly title?: string;
  readonly env?: Readonly<Record<string, string>>;
}

export type AsciicastEventType = 'o' | 'i' | 'r';

/** The header line, with its newline. */
export function encodeAsciicastHeader(header: AsciicastHeader): string {
  return `${JSON.stringify({ version: 2, ...header })}\n`;
}

/** One event line, with its newline; `seconds` since the start. */
export function encodeAsciicastEvent(seconds: number, type: AsciicastEventType, data: string): string {
  return `${JSON.stringify([Math.round(seconds * 1e6) / 1e6, type, data])}\n`;
}

/** What a finished recording is, for the audit log. */
export interface RecordingSummary {
  readonly file: string;
  readonly sha256: string;
  readonly bytes: number;
  readonly events: number;
}

/**
 * Records one channel to a file. Bytes are decoded as UTF-8 with a decoder per direction, so a
 * character split across two packets is recorded whole. A write failure is reported once through
 * `onError` (the channel is then closed: a session that cannot be recorded does not go on).
 */
export class AsciicastRecorder {
  private readonly out: WriteStream;
  private readonly hash: Hash = createHash('sha256');
  private readonly decoders = { o: new StringDecoder('utf8'), i: new StringDecoder('utf8') };
  private readonly started = performance.now();
  private bytes = 0;
  private events = 0;
  private closing: Promise<RecordingSummary> | undefined;
  private failure: Error | undefined;

  constructor(
    readonly file: string,
    header: AsciicastHeader,
    private readonly onError: (error: Error) => void,
  ) {
    this.out = createWriteStream(file, { flags: 'wx', mode: 0o600 });
    this.out.on('error', (error) => {
      if (this.failure) return;
      this.failure = error;
      this.onError(error);
    });
    this.write(encodeAsciicastHeader(header));
  }

  output(data: Buffer): void {
    this.event('o', this.decoders.o.write(data));
  }

  input(data: Buffer): void {
    this.event('i', this.decoders.i.write(data));
  }

  resize(cols: number, rows: number): void {
    this.event('r', `${cols}x${rows}`);
  }

  /**
   * Whether the file's write buffer is over its high-water mark. The caller pauses the channel it
   * records until `drained()` resolves, so that a recording never buffers without bound when the
   * disk is slower than the network.
   */
  get backedUp(): boolean {
    return this.failure === undefined && this.out.writableNeedDrain;
  }

  /** Resolves once the write buffer has drained (at once when it is not backed up, or after a failure). */
  drained(): Promise<void> {
    if (!this.backedUp) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.out.off('drain', done).off('error', done).off('close', done);
        resolve();
      };
      this.out.on('drain', done).on('error', done).on('close', done);
    });
  }

  /** Flushes and closes the file; resolves with its SHA-256. Rejects if the recording is incomplete. */
  close(): Promise<RecordingSummary> {
    this.closing ??= new Promise<RecordingSummary>((resolve, reject) => {
      this.event('o', this.decoders.o.end());
      this.event('i', this.decoders.i.end());
      this.out.end(() => {
        if (this.failure) reject(this.failure);
        else resolve({ file: this.file, sha256: this.hash.digest('hex'), bytes: this.bytes, events: this.events });
      });
    });
    return this.closing;
  }

  private event(type: AsciicastEventType, data: string): void {
    if (data === '' || this.closing) return;
    this.events++;
    this.write(encodeAsciicastEvent((performance.now() - this.started) / 1000, type, data));
  }

  private write(line: string): void {
    if (this.failure) return;
    const buffer = Buffer.from(line, 'utf8');
    this.hash.update(buffer);
    this.bytes += buffer.length;
    this.out.write(buffer);
  }
}

/** Reads a recording back: the header and the events, for replay and tests. */
export function parseAsciicast(text: string): { header: AsciicastHeader & { version: number }; events: [number, AsciicastEventType, string][] } {
  const lines = text.split('\n').filter((line) => line !== '');
  const [first, ...rest] = lines;
  if (first === undefined) throw new Error('empty recording');
  return { header: JSON.parse(first) as AsciicastHeader & { version: number }, events: rest.map((line) => JSON.parse(line) as [number, AsciicastEventType, string]) };
}
