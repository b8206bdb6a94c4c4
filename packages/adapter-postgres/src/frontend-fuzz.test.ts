/**
 * Property-based fuzzing of the Postgres frontend parsers: the message splitter and the message
 * decoders, fed random and mutated frames (wrong lengths, truncated, oversized, invalid UTF-8,
 * huge counts). `tools/bench/fuzz.mjs` runs the same properties with ≥ 100k cases each.
 *
 * The properties: nothing but a `WardenError` (`protocol` or `limit`) ever escapes; how the bytes
 * are cut into chunks never changes what is parsed; a decoder never reads outside its message.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { WardenError } from '@warden/core';
import { chunksAt, fuzzParameters, hostileText, mutatedFrame } from '@warden/testing';
import { decodeBind, decodeExecute, decodeParse, decodePassword, decodeQuery, decodeStartupRequest, decodeTarget } from './frontend-messages';
import { MessageSplitter, Visit } from './message-splitter';
import {
  bind,
  cancelRequest,
  close,
  cstring,
  describe as describeMessage,
  execute,
  flush,
  gssEncRequest,
  parse,
  passwordMessage,
  query,
  sslRequest,
  startupMessage,
  sync,
  terminate,
  typedMessage,
  untypedMessage,
  int32,
} from './testing/frontend-frames';

const RUNS = 1500;

const name = fc.string({ maxLength: 12 }).map((text) => text.replace(/\0/g, ''));
const sql = fc.string({ maxLength: 60 }).map((text) => text.replace(/\0/g, ''));

/** Every frontend message Warden reads, well-formed. */
const validTyped: fc.Arbitrary<Buffer> = fc.oneof(
  sql.map(query),
  fc.tuple(sql, name, fc.array(fc.integer({ min: 0, max: 5000 }), { maxLength: 4 })).map(([text, statement, parameterTypes]) => parse(text, { statement, parameterTypes })),
  fc.tuple(name, name, fc.array(fc.option(sql, { nil: null }), { maxLength: 4 })).map(([portal, statement, parameters]) => bind({ portal, statement, parameters })),
  fc.tuple(name, fc.integer({ min: 0, max: 1000 })).map(([portal, maxRows]) => execute({ portal, maxRows })),
  fc.tuple(fc.constantFrom('S' as const, 'P' as const), name).map(([kind, target]) => describeMessage(kind, target)),
  fc.tuple(fc.constantFrom('S' as const, 'P' as const), name).map(([kind, target]) => close(kind, target)),
  fc.constant(sync()),
  fc.constant(flush()),
  fc.constant(terminate()),
  sql.map(passwordMessage),
  fc.tuple(fc.integer({ min: 0, max: 255 }), hostileText).map(([code, payload]) => typedMessage(code, payload)),
);

/** Every startup-phase message, well-formed. */
const validStartup: fc.Arbitrary<Buffer> = fc.oneof(
  fc.dictionary(name, sql, { maxKeys: 4 }).map((parameters) => startupMessage(parameters)),
  fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 5 })).map(([major, minor]) => startupMessage({ user: 'u', database: 'd' }, { major, minor })),
  fc.constant(sslRequest()),
  fc.constant(gssEncRequest()),
  fc.tuple(fc.integer(), fc.uint8Array({ minLength: 4, maxLength: 32 })).map(([pid, key]) => cancelRequest(pid, Buffer.from(key))),
  hostileText.map((payload) => untypedMessage(payload)),
);

interface Outcome {
  readonly messages: string[];
  readonly error?: string;
}

/** Runs the splitter over `chunks`; records each message (hex) and the error that stopped it. */
function split(chunks: readonly Buffer[], startup: boolean, maxMessageSize: number): Outcome {
  const messages: string[] = [];
  const splitter = new MessageSplitter({ maxMessageSize, startup }, (code, buffer, start, end) => {
    // node:assert rather than expect: this runs hundreds of thousands of times in the bench.
    assert.ok(start >= 0 && end <= buffer.length);
    const declared = startup && messages.length === 0 ? buffer.readInt32BE(start) : buffer.readInt32BE(start + 1) + 1;
    assert.equal(end - start, declared);
    assert.ok(end - start <= maxMessageSize);
    if (!(startup && messages.length === 0)) assert.equal(code, buffer[start]);
    messages.push(buffer.toString('hex', start, end));
    return Visit.Continue;
  });
  try {
    for (const chunk of chunks) {
      splitter.push(chunk);
      // Nothing is held beyond one message's worth (plus the chunk that completed it).
      assert.ok(splitter.pendingBytes <= maxMessageSize + chunk.length + 5);
    }
    return { messages };
  } catch (error) {
    if (!(error instanceof WardenError) || (error.code !== 'protocol' && error.code !== 'limit')) throw error;
    return { messages, error: error.message };
  }
}

function assertProtocolError(error: unknown): void {
  if (!(error instanceof WardenError) || error.code !== 'protocol') throw error;
}

describe('fuzzing the Postgres frontend parsers', () => {
  it('the message splitter: only protocol/limit errors, and chunking never changes the result', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.option(mutatedFrame(validStartup), { nil: undefined }),
        fc.array(mutatedFrame(validTyped), { maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        fc.constantFrom(64, 1024, 1 << 20),
        (startup, first, rest, cuts, maxMessageSize) => {
          const stream = Buffer.concat([...(startup && first ? [first] : []), ...rest]);
          const whole = split([stream], startup, maxMessageSize);
          const chunked = split(chunksAt(stream, cuts), startup, maxMessageSize);
          assert.deepEqual(chunked, whole);
        },
      ),
      fuzzParameters(RUNS),
    );
  });

  it('the message splitter refuses lengths below the header and above the limit, naming them', () => {
    expect(split([Buffer.from([0x51, 0, 0, 0, 3])], false, 1024).error).toBe('invalid message length 3');
    expect(split([Buffer.from([0x51, 0xff, 0xff, 0xff, 0xff])], false, 1024).error).toBe('invalid message length -1');
    expect(split([Buffer.from([0x51, 0x7f, 0xff, 0xff, 0xff])], false, 1024).error).toBe('message of 2147483648 bytes exceeds the limit of 1024 bytes');
    expect(split([int32(7)], true, 1024).error).toBe('invalid message length 7');
  });

  it('the decoders: only protocol errors, and never a read outside the message', () => {
    const decoders = [decodeQuery, decodeParse, decodeBind, decodeExecute, decodeTarget, decodePassword];
    fc.assert(
      fc.property(mutatedFrame(validTyped), fc.uint8Array({ maxLength: 16 }), fc.uint8Array({ maxLength: 16 }), (frame, before, after) => {
        if (frame.length < 5) return;
        // The message sits inside a larger chunk, as it does on the wire: bytes around it must not leak in.
        const buffer = Buffer.concat([before, frame, Buffer.from([0]), after]);
        const start = before.length;
        const end = start + frame.length;
        for (const decode of decoders) {
          try {
            const decoded = decode(buffer, start, end);
            const text = JSON.stringify(decoded);
            // Strings read from the message are at most as long as the message.
            assert.ok(Buffer.byteLength(text) <= 6 * (end - start) + 64);
          } catch (error) {
            assertProtocolError(error);
          }
        }
      }),
      fuzzParameters(RUNS),
    );
  });

  it('decodeStartupRequest: only protocol errors, and a StartupMessage reads back what was sent', () => {
    fc.assert(
      fc.property(mutatedFrame(validStartup), fc.uint8Array({ maxLength: 16 }), (frame, after) => {
        if (frame.length < 8) return;
        const buffer = Buffer.concat([frame, after]);
        try {
          const request = decodeStartupRequest(buffer, 0, frame.length);
          if (request.kind === 'StartupMessage') {
            for (const [key, value] of request.parameters) assert.ok(Buffer.byteLength(key) + Buffer.byteLength(value) < frame.length * 3);
          }
        } catch (error) {
          assertProtocolError(error);
        }
      }),
      fuzzParameters(RUNS),
    );
    fc.assert(
      fc.property(fc.dictionary(name.filter((key) => key !== ''), sql, { maxKeys: 6 }), (parameters) => {
        const request = decodeStartupRequest(startupMessage(parameters), 0, startupMessage(parameters).length);
        assert.deepEqual(request, { kind: 'StartupMessage', minorVersion: 0, parameters: new Map(Object.entries(parameters)) });
      }),
      fuzzParameters(RUNS),
    );
  });

  it('decoders round-trip what the builders wrote, invalid UTF-8 included', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const raw = Buffer.from(bytes.filter((byte) => byte !== 0));
        const message = typedMessage(0x51, raw, cstring(''));
        // Invalid sequences decode to U+FFFD rather than throwing: the statement then fails to parse (fail closed).
        assert.equal(decodeQuery(message, 0, message.length), raw.toString('utf8'));
      }),
      fuzzParameters(RUNS),
    );
  });
});
