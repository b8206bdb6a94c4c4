/**
 * The segmented file store: rotation at the size limit, the chain and the Merkle tree across
 * segments, restarts that resume in a later segment, and what `verify` says when a segment is
 * removed, truncated, reordered or torn. Also a data directory from before segments (one
 * `audit.log`, checkpoints without a segment number).
 */
import { appendFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditEvent, AuditRecord } from './audit-event';
import type { AuditDurability } from './file-audit-log';
import { loadOrCreateSigningKey, type AuditSigningKey } from './checkpoint';
import { readCheckpoints } from './checkpoint-log';
import { FileAuditLog } from './file-audit-log';
import { FileAuditReader, listSegments, readAuditLines, segmentPath } from './file-segments';
import { GENESIS_HASH, hashRecord } from './hash-chain';
import { readLeaves, readRecord } from './inclusion-proof';
import { verifyAuditEvidence } from './verify-audit-evidence';
import { verifyAuditLog } from './verify-audit-log';

let dir: string;
let key: AuditSigningKey;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'warden-segments-'));
  key = await loadOrCreateSigningKey(dir);
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** About 120 bytes per record. */
const event = (n: number): AuditEvent => ({ type: 'session.event', sessionId: `s${n % 4}`, name: 'test', detail: { n } });
const SEGMENT_BYTES = 1000;
const logPath = (): string => join(dir, 'audit.log');
const segment = (n: number): string => segmentPath(logPath(), n);
const verify = () => verifyAuditEvidence({ logPath: logPath(), checkpointFiles: [join(dir, 'checkpoints.log')], publicKeys: new Map([[key.keyId, key.publicKey]]) });
const recordsOf = (file: string): AuditRecord[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as AuditRecord);

async function writeLog(count: number, options: { from?: number; concurrent?: boolean; durability?: AuditDurability; checkpoints?: boolean } = {}): Promise<FileAuditLog> {
  const log = await FileAuditLog.open({
    dir,
    segmentBytes: SEGMENT_BYTES,
    ...(options.durability ? { durability: options.durability, syncIntervalMs: 5 } : {}),
    ...(options.checkpoints === false ? {} : { checkpoints: { key, everyRecords: 7, everySeconds: 3600 } }),
  });
  const from = options.from ?? 0;
  if (options.concurrent) await Promise.all(Array.from({ length: count }, (_, i) => log.append(event(from + i + 1))));
  else for (let i = 0; i < count; i++) await log.append(event(from + i + 1));
  await log.close();
  return log;
}

function allRecords(): AuditRecord[] {
  return [...readdirSync(join(dir, 'audit')).sort()].reduce((all, name) => [...all, ...recordsOf(join(dir, 'audit', name))], recordsOf(logPath()));
}

describe('segment rotation', () => {
  it.each([
    ['one appender at a time, disk durability', { concurrent: false }],
    ['64 concurrent appenders (group commit), disk durability', { concurrent: true }],
    ['64 concurrent appenders, os durability', { concurrent: true, durability: 'os' as const }],
  ])('rotates at the size limit with %s, and the chain runs across segments', async (_name, options) => {
    await writeLog(64, options);
    const segments = await listSegments(logPath());
    expect(segments.length).toBeGreaterThanOrEqual(7);
    expect(segments).toEqual(segments.map((_, index) => index + 1));
    for (const n of segments) {
      expect(statSync(segment(n)).size).toBeLessThanOrEqual(SEGMENT_BYTES);
      expect(recordsOf(segment(n)).length).toBeGreaterThan(0);
    }
    expect(segment(2)).toBe(join(dir, 'audit', '000002.jsonl'));
    const records = allRecords();
    expect(records.map((record) => record.seq)).toEqual(Array.from({ length: 64 }, (_, i) => i + 1));
    let prev = GENESIS_HASH;
    for (const record of records) {
      expect(record.prev).toBe(prev);
      expect(hashRecord(record)).toBe(record.hash);
      prev = record.hash;
    }
    await expect(verifyAuditLog(logPath())).resolves.toEqual({ ok: true, records: 64, lastHash: prev });
    const evidence = await verify();
    expect(evidence).toMatchObject({ ok: true, records: 64, segments: segments.length, problems: [] });
    // Once 7 more records are durable, and at close: signed roots over records in several segments, each matched.
    const sizes = evidence.checkpoints.map((checkpoint) => checkpoint.size);
    expect(sizes.length).toBeGreaterThanOrEqual(options.concurrent ? 3 : 10);
    expect(sizes.at(-1)).toBe(64);
    const { checkpoints } = await readCheckpoints(join(dir, 'checkpoints.log'));
    expect(new Set(checkpoints.map((checkpoint) => checkpoint.resume?.segment)).size).toBeGreaterThanOrEqual(3);
  });

  it('gives a record larger than the limit a segment of its own', async () => {
    const log = await FileAuditLog.open({ dir, segmentBytes: SEGMENT_BYTES });
    await log.append(event(1));
    await log.append({ type: 'session.event', sessionId: 's', name: 'big', detail: { blob: 'x'.repeat(3 * SEGMENT_BYTES) } });
    await log.append(event(3));
    await log.close();
    expect(recordsOf(segment(1)).map((record) => record.seq)).toEqual([1]);
    expect(recordsOf(segment(2)).map((record) => record.seq)).toEqual([2]);
    expect(recordsOf(segment(3)).map((record) => record.seq)).toEqual([3]);
  });

  it('resumes after a restart in the last segment, from a checkpoint that lies in it', async () => {
    await writeLog(30);
    const lastBefore = (await listSegments(logPath())).at(-1)!;
    const { checkpoints } = await readCheckpoints(join(dir, 'checkpoints.log'));
    expect(checkpoints.at(-1)?.resume?.segment).toBe(lastBefore);
    await writeLog(30, { from: 30 });
    expect((await listSegments(logPath())).at(-1)).toBeGreaterThan(lastBefore);
    await expect(verify()).resolves.toMatchObject({ ok: true, records: 60 });
    // Proofs and lookups read across segments.
    expect((await readLeaves(logPath())).length).toBe(60);
    await expect(readRecord(logPath(), 45)).resolves.toMatchObject({ seq: 45, detail: { n: 45 } });
    await expect(new FileAuditReader(logPath()).size()).resolves.toBe(60);
    const seqs: number[] = [];
    appendFileSync(segment((await listSegments(logPath())).at(-1)!), '{"seq":61,"ty');
    await readAuditLines(logPath(), (line) => void seqs.push((JSON.parse(line.toString('utf8')) as AuditRecord).seq));
    expect(seqs).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
  });

  it('continues from the segment before when the last one was created but holds no record (crash right after the rotation)', async () => {
    await writeLog(20);
    const last = (await listSegments(logPath())).at(-1)!;
    writeFileSync(segment(last + 1), '');
    const log = await FileAuditLog.open({ dir, segmentBytes: SEGMENT_BYTES, checkpoints: { key, everyRecords: 7, everySeconds: 3600 } });
    await expect(log.append(event(21))).resolves.toMatchObject({ seq: 21 });
    await log.close();
    expect(recordsOf(segment(last + 1))[0]).toMatchObject({ seq: 21 });
    await expect(verify()).resolves.toMatchObject({ ok: true, records: 21 });
  });
});

describe('verify across segments', () => {
  beforeEach(async () => {
    await writeLog(40);
    expect((await listSegments(logPath())).length).toBeGreaterThanOrEqual(4);
  });

  it('names a deleted middle segment', async () => {
    unlinkSync(segment(2));
    const result = await verify();
    expect(result.ok).toBe(false);
    expect(result.firstBad).toMatchObject({ reason: 'segment audit/000002.jsonl is missing (removed?)', segment: 'audit/000002.jsonl' });
    await expect(verifyAuditLog(logPath())).resolves.toMatchObject({ ok: false, firstBad: { reason: 'segment audit/000002.jsonl is missing (removed?)' } });
  });

  it('names a middle segment cut short at a record boundary, and the segment where the chain breaks', async () => {
    const lines = readFileSync(segment(2), 'utf8').split('\n').filter(Boolean);
    const firstOfThree = recordsOf(segment(3))[0]!;
    writeFileSync(segment(2), lines.slice(0, -1).map((line) => `${line}\n`).join(''));
    const result = await verify();
    expect(result.ok).toBe(false);
    expect(result.firstBad?.reason).toBe(
      `seq ${firstOfThree.seq - 1} expected, found ${firstOfThree.seq} at the start of audit/000003.jsonl: audit/000002.jsonl was truncated or altered, or segments were removed or reordered`,
    );
  });

  it('names reordered segments', async () => {
    const two = readFileSync(segment(2));
    renameSync(segment(3), segment(2));
    writeFileSync(segment(3), two);
    const result = await verify();
    expect(result.ok).toBe(false);
    expect(result.firstBad?.reason).toMatch(/ at the start of audit\/000002\.jsonl: audit\.log was truncated or altered, or segments were removed or reordered$/);
  });

  it('names a removed last segment that a signed checkpoint covers', async () => {
    const last = (await listSegments(logPath())).at(-1)!;
    unlinkSync(segment(last));
    const result = await verify();
    expect(result.ok).toBe(false);
    expect(result.firstBad?.reason).toMatch(new RegExp(`a signed checkpoint covers 40 records: .* \\(log truncated\\); the checkpoint's last record is in audit/0+${last}\\.jsonl, which is missing or empty$`));
  });

  it('fails a torn line at the end of a segment that another segment follows', async () => {
    appendFileSync(segment(2), '{"seq":99,"ty');
    const result = await verify();
    expect(result.firstBad).toMatchObject({ reason: 'the last line of audit/000002.jsonl has no newline (torn write), and a later segment follows it', segment: 'audit/000002.jsonl' });
  });

  it('repairs a torn tail in the last segment at open, on record, and the log verifies', async () => {
    const last = (await listSegments(logPath())).at(-1)!;
    const torn = '{"seq":41,"type":"session.ev';
    appendFileSync(segment(last), torn);
    await expect(verify()).resolves.toMatchObject({ ok: false, firstBad: { reason: `the last line has no newline (torn write) (in audit/${String(last).padStart(6, '0')}.jsonl)` } });
    const log = await FileAuditLog.open({ dir, segmentBytes: SEGMENT_BYTES, checkpoints: { key, everyRecords: 7, everySeconds: 3600 } });
    await log.close();
    const repair = allRecords().at(-1);
    expect(repair).toMatchObject({ seq: 41, type: 'audit.repair', truncatedBytes: torn.length, reason: expect.stringContaining(`audit/${String(last).padStart(6, '0')}.jsonl`) });
    await expect(verify()).resolves.toMatchObject({ ok: true, records: 41 });
  });

  it('refuses to append when the last segment does not follow the one before it', async () => {
    const last = (await listSegments(logPath())).at(-1)!;
    const previous = readFileSync(segment(last - 1), 'utf8').split('\n').filter(Boolean);
    // The last segment reduced to its first record, and the record before it removed.
    writeFileSync(segment(last), `${readFileSync(segment(last), 'utf8').split('\n')[0]}\n`);
    writeFileSync(segment(last - 1), previous.slice(0, -1).map((line) => `${line}\n`).join(''));
    await expect(FileAuditLog.open({ dir, segmentBytes: SEGMENT_BYTES })).rejects.toMatchObject({ code: 'audit-unavailable', message: expect.stringMatching(/does not follow the last record of audit\//) });
  });
});

describe('a data directory from before segments', () => {
  it('reads the single audit.log as the first segment, resumes from its old checkpoints, and rotates on from it', async () => {
    // Written as before: one file, far below the default limit; checkpoints' resume state without a segment.
    const old = await FileAuditLog.open({ dir, checkpoints: { key, everyRecords: 5, everySeconds: 3600 } });
    for (let n = 1; n <= 12; n++) await old.append(event(n));
    await old.close();
    const checkpointsFile = join(dir, 'checkpoints.log');
    writeFileSync(checkpointsFile, readFileSync(checkpointsFile, 'utf8').replaceAll('"segment":1,', ''));
    expect(readFileSync(checkpointsFile, 'utf8')).not.toContain('segment');
    expect(existsSync(join(dir, 'audit'))).toBe(false);
    await expect(verify()).resolves.toMatchObject({ ok: true, records: 12, segments: 1 });

    // The legacy file is already past the new, small limit: the next record starts segment 2.
    await writeLog(20, { from: 12 });
    expect(recordsOf(logPath()).map((record) => record.seq)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(recordsOf(segment(2))[0]).toMatchObject({ seq: 13 });
    const result = await verify();
    expect(result).toMatchObject({ ok: true, records: 32 });
    expect(result.checkpoints.map((checkpoint) => checkpoint.size)).toContain(10);
  });
});
