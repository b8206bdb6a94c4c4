import type { FileHandle } from 'node:fs/promises';

/** One line of a file, located by byte offsets. */
export interface LocatedLine {
  /** Offset of the line's first byte. */
  readonly start: number;
  /** Offset just past the line's last byte, not counting its newline. */
  readonly end: number;
  /** False only for the bytes after the file's last newline (possibly none). */
  readonly terminated: boolean;
  readonly bytes: Buffer;
}

const FIRST_CHUNK = 64 * 1024;

/**
 * The lines of a file, last first, reading from the end so that opening a large log costs a few
 * KiB instead of a full scan. The first line yielded is always the unterminated tail (empty when
 * the file ends with a newline). Lines are split on LF bytes only, as the log writer writes them.
 *
 * Reads grow geometrically so that a very long line costs linear, not quadratic, copying.
 * `firstChunk` exists for tests, which split the input at every size.
 */
export async function* readLinesBackward(handle: FileHandle, size: number, firstChunk = FIRST_CHUNK): AsyncGenerator<LocatedLine> {
  let pos = size; // everything from `pos` on has been read into `pending` or yielded
  let pending = Buffer.alloc(0); // bytes [pos, lineEnd)
  let lineEnd = size;
  for (;;) {
    const newline = pending.lastIndexOf(0x0a);
    if (newline >= 0) {
      yield { start: pos + newline + 1, end: lineEnd, terminated: lineEnd < size, bytes: pending.subarray(newline + 1) };
      lineEnd = pos + newline;
      pending = pending.subarray(0, newline);
      continue;
    }
    if (pos === 0) {
      yield { start: 0, end: lineEnd, terminated: lineEnd < size, bytes: pending };
      return;
    }
    const length = Math.min(pos, Math.max(firstChunk, pending.length));
    const chunk = Buffer.allocUnsafe(length);
    let filled = 0;
    while (filled < length) {
      const { bytesRead } = await handle.read(chunk, filled, length - filled, pos - length + filled);
      if (bytesRead === 0) throw new Error(`the file shrank while it was being read (at offset ${pos - length + filled})`);
      filled += bytesRead;
    }
    pos -= length;
    pending = pending.length === 0 ? chunk : Buffer.concat([chunk, pending]);
  }
}
