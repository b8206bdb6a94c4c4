import { COPY_BINARY_SIGNATURE, maskCopyBinary, maskCopyCsvRow, maskCopyTextRow } from './copy-rows';

const upper = (index: number, value: string) => (index === 1 ? value.toUpperCase() : value);

describe('COPY rows', () => {
  it('text: masks fields, keeps NULLs and escapes, returns the same row when nothing changed', () => {
    const options = { delimiter: '\t', null: '\\N' };
    expect(maskCopyTextRow('1\tann\\tlee\t\\N\n', options, 3, upper)).toBe('1\tANN\\tLEE\t\\N\n');
    expect(maskCopyTextRow('1\t\\N\tx\n', options, 3, upper)).toBe('1\t\\N\tx\n');
    const unchanged = '1\tA\\\\B\tx\n';
    expect(maskCopyTextRow(unchanged, options, 3, upper)).toBe(unchanged);
    expect(maskCopyTextRow('1|a\\|b|c\n', { delimiter: '|', null: '\\N' }, 3, (i, v) => (i === 1 ? `${v}|z` : v))).toBe('1|a\\|b\\|z|c\n');
    expect(() => maskCopyTextRow('1\t2\n', options, 3, upper)).toThrow(expect.objectContaining({ code: 'masking' }));
  });

  it('text: decodes octal and hex escapes before masking', () => {
    const seen: string[] = [];
    maskCopyTextRow('\\101\\x42\tc\n', { delimiter: '\t', null: '\\N' }, 2, (_i, v) => (seen.push(v), v));
    expect(seen).toEqual(['AB', 'c']);
  });

  it('csv: masks quoted and unquoted fields, quotes what it writes, keeps NULL (unquoted empty)', () => {
    const options = { delimiter: ',', null: '', quote: '"', escape: '"' };
    expect(maskCopyCsvRow('1,"ann, ""lee""",\n', options, 3, upper)).toBe('1,"ANN, ""LEE""",\n');
    expect(maskCopyCsvRow('1,,x\n', options, 3, upper)).toBe('1,,x\n');
    expect(maskCopyCsvRow('1,"",x\n', options, 3, (i) => (i === 1 ? 'm' : ['1', '', 'x'][i]!))).toBe('1,"m",x\n');
  });

  it('binary: masks field bytes, keeps header, NULLs and trailer', () => {
    const header = Buffer.concat([COPY_BINARY_SIGNATURE, Buffer.alloc(8)]);
    const field = (bytes: Buffer | null) => {
      const length = Buffer.alloc(4);
      length.writeInt32BE(bytes ? bytes.length : -1);
      return bytes ? Buffer.concat([length, bytes]) : length;
    };
    const count = (n: number) => {
      const b = Buffer.alloc(2);
      b.writeInt16BE(n);
      return b;
    };
    const row = Buffer.concat([header, count(2), field(Buffer.from('ann')), field(null), count(-1)]);
    const masked = maskCopyBinary(row, true, 2, (i, bytes) => (i === 0 ? Buffer.from('[X]') : bytes));
    expect(masked).toEqual(Buffer.concat([header, count(2), field(Buffer.from('[X]')), field(null), count(-1)]));
    const untouched = Buffer.concat([count(2), field(Buffer.from('b')), field(null)]);
    expect(maskCopyBinary(untouched, false, 2, (_i, bytes) => bytes)).toBe(untouched);
    expect(() => maskCopyBinary(Buffer.from('nope'), true, 2, (_i, b) => b)).toThrow(expect.objectContaining({ code: 'masking' }));
  });
});
