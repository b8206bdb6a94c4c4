/**
 * The SSH data types of RFC 4251 §5 (`uint32`, `uint64`, `string`), shared by the OpenSSH
 * certificate format and the SFTP protocol: a bounds-checked reader and writers.
 * https://www.rfc-editor.org/rfc/rfc4251#section-5
 */
import { WardenError } from '@warden/core';

/** Reads SSH data types from one buffer; throws a `protocol` WardenError when the data ends early. */
export class SshReader {
  private position = 0;

  constructor(private readonly buffer: Buffer) {}

  get offset(): number {
    return this.position;
  }

  get remaining(): number {
    return this.buffer.length - this.position;
  }

  byte(): number {
    this.need(1);
    return this.buffer[this.position++]!;
  }

  uint32(): number {
    this.need(4);
    const value = this.buffer.readUInt32BE(this.position);
    this.position += 4;
    return value;
  }

  uint64(): bigint {
    this.need(8);
    const value = this.buffer.readBigUInt64BE(this.position);
    this.position += 8;
    return value;
  }

  /** A `string`: uint32 length, then that many bytes (a view, not a copy). */
  string(): Buffer {
    const length = this.uint32();
    this.need(length);
    const value = this.buffer.subarray(this.position, this.position + length);
    this.position += length;
    return value;
  }

  /** A `string` decoded as UTF-8. */
  text(): string {
    return this.string().toString('utf8');
  }

  private need(bytes: number): void {
    if (this.position + bytes > this.buffer.length) throw new WardenError('protocol', 'SSH data ends early');
  }
}

export function sshUint32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32BE(value);
  return buffer;
}

export function sshUint64(value: bigint): Buffer {
  const buffer = Buffer.alloc(8);
  buffer.writeBigUInt64BE(value);
  return buffer;
}

/** A `string`: uint32 length, then the bytes (text is UTF-8). */
export function sshString(value: Buffer | string): Buffer {
  const data = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  return Buffer.concat([sshUint32(data.length), data]);
}
