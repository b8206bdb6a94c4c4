import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { Masker } from '../masking/masker';
import { AsciicastRecorder, binaryMarkerLabel, parseAsciicast } from './asciicast-recorder';

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

  it('records binary output of an exec as one marker with its byte count and SHA-256, and text around it as text', async () => {
    const recorder = new AsciicastRecorder(path.join(dir, 'binary.cast'), { width: 80, height: 24, timestamp: 0 }, (error) => {
      throw error;
    }, { detectBinary: true });
    const payload = randomBytes(256 * 1024);
    recorder.output(Buffer.from('sending\n'));
    for (let at = 0; at < payload.length; at += 32 * 1024) recorder.output(payload.subarray(at, at + 32 * 1024));
    recorder.output(Buffer.from('done\n'));
    recorder.input(Buffer.from([0, 1, 2]));
    const summary = await recorder.close();
    expect(summary).toMatchObject({ binaryOutputBytes: payload.length, binaryInputBytes: 3 });
    const text = await readFile(summary.file, 'utf8');
    // The file stays small: the payload is not in it.
    expect(text.length).toBeLessThan(1000);
    const cast = parseAsciicast(text);
    expect(cast.header.version).toBe(2);
    expect(cast.events.map(([, type, data]) => [type, data])).toEqual([
      ['o', 'sending\n'],
      ['m', binaryMarkerLabel('o', payload.length, createHash('sha256').update(payload).digest('hex'))],
      ['o', 'done\n'],
      ['m', binaryMarkerLabel('i', 3, createHash('sha256').update(Buffer.from([0, 1, 2])).digest('hex'))],
    ]);
    const times = cast.events.map(([time]) => time);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
  });

  it('masks recorded output and input with the content detectors, line by line across chunks', async () => {
    const masker = new Masker({ key: Buffer.alloc(32, 7), detectors: ['ssn', 'email'] });
    const recorder = new AsciicastRecorder(path.join(dir, 'masked.cast'), { width: 80, height: 24, timestamp: 0 }, (error) => {
      throw error;
    }, { detectBinary: true, masker });
    const output = Buffer.from('ssn 412-55-7301 mail ann.smith@example.org\n\x1b[1mok\x1b[0m\n');
    for (let at = 0; at < output.length; at += 5) recorder.output(output.subarray(at, at + 5));
    for (const key of 'echo 412-55-7301\r') recorder.input(Buffer.from(key));
    const summary = await recorder.close();
    const text = await readFile(summary.file, 'utf8');
    expect(text).not.toContain('412-55-7301');
    expect(text).not.toContain('ann.smith@example.org');
    const cast = parseAsciicast(text);
    const replayed = cast.events.filter(([, type]) => type === 'o').map(([, , data]) => data).join('');
    expect(replayed).toMatch(/^ssn (?!412)\S+ mail (?!ann)\S+\n\x1b\[1mok\x1b\[0m\n$/);
    expect(summary.masked).toEqual({ ssn: 2, email: 1 });
  });

  it('writes a held partial line (a prompt) once the output pauses', async () => {
    const masker = new Masker({ key: Buffer.alloc(32, 7), detectors: ['ssn'] });
    const recorder = new AsciicastRecorder(path.join(dir, 'prompt.cast'), { width: 80, height: 24, timestamp: 0 }, (error) => {
      throw error;
    }, { masker });
    recorder.output(Buffer.from('$ '));
    await new Promise((resolve) => setTimeout(resolve, 200));
    recorder.output(Buffer.from('later\n'));
    const cast = parseAsciicast(await readFile((await recorder.close()).file, 'utf8'));
    expect(cast.events.map(([, , data]) => data)).toEqual(['$ ', 'later\n']);
    expect(cast.events[1]![0] - cast.events[0]![0]).toBeGreaterThan(0.1);
  });
});
