/**
 * Signed checkpoints end to end inside the core: the log writes them, a restart resumes the tree,
 * `verifyAuditEvidence` checks chain + tree + signatures, and inclusion proofs verify with the
 * public key alone. Tamper cases: altered (chain recomputed), removed, inserted, reordered and
 * truncated records; forged checkpoints; edited and deleted recordings.
 */
import { generateKeyPairSync } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditEvent, AuditRecord } from './audit-event';
import { defaultKeyId, loadOrCreateSigningKey, parsePublicKey, signCheckpoint, verifyCheckpointSignature, type AuditSigningKey, type Checkpoint } from './checkpoint';
import { readCheckpoints } from './checkpoint-log';
import { FileAuditLog } from './file-audit-log';
import { GENESIS_HASH, sealRecord } from './hash-chain';
import { buildInclusionProof, checkInclusionProof, readLeaves, readRecord } from './inclusion-proof';
import { leafHash, merkleRoot } from './merkle-tree';
import { verifyAuditEvidence } from './verify-audit-evidence';

let dir: string;
let key: AuditSigningKey;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'warden-checkpoints-'));
  key = await loadOrCreateSigningKey(dir);
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const event = (n: number): AuditEvent => ({ type: 'session.event', sessionId: `s${n % 4}`, name: 'test', detail: { n } });

async function writeLog(count: number, everyRecords = 10, from = 0): Promise<FileAuditLog> {
  const log = await FileAuditLog.open({ dir, checkpoints: { key, everyRecords, everySeconds: 3600 } });
  for (let i = 0; i < count; i++) await log.append(event(from + i + 1));
  await log.close();
  return log;
}

const logPath = (): string => join(dir, 'audit.log');
const checkpointsPath = (): string => join(dir, 'checkpoints.log');
const verify = (extra: { recordingsDir?: string; keys?: Map<string, AuditSigningKey['publicKey']> } = {}) =>
  verifyAuditEvidence({ logPath: logPath(), checkpointFiles: [checkpointsPath()], publicKeys: extra.keys ?? new Map([[key.keyId, key.publicKey]]), ...(extra.recordingsDir ? { recordingsDir: extra.recordingsDir } : {}) });

const lines = (): string[] => readFileSync(logPath(), 'utf8').split('\n').filter(Boolean);
const writeLines = (all: readonly string[]): void => writeFileSync(logPath(), all.map((line) => `${line}\n`).join(''));

/** Rewrite the log from record `from` on with a recomputed chain: what an attacker with write access can do. */
function reseal(records: readonly AuditRecord[]): string[] {
  let prev = GENESIS_HASH;
  return records.map((record, index) => {
    const { seq: _seq, time, prev: _prev, hash: _hash, ...event } = record;
    const sealed = sealRecord(event as AuditEvent, index + 1, time, prev);
    prev = sealed.record.hash;
    return sealed.line.trimEnd();
  });
}
const parsed = (): AuditRecord[] => lines().map((line) => JSON.parse(line) as AuditRecord);

describe('the signing key', () => {
  it('is generated once into the data directory, private, and reused', async () => {
    const again = await loadOrCreateSigningKey(dir);
    expect(again.keyId).toBe(key.keyId);
    expect(key.keyId).toMatch(/^ed25519:[0-9a-f]{16}$/);
    expect(statSync(join(dir, 'audit-signing-key.pem')).mode & 0o777).toBe(0o600);
    expect((await loadOrCreateSigningKey(dir, 'gw-2026')).keyId).toBe('gw-2026');
  });

  it('parses its public key as PEM and as JWK', () => {
    const pem = key.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const jwk = JSON.stringify(key.publicKey.export({ format: 'jwk' }));
    expect(defaultKeyId(parsePublicKey(pem))).toBe(key.keyId);
    expect(defaultKeyId(parsePublicKey(jwk))).toBe(key.keyId);
    expect(() => parsePublicKey('nonsense')).toThrow(/neither/);
  });

  it('signs checkpoints that another key, or any change, fails to verify', () => {
    const checkpoint = signCheckpoint({ size: 3, root: 'ab'.repeat(32), time: '2026-01-01T00:00:00.000Z', keyId: key.keyId }, key.privateKey);
    expect(verifyCheckpointSignature(checkpoint, key.publicKey)).toBe(true);
    expect(verifyCheckpointSignature({ ...checkpoint, size: 4 }, key.publicKey)).toBe(false);
    expect(verifyCheckpointSignature({ ...checkpoint, root: 'cd'.repeat(32) }, key.publicKey)).toBe(false);
    expect(verifyCheckpointSignature({ ...checkpoint, time: '2026-01-02T00:00:00.000Z' }, key.publicKey)).toBe(false);
    expect(verifyCheckpointSignature(checkpoint, generateKeyPairSync('ed25519').publicKey)).toBe(false);
  });
});

describe('FileAuditLog checkpoints', () => {
  it('writes a signed checkpoint every N records and one at close, each over the records so far', async () => {
    const log = await writeLog(25, 10);
    expect(log.checkpointCount).toBe(3);
    const { checkpoints } = await readCheckpoints(checkpointsPath());
    expect(checkpoints.map((c) => c.size)).toEqual([10, 20, 25]);
    const leaves = parsed().map((record) => leafHash(record.hash));
    for (const checkpoint of checkpoints) {
      expect(checkpoint.root).toBe(merkleRoot(leaves.slice(0, checkpoint.size)).toString('hex'));
      expect(verifyCheckpointSignature(checkpoint, key.publicKey)).toBe(true);
    }
  });

  it('resumes the tree after a restart without re-reading the records before the last checkpoint', async () => {
    await writeLog(15, 10);
    await writeLog(12, 10, 15);
    const { checkpoints } = await readCheckpoints(checkpointsPath());
    expect(checkpoints.map((c) => c.size)).toEqual([10, 15, 25, 27]);
    const leaves = parsed().map((record) => leafHash(record.hash));
    for (const checkpoint of checkpoints) expect(checkpoint.root).toBe(merkleRoot(leaves.slice(0, checkpoint.size)).toString('hex'));
    expect((await verify()).ok).toBe(true);
  });

  it('builds the tree from the whole log when it has no checkpoints yet', async () => {
    const plain = await FileAuditLog.open({ dir });
    for (let i = 0; i < 7; i++) await plain.append(event(i));
    await plain.close();
    await writeLog(2, 100);
    const [checkpoint] = (await readCheckpoints(checkpointsPath())).checkpoints;
    expect(checkpoint?.size).toBe(9);
    expect((await verify()).ok).toBe(true);
  });

  it('writes a checkpoint on the timer even when fewer than N records arrived', async () => {
    const log = await FileAuditLog.open({ dir, durability: 'os', syncIntervalMs: 5, checkpoints: { key, everyRecords: 1000, everySeconds: 0.05 } });
    await log.append(event(1));
    await log.append(event(2));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await readCheckpoints(checkpointsPath())).checkpoints.map((c) => c.size)).toEqual([2]);
    await log.close();
  });

  it('hands each checkpoint to the witness', async () => {
    const witnessed: Checkpoint[] = [];
    const log = await FileAuditLog.open({ dir, checkpoints: { key, everyRecords: 2, everySeconds: 3600, witness: async (c) => void witnessed.push(c) } });
    for (let i = 0; i < 5; i++) await log.append(event(i));
    await log.close();
    expect(witnessed.map((c) => c.size)).toEqual([2, 4, 5]);
    expect(Object.keys(witnessed[0]!).sort()).toEqual(['keyId', 'root', 'signature', 'size', 'time']);
  });

  it('reports a failing witness without failing the log', async () => {
    const errors: string[] = [];
    const log = await FileAuditLog.open({ dir, checkpoints: { key, everyRecords: 1, everySeconds: 3600, witness: () => Promise.reject(new Error('witness down')), onError: (e) => errors.push(e.message) } });
    await log.append(event(1));
    await log.append(event(2));
    await log.close();
    expect(log.failed).toBe(false);
    expect(errors[0]).toMatch(/witness down/);
    expect((await verify()).ok).toBe(true);
  });

  it('repairs a torn tail, audits the repair and keeps the tree consistent', async () => {
    await writeLog(12, 5);
    appendFileSync(logPath(), '{"seq":13,"type":"sess');
    await writeLog(1, 5, 100);
    const records = parsed();
    expect(records.at(-2)?.type).toBe('audit.repair');
    expect((await verify()).ok).toBe(true);
  });

  it('refuses to open a log cut short below its last checkpoint', async () => {
    await writeLog(20, 10);
    writeLines(lines().slice(0, 15));
    await expect(FileAuditLog.open({ dir, checkpoints: { key } })).rejects.toThrow(/cut short/);
  });
});

describe('verifyAuditEvidence', () => {
  beforeEach(async () => {
    await writeLog(30, 8);
  });

  it('accepts an untouched log and reports the checkpoints it checked', async () => {
    const result = await verify();
    expect(result).toMatchObject({ ok: true, records: 30, problems: [] });
    expect(result.checkpoints.map((c) => c.size)).toEqual([8, 16, 24, 30]);
  });

  it('names an altered record even when the chain was recomputed after it', async () => {
    const records = parsed();
    const altered = records.map((record) => (record.seq === 12 ? { ...record, detail: { n: 999 } } : record)) as AuditRecord[];
    writeLines(reseal(altered));
    const result = await verify();
    expect(result.ok).toBe(false);
    // The chain is intact; the tree of the first 16 records no longer matches the signed one.
    expect(result.firstBad).toMatchObject({ seq: 9 });
    expect(result.firstBad?.reason).toMatch(/records 9\.\.16 do not match the signed checkpoint/);
  });

  it('names an altered record by its hash when the chain was not recomputed', async () => {
    writeLines(lines().map((line, index) => (index === 11 ? line.replace('"n":12', '"n":13') : line)));
    expect((await verify()).firstBad).toMatchObject({ seq: 12, reason: expect.stringMatching(/hash mismatch/) });
  });

  it('names a removed, an inserted and a reordered record', async () => {
    const original = lines();
    writeLines(original.filter((_, index) => index !== 4));
    expect((await verify()).firstBad).toMatchObject({ seq: 5, reason: expect.stringMatching(/missing or reordered/) });
    writeLines([...original.slice(0, 5), original[2]!, ...original.slice(5)]);
    expect((await verify()).firstBad).toMatchObject({ seq: 6, reason: expect.stringMatching(/inserted or reordered/) });
    writeLines([...original.slice(0, 5), original[6]!, original[5]!, ...original.slice(7)]);
    expect((await verify()).firstBad).toMatchObject({ seq: 6 });
    // Removed and the chain recomputed: only the tree sees it.
    writeLines(reseal(original.filter((_, index) => index !== 20).map((line) => JSON.parse(line) as AuditRecord)));
    expect((await verify()).firstBad).toMatchObject({ seq: 17, reason: expect.stringMatching(/do not match the signed checkpoint of size 24/) });
  });

  it('detects a log truncated at a record boundary below the last checkpoint', async () => {
    writeLines(lines().slice(0, 26));
    const result = await verify();
    expect(result.firstBad).toMatchObject({ seq: 27, reason: expect.stringMatching(/covers 30 records.*log truncated/) });
    // Only the records after the last checkpoint: caught by the witness or the next checkpoint, not here.
  });

  it('detects a torn last line', async () => {
    const size = statSync(logPath()).size;
    truncateSync(logPath(), size - 5);
    expect((await verify()).firstBad?.reason).toMatch(/torn write|unparseable/);
  });

  it('fails a forged checkpoint and one signed by an unknown key', async () => {
    const forged = signCheckpoint({ size: 30, root: 'ab'.repeat(32), time: new Date().toISOString(), keyId: key.keyId }, generateKeyPairSync('ed25519').privateKey);
    appendFileSync(checkpointsPath(), `${JSON.stringify(forged)}\n`);
    const result = await verify();
    expect(result.ok).toBe(false);
    expect(result.problems.join('\n')).toMatch(/size 30.*signature does not verify/);
    const other = generateKeyPairSync('ed25519');
    const stranger = signCheckpoint({ size: 30, root: 'ab'.repeat(32), time: new Date().toISOString(), keyId: 'other' }, other.privateKey);
    appendFileSync(checkpointsPath(), `${JSON.stringify(stranger)}\n`);
    expect((await verify()).problems.join('\n')).toMatch(/key 'other', which is not a trusted key/);
  });

  it('fails when a recording named by the log is edited or deleted', async () => {
    const recordings = join(dir, 'recordings');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(recordings);
    writeFileSync(join(recordings, 's1-0.cast'), 'original\n');
    const { createHash } = await import('node:crypto');
    const log = await FileAuditLog.open({ dir, checkpoints: { key } });
    await log.append({ type: 'session.event', sessionId: 's1', name: 'recording', detail: { file: 's1-0.cast', sha256: createHash('sha256').update('original\n').digest('hex') } });
    await log.close();
    expect((await verify({ recordingsDir: recordings })).ok).toBe(true);
    writeFileSync(join(recordings, 's1-0.cast'), 'edited\n');
    expect((await verify({ recordingsDir: recordings })).problems).toEqual([expect.stringMatching(/recording s1-0\.cast \(record 31, session s1\) was altered/)]);
    unlinkSync(join(recordings, 's1-0.cast'));
    expect((await verify({ recordingsDir: recordings })).problems).toEqual([expect.stringMatching(/recording s1-0\.cast .* is missing/)]);
  });
});

describe('inclusion proofs', () => {
  it('prove every record of the log against the last checkpoint, checkable with the public key alone', async () => {
    await writeLog(21, 8);
    const leaves = await readLeaves(logPath());
    const { checkpoints } = await readCheckpoints(checkpointsPath());
    const last = checkpoints.at(-1)!;
    for (let seq = 1; seq <= 21; seq++) {
      const record = (await readRecord(logPath(), seq))!;
      const proof = JSON.parse(JSON.stringify(buildInclusionProof(leaves, record, last))) as unknown;
      expect(checkInclusionProof(proof, key.publicKey)).toMatchObject({ ok: true });
    }
    const proof = buildInclusionProof(leaves, (await readRecord(logPath(), 5))!, checkpoints[0]!);
    expect(checkInclusionProof(proof, key.publicKey).ok).toBe(true);
    expect(checkInclusionProof({ ...proof, record: { ...proof.record, detail: { n: 6 } } }, key.publicKey)).toMatchObject({ ok: false, reason: expect.stringMatching(/hash mismatch/) });
    expect(checkInclusionProof({ ...proof, checkpoint: { ...proof.checkpoint, size: 9 } }, key.publicKey)).toMatchObject({ ok: false, reason: expect.stringMatching(/signature/) });
    expect(checkInclusionProof({ ...proof, path: [...proof.path].reverse() }, key.publicKey)).toMatchObject({ ok: false, reason: expect.stringMatching(/not at index 4/) });
    expect(checkInclusionProof(proof, generateKeyPairSync('ed25519').publicKey)).toMatchObject({ ok: false });
    const twelfth = (await readRecord(logPath(), 12))!;
    expect(() => buildInclusionProof(leaves, twelfth, checkpoints[0]!)).toThrow(/not covered/);
  });
});
