import { createHash } from 'node:crypto';
import { WardenError } from '@warden/core';
import { FrontendCode } from './message-codes';
import { MessageSplitter, Visit, type MessageSplitterOptions, type MessageVisitor, type VisitResult } from './message-splitter';
import {
  bind,
  chunksOf,
  close,
  describe as describeMessage,
  execute,
  feedByteByByte,
  flush,
  parse,
  passwordMessage,
  query,
  splitAt,
  splitEverywhere,
  sslRequest,
  startupMessage,
  sync,
  terminate,
  typedMessage,
  untypedMessage,
  int32,
} from './testing/frontend-frames';

interface Seen {
  readonly code: number;
  readonly bytes: Buffer;
}

/** A splitter whose visitor copies out every message it sees; `decide` chooses the visit result. */
function recordingSplitter(
  options: Partial<MessageSplitterOptions> = {},
  decide: (seen: Seen, index: number, splitter: MessageSplitter) => VisitResult = () => Visit.Continue,
): { splitter: MessageSplitter; seen: Seen[] } {
  const seen: Seen[] = [];
  const visit: MessageVisitor = (code, buffer, start, end) => {
    expect(start).toBeGreaterThanOrEqual(0);
    expect(end).toBeLessThanOrEqual(buffer.length);
    const message = { code, bytes: Buffer.from(buffer.subarray(start, end)) };
    seen.push(message);
    return decide(message, seen.length - 1, splitter);
  };
  const splitter = new MessageSplitter({ maxMessageSize: 1 << 20, startup: false, ...options }, visit);
  return { splitter, seen };
}

const startup = startupMessage({ user: 'alice', database: 'clinic', application_name: 'psql' });
const typed = [
  query('select * from patients'),
  parse('select $1::int', { statement: 's1', parameterTypes: [23] }),
  bind({ portal: 'p1', statement: 's1', parameters: ['42', null] }),
  describeMessage('P', 'p1'),
  execute({ portal: 'p1', maxRows: 10 }),
  close('S', 's1'),
  sync(),
  flush(),
  passwordMessage('token'),
  terminate(),
];
const stream = Buffer.concat([startup, ...typed]);
const expected: Seen[] = [{ code: 0, bytes: startup }, ...typed.map((bytes) => ({ code: bytes[0]!, bytes }))];

/** Messages as code, length and digest: jest compares large Buffers byte by byte, which is slow. */
function digests(messages: readonly Seen[]): string[] {
  return messages.map((m) => `${m.code}:${m.bytes.length}:${createHash('sha256').update(m.bytes).digest('hex')}`);
}

function errorOf(action: () => void): WardenError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(WardenError);
    return error as WardenError;
  }
  throw new Error('expected a WardenError');
}

describe('MessageSplitter', () => {
  it('yields the startup message and the typed messages in one chunk', () => {
    const { splitter, seen } = recordingSplitter({ startup: true });
    splitter.push(stream);
    expect(seen).toEqual(expected);
    expect(splitter.pendingBytes).toBe(0);
  });

  it('yields the same messages however the stream is split in two', () => {
    for (const [head, tail] of splitEverywhere(stream)) {
      const { splitter, seen } = recordingSplitter({ startup: true });
      splitter.push(head);
      splitter.push(tail);
      expect(seen).toEqual(expected);
      expect(splitter.pendingBytes).toBe(0);
    }
  });

  it('yields the same messages when fed byte by byte', () => {
    const { splitter, seen } = recordingSplitter({ startup: true });
    feedByteByByte(stream, (chunk) => splitter.push(chunk));
    expect(seen).toEqual(expected);
    expect(splitter.pendingBytes).toBe(0);
  });

  it('yields the same messages in chunks of every size up to the stream length', () => {
    for (let size = 2; size <= stream.length; size++) {
      const { splitter, seen } = recordingSplitter({ startup: true });
      for (const chunk of chunksOf(stream, size)) splitter.push(chunk);
      expect(seen).toEqual(expected);
    }
  });

  it('reports the message code of typed messages and 0 for the startup message', () => {
    const { splitter, seen } = recordingSplitter({ startup: true });
    splitter.push(stream);
    expect(seen.map((m) => m.code)).toEqual([
      0,
      FrontendCode.Query,
      FrontendCode.Parse,
      FrontendCode.Bind,
      FrontendCode.Describe,
      FrontendCode.Execute,
      FrontendCode.Close,
      FrontendCode.Sync,
      FrontendCode.Flush,
      FrontendCode.PasswordMessage,
      FrontendCode.Terminate,
    ]);
  });

  describe('Visit.Pause', () => {
    it('stops after the paused message and resume() continues with the next', () => {
      const { splitter, seen } = recordingSplitter({ startup: true }, (_m, index) => (index === 2 ? Visit.Pause : Visit.Continue));
      splitter.push(stream);
      expect(seen).toEqual(expected.slice(0, 3));
      expect(splitter.paused).toBe(true);
      expect(splitter.pendingBytes).toBe(stream.length - startup.length - typed[0]!.length - typed[1]!.length);
      splitter.resume();
      expect(splitter.paused).toBe(false);
      expect(seen).toEqual(expected);
      expect(splitter.pendingBytes).toBe(0);
    });

    it('buffers pushes while paused without visiting them', () => {
      const { splitter, seen } = recordingSplitter({}, () => Visit.Pause);
      splitter.push(query('one'));
      splitter.push(query('two'));
      splitter.push(query('three'));
      expect(seen.map((m) => m.bytes)).toEqual([query('one')]);
      expect(splitter.pendingBytes).toBe(query('two').length + query('three').length);
      splitter.resume();
      splitter.resume();
      expect(seen.map((m) => m.bytes)).toEqual([query('one'), query('two'), query('three')]);
    });

    it('pausing at every message gives the same messages however the stream is split', () => {
      const splits = [...splitEverywhere(stream)];
      for (const [head, tail] of splits) {
        const { splitter, seen } = recordingSplitter({ startup: true }, () => Visit.Pause);
        for (const chunk of [head, tail]) {
          splitter.push(chunk);
          while (splitter.paused) splitter.resume();
        }
        expect(seen).toEqual(expected);
      }
    });

    it('resume() with nothing buffered visits nothing and leaves the splitter running', () => {
      const { splitter, seen } = recordingSplitter({}, () => Visit.Pause);
      splitter.push(sync());
      splitter.resume();
      expect(splitter.paused).toBe(false);
      expect(seen).toHaveLength(1);
      splitter.push(flush());
      expect(seen.map((m) => m.code)).toEqual([FrontendCode.Sync, FrontendCode.Flush]);
    });
  });

  describe('Visit.Wait', () => {
    it('re-visits the same message on resume', () => {
      let waited = false;
      const { splitter, seen } = recordingSplitter({}, (m) => {
        if (m.code === FrontendCode.Execute && !waited) {
          waited = true;
          return Visit.Wait;
        }
        return Visit.Continue;
      });
      const messages = [parse('select 1'), bind(), execute(), sync()];
      splitter.push(Buffer.concat(messages));
      expect(seen.map((m) => m.bytes)).toEqual(messages.slice(0, 3));
      expect(splitter.paused).toBe(true);
      expect(splitter.pendingBytes).toBe(execute().length + sync().length);
      splitter.resume();
      expect(seen.map((m) => m.bytes)).toEqual([...messages.slice(0, 3), execute(), sync()]);
      expect(splitter.pendingBytes).toBe(0);
    });

    it('re-visits an untyped startup message as untyped', () => {
      let waits = 0;
      const { splitter, seen } = recordingSplitter({ startup: true }, (m) => (m.code === 0 && waits++ === 0 ? Visit.Wait : Visit.Continue));
      splitter.push(Buffer.concat([startup, query('select 1')]));
      expect(seen).toEqual([{ code: 0, bytes: startup }]);
      splitter.resume();
      expect(seen).toEqual([
        { code: 0, bytes: startup },
        { code: 0, bytes: startup },
        { code: FrontendCode.Query, bytes: query('select 1') },
      ]);
    });

    it('a waiting message stays whole when more bytes arrive before resume', () => {
      for (const [head, tail] of splitEverywhere(stream)) {
        let waits = 0;
        const { splitter, seen } = recordingSplitter({ startup: true }, (m) => (m.code === FrontendCode.Bind && waits++ === 0 ? Visit.Wait : Visit.Continue));
        splitter.push(head);
        splitter.push(tail);
        splitter.resume();
        const bind1 = expected.findIndex((m) => m.code === FrontendCode.Bind);
        expect(seen).toEqual([...expected.slice(0, bind1 + 1), ...expected.slice(bind1)]);
      }
    });
  });

  describe('expectStartupMessage()', () => {
    const negotiation = Buffer.concat([sslRequest(), startup, query('select 1')]);
    const afterSsl: Seen[] = [
      { code: 0, bytes: sslRequest() },
      { code: 0, bytes: startup },
      { code: FrontendCode.Query, bytes: query('select 1') },
    ];

    function sslAware(): { splitter: MessageSplitter; seen: Seen[] } {
      return recordingSplitter({ startup: true }, (m, index, splitter) => {
        if (index === 0) splitter.expectStartupMessage();
        return Visit.Continue;
      });
    }

    it('after an SSLRequest parses the next message as untyped', () => {
      for (const [head, tail] of splitEverywhere(negotiation)) {
        const { splitter, seen } = sslAware();
        splitter.push(head);
        splitter.push(tail);
        expect(seen).toEqual(afterSsl);
      }
      const { splitter, seen } = sslAware();
      feedByteByByte(negotiation, (chunk) => splitter.push(chunk));
      expect(seen).toEqual(afterSsl);
    });

    it('without it, the message after the first is read as typed', () => {
      const { splitter, seen } = recordingSplitter({ startup: true });
      splitter.push(Buffer.concat([startup, query('select 1')]));
      expect(seen.map((m) => m.code)).toEqual([0, FrontendCode.Query]);
    });

    it('can be called between pushes, after the visit returned', () => {
      const { splitter, seen } = recordingSplitter({ startup: true }, () => Visit.Pause);
      splitter.push(sslRequest());
      splitter.expectStartupMessage();
      splitter.resume();
      splitter.push(startup);
      expect(seen).toEqual([
        { code: 0, bytes: sslRequest() },
        { code: 0, bytes: startup },
      ]);
    });
  });

  describe('invalid lengths', () => {
    it.each([
      ['a typed message declaring 3 bytes', false, Buffer.concat([Buffer.from([FrontendCode.Query]), int32(3)])],
      ['a typed message declaring 0 bytes', false, Buffer.concat([Buffer.from([FrontendCode.Sync]), int32(0)])],
      ['a typed message declaring a negative length', false, Buffer.concat([Buffer.from([FrontendCode.Query]), int32(-1)])],
      ['an untyped message declaring 3 bytes', true, int32(3)],
      ['an untyped message declaring 7 bytes (no room for its code)', true, Buffer.concat([int32(7), Buffer.from([0, 3, 0])])],
    ])('%s is a protocol error', (_name, startupPhase, bytes) => {
      const { splitter, seen } = recordingSplitter({ startup: startupPhase });
      const error = errorOf(() => splitter.push(bytes));
      expect(error.code).toBe('protocol');
      expect(error.message).toMatch(/invalid message length/);
      expect(seen).toEqual([]);
    });

    it('an invalid length after valid messages is reported once it is readable, after the valid ones', () => {
      const bytes = Buffer.concat([query('select 1'), Buffer.from([FrontendCode.Query]), int32(2)]);
      for (const [head, tail] of splitEverywhere(bytes)) {
        const { splitter, seen } = recordingSplitter();
        const error = errorOf(() => {
          splitter.push(head);
          splitter.push(tail);
        });
        expect(error.code).toBe('protocol');
        expect(seen.map((m) => m.bytes)).toEqual([query('select 1')]);
      }
    });
  });

  describe('maxMessageSize', () => {
    it('a message over the limit is refused with code limit as soon as its header arrives', () => {
      const { splitter, seen } = recordingSplitter({ maxMessageSize: 1024 });
      const big = query('x'.repeat(2000));
      const error = errorOf(() => splitter.push(big.subarray(0, 5)));
      expect(error.code).toBe('limit');
      expect(error.message).toMatch(/exceeds the limit of 1024 bytes/);
      expect(seen).toEqual([]);
    });

    it('a header declaring gigabytes is refused without waiting for the body', () => {
      const { splitter } = recordingSplitter({ maxMessageSize: 1 << 20 });
      splitter.push(Buffer.concat([Buffer.from([FrontendCode.Query]), int32(0x7ffffff0)]).subarray(0, 3));
      const error = errorOf(() => splitter.push(Buffer.concat([Buffer.from([FrontendCode.Query]), int32(0x7ffffff0)]).subarray(3)));
      expect(error.code).toBe('limit');
    });

    it('the limit counts the whole message, header included', () => {
      const exact = query('x'.repeat(100));
      const fits = recordingSplitter({ maxMessageSize: exact.length });
      fits.splitter.push(exact);
      expect(fits.seen).toHaveLength(1);
      const over = recordingSplitter({ maxMessageSize: exact.length - 1 });
      expect(errorOf(() => over.splitter.push(exact)).code).toBe('limit');
    });

    it('applies to the untyped startup message too', () => {
      const { splitter } = recordingSplitter({ startup: true, maxMessageSize: 32 });
      const error = errorOf(() => splitter.push(startupMessage({ user: 'a-rather-long-user-name', database: 'clinic' }).subarray(0, 4)));
      expect(error.code).toBe('limit');
    });
  });

  describe('large messages', () => {
    const large = query(`select '${'0123456789abcdef'.repeat(12 * 1024)}'`); // ~192 KiB
    const around = Buffer.concat([parse('select 1'), large, sync(), query('select 2')]);
    const aroundExpected = digests([parse('select 1'), large, sync(), query('select 2')].map((bytes) => ({ code: bytes[0]!, bytes })));

    it('is larger than 64 KiB', () => {
      expect(large.length).toBeGreaterThan(64 * 1024);
    });

    it.each([1000, 1460, 16 * 1024, 64 * 1024 - 1, 64 * 1024 + 7])('is reassembled from chunks of %d bytes', (size) => {
      const { splitter, seen } = recordingSplitter();
      for (const chunk of chunksOf(around, size)) splitter.push(chunk);
      expect(digests(seen)).toEqual(aroundExpected);
      expect(splitter.pendingBytes).toBe(0);
    });

    it('is reassembled when split in two at a few hundred positions', () => {
      const positions = new Set<number>();
      const largeStart = parse('select 1').length;
      const largeEnd = largeStart + large.length;
      for (let at = 0; at <= 12; at++) positions.add(at);
      for (let at = largeStart - 6; at <= largeStart + 6; at++) positions.add(at);
      for (let at = largeEnd - 6; at <= largeEnd + 6; at++) positions.add(at);
      for (let at = around.length - 12; at <= around.length; at++) positions.add(at);
      for (let at = 0; at < around.length; at += 787) positions.add(at);
      expect(positions.size).toBeGreaterThan(250);
      for (const at of positions) {
        const { splitter, seen } = recordingSplitter();
        const [head, tail] = splitAt(around, at);
        splitter.push(head);
        splitter.push(tail);
        expect(digests(seen)).toEqual(aroundExpected);
        expect(splitter.pendingBytes).toBe(0);
      }
    });

    it('is reassembled when fed byte by byte', () => {
      const { splitter, seen } = recordingSplitter();
      feedByteByByte(around, (chunk) => splitter.push(chunk));
      expect(digests(seen)).toEqual(aroundExpected);
    });

    it('pendingBytes counts the parts collected so far', () => {
      const { splitter, seen } = recordingSplitter();
      const chunks = chunksOf(large, 10_000);
      let pushed = 0;
      for (const chunk of chunks.slice(0, -1)) {
        splitter.push(chunk);
        pushed += chunk.length;
        expect(splitter.pendingBytes).toBe(pushed);
      }
      expect(seen).toEqual([]);
      splitter.push(chunks.at(-1)!);
      expect(digests(seen)).toEqual(digests([{ code: FrontendCode.Query, bytes: large }]));
      expect(splitter.pendingBytes).toBe(0);
    });

    it('a large message arriving while paused is visited whole on resume', () => {
      const { splitter, seen } = recordingSplitter({}, (_m, index) => (index === 0 ? Visit.Pause : Visit.Continue));
      const chunks = chunksOf(around, 4096);
      for (const chunk of chunks.slice(0, 10)) splitter.push(chunk);
      expect(seen).toHaveLength(1);
      splitter.resume();
      for (const chunk of chunks.slice(10)) splitter.push(chunk);
      expect(digests(seen)).toEqual(aroundExpected);
    });
  });

  describe('pendingBytes', () => {
    it('reflects the bytes of an incomplete message', () => {
      const { splitter, seen } = recordingSplitter();
      const message = query('select 1');
      splitter.push(message.subarray(0, 3));
      expect(splitter.pendingBytes).toBe(3);
      splitter.push(message.subarray(3, 7));
      expect(splitter.pendingBytes).toBe(7);
      splitter.push(Buffer.concat([message.subarray(7), sync().subarray(0, 2)]));
      expect(seen).toHaveLength(1);
      expect(splitter.pendingBytes).toBe(2);
      splitter.push(sync().subarray(2));
      expect(splitter.pendingBytes).toBe(0);
      expect(seen).toHaveLength(2);
    });

    it('is zero for a new splitter', () => {
      expect(recordingSplitter().splitter.pendingBytes).toBe(0);
    });
  });

  describe('zero copy', () => {
    it('passes the pushed chunk itself for messages that lie inside it', () => {
      const visits: { buffer: Buffer; start: number; end: number }[] = [];
      const batches: Buffer[] = [];
      const splitter = new MessageSplitter(
        { maxMessageSize: 1 << 20, startup: true },
        (_code, buffer, start, end) => {
          visits.push({ buffer, start, end });
          return Visit.Continue;
        },
        (buffer) => batches.push(buffer),
      );
      const first = Buffer.concat([startup, query('select 1'), sync()]);
      const second = Buffer.concat([parse('select 2'), bind(), execute()]);
      splitter.push(first);
      splitter.push(second);
      expect(visits).toHaveLength(6);
      const offsets = (chunk: Buffer, messages: Buffer[]) => {
        let at = 0;
        return messages.map((m) => {
          const range = { buffer: chunk, start: at, end: at + m.length };
          at += m.length;
          return range;
        });
      };
      const expectedRanges = [...offsets(first, [startup, query('select 1'), sync()]), ...offsets(second, [parse('select 2'), bind(), execute()])];
      visits.forEach((visit, index) => {
        const want = expectedRanges[index]!;
        expect(visit.buffer).toBe(want.buffer);
        expect([visit.start, visit.end]).toEqual([want.start, want.end]);
      });
      expect(batches).toHaveLength(2);
      expect(batches[0]).toBe(first);
      expect(batches[1]).toBe(second);
    });

    it('calls batchEnd with the buffer of a paused run', () => {
      const batches: Buffer[] = [];
      const splitter = new MessageSplitter(
        { maxMessageSize: 1 << 20, startup: false },
        () => Visit.Pause,
        (buffer) => batches.push(buffer),
      );
      const chunk = Buffer.concat([sync(), flush()]);
      splitter.push(chunk);
      expect(batches).toEqual([chunk]);
      expect(batches[0]).toBe(chunk);
      splitter.resume();
      expect(batches).toHaveLength(2);
      expect(batches[1]).toBe(chunk);
    });
  });

  it('an empty chunk changes nothing', () => {
    const { splitter, seen } = recordingSplitter();
    splitter.push(Buffer.alloc(0));
    splitter.push(query('select 1').subarray(0, 4));
    splitter.push(Buffer.alloc(0));
    expect(splitter.pendingBytes).toBe(4);
    splitter.push(query('select 1').subarray(4));
    expect(seen.map((m) => m.bytes)).toEqual([query('select 1')]);
  });

  it('a visitor error propagates out of push and the messages before it stay visited', () => {
    const { splitter, seen } = recordingSplitter({}, (m) => {
      if (m.code === FrontendCode.Terminate) throw new WardenError('protocol', 'unexpected Terminate');
      return Visit.Continue;
    });
    expect(() => splitter.push(Buffer.concat([sync(), terminate(), flush()]))).toThrow('unexpected Terminate');
    expect(seen.map((m) => m.code)).toEqual([FrontendCode.Sync, FrontendCode.Terminate]);
  });

  it('frames built for tests have the declared lengths', () => {
    expect(typedMessage(FrontendCode.Sync)).toEqual(Buffer.from([0x53, 0, 0, 0, 4]));
    expect(untypedMessage(int32(80877103))).toEqual(Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]));
  });
});
