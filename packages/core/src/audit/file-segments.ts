/**
 * The embedded store's files. The log is a sequence of append-only segments:
 *
 *   <dir>/audit.log              segment 1 (the name a single-file log always had, so data
 *                                directories from before segments are read as they are)
 *   <dir>/audit/000002.jsonl     segment 2, written once segment 1 reached the size limit
 *   <dir>/audit/000003.jsonl     …
 *
 * The hash chain (and the Merkle tree) runs across segments: the first record of segment n
 * follows the last record of segment n-1. Only the last segment is ever written to.
 */
import { createReadStream } from 'node:fs';
import { open, readdir } from 'node:fs/promises';
import path from 'node:path';
import type { AuditLogItem, AuditLogLine, AuditLogReader, AuditPosition } from './audit-store';
import { checkAuditLine } from './audit-line';
import { readLinesBackward } from './read-lines-backward';

/** Rotate to a new segment once the current one would grow past this. */
export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;

const SEGMENT_FILE = /^(\d{6,})\.jsonl$/;

/** The directory of segments 2, 3, …: the first segment's name without its extension (`audit.log` → `audit`). */
export function segmentDirOf(firstPath: string): string {
  const base = path.basename(firstPath);
  const dot = base.lastIndexOf('.');
  return path.join(path.dirname(firstPath), dot > 0 ? base.slice(0, dot) : `${base}.segments`);
}

export function segmentPath(firstPath: string, segment: number): string {
  return segment === 1 ? firstPath : path.join(segmentDirOf(firstPath), `${String(segment).padStart(6, '0')}.jsonl`);
}

/** The segment's path relative to the data directory, for messages (`audit/000002.jsonl`). */
export function segmentName(firstPath: string, segment: number): string {
  return path.relative(path.dirname(firstPath), segmentPath(firstPath, segment));
}

/** The segment numbers present, ascending (1 when the first file exists). */
export async function listSegments(firstPath: string): Promise<number[]> {
  const numbers: number[] = [];
  try {
    await (await open(firstPath, 'r')).close();
    numbers.push(1);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  let names: string[] = [];
  try {
    names = await readdir(segmentDirOf(firstPath));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') throw error;
  }
  for (const name of names) {
    const match = SEGMENT_FILE.exec(name);
    // Segment 1 is the first file, never a file in the directory: such a file is not part of the log.
    if (match && Number(match[1]) >= 2) numbers.push(Number(match[1]));
  }
  return numbers.sort((a, b) => a - b);
}

/** The lines of one file from byte `start`, streamed; the bytes after the last newline come last, unterminated. */
async function* fileLines(file: string, start: number): AsyncGenerator<{ bytes: Buffer; end: number; terminated: boolean }> {
  const stream = createReadStream(file, { start, highWaterMark: 1024 * 1024 });
  let pieces: Buffer[] = [];
  let position = start;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let from = 0;
      for (let newline = chunk.indexOf(0x0a); newline >= 0; newline = chunk.indexOf(0x0a, from)) {
        const tail = chunk.subarray(from, newline);
        const bytes = pieces.length === 0 ? tail : Buffer.concat([...pieces, tail]);
        pieces = [];
        from = newline + 1;
        yield { bytes, end: position + from, terminated: true };
      }
      if (from < chunk.length) pieces.push(chunk.subarray(from));
      position += chunk.length;
    }
  } finally {
    stream.destroy();
  }
  if (pieces.length > 0) yield { bytes: Buffer.concat(pieces), end: position, terminated: false };
}

/**
 * Reads a segmented log (see above) without taking its lock: `verify`, `prove`, `export` and the
 * session index run beside a gateway that appends.
 */
export class FileAuditReader implements AuditLogReader {
  /** @param firstPath the first segment (`<dataDir>/audit.log`). */
  constructor(readonly location: string) {}

  async *read(options: { readonly after?: AuditPosition } = {}): AsyncGenerator<AuditLogItem> {
    const segments = await listSegments(this.location);
    if (segments.length === 0) {
      throw Object.assign(new Error(`ENOENT: no audit log at ${this.location}`), { code: 'ENOENT' });
    }
    const after = options.after;
    const fromSegment = after && after.seq > 0 ? (after.segment ?? 1) : 1;
    const last = segments.at(-1)!;
    let expected = 1;
    let skipLines = after && after.seq > 0 && after.offset === undefined ? after.seq : 0;
    for (const segment of segments) {
      for (; expected < segment; expected++) {
        if (expected >= fromSegment) yield { kind: 'gap', where: segmentName(this.location, expected), segment: expected, reason: `segment ${segmentName(this.location, expected)} is missing (removed?)` };
      }
      expected = segment + 1;
      if (segment < fromSegment) continue;
      const start = segment === fromSegment && after?.offset !== undefined ? after.offset : 0;
      let line = 0;
      for await (const piece of fileLines(segmentPath(this.location, segment), start)) {
        line++;
        if (skipLines > 0) {
          skipLines--;
          continue;
        }
        yield { kind: 'line', bytes: piece.bytes, where: segmentName(this.location, segment), segment, line, end: piece.end, terminated: piece.terminated, lastSegment: segment === last };
      }
    }
  }

  async *readBackward(): AsyncGenerator<AuditLogLine> {
    const segments = await listSegments(this.location);
    for (const segment of [...segments].reverse()) {
      const file = segmentPath(this.location, segment);
      const handle = await open(file, 'r');
      try {
        const { size } = await handle.stat();
        for await (const located of readLinesBackward(handle, size)) {
          if (!located.terminated && located.bytes.length === 0) continue;
          // Line numbers are not known reading backward; 0 says so.
          yield { kind: 'line', bytes: located.bytes, where: segmentName(this.location, segment), segment, line: 0, end: located.terminated ? located.end + 1 : located.end, terminated: located.terminated, lastSegment: segment === segments.at(-1) };
        }
      } finally {
        await handle.close();
      }
    }
  }

  segmentName(segment: number): string {
    return segmentName(this.location, segment);
  }

  async size(): Promise<number> {
    for await (const line of this.readBackward()) {
      if (!line.terminated) continue;
      const checked = checkAuditLine(line.bytes);
      if (checked.ok) return checked.record.seq;
    }
    return 0;
  }
}

/**
 * Every line of the log at `firstPath`, across its segments, in order — the segment-aware
 * counterpart of `readLinesForward` for code that only wants the records. `visit` returns false to
 * stop. Like `readLinesForward`, throws an `ENOENT` error when there is no log.
 */
export async function readAuditLines(firstPath: string, visit: (line: Buffer) => boolean | void): Promise<void> {
  for await (const item of new FileAuditReader(firstPath).read()) {
    // A torn or in-flight last line is not a record yet.
    if (item.kind === 'line' && item.terminated && visit(item.bytes) === false) return;
  }
}
