/**
 * Shared pieces of the property-based fuzz tests (fast-check): how many cases to run, and
 * arbitraries that turn valid protocol frames into hostile ones.
 *
 * The suites run a few thousand cases per parser by default (seconds); `tools/bench/fuzz.mjs`
 * runs the same suites with `WARDEN_FUZZ_RUNS=100000` (or more) on demand.
 */
import fc from 'fast-check';

/** Cases per property: `WARDEN_FUZZ_RUNS` when set (the bench target), else `fallback`. */
export function fuzzRuns(fallback: number): number {
  const configured = Number(process.env['WARDEN_FUZZ_RUNS']);
  return Number.isInteger(configured) && configured > 0 ? configured : fallback;
}

/**
 * Options for `fc.assert`: the run count, and a seed from `WARDEN_FUZZ_SEED` so that a failure the
 * bench reports can be replayed exactly.
 */
export function fuzzParameters<T>(fallbackRuns: number): fc.Parameters<T> {
  const seed = Number(process.env['WARDEN_FUZZ_SEED']);
  return { numRuns: fuzzRuns(fallbackRuns), ...(Number.isInteger(seed) ? { seed } : {}) };
}

/** Byte sequences that are not valid UTF-8 (lone continuation, overlong, surrogate, truncated). */
const INVALID_UTF8: readonly Buffer[] = [
  Buffer.from([0x80]),
  Buffer.from([0xc0, 0x80]),
  Buffer.from([0xed, 0xa0, 0x80]),
  Buffer.from([0xf4, 0x90, 0x80, 0x80]),
  Buffer.from([0xe2, 0x82]),
  Buffer.from([0xff, 0xfe]),
];

/** One way to damage a frame. */
export type FrameMutation =
  | { readonly kind: 'flip'; readonly at: number; readonly value: number }
  | { readonly kind: 'truncate'; readonly at: number }
  | { readonly kind: 'extend'; readonly bytes: Uint8Array }
  | { readonly kind: 'int32'; readonly at: number; readonly value: number }
  | { readonly kind: 'invalid-utf8'; readonly at: number; readonly which: number }
  | { readonly kind: 'drop-nul' }
  | { readonly kind: 'duplicate' };

/** Length and count fields are where parsers break: favour the boundaries. */
const interestingInt32 = fc.oneof(
  fc.constantFrom(0, 1, 3, 4, 5, 7, 8, 0x7f, 0x80, 0xff, 0xffff, 0x10000, 0xffffff, 0x1000000, 0x7fffffff, -1, -0x80000000),
  fc.integer({ min: -0x80000000, max: 0x7fffffff }),
);

export const frameMutation: fc.Arbitrary<FrameMutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('extend' as const), bytes: fc.uint8Array({ maxLength: 64 }) }),
  fc.record({ kind: fc.constant('int32' as const), at: fc.nat(), value: interestingInt32 }),
  fc.record({ kind: fc.constant('invalid-utf8' as const), at: fc.nat(), which: fc.nat({ max: INVALID_UTF8.length - 1 }) }),
  fc.constant({ kind: 'drop-nul' as const }),
  fc.constant({ kind: 'duplicate' as const }),
);

/** Applies `mutation` to `frame` (positions wrap around the frame's length). */
export function mutateFrame(frame: Buffer, mutation: FrameMutation): Buffer {
  const length = frame.length;
  switch (mutation.kind) {
    case 'flip': {
      if (length === 0) return frame;
      const copy = Buffer.from(frame);
      copy[mutation.at % length] = mutation.value;
      return copy;
    }
    case 'truncate':
      return frame.subarray(0, length === 0 ? 0 : mutation.at % length);
    case 'extend':
      return Buffer.concat([frame, mutation.bytes]);
    case 'int32': {
      if (length < 4) return frame;
      const copy = Buffer.from(frame);
      copy.writeInt32BE(mutation.value, mutation.at % (length - 3));
      return copy;
    }
    case 'invalid-utf8': {
      const at = length === 0 ? 0 : mutation.at % length;
      return Buffer.concat([frame.subarray(0, at), INVALID_UTF8[mutation.which]!, frame.subarray(at)]);
    }
    case 'drop-nul': {
      const copy = Buffer.from(frame);
      for (let i = 0; i < copy.length; i++) if (copy[i] === 0) copy[i] = 0x41;
      return copy;
    }
    case 'duplicate':
      return Buffer.concat([frame, frame]);
  }
}

/** A valid frame from `valid`, damaged by up to three mutations (or left whole). */
export function mutatedFrame(valid: fc.Arbitrary<Buffer>): fc.Arbitrary<Buffer> {
  return fc.tuple(valid, fc.array(frameMutation, { maxLength: 3 })).map(([frame, mutations]) => mutations.reduce(mutateFrame, frame));
}

/** Cut `bytes` into chunks at the given positions (sorted, deduplicated, within bounds). */
export function chunksAt(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((cut) => (bytes.length === 0 ? 0 : cut % (bytes.length + 1))))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let previous = 0;
  for (const point of points) {
    if (point > previous) chunks.push(bytes.subarray(previous, point));
    previous = Math.max(previous, point);
  }
  if (previous < bytes.length) chunks.push(bytes.subarray(previous));
  return chunks;
}

/** Text that is sometimes valid UTF-8 and sometimes not. */
export const hostileText: fc.Arbitrary<Buffer> = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }).map((text) => Buffer.from(text, 'utf8')),
  fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes)),
);
