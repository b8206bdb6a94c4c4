import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { WardenError } from '../errors';
import { DatabaseTimelineRecorder, parseDatabaseTimeline, type DatabaseTimelineLine } from './database-timeline';

const HEADER = {
  session: 's-1',
  identity: { subject: 'agent-1', issuer: 'https://issuer.example', kind: 'agent' as const, groups: ['coding-agents'] },
  connection: 'clinic',
  protocol: 'postgres',
  clientAddress: '127.0.0.1:5555',
  start: new Date('2026-01-02T03:04:05.000Z'),
};

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'warden-timeline-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function byType<T extends DatabaseTimelineLine['type']>(lines: DatabaseTimelineLine[], type: T): Extract<DatabaseTimelineLine, { type: T }>[] {
  return lines.filter((line): line is Extract<DatabaseTimelineLine, { type: T }> => line.type === type);
}

describe('DatabaseTimelineRecorder', () => {
  it('records header, commands with decisions, columns, rows, results and end; the summary hashes the file', async () => {
    const file = path.join(dir, 's-1.timeline.jsonl');
    const recorder = new DatabaseTimelineRecorder(file, HEADER, { resultBytesPerCommand: 1024 }, () => undefined);
    const recording = recorder.command(1, new Date(), 'SELECT id, ssn FROM patients', { effect: 'allow' })!;
    recording.columns(['id', 'ssn']);
    recording.row(['1', '[REDACTED]']);
    recording.row(['2', null]);
    recorder.result(1, { rows: 2, durationMs: 1.5, status: 'SELECT 2', masked: { redact: 1 } });
    expect(recorder.command(2, new Date(), 'DROP TABLE patients', { effect: 'block', rule: 'no-ddl', reason: 'no DDL' })).toBeUndefined();
    const summary = await recorder.close('client-closed');

    const text = readFileSync(file, 'utf8');
    expect(summary.sha256).toBe(createHash('sha256').update(text).digest('hex'));
    expect(summary.bytes).toBe(Buffer.byteLength(text));
    const lines = parseDatabaseTimeline(text);
    expect(lines[0]).toMatchObject({ type: 'header', session: 's-1', connection: 'clinic', protocol: 'postgres', start: '2026-01-02T03:04:05.000Z', resultBytesPerCommand: 1024 });
    expect(byType(lines, 'command').map((c) => [c.seq, c.text, c.decision])).toEqual([
      [1, 'SELECT id, ssn FROM patients', { effect: 'allow' }],
      [2, 'DROP TABLE patients', { effect: 'block', rule: 'no-ddl', reason: 'no DDL' }],
    ]);
    expect(byType(lines, 'columns')[0]!.names).toEqual(['id', 'ssn']);
    expect(byType(lines, 'rows').flatMap((r) => r.rows)).toEqual([
      ['1', '[REDACTED]'],
      ['2', null],
    ]);
    const [result] = byType(lines, 'result');
    expect(result).toMatchObject({ seq: 1, rows: 2, recordedRows: 2, truncated: false, status: 'SELECT 2', masked: { redact: 1 }, timings: { ms: 1.5 } });
    expect(result!.timings.firstRow).toBeGreaterThanOrEqual(result!.timings.start);
    expect(lines.at(-1)).toMatchObject({ type: 'end', reason: 'client-closed' });
  });

  it('stops recording values at the cap, and keeps the row count exact', async () => {
    const file = path.join(dir, 'cap.timeline.jsonl');
    const recorder = new DatabaseTimelineRecorder(file, HEADER, { resultBytesPerCommand: 100 }, () => undefined);
    const recording = recorder.command(1, new Date(), 'SELECT n FROM t', { effect: 'allow' })!;
    for (let n = 0; n < 1000; n++) recording.row([`value-${n}`]);
    recorder.result(1, { rows: 1000, durationMs: 3 });
    // A single row larger than the cap is counted, not recorded.
    const wide = recorder.command(2, new Date(), 'SELECT n FROM t', { effect: 'allow' })!;
    wide.row(['x'.repeat(200)]);
    recorder.result(2, { rows: 1, durationMs: 1 });
    await recorder.close('client-closed');

    const lines = parseDatabaseTimeline(readFileSync(file, 'utf8'));
    const recorded = byType(lines, 'rows').flatMap((r) => r.rows);
    // `["value-0"]` is 11 bytes of JSON: 9 rows fit in 100 bytes, the 10th would not.
    expect(recorded).toEqual(Array.from({ length: 9 }, (_, n) => [`value-${n}`]));
    const [capped, none] = byType(lines, 'result');
    expect(capped).toMatchObject({ rows: 1000, recordedRows: 9, truncated: true });
    expect(none).toMatchObject({ rows: 1, recordedRows: 0, truncated: true });
  });

  it('with a cap of 0 keeps no values at all', async () => {
    const file = path.join(dir, 'zero.timeline.jsonl');
    const recorder = new DatabaseTimelineRecorder(file, HEADER, { resultBytesPerCommand: 0 }, () => undefined);
    const recording = recorder.command(1, new Date(), 'SELECT 1', { effect: 'allow' })!;
    recording.row(['1']);
    recorder.result(1, { rows: 1, durationMs: 1 });
    await recorder.close('client-closed');
    const lines = parseDatabaseTimeline(readFileSync(file, 'utf8'));
    expect(byType(lines, 'rows')).toEqual([]);
    expect(byType(lines, 'result')[0]).toMatchObject({ rows: 1, recordedRows: 0, truncated: true });
  });

  it('reports a file it cannot write once, then refuses to record (fail closed)', async () => {
    const failures: Error[] = [];
    let failed: () => void = () => undefined;
    const reported = new Promise<void>((resolve) => (failed = resolve));
    const recorder = new DatabaseTimelineRecorder(path.join(dir, 'missing-dir', 'x.timeline.jsonl'), HEADER, { resultBytesPerCommand: 1024 }, (error) => {
      failures.push(error);
      failed();
    });
    await reported;
    expect(failures).toHaveLength(1);
    expect(recorder.failed).toBe(true);
    expect(() => recorder.command(1, new Date(), 'SELECT 1', { effect: 'allow' })).toThrow(WardenError);
    await expect(recorder.close('error')).rejects.toThrow(/ENOENT/);
  });
});
