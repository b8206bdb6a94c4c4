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
  it('append() gathers rows Warden made into one write at the next flush, in order with forwarded ranges', () => {
    const { out, writes } = recordingWritable();
    const writer = new RangeWriter(out);
    const chunk = bytes('111222333');
    writer.forward(chunk, 0, 3);
    writer.append(bytes('m1'));
    writer.append(bytes('m2'));
    writer.append(bytes('m3'));
    expect(writes).toEqual([bytes('111')]);
    writer.forward(chunk, 3, 6);
    writer.forward(chunk, 6, 9);
    writer.append(bytes('m4'));
    writer.flush();
    expect(writes).toEqual([bytes('111'), bytes('m1m2m3'), bytes('222333'), bytes('m4')]);
  });

  it('append() copies: the caller may reuse its buffer at once', () => {
    const { out, writes } = recordingWritable();
    const writer = new RangeWriter(out);
    const row = bytes('abc');
    writer.append(row);
    row.fill(0x78);
    writer.append(row);
    writer.flush();
    expect(writes).toEqual([bytes('abcxxx')]);
  });

  it('append() starts a new slab when one is full, without touching bytes already handed over', () => {
    const { out, writes } = recordingWritable({ highWaterMark: 1 << 30 });
    const writer = new RangeWriter(out);
    const rows = Array.from({ length: 40 }, (_, i) => Buffer.alloc(4000, 65 + (i % 26)));
    for (const row of rows.slice(0, 10)) writer.append(row);
    writer.flush();
    for (const row of rows.slice(10)) writer.append(row);
    writer.flush();
    expect(Buffer.concat(writes).equals(Buffer.concat(rows))).toBe(true);
    // 160,000 bytes in 64 KiB slabs: a handful of writes, not forty.
    expect(writes.length).toBeLessThanOrEqual(5);
  });

  it('append() of a large message writes it on its own, after what is queued', () => {
    const { out, writes } = recordingWritable({ highWaterMark: 1 << 30 });
    const writer = new RangeWriter(out);
    const large = Buffer.alloc(40_000, 0x41);
    writer.append(bytes('small'));
    writer.append(large);
    large.fill(0x42, 0, 10);
    writer.append(bytes('after'));
    writer.flush();
    // Copied too: the caller may reuse a large buffer at once as well.
    expect(writes).toEqual([bytes('small'), Buffer.alloc(40_000, 0x41), bytes('after')]);
  });

  it('write() after append() keeps order and writes at once', () => {
    const { out, writes } = recordingWritable();
    const writer = new RangeWriter(out);
    writer.append(bytes('row'));
    writer.write(bytes('ERR'));
    expect(writes).toEqual([bytes('row'), bytes('ERR')]);
  });

  it('flush() of appended bytes returns false when the destination asks for back-pressure', () => {
    const out = new Writable({ highWaterMark: 4, write: (_chunk, _encoding, callback) => setImmediate(callback) });
    const writer = new RangeWriter(out);
    writer.append(bytes('0123456789'));
    expect(writer.flush()).toBe(false);
  });
});
