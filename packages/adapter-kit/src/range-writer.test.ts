import { Writable } from 'node:stream';
import { RangeWriter } from './range-writer';

/** A Writable that records each write as it was handed over, and answers back-pressure on demand. */
function recordingWritable(options: { highWaterMark?: number } = {}): { out: Writable; writes: Buffer[] } {
  const writes: Buffer[] = [];
  const out = new Writable({
    highWaterMark: options.highWaterMark ?? 16 * 1024,
    write(chunk: Buffer, _encoding, callback) {
      writes.push(chunk);
      callback();
    },
  });
  return { out, writes };
}

const bytes = (text: string) => Buffer.from(text, 'latin1');

describe('RangeWriter', () => {
  it('coalesces adjacent ranges of one buffer into one write', () => {
    const { out, writes } = recordingWritable();
    const writer = new RangeWriter(out);
    const chunk = bytes('aaabbbbcc');
    writer.forward(chunk, 0, 3);
    writer.forward(chunk, 3, 7);
    writer.forward(chunk, 7, 9);
    expect(writes).toEqual([]);
    writer.flush();
    expect(writes).toEqual([bytes('aaabbbbcc')]);
  });

  it('writes the coalesced range as a view of the original buffer, not a copy', () => {
    const { out, writes } = recordingWritable();
    const writer = new RangeWriter(out);
    const chunk = bytes('xxaaabbbyy');
    writer.forward(chunk, 2, 5);
    writer.forward(chunk, 5, 8);
    writer.flush();
    expect(writes).toHaveLength(1);
    expect(writes[0]!.buffer).toBe(chunk.buffer);
    expect(writes[0]!.byteOffset).toBe(chunk.byteOffset + 2);
    expect(writes[0]!.toString('latin1')).toBe('aaabbb');
  });

  it('flushes separately when ranges of one buffer are not adjacent', () => {
    const { out, writes } = recordingWritable();
    const writer = new RangeWriter(out);
    const chunk = bytes('aaaXbbbYcc');
    writer.forward(chunk, 0, 3);
    writer.forward(chunk, 4, 7);
    writer.forward(chunk, 8, 10);
    writer.flush();
    expect(writes).toEqual([bytes('aaa'), bytes('bbb'), bytes('cc')]);
  });

  it('flushes separately when the ranges are in different buffers, even at matching offsets', () => {
    const { out, writes } = recordingWritable();
    const writer = new RangeWriter(out);
    const first = bytes('aaa');
    const second = bytes('bbbccc');
    writer.forward(first, 0, 3);
    writer.forward(second, 3, 6);
    writer.forward(second, 0, 3);
    writer.flush();
    expect(writes).toEqual([bytes('aaa'), bytes('ccc'), bytes('bbb')]);
  });

  it('does not coalesce a range that goes backwards in the same buffer', () => {
    const { out, writes } = recordingWritable();
    const writer = new RangeWriter(out);
    const chunk = bytes('aaabbb');
    writer.forward(chunk, 3, 6);
    writer.forward(chunk, 0, 3);
    writer.flush();
    expect(writes).toEqual([bytes('bbb'), bytes('aaa')]);
  });

  it('write() keeps order: queued ranges first, then the new bytes, then later ranges', () => {
    const { out, writes } = recordingWritable();
    const writer = new RangeWriter(out);
    const chunk = bytes('111222333');
    writer.forward(chunk, 0, 3);
    writer.forward(chunk, 3, 6);
    writer.write(bytes('ERR'));
    writer.forward(chunk, 6, 9);
    writer.write(bytes('Z'));
    writer.flush();
    expect(writes).toEqual([bytes('111222'), bytes('ERR'), bytes('333'), bytes('Z')]);
  });

  it('write() with nothing queued writes at once', () => {
    const { out, writes } = recordingWritable();
    new RangeWriter(out).write(bytes('N'));
    expect(writes).toEqual([bytes('N')]);
  });

  it('flush() with nothing queued writes nothing and returns true', () => {
    const { out, writes } = recordingWritable();
    const writer = new RangeWriter(out);
    expect(writer.flush()).toBe(true);
    writer.forward(bytes('a'), 0, 1);
    writer.flush();
    expect(writer.flush()).toBe(true);
    expect(writes).toEqual([bytes('a')]);
  });

  it('a range forwarded after a flush is not merged into the flushed one', () => {
    const { out, writes } = recordingWritable();
    const writer = new RangeWriter(out);
    const chunk = bytes('aaabbb');
    writer.forward(chunk, 0, 3);
    writer.flush();
    writer.forward(chunk, 3, 6);
    writer.flush();
    expect(writes).toEqual([bytes('aaa'), bytes('bbb')]);
  });

  it('flush() returns false when the destination asks for back-pressure', () => {
    const writes: Buffer[] = [];
    const out = new Writable({
      highWaterMark: 4,
      write(chunk: Buffer, _encoding, callback) {
        writes.push(chunk);
        setImmediate(callback);
      },
    });
    const writer = new RangeWriter(out);
    writer.forward(bytes('0123456789'), 0, 10);
    expect(writer.flush()).toBe(false);
    expect(writes).toEqual([bytes('0123456789')]);
  });
});
