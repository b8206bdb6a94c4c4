import { framePacket } from './packet-codec';
import { PacketSplitter, Visit, type Packet } from './packet-splitter';

interface Seen {
  readonly bytes: string;
  readonly sequenceId: number;
  readonly continuation: boolean;
  readonly continues: boolean;
}

function collect(chunks: readonly Buffer[]): Seen[] {
  const seen: Seen[] = [];
  const splitter = new PacketSplitter((packet: Packet) => {
    seen.push({ bytes: packet.end - packet.start < 1024 ? packet.buffer.toString('hex', packet.start, packet.end) : 'large', sequenceId: packet.sequenceId, continuation: packet.continuation, continues: packet.continues });
    return Visit.Continue;
  });
  for (const chunk of chunks) splitter.push(chunk);
  return seen;
}

describe('PacketSplitter', () => {
  const stream = Buffer.concat([framePacket(Buffer.from([0x03, 0x41]), 0), framePacket(Buffer.alloc(0), 1), framePacket(Buffer.from('hello'), 2)]);

  it('splits packets, header included', () => {
    expect(collect([stream])).toEqual([
      { bytes: '0200000003' + '41', sequenceId: 0, continuation: false, continues: false },
      { bytes: '00000001', sequenceId: 1, continuation: false, continues: false },
      { bytes: '05000002' + Buffer.from('hello').toString('hex'), sequenceId: 2, continuation: false, continues: false },
    ]);
  });

  it('gives the same packets whatever the chunking (split at every byte)', () => {
    const whole = collect([stream]);
    for (let cut = 1; cut < stream.length; cut++) {
      expect(collect([stream.subarray(0, cut), stream.subarray(cut)])).toEqual(whole);
    }
    expect(collect([...stream].map((byte) => Buffer.from([byte])))).toEqual(whole);
  });

  it('marks a logical message of 16 MiB or more as continued across packets', () => {
    const payload = Buffer.alloc(0xffffff + 10, 0x61);
    const framed = framePacket(payload, 0);
    const seen = collect([framed.subarray(0, 100_000), framed.subarray(100_000, 9_000_000), framed.subarray(9_000_000)]);
    expect(seen.map(({ sequenceId, continuation, continues }) => ({ sequenceId, continuation, continues }))).toEqual([
      { sequenceId: 0, continuation: false, continues: true },
      { sequenceId: 1, continuation: true, continues: false },
    ]);
  });

  it('frames an exact multiple of 16 MiB with a trailing empty packet', () => {
    const framed = framePacket(Buffer.alloc(0xffffff), 3);
    expect(collect([framed]).map(({ sequenceId, continues }) => [sequenceId, continues])).toEqual([
      [3, true],
      [4, false],
    ]);
  });

  it('stops on Pause and Wait, and visits a waited packet again on resume', () => {
    const visits: number[] = [];
    let wait = true;
    const splitter = new PacketSplitter((packet) => {
      visits.push(packet.sequenceId);
      if (packet.sequenceId === 1 && wait) {
        wait = false;
        return Visit.Wait;
      }
      return packet.sequenceId === 0 ? Visit.Pause : Visit.Continue;
    });
    splitter.push(stream);
    expect(visits).toEqual([0]);
    expect(splitter.paused).toBe(true);
    splitter.resume();
    expect(visits).toEqual([0, 1]);
    splitter.resume();
    expect(visits).toEqual([0, 1, 1, 2]);
    expect(splitter.pendingBytes).toBe(0);
  });

  it('hands over the bytes after a paused packet (a TLS ClientHello after an SSLRequest)', () => {
    const splitter = new PacketSplitter(() => Visit.Pause);
    splitter.push(Buffer.concat([framePacket(Buffer.from([1, 2]), 1), Buffer.from('tls-bytes')]));
    expect(splitter.takeRemainder().toString()).toBe('tls-bytes');
  });
});
