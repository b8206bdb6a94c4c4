import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readLinesBackward, type LocatedLine } from './read-lines-backward';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'warden-lines-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function linesOf(content: string, firstChunk: number): Promise<{ text: string; start: number; end: number; terminated: boolean }[]> {
  const path = join(dir, 'f');
  writeFileSync(path, content);
  const handle = await open(path, 'r');
  try {
    const out: LocatedLine[] = [];
    for await (const line of readLinesBackward(handle, Buffer.byteLength(content), firstChunk)) out.push(line);
    return out.map(({ bytes, start, end, terminated }) => ({ text: bytes.toString(), start, end, terminated }));
  } finally {
    await handle.close();
  }
}

/** The same answer computed the obvious way, for comparison. */
function expected(content: string): { text: string; start: number; end: number; terminated: boolean }[] {
  const parts = content.split('\n');
  let offset = 0;
  const located = parts.map((text, i) => {
    const line = { text, start: offset, end: offset + text.length, terminated: i < parts.length - 1 };
    offset += text.length + 1;
    return line;
  });
  return located.reverse();
}

describe('readLinesBackward', () => {
  const samples = ['', '\n', 'a', 'a\n', 'a\nb', '\n\n', 'first line\nsecond\n\nfourth, longer than the rest\npartial', `${'x'.repeat(100)}\ny\n`];

  it.each(samples)('yields the lines of %j last first, at every chunk size', async (content) => {
    for (let chunk = 1; chunk <= content.length + 1; chunk++) {
      await expect(linesOf(content, chunk)).resolves.toEqual(expected(content));
    }
  });
});
