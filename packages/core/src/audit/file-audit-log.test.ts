import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '../clock';
import { WardenError } from '../errors';
import type { AuditEvent, AuditRecord } from './audit-event';
import { FileAuditLog } from './file-audit-log';
import { GENESIS_HASH, hashRecord } from './hash-chain';
import { verifyAuditLog } from './verify-audit-log';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'warden-audit-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const event = (n: number): AuditEvent => ({ type: 'session.event', sessionId: `s${n % 8}`, name: 'test', detail: { n } });

function readRecords(file: string): AuditRecord[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as AuditRecord);
}

function expectChained(records: readonly AuditRecord[]): void {
  let prev = GENESIS_HASH;
  records.forEach((record, index) => {
    expect(record.seq).toBe(index + 1);
    expect(record.prev).toBe(prev);
    expect(hashRecord(record)).toBe(record.hash);
    prev = record.hash;
  });
}

async function writeLog(count: number): Promise<string> {
  const log = await FileAuditLog.open({ dir });
  await Promise.all(Array.from({ length: count }, (_, i) => log.append(event(i + 1))));
  await log.close();
  return log.path;
}

describe('FileAuditLog', () => {
  it('creates a private directory and file', async () => {
    const nested = join(dir, 'data', 'audit');
    const log = await FileAuditLog.open({ dir: nested });
    await log.append(event(1));
    await log.close();
    expect(log.path).toBe(join(nested, 'audit.log'));
    expect(statSync(nested).mode & 0o777).toBe(0o700);
    expect(statSync(log.path).mode & 0o777).toBe(0o600);
  });

  it('keeps call order and the chain for 1,000 concurrent appends, in far fewer syncs', async () => {
    const log = await FileAuditLog.open({ dir, fileName: 'many.log' });
    const receipts = await Promise.all(Array.from({ length: 1000 }, (_, i) => log.append(event(i + 1))));
    expect(receipts.map((r) => r.seq)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    expect(log.batches).toBeLessThan(100);
    await log.close();

    const records = readRecords(log.path);
    expect(records).toHaveLength(1000);
    expectChained(records);
    expect(records.map((r) => (r.type === 'session.event' ? r.detail?.n : undefined))).toEqual(receipts.map((r) => r.seq));
    expect(records.map((r) => r.hash)).toEqual(receipts.map((r) => r.hash));
    await expect(verifyAuditLog(log.path)).resolves.toEqual({ ok: true, records: 1000, lastHash: receipts[999]?.hash });
  });

  it('groups appends that arrive while a sync is in flight', async () => {
    const log = await FileAuditLog.open({ dir });
    const pending: Promise<unknown>[] = [];
    // 20 waves of 25 appends, each wave in a later turn of the event loop.
    for (let wave = 0; wave < 20; wave++) {
      for (let i = 0; i < 25; i++) pending.push(log.append(event(wave * 25 + i)));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(pending);
    expect(log.batches).toBeGreaterThanOrEqual(1);
    expect(log.batches).toBeLessThanOrEqual(20);
    await log.close();
    expectChained(readRecords(log.path));
  });

  it('resolves only once the record is in the file', async () => {
    const log = await FileAuditLog.open({ dir });
    const receipt = await log.append(event(1));
    const [record] = readRecords(log.path);
    expect(record).toMatchObject({ seq: 1, hash: receipt.hash, prev: GENESIS_HASH });
    await log.close();
  });

  it('takes its time from the injected clock', async () => {
    const clock: Clock = { now: () => new Date('2030-05-06T07:08:09.000Z') };
    const log = await FileAuditLog.open({ dir, clock });
    await log.append(event(1));
    await log.close();
    expect(readRecords(log.path)[0]?.time).toBe('2030-05-06T07:08:09.000Z');
  });

  it('continues the chain when reopened', async () => {
    const path = await writeLog(3);
    const before = readRecords(path);
    const log = await FileAuditLog.open({ dir });
    const receipt = await log.append(event(4));
    await log.close();
    expect(receipt.seq).toBe(4);
    const records = readRecords(path);
    expect(records[3]?.prev).toBe(before[2]?.hash);
    expectChained(records);
    await expect(verifyAuditLog(path)).resolves.toMatchObject({ ok: true, records: 4 });
  });

  it('flushes queued appends on close and rejects appends after it', async () => {
    const log = await FileAuditLog.open({ dir });
    const queued = Array.from({ length: 50 }, (_, i) => log.append(event(i)));
    const closed = log.close();
    await expect(log.append(event(99))).rejects.toMatchObject({ code: 'audit-unavailable' });
    await closed;
    await expect(Promise.all(queued)).resolves.toHaveLength(50);
    expect(readRecords(log.path)).toHaveLength(50);
    await expect(log.close()).resolves.toBeUndefined();
  });

  it('refuses a second open of the same file in one process', async () => {
    const log = await FileAuditLog.open({ dir });
    await expect(FileAuditLog.open({ dir })).rejects.toMatchObject({ code: 'audit-unavailable' });
    await log.close();
    const again = await FileAuditLog.open({ dir });
    await again.close();
  });

  it('rejects a file name that is a path', async () => {
    await expect(FileAuditLog.open({ dir, fileName: '../escape.log' })).rejects.toMatchObject({ code: 'config' });
  });

  it('rejects an event carrying a chain field without failing or advancing the chain', async () => {
    const log = await FileAuditLog.open({ dir });
    const bad = { type: 'session.event', sessionId: 's', name: 'x', hash: 'forged' } as unknown as AuditEvent;
    await expect(log.append(bad)).rejects.toMatchObject({ code: 'internal' });
    expect(log.failed).toBe(false);
    await expect(log.append(event(1))).resolves.toMatchObject({ seq: 1 });
    await log.close();
  });

  describe('torn tail', () => {
    async function expectRepairedFrom(path: string, validRecords: number, truncatedBytes: number): Promise<void> {
      const log = await FileAuditLog.open({ dir });
      const next = await log.append(event(100));
      await log.close();
      const records = readRecords(path);
      expect(records[validRecords]).toMatchObject({ type: 'audit.repair', seq: validRecords + 1, truncatedBytes });
      expect(next.seq).toBe(validRecords + 2);
      expectChained(records);
      await expect(verifyAuditLog(path)).resolves.toMatchObject({ ok: true, records: validRecords + 2 });
    }

    it('is reported by verify, then cut off and recorded by open', async () => {
      const path = await writeLog(5);
      const size = statSync(path).size;
      truncateSync(path, size - 20);
      const lastLine = readFileSync(path, 'utf8').split('\n').at(-1) ?? '';
      await expect(verifyAuditLog(path)).resolves.toEqual({ ok: false, records: 4, firstBad: { seq: 5, line: 5, reason: 'unparseable JSON' } });
      await expectRepairedFrom(path, 4, Buffer.byteLength(lastLine));
    });

    it('cuts off a complete record that lost its newline (it was never acknowledged)', async () => {
      const path = await writeLog(3);
      truncateSync(path, statSync(path).size - 1);
      const verification = await verifyAuditLog(path);
      expect(verification).toMatchObject({ ok: false, records: 2, firstBad: { seq: 3, line: 3 } });
      const lastLine = readFileSync(path, 'utf8').split('\n').at(-1) ?? '';
      await expectRepairedFrom(path, 2, Buffer.byteLength(lastLine));
    });

    it('cuts off zeros left by a crash that extended the file but lost the data', async () => {
      const path = await writeLog(3);
      appendFileSync(path, Buffer.alloc(4096));
      await expectRepairedFrom(path, 3, 4096);
    });

    it('cuts off an unparseable last line and a partial line after it', async () => {
      const path = await writeLog(3);
      appendFileSync(path, '\u0000\u0000ion.event","type":"x"}\n{"seq":5,"ty');
      await expectRepairedFrom(path, 3, Buffer.byteLength('\u0000\u0000ion.event","type":"x"}\n{"seq":5,"ty'));
    });

    it('finds the chain head across read chunks, with records longer than a chunk', async () => {
      const log = await FileAuditLog.open({ dir });
      for (let n = 1; n <= 4; n++) await log.append({ type: 'session.event', sessionId: 's', name: 'big', detail: { blob: 'y'.repeat(100_000 * n) } });
      await log.close();
      const torn = '{"detail":{"blob":"' + 'z'.repeat(200_000);
      appendFileSync(log.path, torn);
      await expectRepairedFrom(log.path, 4, torn.length);
    });

    it('repairs a file holding nothing but a torn first record', async () => {
      const path = join(dir, 'audit.log');
      writeFileSync(path, '{"connections":[],"prev":"00');
      await expectRepairedFrom(path, 0, 28);
    });
  });

  describe('damage that is not a torn tail', () => {
    async function expectRefused(path: string): Promise<void> {
      const opened = FileAuditLog.open({ dir });
      await expect(opened).rejects.toBeInstanceOf(WardenError);
      await expect(opened).rejects.toMatchObject({ code: 'audit-unavailable', message: expect.stringContaining('verify') });
      // Refusing leaves the file as it was and the path free for the operator's tools.
      expect(existsSync(path)).toBe(true);
    }

    it('refuses an altered last record', async () => {
      const path = await writeLog(4);
      writeFileSync(path, readFileSync(path, 'utf8').replace('"n":4', '"n":5'));
      const before = readFileSync(path);
      await expectRefused(path);
      expect(readFileSync(path)).toEqual(before);
    });

    it('refuses when the record before the last was removed', async () => {
      const path = await writeLog(4);
      const lines = readFileSync(path, 'utf8').split('\n');
      lines.splice(2, 1);
      writeFileSync(path, lines.join('\n'));
      await expectRefused(path);
    });

    it('refuses two unparseable lines at the end (not one torn write), and opens once they are gone', async () => {
      const path = await writeLog(3);
      const intact = readFileSync(path);
      appendFileSync(path, 'garbage\ngarbage\n');
      await expectRefused(path);
      writeFileSync(path, intact);
      const log = await FileAuditLog.open({ dir });
      await expect(log.append(event(4))).resolves.toMatchObject({ seq: 4 });
      await log.close();
    });

    it('refuses a log whose first line does not start a chain', async () => {
      const path = await writeLog(3);
      const lines = readFileSync(path, 'utf8').split('\n');
      writeFileSync(path, `${lines[2]}\n`);
      await expectRefused(path);
    });
  });

  describe('fail closed', () => {
    const onLinux = existsSync('/dev/full') ? it : it.skip;

    // Writes to /dev/full fail with ENOSPC: the disk-full case, reliably, even as root.
    onLinux('rejects every pending and later append when a write fails, and stays failed', async () => {
      const log = await FileAuditLog.open({ dir: '/dev', fileName: 'full' });
      expect(log.failed).toBe(false);
      const pending = Array.from({ length: 10 }, (_, i) => log.append(event(i)));
      const results = await Promise.allSettled(pending);
      for (const result of results) {
        expect(result.status).toBe('rejected');
        const reason = (result as PromiseRejectedResult).reason as WardenError;
        expect(reason).toBeInstanceOf(WardenError);
        expect(reason.code).toBe('audit-unavailable');
        expect(reason.message).toMatch(/^the audit log cannot be written: .*ENOSPC/);
      }
      expect(log.failed).toBe(true);
      await expect(log.append(event(11))).rejects.toMatchObject({ code: 'audit-unavailable' });
      expect(log.batches).toBe(0);
      await log.close();
    });
  });
});

describe('FileAuditLog durability', () => {
  it('disk (the default): a record is synced before its append resolves', async () => {
    const log = await FileAuditLog.open({ dir });
    const receipt = await log.append(event(1));
    expect(log.syncedSeq).toBe(receipt.seq);
    await log.close();
  });

  it('os: an append resolves once the record is written, and the record is synced within the interval', async () => {
    const log = await FileAuditLog.open({ dir, durability: 'os', syncIntervalMs: 50 });
    const receipts = await Promise.all(Array.from({ length: 100 }, (_, i) => log.append(event(i + 1))));
    // Written to the operating system: readable by anyone, and it survives a crash of this process.
    expect(readRecords(log.path)).toHaveLength(100);
    expect(log.syncedSeq).toBeLessThan(100);
    const deadline = Date.now() + 5_000;
    while (log.syncedSeq < 100 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(log.syncedSeq).toBe(100);
    await log.close();
    await expect(verifyAuditLog(log.path)).resolves.toEqual({ ok: true, records: 100, lastHash: receipts[99]?.hash });
  });

  it('os: close syncs what is still unsynced', async () => {
    const log = await FileAuditLog.open({ dir, durability: 'os', syncIntervalMs: 60_000 });
    await log.append(event(1));
    await log.append(event(2));
    expect(log.syncedSeq).toBe(0);
    await log.close();
    expect(log.syncedSeq).toBe(2);
  });
});
