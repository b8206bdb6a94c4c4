import { createHmac, randomBytes } from 'node:crypto';
import { HmacSha256 } from './hmac-sha256';

const reference = (key: Buffer, prefix: string, value: string) => createHmac('sha256', key).update(Buffer.from(prefix, 'latin1')).update(value, 'utf8').digest();

/** Random text: ASCII, Latin-1, CJK, astral characters (surrogate pairs) and a lone surrogate now and then. */
function randomText(length: number, seed: Buffer): string {
  const pools = [
    [0x20, 0x7e],
    [0xa0, 0xff],
    [0x4e00, 0x9fff],
  ];
  let out = '';
  for (let i = 0; i < length; i++) {
    const r = seed[i % seed.length]! ^ (i * 31);
    if (r % 17 === 0) out += String.fromCodePoint(0x1f600 + (r % 64));
    else if (r % 97 === 0) out += '\ud800';
    else {
      const [low, high] = pools[r % 3]!;
      out += String.fromCharCode(low! + ((r * 7919 + i) % (high! - low! + 1)));
    }
  }
  return out;
}

describe('HmacSha256', () => {
  it('matches the RFC 4231 test vectors (cases 3, 4, 6 and 7: keys of 20, 25 and 131 bytes)', () => {
    const cases = [
      { key: Buffer.alloc(20, 0xaa), data: Buffer.alloc(50, 0xdd), mac: '773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe' },
      {
        key: Buffer.from('0102030405060708090a0b0c0d0e0f10111213141516171819', 'hex'),
        data: Buffer.alloc(50, 0xcd),
        mac: '82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b',
      },
      {
        key: Buffer.alloc(131, 0xaa),
        data: Buffer.from('Test Using Larger Than Block-Size Key - Hash Key First'),
        mac: '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
      },
      {
        key: Buffer.alloc(131, 0xaa),
        data: Buffer.from('This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.'),
        mac: '9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2',
      },
    ];
    for (const { key, data, mac } of cases) {
      // The data as Latin-1 prefix: every byte value maps to itself.
      expect(new HmacSha256(key).mac(data.toString('latin1'), '').toString('hex')).toBe(mac);
    }
  });

  it('equals createHmac for random keys and for values of every length from 0 to 300 characters', () => {
    for (const keyLength of [16, 32, 63, 64, 65, 200]) {
      const key = randomBytes(keyLength);
      const hmac = new HmacSha256(key);
      for (let length = 0; length <= 300; length++) {
        const value = randomText(length, randomBytes(64));
        const expected = reference(key, 'value\0', value);
        expect(hmac.mac('value\0', value).equals(expected)).toBe(true);
        expect(hmac.hex('value\0', value, 16)).toBe(expected.toString('hex').slice(0, 16));
      }
    }
  });

  it('gives the full 64 hex characters and any prefix of them', () => {
    const key = randomBytes(32);
    const hmac = new HmacSha256(key);
    const expected = reference(key, 'statement\0', 'SELECT 1').toString('hex');
    for (const length of [1, 12, 16, 31, 32, 64]) expect(hmac.hex('statement\0', 'SELECT 1', length)).toBe(expected.slice(0, length));
  });

  it('gives the same MAC for long values (over 4096, through createHmac) between short ones, from text and from bytes', () => {
    const key = randomBytes(32);
    const hmac = new HmacSha256(key);
    // Long values go to createHmac (over 4096): the same MAC either way.
    const long = 'x'.repeat(100_000) + '漢字';
    for (const value of ['a', long, 'b', long.slice(0, 5000), long.slice(0, 4096), long.slice(0, 4097), '漢'.repeat(4000)]) {
      expect(hmac.mac('d\0', value).equals(reference(key, 'd\0', value))).toBe(true);
      const bytes = Buffer.from(`..${value}..`, 'utf8');
      const out = Buffer.alloc(70);
      const end = hmac.hexOfBytesInto('d\0', bytes, 2, bytes.length - 2, 64, out, 3);
      expect(out.toString('latin1', 3, end)).toBe(reference(key, 'd\0', value).toString('hex'));
    }
  });
});
