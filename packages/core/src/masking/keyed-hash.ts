import { HmacSha256 } from './hmac-sha256';

/**
 * HMAC-SHA-256 under the deployment's masking key. The same value always gives the same digest in
 * one deployment (so masked values still join and group), and without the key a digest cannot be
 * reversed by hashing candidate SSNs or dates.
 */
export class KeyedHash {
  private readonly hmac: HmacSha256;

  constructor(key: Buffer) {
    if (key.length < 16) throw new Error('the masking key must be at least 16 bytes');
    this.hmac = new HmacSha256(key);
  }

  /** The digest of `value` in a domain (`'ssn'`, `'column'`), so one value differs across uses. */
  digest(domain: string, value: string): Buffer {
    return this.hmac.mac(`${domain}\0`, value);
  }

  /** `length` lower-case hex characters of the digest. */
  hex(domain: string, value: string, length = 16): string {
    return this.hmac.hex(`${domain}\0`, value, length);
  }

  /**
   * `length` hex characters of the digest of `bytes[start, end)` (a value already in UTF-8: the
   * same digest as `hex` of its text), written as ASCII to `out` at `at`; returns the offset after.
   */
  hexOfUtf8Into(domain: string, bytes: Buffer, start: number, end: number, length: number, out: Buffer, at: number): number {
    return this.hmac.hexOfBytesInto(`${domain}\0`, bytes, start, end, length, out, at);
  }
}
