import type { Writable } from 'node:stream';

/** Bytes Warden made (masked rows) gather in slabs of this size between flushes. */
const SLAB_BYTES = 64 * 1024;

/**
 * Forwards messages untouched, coalescing adjacent messages of the same buffer into one write, so a
 * chunk of many small messages (a result set) costs one `write`, not one per row. Messages Warden
 * rewrote (`append`: a masked row) are copied into a slab and leave together too, in order with
 * the forwarded ones: a masked result costs a write per flush, not a write per row.
 */
export class RangeWriter {
  private buffer: Buffer | undefined;
  private start = 0;
  private end = 0;
  /** The slab appended bytes are copied into; `[slabStart, slabEnd)` is not written yet. */
  private slab: Buffer | undefined;
  private slabStart = 0;
  private slabEnd = 0;

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

  /**
   * Queue a message Warden made, after what is already queued; it is written at the next `flush`
   * (together with the messages appended next to it). The caller may reuse `bytes` at once.
   */
  append(bytes: Buffer): void {
    if (bytes.length > SLAB_BYTES / 4) {
      this.flush();
      this.out.write(Buffer.from(bytes));
      return;
    }
    if (this.buffer !== undefined) this.flushRange();
    if (this.slab === undefined || this.slabEnd + bytes.length > this.slab.length) {
      this.flushSlab();
      // A new slab: the written part of the old one belongs to the destination until it is sent.
      this.slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
      this.slabStart = this.slabEnd = 0;
    }
    this.slabEnd += bytes.copy(this.slab, this.slabEnd);
  }

  /** Write something Warden made at once, after what is already queued. */
  write(bytes: Buffer): void {
    this.flush();
    this.out.write(bytes);
  }

  /** Write out what is queued. Returns false when the destination asks for back-pressure. */
  flush(): boolean {
    const slab = this.flushSlab();
    const range = this.flushRange();
    return slab && range;
  }

  private flushRange(): boolean {
    if (this.buffer === undefined) return true;
    const slice = this.buffer.subarray(this.start, this.end);
    this.buffer = undefined;
    return this.out.write(slice);
  }

  private flushSlab(): boolean {
    if (this.slabEnd === this.slabStart) return true;
    const slice = this.slab!.subarray(this.slabStart, this.slabEnd);
    this.slabStart = this.slabEnd;
    return this.out.write(slice);
  }
}
