/**
 * The at-rest half of "no PHI in logs": after a masking test has run its statements, no raw value
 * may sit in any file under the gateway's data directory (audit log, recordings) or in the lines
 * the gateway logged. Shared so every protocol's masking tests sweep the same places the same way.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

function expectNoRawValue(text: string, rawValues: readonly string[]): void {
  for (const raw of rawValues) expect(text).not.toContain(raw);
}

/**
 * Requires at least one recording and one log line to exist (so an empty sweep cannot pass), then
 * reads every file in `dataDir` as latin1 (binary recordings included) and the log for raw values.
 */
export async function expectNoRawValueAtRest(dataDir: string, logLines: readonly string[], rawValues: readonly string[]): Promise<void> {
  const files = await listFiles(dataDir);
  expect(files.some((file) => file.includes(`${path.sep}recordings${path.sep}`))).toBe(true);
  for (const file of files) expectNoRawValue(await readFile(file, 'latin1'), rawValues);
  expect(logLines.length).toBeGreaterThan(0);
  expectNoRawValue(logLines.join('\n'), rawValues);
}

/** Every file below `dir`, recursively. */
export async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(entries.map((e) => (e.isDirectory() ? listFiles(path.join(dir, e.name)) : Promise.resolve([path.join(dir, e.name)]))));
  return nested.flat();
}
