import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AsciicastRecorder, parseAsciicast } from './asciicast-recorder';

let dir: string;
beforeAll(async () => (dir = await mkdtemp(path.join(tmpdir(), 'warden-cast-'))));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('AsciicastRecorder', () => {
  it('reports back-pressure when its file buffer is full, and drains it (a recorded exec must not buffer without bound)', async () => {
    const recorder = new AsciicastRecorder(path.join(dir, 'big.cast'), { width: 80, height: 24, timestamp: 0 }, (error) => {
      throw error;
    });
    expect(recorder.backedUp).toBe(false);
    const chunk = Buffer.alloc(32 * 1024, 'x');
    let writes = 0;
    while (!recorder.backedUp && writes < 1000) {
      recorder.output(chunk);
      writes++;
    }
    // The write buffer fills after one chunk or so (16 KiB high-water mark), long before 1000 chunks.
    expect(writes).toBeLessThan(5);
    await recorder.drained();
    expect(recorder.backedUp).toBe(false);
    const summary = await recorder.close();
    const cast = parseAsciicast(await readFile(summary.file, 'utf8'));
    expect(cast.events.map(([, , data]) => data).join('')).toBe('x'.repeat(writes * chunk.length));
  });

  it('records a UTF-8 character split across two chunks whole', async () => {
    const recorder = new AsciicastRecorder(path.join(dir, 'split.cast'), { width: 80, height: 24, timestamp: 0 }, (error) => {
      throw error;
    });
    const bytes = Buffer.from('é€', 'utf8');
    for (let i = 0; i < bytes.length; i++) recorder.output(bytes.subarray(i, i + 1));
    const cast = parseAsciicast(await readFile((await recorder.close()).file, 'utf8'));
    expect(cast.events.map(([, , data]) => data).join('')).toBe('é€');
  });
});
