import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireAuditLock } from './audit-lock';
import { FileAuditLog } from './file-audit-log';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'warden-lock-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const lockFile = () => join(dir, 'audit.lock');
const holdBy = (pid: number, host = hostname()) => writeFileSync(lockFile(), JSON.stringify({ pid, host, owner: 'warden gateway', since: '2026-01-01T00:00:00Z' }));

describe('the audit lock', () => {
  it('is held while a log is open and released at close', async () => {
    const log = await FileAuditLog.open({ dir, lockOwner: 'test' });
    expect(JSON.parse(readFileSync(lockFile(), 'utf8'))).toMatchObject({ pid: process.pid, owner: 'test' });
    await expect(acquireAuditLock(dir, 'second')).rejects.toThrow(/in use by test \(pid \d+/);
    await log.close();
    expect(existsSync(lockFile())).toBe(false);
  });

  it('refuses a log whose lock a running process holds, naming it', async () => {
    const sleeper = spawn('sleep', ['30']);
    try {
      holdBy(sleeper.pid!);
      await expect(FileAuditLog.open({ dir })).rejects.toThrow(new RegExp(`in use by warden gateway \\(pid ${sleeper.pid}`));
    } finally {
      sleeper.kill('SIGKILL');
    }
  });

  it('takes over the lock of a process that died (kill -9 leaves it behind)', async () => {
    const child = spawn('true');
    await new Promise((resolve) => child.on('exit', resolve));
    holdBy(child.pid!);
    const log = await FileAuditLog.open({ dir });
    expect(JSON.parse(readFileSync(lockFile(), 'utf8'))).toMatchObject({ pid: process.pid });
    await log.close();
  });

  it('never takes over a lock from another host', async () => {
    holdBy(1, 'some-other-host');
    await expect(acquireAuditLock(dir, 'x')).rejects.toThrow(/on some-other-host/);
  });
});
