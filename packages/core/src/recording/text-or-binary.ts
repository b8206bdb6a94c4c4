/**
 * Splits a byte stream into text chunks (valid UTF-8 without NUL bytes) and binary chunks, so that
 * recordings and live masking treat a terminal's text as text and an `scp`/`cat file.gz` transfer
 * as bytes. A multi-byte character split across two chunks is kept (at most 3 bytes) until the
 * next chunk completes it. Classification is per chunk: a stream may switch back and forth.
 */
import { isUtf8 } from 'node:buffer';

export type StreamPiece = { readonly kind: 'text'; readonly text: string } | { readonly kind: 'binary'; readonly data: Buffer };

const EMPTY = Buffer.alloc(0);

export class TextOrBinarySplitter {
  /** The start of a character the last text chunk ended in (0–3 bytes). */
  private carry: Buffer = EMPTY;

  /** Classifies one chunk (with any carried bytes in front); the chunk is not copied. */
  push(chunk: Buffer): StreamPiece {
    const data = this.carry.length === 0 ? chunk : Buffer.concat([this.carry, chunk]);
    const tail = incompleteTail(data);
    const body = tail === 0 ? data : data.subarray(0, data.length - tail);
    if (body.indexOf(0) === -1 && isUtf8(body)) {
      // Copy the tail: the caller may reuse the chunk's memory once we return.
      this.carry = tail === 0 ? EMPTY : Buffer.from(data.subarray(data.length - tail));
      return { kind: 'text', text: body.toString('utf8') };
    }
    this.carry = EMPTY;
    return { kind: 'binary', data };
  }

  /** At the end of the stream: bytes of a character that never completed (as binary), or undefined. */
  end(): Buffer | undefined {
    const carry = this.carry;
    this.carry = EMPTY;
    return carry.length === 0 ? undefined : carry;
  }
}

/**
 * How many bytes at the end of `data` start a UTF-8 character that needs more bytes than are there
 * (0 when the data ends on a character boundary or the tail is not UTF-8 at all).
 */
export function incompleteTail(data: Buffer): number {
  const n = data.length;
  for (let back = 1; back <= 3 && back <= n; back++) {
    const byte = data[n - back]!;
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte: look further back for the lead
    const needed = byte >= 0xf0 && byte <= 0xf4 ? 4 : byte >= 0xe0 && byte < 0xf0 ? 3 : byte >= 0xc2 && byte < 0xe0 ? 2 : 1;
    return needed > back ? back : 0;
  }
  return 0;
}
