import type { Writable } from 'node:stream';

/**
 * Forwards messages untouched, coalescing adjacent messages of the same buffer into one write, so a
 * chunk of many small messages (a result set) costs one `write`, not one per row.
 */
export class RangeWriter {
  private buffer: Buffer | undefined;
  private start = 0;
  private end = 0;

  constructor(private readonly out: Writable) {}

  /** Queue `buffer[start, end)` for writing after what is already queued. */
  forward(buffer: Buffer, start: number, end: number): void {
    if (this.buffer === buffer && this.end === start) {
      this.end = end;
      return;
    }
    this.flush();
    this.buffer = buffer;
    this.start = start;
    this.end = end;
  }

  /** Write something Warden made, after what is already queued. */
  write(bytes: Buffer): void {
    this.flush();
    this.out.write(bytes);
  }

  /** Write out the queued range. Returns false when the destination asks for back-pressure. */
  flush(): boolean {
    if (this.buffer === undefined) return true;
    const slice = this.buffer.subarray(this.start, this.end);
    this.buffer = undefined;
    return this.out.write(slice);
  }
}
