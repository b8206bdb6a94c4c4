/**
 * Reading and writing the basic data types of MySQL packets.
 * https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_basic_data_types.html
 */
import { WardenError } from '@warden/core';
import { MAX_PACKET_PAYLOAD } from './protocol';

/** Reads a payload front to back; every read past the end is a protocol error. */
export class PayloadReader {
  offset: number;

  constructor(
    private readonly buffer: Buffer,
    start: number,
    private readonly end: number,
  ) {
    this.offset = start;
  }

  get remaining(): number {
    return this.end - this.offset;
  }

  private need(bytes: number): void {
    if (this.offset + bytes > this.end) throw new WardenError('protocol', 'packet shorter than its contents');
  }

  u8(): number {
    this.need(1);
    return this.buffer[this.offset++]!;
  }

  u16(): number {
    this.need(2);
    const value = this.buffer.readUInt16LE(this.offset);
    this.offset += 2;
    return value;
  }

  u32(): number {
    this.need(4);
    const value = this.buffer.readUInt32LE(this.offset);
    this.offset += 4;
    return value;
  }

  skip(bytes: number): void {
    this.need(bytes);
    this.offset += bytes;
  }

  /** int<lenenc>: 1 byte < 0xfb, 0xfc + 2 bytes, 0xfd + 3 bytes, 0xfe + 8 bytes. */
  lenenc(): number {
    const first = this.u8();
    if (first < 0xfb) return first;
    if (first === 0xfc) return this.u16();
    if (first === 0xfd) {
      this.need(3);
      const value = this.buffer.readUIntLE(this.offset, 3);
      this.offset += 3;
      return value;
    }
    if (first === 0xfe) {
      this.need(8);
      const value = Number(this.buffer.readBigUInt64LE(this.offset));
      this.offset += 8;
      return value;
    }
    throw new WardenError('protocol', `invalid length-encoded integer 0x${first.toString(16)}`);
  }

  bytes(length: number): Buffer {
    this.need(length);
    const value = this.buffer.subarray(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }

  lenencBytes(): Buffer {
    return this.bytes(this.lenenc());
  }

  /** string<NUL> */
  cstring(): string {
    const zero = this.buffer.indexOf(0, this.offset);
    if (zero === -1 || zero >= this.end) throw new WardenError('protocol', 'unterminated string');
    const value = this.buffer.toString('utf8', this.offset, zero);
    this.offset = zero + 1;
    return value;
  }

  /** string<EOF> */
  rest(): Buffer {
    return this.bytes(this.remaining);
  }
}

/** Builds one payload; `packet(sequenceId)` frames it (splitting at 16 MiB as the protocol does). */
export class PayloadWriter {
  private readonly chunks: Buffer[] = [];

  u8(value: number): this {
    this.chunks.push(Buffer.from([value & 0xff]));
    return this;
  }

  u16(value: number): this {
    const buffer = Buffer.alloc(2);
    buffer.writeUInt16LE(value);
    this.chunks.push(buffer);
    return this;
  }

  u32(value: number): this {
    const buffer = Buffer.alloc(4);
    buffer.writeUInt32LE(value >>> 0);
    this.chunks.push(buffer);
    return this;
  }

  lenenc(value: number): this {
    if (value < 0xfb) return this.u8(value);
    if (value <= 0xffff) return this.u8(0xfc).u16(value);
    if (value <= 0xffffff) {
      const buffer = Buffer.alloc(4);
      buffer[0] = 0xfd;
      buffer.writeUIntLE(value, 1, 3);
      this.chunks.push(buffer);
      return this;
    }
    const buffer = Buffer.alloc(9);
    buffer[0] = 0xfe;
    buffer.writeBigUInt64LE(BigInt(value), 1);
    this.chunks.push(buffer);
    return this;
  }

  bytes(value: Buffer | string): this {
    this.chunks.push(typeof value === 'string' ? Buffer.from(value, 'utf8') : value);
    return this;
  }

  zeros(count: number): this {
    this.chunks.push(Buffer.alloc(count));
    return this;
  }

  cstring(value: string): this {
    return this.bytes(value).u8(0);
  }

  lenencBytes(value: Buffer | string): this {
    const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
    return this.lenenc(bytes.length).bytes(bytes);
  }

  payload(): Buffer {
    return Buffer.concat(this.chunks);
  }

  packet(sequenceId: number): Buffer {
    return framePacket(this.payload(), sequenceId);
  }
}

/** Frames a payload as one or more physical packets starting at `sequenceId`. */
export function framePacket(payload: Buffer, sequenceId: number): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  let sequence = sequenceId;
  for (;;) {
    const length = Math.min(MAX_PACKET_PAYLOAD, payload.length - offset);
    const header = Buffer.alloc(4);
    header.writeUIntLE(length, 0, 3);
    header[3] = sequence & 0xff;
    parts.push(header, payload.subarray(offset, offset + length));
    offset += length;
    sequence++;
    // A payload that is an exact multiple of 16 MiB ends with an empty packet.
    if (length < MAX_PACKET_PAYLOAD) break;
  }
  return Buffer.concat(parts);
}

/** The payload of a packet as `[start, end)` within its buffer. */
export function payloadOf(buffer: Buffer, start: number, end: number): PayloadReader {
  return new PayloadReader(buffer, start + 4, end);
}
