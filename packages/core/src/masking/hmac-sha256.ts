import { createHash, createHmac } from 'node:crypto';
import { copyBytes } from '../bytes';

/** Values longer than this (bytes, or UTF-16 units) go to `createHmac`: its set-up cost no longer matters, and the scratch buffer stays small. */
const LONG_VALUE = 4096;

/**
 * HMAC-SHA-256 (RFC 2104, FIPS 180-4) under one fixed key, for the masker's many short values.
 *
 * Node's `createHmac` sets the key up again for every value: two SHA-256 blocks of key schedule,
 * plus the objects and native calls around it, about two thirds of its cost on a 20-byte value.
 * This keeps the two key blocks' SHA-256 states (after `key ⊕ ipad` and after `key ⊕ opad`) and
 * starts every value from them, so a value of up to 55 bytes costs two compressions. The
 * output is bit for bit `createHmac('sha256', key)` (the tests compare them on random keys and
 * inputs of every length). SHA-256 has no data-dependent branches or table lookups, so this
 * computes in time independent of the key and the value, like the native one. Long values go to
 * `createHmac`, where the set-up is noise.
 */
export class HmacSha256 {
  private readonly innerStart = new Int32Array(8);
  private readonly outerStart = new Int32Array(8);
  private readonly state = new Int32Array(8);
  private readonly schedule = new Int32Array(64);
  /** The message being hashed, padded; grown for long values. */
  private scratch = Buffer.alloc(1024);
  /** The prefix written at the start of `scratch` by the last call. */
  private prefix: string | undefined;

  constructor(private readonly key: Buffer) {
    const block = Buffer.alloc(64);
    (key.length > 64 ? createHash('sha256').update(key).digest() : key).copy(block);
    const pad = Buffer.alloc(64);
    for (let i = 0; i < 64; i++) pad[i] = block[i]! ^ 0x36;
    this.innerStart.set(INITIAL_STATE);
    loadBlock(pad, 0, this.schedule);
    compress(this.innerStart, this.schedule);
    for (let i = 0; i < 64; i++) pad[i] = block[i]! ^ 0x5c;
    this.outerStart.set(INITIAL_STATE);
    loadBlock(pad, 0, this.schedule);
    compress(this.outerStart, this.schedule);
    block.fill(0);
    pad.fill(0);
  }

  /**
   * The MAC of `prefix` (Latin-1, e.g. a domain and a separator) followed by `value` (UTF-8), as
   * eight big-endian 32-bit words in a state array that the next call overwrites: read it first.
   */
  macWords(prefix: string, value: string): Int32Array {
    if (value.length > LONG_VALUE) return this.words(createHmac('sha256', this.key).update(prefix, 'latin1').update(value, 'utf8').digest());
    // UTF-8 takes at most 3 bytes per UTF-16 code unit; 72 more for the prefix's room and the padding.
    const message = this.room(prefix.length + 3 * value.length + 72);
    const length = this.writePrefix(prefix);
    return this.finish(length + message.write(value, length, 'utf8'));
  }

  /** Like `macWords`, for a value that is already bytes: `bytes[start, end)`. */
  macWordsOfBytes(prefix: string, bytes: Buffer, start: number, end: number): Int32Array {
    if (end - start > LONG_VALUE) return this.words(createHmac('sha256', this.key).update(prefix, 'latin1').update(bytes.subarray(start, end)).digest());
    const message = this.room(prefix.length + (end - start) + 72);
    const length = this.writePrefix(prefix);
    return this.finish(copyBytes(bytes, start, end, message, length));
  }

  /** A digest as the state words `macWords` returns. */
  private words(digest: Buffer): Int32Array {
    for (let i = 0; i < 8; i++) this.state[i] = digest.readInt32BE(4 * i);
    return this.state;
  }

  /** The prefix at the start of the scratch buffer (kept from the last call when it is the same). */
  private writePrefix(prefix: string): number {
    if (prefix !== this.prefix) {
      this.prefix = prefix;
      this.scratch.write(prefix, 0, 'latin1');
    }
    return prefix.length;
  }

  private room(bytes: number): Buffer {
    if (bytes > this.scratch.length) {
      this.scratch = Buffer.alloc(Math.max(bytes, 2 * this.scratch.length));
      this.prefix = undefined;
    }
    return this.scratch;
  }

  /** Pads the `length` message bytes in the scratch buffer and runs the inner and outer hashes. */
  private finish(length: number): Int32Array {
    const message = this.scratch;
    const w = this.schedule;
    // Padding: 0x80, zeros, the bit length of key block + message as a 64-bit big-endian integer
    // (below 2^32 bits: a value is far shorter than 512 MiB).
    const padded = ((length + 9 + 63) >>> 6) << 6;
    message[length] = 0x80;
    for (let i = length + 1; i < padded - 4; i++) message[i] = 0;
    const bits = (length + 64) * 8;
    message[padded - 4] = bits >>> 24;
    message[padded - 3] = (bits >>> 16) & 0xff;
    message[padded - 2] = (bits >>> 8) & 0xff;
    message[padded - 1] = bits & 0xff;
    const state = this.state;
    state.set(this.innerStart);
    for (let offset = 0; offset < padded; offset += 64) {
      loadBlock(message, offset, w);
      compress(state, w);
    }
    // Outer hash: one block after the opad block, the inner digest and its padding, as words.
    for (let i = 0; i < 8; i++) w[i] = state[i]!;
    w[8] = 0x80000000 | 0;
    for (let i = 9; i < 15; i++) w[i] = 0;
    w[15] = (64 + 32) * 8;
    state.set(this.outerStart);
    compress(state, w);
    return state;
  }

  /** The 32-byte MAC of `prefix` + `value`. */
  mac(prefix: string, value: string): Buffer {
    const words = this.macWords(prefix, value);
    const out = Buffer.allocUnsafe(32);
    for (let i = 0; i < 8; i++) out.writeInt32BE(words[i]!, 4 * i);
    return out;
  }

  /** The first `length` (≤ 64) lower-case hex characters of the MAC of `prefix` + `value`. */
  hex(prefix: string, value: string, length: number): string {
    return hexOfWords(this.macWords(prefix, value), length);
  }

  /**
   * The first `length` (≤ 64) hex characters of the MAC of `prefix` + `bytes[start, end)`, as
   * ASCII bytes written to `out` at `at`; returns the offset after them.
   */
  hexOfBytesInto(prefix: string, bytes: Buffer, start: number, end: number, length: number, out: Buffer, at: number): number {
    const words = this.macWordsOfBytes(prefix, bytes, start, end);
    for (let i = 0; i < length; i++) {
      const nibble = (words[i >>> 3]! >>> (28 - 4 * (i & 7))) & 0xf;
      out[at + i] = nibble < 10 ? 0x30 + nibble : 0x57 + nibble;
    }
    return at + length;
  }
}

function hexOfWords(words: Int32Array, length: number): string {
  let out = '';
  for (let i = 0; out.length < length; i++) {
    const word = words[i]!;
    out += HEX[(word >>> 24) & 0xff]! + HEX[(word >>> 16) & 0xff]! + HEX[(word >>> 8) & 0xff]! + HEX[word & 0xff]!;
  }
  return out.length === length ? out : out.slice(0, length);
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

const INITIAL_STATE = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);

const ROUND_CONSTANTS = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74,
  0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d,
  0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e,
  0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5,
  0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

/** The 64-byte block at `offset` as the first 16 words of the message schedule `w`. */
function loadBlock(block: Buffer, offset: number, w: Int32Array): void {
  for (let i = 0; i < 16; i++) {
    const j = offset + 4 * i;
    w[i] = (block[j]! << 24) | (block[j + 1]! << 16) | (block[j + 2]! << 8) | block[j + 3]!;
  }
}

/** One SHA-256 compression into `state` of the block whose words are `w[0, 16)` (FIPS 180-4, 6.2.2). */
function compress(state: Int32Array, w: Int32Array): void {
  for (let i = 16; i < 64; i++) {
    const w15 = w[i - 15]!;
    const w2 = w[i - 2]!;
    const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
    const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
    w[i] = (w[i - 16]! + s0 + w[i - 7]! + s1) | 0;
  }
  let a = state[0]!;
  let b = state[1]!;
  let c = state[2]!;
  let d = state[3]!;
  let e = state[4]!;
  let f = state[5]!;
  let g = state[6]!;
  let h = state[7]!;
  for (let i = 0; i < 64; i++) {
    const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const choice = (e & f) ^ (~e & g);
    const t1 = (h + s1 + choice + ROUND_CONSTANTS[i]! + w[i]!) | 0;
    const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const majority = (a & b) ^ (a & c) ^ (b & c);
    const t2 = (s0 + majority) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  state[0] = (state[0]! + a) | 0;
  state[1] = (state[1]! + b) | 0;
  state[2] = (state[2]! + c) | 0;
  state[3] = (state[3]! + d) | 0;
  state[4] = (state[4]! + e) | 0;
  state[5] = (state[5]! + f) | 0;
  state[6] = (state[6]! + g) | 0;
  state[7] = (state[7]! + h) | 0;
}
