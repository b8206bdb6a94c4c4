import { createReadStream } from 'node:fs';

/**
 * Stream the LF-terminated lines of a file, from byte `start` up to byte `end` (exclusive; default:
 * the end of the file), without holding the file in memory. Lines are split on LF bytes (as
 * written), not with `readline`, which also splits on CR and cannot tell whether the last line had
 * its newline. `visit` returns false to stop early. Resolves with the bytes after the last newline
 * (a torn write) — empty when the range ends with a newline.
 */
export async function readLinesForward(
  file: string,
  visit: (line: Buffer, start: number) => boolean | void,
  range: { readonly start?: number; readonly end?: number } = {},
): Promise<{ readonly rest: Buffer; readonly restStart: number; readonly stopped: boolean }> {
  const start = range.start ?? 0;
  if (range.end !== undefined && range.end <= start) return { rest: Buffer.alloc(0), restStart: start, stopped: false };
  const stream = createReadStream(file, { start, ...(range.end !== undefined ? { end: range.end - 1 } : {}) });
  let pieces: Buffer[] = [];
  let lineStart = start;
  let position = start;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let from = 0;
    for (let newline = chunk.indexOf(0x0a); newline >= 0; newline = chunk.indexOf(0x0a, from)) {
      const tail = chunk.subarray(from, newline);
      const line = pieces.length === 0 ? tail : Buffer.concat([...pieces, tail]);
      pieces = [];
      const thisStart = lineStart;
      from = newline + 1;
      lineStart = position + from;
      if (visit(line, thisStart) === false) {
        stream.destroy();
        return { rest: Buffer.alloc(0), restStart: lineStart, stopped: true };
      }
    }
    if (from < chunk.length) pieces.push(chunk.subarray(from));
    position += chunk.length;
  }
  return { rest: Buffer.concat(pieces), restStart: lineStart, stopped: false };
}
