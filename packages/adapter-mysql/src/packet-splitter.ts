/**
 * Splits a byte stream into MySQL physical packets without copying when it can.
 *
 * Wire layout (https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_basic_packets.html):
 *   int<3> payload length | int<1> sequence id | payload
 * A payload of exactly 0xffffff bytes continues in the next packet (a logical message of 16 MiB
 * or more); the visitor is told so that it reads only the first packet of a message.
 *
 * The visitor sees each packet as `buffer[start, end)`, header included. When the packet lies
 * inside the chunk just pushed, `buffer` is that chunk, so runs of untouched packets can be
 * forwarded as one slice. It returns what to do next:
 * - `Visit.Continue`: consumed, go on;
 * - `Visit.Pause`: consumed, stop until `resume()`;
 * - `Visit.Wait`: not consumed, stop; the same packet is visited again on `resume()`.
 */
import { WardenError } from '@warden/core';
import { MAX_PACKET_PAYLOAD } from './protocol';

export const Visit = { Continue: 0, Pause: 1, Wait: 2 } as const;
export type VisitResult = (typeof Visit)[keyof typeof Visit];

export interface Packet {
  readonly buffer: Buffer;
  /** Where the 4-byte header starts. */
  readonly start: number;
  readonly end: number;
  readonly sequenceId: number;
  /** This packet continues a logical message begun by an earlier packet. */
  readonly continuation: boolean;
  /** The logical message continues in the next packet. */
  readonly continues: boolean;
}

export type PacketVisitor = (packet: Packet) => VisitResult;

const HEADER = 4;
const EMPTY = Buffer.alloc(0);

export class PacketSplitter {
  private buffer: Buffer = EMPTY;
  private offset = 0;
  private parts: Buffer[] = [];
  private partsLength = 0;
  private needed = 0;
  private stopped = false;
  private inContinuation = false;

  /**
   * `maxPacketBytes` (header included) is checked as soon as a header arrives, so that an
   * oversized packet is refused before Warden buffers it.
   */
  constructor(
    private readonly visit: PacketVisitor,
    private readonly batchEnd: () => void = () => undefined,
    private readonly maxPacketBytes: number = HEADER + MAX_PACKET_PAYLOAD,
  ) {}

  get pendingBytes(): number {
    return this.buffer.length - this.offset + this.partsLength;
  }

  get paused(): boolean {
    return this.stopped;
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

  /** Bytes not yet visited, taken out (to hand the stream to a TLS layer or another reader). */
  takeRemainder(): Buffer {
    const rest = this.partsLength > 0 ? Buffer.concat(this.parts, this.partsLength) : this.buffer.subarray(this.offset);
    this.parts = [];
    this.partsLength = 0;
    this.buffer = EMPTY;
    this.offset = 0;
    return rest;
  }

  private drain(): void {
    const buffer = this.buffer;
    let offset = this.offset;
    let collecting = false;
    try {
      while (!this.stopped) {
        const available = buffer.length - offset;
        if (available < HEADER) break;
        const length = buffer.readUIntLE(offset, 3);
        const total = HEADER + length;
        if (total > this.maxPacketBytes) throw new WardenError('limit', `packet of ${total} bytes exceeds the limit of ${this.maxPacketBytes} bytes`);
        if (available < total) {
          if (total > 64 * 1024) {
            this.collect(buffer.subarray(offset), total);
            collecting = true;
          }
          break;
        }
        const continues = length === MAX_PACKET_PAYLOAD;
        const packet: Packet = { buffer, start: offset, end: offset + total, sequenceId: buffer[offset + 3]!, continuation: this.inContinuation, continues };
        const result = this.visit(packet);
        if (result === Visit.Wait) {
          this.stopped = true;
          break;
        }
        this.inContinuation = continues;
        offset += total;
        if (result === Visit.Pause) this.stopped = true;
      }
    } catch (error) {
      throw error instanceof WardenError ? error : new WardenError('protocol', error instanceof Error ? error.message : String(error), { cause: error });
    } finally {
      if (!collecting) this.offset = offset;
      this.batchEnd();
    }
  }

  /** Park the start of a large incomplete packet; `push` joins the rest once it has arrived. */
  private collect(head: Buffer, total: number): void {
    this.parts = [Buffer.from(head)];
    this.partsLength = head.length;
    this.needed = total;
    this.buffer = EMPTY;
    this.offset = 0;
  }
}
