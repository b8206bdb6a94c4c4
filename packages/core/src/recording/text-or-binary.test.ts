import { randomBytes } from 'node:crypto';
import { TextOrBinarySplitter, incompleteTail } from './text-or-binary';

function feed(chunks: readonly Buffer[]): { text: string; binary: Buffer } {
  const splitter = new TextOrBinarySplitter();
  let text = '';
  const binary: Buffer[] = [];
  for (const chunk of chunks) {
    const piece = splitter.push(chunk);
    if (piece.kind === 'text') text += piece.text;
    else binary.push(piece.data);
  }
  const rest = splitter.end();
  if (rest) binary.push(rest);
  return { text, binary: Buffer.concat(binary) };
}

describe('TextOrBinarySplitter', () => {
  const sample = Buffer.from('plain ascii, é, €, 𝄞 and a newline\n', 'utf8');

  it('classifies UTF-8 text as text, split at every byte (characters split across chunks stay whole)', () => {
    for (let at = 0; at <= sample.length; at++) {
      expect(feed([sample.subarray(0, at), sample.subarray(at)])).toEqual({ text: sample.toString('utf8'), binary: Buffer.alloc(0) });
    }
    expect(feed([...sample].map((byte) => Buffer.from([byte]))).text).toBe(sample.toString('utf8'));
  });

  it('classifies random bytes, NUL bytes and invalid UTF-8 as binary, passing every byte on', () => {
    const random = randomBytes(64 * 1024);
    const { text, binary } = feed([random.subarray(0, 1000), random.subarray(1000)]);
    expect(text).toBe('');
    expect(binary.equals(random)).toBe(true);
    expect(feed([Buffer.from('abc\0def')]).binary.toString('latin1')).toBe('abc\0def');
    expect(feed([Buffer.from([0x61, 0xff, 0x62])]).binary).toEqual(Buffer.from([0x61, 0xff, 0x62]));
  });

  it('passes the carried start of a character on when the next chunk is binary, and at the end', () => {
    const euro = Buffer.from('€', 'utf8');
    const result = feed([Buffer.concat([Buffer.from('ok'), euro.subarray(0, 2)]), Buffer.from([0x00, 0x01])]);
    expect(result.text).toBe('ok');
    expect(result.binary).toEqual(Buffer.concat([euro.subarray(0, 2), Buffer.from([0, 1])]));
    expect(feed([euro.subarray(0, 1)]).binary).toEqual(euro.subarray(0, 1));
  });

  it('finds an incomplete character at the end only', () => {
    expect(incompleteTail(Buffer.from('abc'))).toBe(0);
    expect(incompleteTail(Buffer.from('ab€'))).toBe(0);
    expect(incompleteTail(Buffer.from('ab€').subarray(0, 4))).toBe(2);
    expect(incompleteTail(Buffer.from('𝄞').subarray(0, 3))).toBe(3);
    expect(incompleteTail(Buffer.from([0x61, 0xff]))).toBe(0);
  });
});
