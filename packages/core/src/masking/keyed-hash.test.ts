import { createHmac } from 'node:crypto';
import { KeyedHash } from './keyed-hash';

describe('KeyedHash', () => {
  const key = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex');
  const hash = new KeyedHash(key);

  it('is HMAC-SHA-256 over domain, NUL, value (so masked values stay stable across releases)', () => {
    for (const value of ['Ann Smith', '', 'é ü 漢字', '\u0000x']) {
      const expected = createHmac('sha256', key).update('column').update(Buffer.from([0])).update(Buffer.from(value, 'utf8')).digest();
      expect(hash.digest('column', value).equals(expected)).toBe(true);
      expect(hash.hex('column', value, 20)).toBe(expected.toString('hex').slice(0, 20));
    }
    // A fixed known answer, computed once: a change of construction shows up here.
    expect(hash.hex('column', 'Ann Smith')).toBe('3941f230389bb5d2');
  });

  it('separates domains: the same value hashes differently per use', () => {
    expect(hash.hex('ssn', '123-45-6789')).not.toBe(hash.hex('column', '123-45-6789'));
  });

  it('refuses a short key', () => {
    expect(() => new KeyedHash(Buffer.alloc(15))).toThrow(/at least 16 bytes/);
  });
});
