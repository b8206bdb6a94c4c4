/**
 * Terminal recordings in asciicast v2 (https://docs.asciinema.org/manual/asciicast/v2/): a JSON
 * header line, then one JSON array per event, `[seconds, type, data]`, where type is `o` (output the
 * client saw), `i` (input the client typed), `r` (resize, `COLSxROWS`) or `m` (a marker, whose data
 * is a label). `asciinema play` and the asciinema web player replay it.
 *
 * Bulk binary data (an `scp`, `rsync` or `cat file.gz` over an exec without a pty) is not what a
 * person replays, and escaping every byte as JSON text costs far more than the transfer: with
 * `detectBinary`, a run of binary chunks is recorded as one marker,
 * `binary output (not shown): <bytes> bytes, sha256 <hex>` (or `binary input …`), written when the
 * run ends. Players skip or list markers, so the file stays valid asciicast v2.
 *
 * With a `mask`, text is masked line by line before it is written (see TerminalTextMasker); a
 * partial line is written once the stream has been idle for PARTIAL_LINE_IDLE_MS, so that prompts
 * appear on time in the replay.
 */
import { createHash, type Hash } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { PARTIAL_LINE_IDLE_MS, TerminalTextMasker, type MaskRun } from './terminal-text-masker';
import { TextOrBinarySplitter } from './text-or-binary';
import { whenDrained } from './when-drained';

export interface AsciicastHeader {
  readonly width: number;
  readonly height: number;
  /** Unix time (seconds) of the start. */
  readonly timestamp: number;
  readonly command?: string;
  readonly title?: string;
  readonly env?: Readonly<Record<string, string>>;
}

export type AsciicastEventType = 'o' | 'i' | 'r' | 'm';

/** The header line, with its newline. */
export function encodeAsciicastHeader(header: AsciicastHeader): string {
  return `${JSON.stringify({ version: 2, ...header })}\n`;
}

/** One event line, with its newline; `seconds` since the start. */
export function encodeAsciicastEvent(seconds: number, type: AsciicastEventType, data: string): string {
  return `${JSON.stringify([Math.round(seconds * 1e6) / 1e6, type, data])}\n`;
}

/** The marker label of a run of binary data (see the file comment). */
export function binaryMarkerLabel(direction: 'o' | 'i', bytes: number, sha256: string): string {
  return `binary ${direction === 'o' ? 'output' : 'input'} (not shown): ${bytes} bytes, sha256 ${sha256}`;
}

export interface AsciicastRecorderOptions {
  /** Record binary chunks as markers with a byte count and SHA-256 (execs without a pty). */
  readonly detectBinary?: boolean;
  /** Masks recorded text, output and input alike: the connection's content detectors (`ruling.masker`). */
  readonly masker?: TextMasker;
}

/** What the recorder needs of the core's `Masker`. */
export interface TextMasker {
  maskFreeText(text: string, counts?: Record<string, number>): string;
}

/** What a finished recording is, for the audit log. */
export interface RecordingSummary {
  readonly file: string;
  readonly sha256: string;
  readonly bytes: number;
  readonly events: number;
  /** Bytes recorded as binary markers, by direction (absent when none). */
  readonly binaryOutputBytes?: number;
  readonly binaryInputBytes?: number;
  /** Values masked in the recording, by detector (absent when none). */
  readonly masked?: Readonly<Record<string, number>>;
}

/** One direction of the channel (`o` or `i`): how its bytes become events. */
class Track {
  readonly decoder = new StringDecoder('utf8');
  readonly splitter: TextOrBinarySplitter | undefined;
  readonly masker: TerminalTextMasker | undefined;
  /** The binary run in progress. */
  run: { bytes: number; hash: Hash } | undefined;
  binaryBytes = 0;

  constructor(detectBinary: boolean, mask: MaskRun | undefined) {
    this.splitter = detectBinary ? new TextOrBinarySplitter() : undefined;
    this.masker = mask ? new TerminalTextMasker(mask) : undefined;
  }
}

/**
 * Records one channel to a file. Bytes are decoded as UTF-8 per direction, so a character split
 * across two packets is recorded whole. A write failure is reported once through `onError` (the
 * channel is then closed: a session that cannot be recorded does not go on).
 */
export class AsciicastRecorder {
  private readonly out: WriteStream;
  private readonly hash: Hash = createHash('sha256');
  private readonly tracks: { readonly o: Track; readonly i: Track };
  private readonly started = performance.now();
  private bytes = 0;
  private events = 0;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  private closing: Promise<RecordingSummary> | undefined;
  /** Set once close() has written the last events: nothing is recorded after it. */
  private closed = false;
  private failure: Error | undefined;
  /** Values masked in the recording, by detector. */
  private readonly masked: Record<string, number> = {};

  constructor(
    readonly file: string,
    header: AsciicastHeader,
    private readonly onError: (error: Error) => void,
    options: AsciicastRecorderOptions = {},
  ) {
    const detectBinary = options.detectBinary === true;
    const masker = options.masker;
    const mask: MaskRun | undefined = masker ? (text) => masker.maskFreeText(text, this.masked) : undefined;
    this.tracks = { o: new Track(detectBinary, mask), i: new Track(detectBinary, mask) };
    this.out = createWriteStream(file, { flags: 'wx', mode: 0o600 });
    this.out.on('error', (error) => {
      if (this.failure) return;
      this.failure = error;
      this.onError(error);
    });
    this.write(encodeAsciicastHeader(header));
  }

  /** Output bytes as the client received them (classified, decoded and masked here). */
  output(data: Buffer): void {
    this.bytesIn('o', data);
  }

  /** Input bytes as the client sent them. */
  input(data: Buffer): void {
    this.bytesIn('i', data);
  }

  /**
   * Output text that was already masked (live masking: the recording holds what the client saw).
   * Not masked again; ends a binary run.
   */
  outputText(text: string): void {
    const track = this.tracks.o;
    this.endRun('o', track);
    this.event('o', text);
  }

  /** Output bytes the live stream passed as binary (not masked, not decodable as text). */
  outputBinary(data: Buffer): void {
    const track = this.tracks.o;
    if (track.splitter) this.binary('o', track, data);
    else this.text('o', track, track.decoder.write(data));
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
    return this.backedUp ? whenDrained(this.out) : Promise.resolve();
  }

  /** Flushes and closes the file; resolves with its SHA-256. Rejects if the recording is incomplete. */
  close(): Promise<RecordingSummary> {
    this.closing ??= new Promise<RecordingSummary>((resolve, reject) => {
      if (this.idleTimer) clearTimeout(this.idleTimer);
      for (const type of ['o', 'i'] as const) {
        const track = this.tracks[type];
        const rest = track.splitter?.end();
        if (rest) this.binary(type, track, rest);
        this.endRun(type, track);
        this.text(type, track, track.decoder.end());
        if (track.masker) this.event(type, track.masker.flush());
      }
      this.closed = true;
      this.out.end(() => {
        if (this.failure) return reject(this.failure);
        const { o, i } = this.tracks;
        resolve({
          file: this.file,
          sha256: this.hash.digest('hex'),
          bytes: this.bytes,
          events: this.events,
          ...(o.binaryBytes > 0 ? { binaryOutputBytes: o.binaryBytes } : {}),
          ...(i.binaryBytes > 0 ? { binaryInputBytes: i.binaryBytes } : {}),
          ...(Object.keys(this.masked).length > 0 ? { masked: { ...this.masked } } : {}),
        });
      });
    });
    return this.closing;
  }

  private bytesIn(type: 'o' | 'i', data: Buffer): void {
    if (this.closed) return;
    const track = this.tracks[type];
    if (!track.splitter) return this.text(type, track, track.decoder.write(data));
    const piece = track.splitter.push(data);
    if (piece.kind === 'binary') this.binary(type, track, piece.data);
    else this.text(type, track, piece.text);
  }

  private text(type: 'o' | 'i', track: Track, text: string): void {
    if (text === '') return;
    this.endRun(type, track);
    if (!track.masker) return this.event(type, text);
    this.event(type, track.masker.push(text));
    if (track.masker.holding) this.armIdleFlush();
  }

  private binary(type: 'o' | 'i', track: Track, data: Buffer): void {
    // Text held back for masking comes first in the replay.
    if (track.masker?.holding) this.event(type, track.masker.flush());
    track.run ??= { bytes: 0, hash: createHash('sha256') };
    track.run.bytes += data.length;
    track.run.hash.update(data);
    track.binaryBytes += data.length;
  }

  private endRun(type: 'o' | 'i', track: Track): void {
    const run = track.run;
    if (!run) return;
    track.run = undefined;
    this.event('m', binaryMarkerLabel(type, run.bytes, run.hash.digest('hex')));
  }

  /** A partial line held for masking is written once the stream pauses (a prompt waiting for input). */
  private armIdleFlush(): void {
    if (this.idleTimer || this.closing) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      if (this.closing) return;
      for (const type of ['o', 'i'] as const) {
        const masker = this.tracks[type].masker;
        if (masker?.holding) this.event(type, masker.flush());
      }
    }, PARTIAL_LINE_IDLE_MS);
    this.idleTimer.unref();
  }

  private event(type: AsciicastEventType, data: string): void {
    if (data === '' || this.closed) return;
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
