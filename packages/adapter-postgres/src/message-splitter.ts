import { WardenError } from '@warden/core';

/**
 * Splits a byte stream into PostgreSQL messages without copying when it can.
 *
 * Wire layout:
 *   startup phase (untyped):  int32 length (includes itself) | int32 code | payload
 *   afterwards (typed):       byte type | int32 length (includes itself, not the type) | payload
 *
 * The visitor sees each complete message as `buffer[start, end)` (header included). When the
 * message lies inside the chunk just pushed, `buffer` is that chunk, so a proxy can forward runs of
 * untouched messages as one slice. The visitor returns what to do next:
 * - `Visit.Continue`: consumed, go on;
 * - `Visit.Pause`: consumed, stop until `resume()`;
 * - `Visit.Wait`: not consumed, stop; the same message is visited again on `resume()`.
 */
export const Visit = { Continue: 0, Pause: 1, Wait: 2 } as const;
export type VisitResult = (typeof Visit)[keyof typeof Visit];

export type MessageVisitor = (code: number, buffer: Buffer, start: number, end: number) => VisitResult;

/** Called when a run of visits ends (chunk exhausted or paused), so the caller can flush writes. */
export type BatchEnd = (buffer: Buffer) => void;

export interface MessageSplitterOptions {
  /** Largest message accepted, header included; larger ones are a protocol error. */
  readonly maxMessageSize: number;
  /** Whether the stream starts with an untyped startup message (client side). */
  readonly startup: boolean;
}

const EMPTY = Buffer.alloc(0);

export class MessageSplitter {
  private untyped: boolean;
  private buffer: Buffer = EMPTY;
  private offset = 0;
  /** Chunks of an incomplete large message, collected until it is whole (copied once). */
  private parts: Buffer[] = [];
  private partsLength = 0;
  private needed = 0;
  private stopped = false;

  constructor(
    private readonly options: MessageSplitterOptions,
    private readonly visit: MessageVisitor,
    private readonly batchEnd: BatchEnd = () => undefined,
  ) {
    this.untyped = options.startup;
  }

  /** Bytes received but not yet visited. */
  get pendingBytes(): number {
    return this.buffer.length - this.offset + this.partsLength;
  }

  /** Whether the splitter is paused (by a `Pause` or `Wait` from the visitor). */
  get paused(): boolean {
    return this.stopped;
  }

  /** The next message is an untyped startup-phase message again (after an SSLRequest answer). */
  expectStartupMessage(): void {
    this.untyped = true;
  }

  push(chunk: Buffer): void {
    if (this.partsLength > 0) {
      this.parts.push(chunk);
      this.partsLength += chunk.length;
      if (this.partsLength < this.needed) return;
      chunk = Buffer.concat(this.parts, this.partsLength);
      this.parts = [];
      this.partsLength = 0;
      this.needed = 0;
    } else if (this.offset < this.buffer.length) {
      chunk = Buffer.concat([this.buffer.subarray(this.offset), chunk]);
    }
    this.buffer = chunk;
    this.offset = 0;
    if (!this.stopped) this.drain();
  }

  resume(): void {
    this.stopped = false;
    this.drain();
  }

  private drain(): void {
    const buffer = this.buffer;
    let offset = this.offset;
    try {
      while (!this.stopped) {
        const available = buffer.length - offset;
        const headerLength = this.untyped ? 4 : 5;
        if (available < headerLength) break;
        const declared = this.untyped ? buffer.readInt32BE(offset) : buffer.readInt32BE(offset + 1);
        const total = this.untyped ? declared : declared + 1;
        if (declared < 4 || (this.untyped && declared < 8)) {
          throw new WardenError('protocol', `invalid message length ${declared}`);
        }
        if (total > this.options.maxMessageSize) {
          throw new WardenError('limit', `message of ${total} bytes exceeds the limit of ${this.options.maxMessageSize} bytes`);
        }
        if (available < total) {
          if (total > 64 * 1024) this.collect(buffer.subarray(offset), total);
          break;
        }
        const wasUntyped = this.untyped;
        const code = wasUntyped ? 0 : buffer[offset]!;
        // Cleared before the visit: the visitor may ask for another startup message (SSLRequest).
        this.untyped = false;
        const result = this.visit(code, buffer, offset, offset + total);
        if (result === Visit.Wait) {
          this.untyped = wasUntyped;
          this.stopped = true;
          break;
        }
        offset += total;
        if (result === Visit.Pause) this.stopped = true;
      }
    } finally {
      if (this.partsLength === 0) this.offset = offset;
      this.batchEnd(buffer);
    }
  }

  /** Park the start of a large incomplete message; `push` joins the rest once it has arrived. */
  private collect(head: Buffer, total: number): void {
    this.parts = [Buffer.from(head)];
    this.partsLength = head.length;
    this.needed = total;
    this.buffer = EMPTY;
    this.offset = 0;
  }
}
