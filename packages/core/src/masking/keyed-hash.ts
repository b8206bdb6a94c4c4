import { createHmac } from 'node:crypto';

/**
 * HMAC-SHA-256 under the deployment's masking key. The same value always gives the same digest in
 * one deployment (so masked values still join and group), and without the key a digest cannot be
 * reversed by hashing candidate SSNs or dates.
 */
export class KeyedHash {
  constructor(private readonly key: Buffer) {
    if (key.length < 16) throw new Error('the masking key must be at least 16 bytes');
  }

  /** The digest of `value` in a domain (`'ssn'`, `'column'`), so one value differs across uses. */
  digest(domain: string, value: string): Buffer {
    // One update of the joined text: the same bytes as three updates, at about half the cost per value.
    return createHmac('sha256', this.key).update(`${domain}\0${value}`).digest();
  }

  /** `length` lower-case hex characters of the digest. */
  hex(domain: string, value: string, length = 16): string {
    return createHmac('sha256', this.key).update(`${domain}\0${value}`).digest('hex').slice(0, length);
  }
}
