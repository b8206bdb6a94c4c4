import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditRecord } from './audit-event';
import { FileAuditLog } from './file-audit-log';
import { GENESIS_HASH, hashRecord, type UnhashedAuditRecord } from './hash-chain';
import { canonicalJson } from './canonical-json';
import { verifyAuditLog } from './verify-audit-log';

let dir: string;
let path: string;
let lines: string[];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'warden-verify-'));
  const log = await FileAuditLog.open({ dir });
  for (let n = 1; n <= 10; n++) {
    // \u2028 and CR are legal inside JSON strings; the verifier must not split lines on them.
    await log.append({ type: 'command', sessionId: 's1', commandSeq: n, text: `select ${n} -- \u2028 \r`, classification: { action: 'read', objects: [], bulk: false, statementCount: 1, statements: [] }, decision: { effect: 'allow' } });
  }
  await log.close();
  path = log.path;
  lines = readFileSync(path, 'utf8').split('\n').slice(0, -1);
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const rewrite = (next: readonly string[]): void => writeFileSync(path, next.map((line) => `${line}\n`).join(''));
const parse = (line: string | undefined): AuditRecord => JSON.parse(line ?? '') as AuditRecord;

describe('verifyAuditLog', () => {
  it('accepts an intact log', async () => {
    await expect(verifyAuditLog(path)).resolves.toEqual({ ok: true, records: 10, lastHash: parse(lines[9]).hash });
  });

  it('accepts an empty log', async () => {
    writeFileSync(path, '');
    await expect(verifyAuditLog(path)).resolves.toEqual({ ok: true, records: 0, lastHash: GENESIS_HASH });
  });

  it('reports a missing log', async () => {
    const missing = join(dir, 'nope.log');
    await expect(verifyAuditLog(missing)).resolves.toEqual({ ok: false, records: 0, firstBad: { seq: 1, line: 0, reason: `no audit log at ${missing}` } });
  });

  it('catches an altered field', async () => {
    rewrite(lines.map((line, i) => (i === 4 ? line.replace('select 5', 'select 6') : line)));
    await expect(verifyAuditLog(path)).resolves.toEqual({ ok: false, records: 4, firstBad: { seq: 5, line: 5, reason: 'hash mismatch (record altered)' } });
  });

  it('catches a deleted line', async () => {
    rewrite(lines.filter((_, i) => i !== 4));
    await expect(verifyAuditLog(path)).resolves.toEqual({
      ok: false,
      records: 4,
      firstBad: { seq: 5, line: 5, reason: 'seq 5 expected, found 6 (record missing or reordered)' },
    });
  });

  it('catches an inserted copy of another line', async () => {
    rewrite([...lines.slice(0, 7), lines[2] ?? '', ...lines.slice(7)]);
    await expect(verifyAuditLog(path)).resolves.toEqual({
      ok: false,
      records: 7,
      firstBad: { seq: 8, line: 8, reason: 'seq 8 expected, found 3 (record inserted or reordered)' },
    });
  });

  it('catches a duplicated line', async () => {
    rewrite([...lines.slice(0, 4), lines[3] ?? '', ...lines.slice(4)]);
    await expect(verifyAuditLog(path)).resolves.toMatchObject({ ok: false, records: 4, firstBad: { seq: 5, line: 5, reason: 'seq 5 expected, found 4 (record inserted or reordered)' } });
  });

  it('catches two swapped lines', async () => {
    const swapped = [...lines];
    [swapped[3], swapped[6]] = [swapped[6] ?? '', swapped[3] ?? ''];
    rewrite(swapped);
    await expect(verifyAuditLog(path)).resolves.toEqual({
      ok: false,
      records: 3,
      firstBad: { seq: 4, line: 4, reason: 'seq 4 expected, found 7 (record missing or reordered)' },
    });
  });

  it('catches a record rehashed with a wrong prev', async () => {
    const { hash: _old, ...record } = parse(lines[5]);
    const forged = { ...(record as UnhashedAuditRecord), prev: 'a'.repeat(64) };
    rewrite(lines.map((line, i) => (i === 5 ? canonicalJson({ ...forged, hash: hashRecord(forged) }) : line)));
    await expect(verifyAuditLog(path)).resolves.toEqual({ ok: false, records: 5, firstBad: { seq: 6, line: 6, reason: 'prev does not match the previous record hash' } });
  });

  it('catches a file truncated in the middle of a line', async () => {
    const content = readFileSync(path);
    writeFileSync(path, content.subarray(0, content.length - 30));
    await expect(verifyAuditLog(path)).resolves.toEqual({ ok: false, records: 9, firstBad: { seq: 10, line: 10, reason: 'unparseable JSON' } });
  });

  it('catches a last line without its newline', async () => {
    writeFileSync(path, lines.join('\n'));
    await expect(verifyAuditLog(path)).resolves.toEqual({ ok: false, records: 9, firstBad: { seq: 10, line: 10, reason: 'the last line has no newline (torn write)' } });
  });

  it('catches an unparseable line in the middle', async () => {
    rewrite(lines.map((line, i) => (i === 1 ? line.slice(1) : line)));
    await expect(verifyAuditLog(path)).resolves.toEqual({ ok: false, records: 1, firstBad: { seq: 2, line: 2, reason: 'unparseable JSON' } });
  });

  it('catches a blank line', async () => {
    rewrite([...lines.slice(0, 3), '', ...lines.slice(3)]);
    await expect(verifyAuditLog(path)).resolves.toMatchObject({ ok: false, records: 3, firstBad: { line: 4, reason: 'unparseable JSON' } });
  });

  it('catches JSON that is not a record', async () => {
    rewrite([...lines.slice(0, 2), '{"hello":"world"}', ...lines.slice(2)]);
    await expect(verifyAuditLog(path)).resolves.toMatchObject({ ok: false, records: 2, firstBad: { line: 3, reason: expect.stringMatching(/^not an audit record/) } });
  });

  it('reads lines that span many stream chunks', async () => {
    const log = await FileAuditLog.open({ dir, fileName: 'long.log' });
    await log.append({ type: 'session.event', sessionId: 's', name: 'big', detail: { blob: 'x'.repeat(300_000) } });
    await log.append({ type: 'session.event', sessionId: 's', name: 'after' });
    await log.close();
    await expect(verifyAuditLog(log.path)).resolves.toMatchObject({ ok: true, records: 2 });
  });
});
