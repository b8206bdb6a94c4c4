/**
 * SSH through Warden to a real sshd: sftp file operations decided one by one (ssh2's sftp client and
 * the real `sftp` binary with a `warden ssh login` certificate), and an exec held by a `review` rule
 * in `wait` mode that runs once an approver approves it through the admin API.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Client, type SFTPWrapper } from 'ssh2';
import { runCli } from '../cli';
import { run } from './harness';
import { sshdTarget, sshGatewayFixture } from './ssh-gateway-fixture';

let protectedDir: string;
let openDir: string;

const fixture = sshGatewayFixture(async (sshd) => {
  protectedDir = path.join(sshd.dir, 'protected');
  openDir = path.join(sshd.dir, 'open');
  await mkdir(protectedDir);
  await mkdir(openDir);
  await mkdir(path.join(protectedDir, 'empty'));
  await writeFile(path.join(protectedDir, 'readme.txt'), 'protected but readable\n');
  return `
admin: { listen: 127.0.0.1:0 }
connections:
  - name: box
    protocol: ssh
    listen: 127.0.0.1:0
    target: { ${sshdTarget(sshd)} }
grants:
  - { connection: box, groups: [ops], access: full }
  - { connection: box, groups: [readers], access: read-only }
rules:
  - name: protected-files-read-only
    match: { connection: box, action: write, objects: ["sftp:${protectedDir}/**"] }
    effect: block
    reason: files under protected/ are read-only
  - name: review-releases
    match: { connection: box, action: exec, text: 'release-marker' }
    effect: review
    approvers: [leads]
    reason: releases need a lead
    approval: { mode: wait, waitSeconds: 60 }`;
});

function connect(token: string): Promise<Client> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    client.once('ready', () => resolve(client));
    client.once('error', reject);
    client.connect({ host: '127.0.0.1', port: fixture.port, username: 'alice', password: token, readyTimeout: 10_000 });
  });
}

async function sftpOf(client: Client): Promise<SFTPWrapper> {
  return new Promise((resolve, reject) => client.sftp((error, sftp) => (error ? reject(error) : resolve(sftp))));
}

/** Runs an sftp call; resolves with the error (code and message) or undefined. */
function outcome(call: (done: (error?: Error | null) => void) => void): Promise<{ code?: number; message: string } | undefined> {
  return new Promise((resolve) => call((error) => resolve(error ? { code: (error as Error & { code?: number }).code, message: error.message } : undefined)));
}

const DENIED = { code: 3, message: 'Warden: files under protected/ are read-only (rule "protected-files-read-only")' };

describe('sftp operations as commands', () => {
  it('refuses writes, removes, renames, mkdir, rmdir, setstat and symlinks under a protected path before they reach the target, and allows the rest', async () => {
    const client = await connect(await fixture.dev.issue({ subject: 'alice', groups: ['ops'] }));
    const sftp = await sftpOf(client);
    const inside = (name: string) => path.join(protectedDir, name);

    expect(await outcome((done) => sftp.writeFile(inside('new.txt'), 'x', done))).toEqual(DENIED);
    expect(existsSync(inside('new.txt'))).toBe(false);
    expect(await outcome((done) => sftp.unlink(inside('readme.txt'), done))).toEqual(DENIED);
    expect(await outcome((done) => sftp.rename(inside('readme.txt'), path.join(openDir, 'stolen.txt'), done))).toEqual(DENIED);
    expect(await outcome((done) => sftp.mkdir(inside('sub'), done))).toEqual(DENIED);
    expect(await outcome((done) => sftp.rmdir(inside('empty'), done))).toEqual(DENIED);
    expect(existsSync(inside('empty'))).toBe(true);
    expect(await outcome((done) => sftp.chmod(inside('readme.txt'), 0o777, done))).toEqual(DENIED);
    expect(await outcome((done) => sftp.symlink(inside('readme.txt'), inside('link'), done))).toEqual(DENIED);
    // A path that climbs back into the protected directory is normalized first.
    expect(await outcome((done) => sftp.writeFile(path.join(openDir, '..', 'protected', 'sneaky.txt'), 'x', done))).toEqual(DENIED);
    expect(existsSync(inside('sneaky.txt'))).toBe(false);

    // Reads of protected files and writes elsewhere pass.
    const read = await new Promise<string>((resolve, reject) => sftp.readFile(inside('readme.txt'), (error, data) => (error ? reject(error) : resolve(data.toString()))));
    expect(read).toBe('protected but readable\n');
    expect(await outcome((done) => sftp.writeFile(path.join(openDir, 'ok.txt'), 'fine', done))).toBeUndefined();
    expect(await outcome((done) => sftp.rename(path.join(openDir, 'ok.txt'), path.join(openDir, 'ok2.txt'), done))).toBeUndefined();
    expect(await readFile(path.join(openDir, 'ok2.txt'), 'utf8')).toBe('fine');
    client.end();

    const commands = (await fixture.auditRecords()).filter((record) => record.type === 'command' && (record['detail'] as Record<string, unknown> | undefined)?.['request'] === 'sftp');
    expect(commands).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ text: `open ${inside('new.txt')} (write)`, decision: expect.objectContaining({ effect: 'block', rule: 'protected-files-read-only' }) }),
        expect.objectContaining({ text: `remove ${inside('readme.txt')}`, decision: expect.objectContaining({ effect: 'block' }) }),
        expect.objectContaining({ text: `open ${inside('readme.txt')} (read)`, decision: { effect: 'allow' }, classification: expect.objectContaining({ action: 'read', objects: [`sftp:${inside('readme.txt')}`] }) }),
        expect.objectContaining({ text: `rename ${path.join(openDir, 'ok.txt')} ${path.join(openDir, 'ok2.txt')}`, decision: { effect: 'allow' } }),
      ]),
    );
  });

  it('lets a read-only grant read files but not write them', async () => {
    const client = await connect(await fixture.dev.issue({ subject: 'rita', groups: ['readers'] }));
    const sftp = await sftpOf(client);
    const read = await new Promise<string>((resolve, reject) => sftp.readFile(path.join(protectedDir, 'readme.txt'), (error, data) => (error ? reject(error) : resolve(data.toString()))));
    expect(read).toBe('protected but readable\n');
    const refused = await outcome((done) => sftp.writeFile(path.join(openDir, 'rita.txt'), 'x', done));
    client.end();
    expect(refused).toEqual({ code: 3, message: expect.stringMatching(/^Warden: read-only access does not allow write/) });
    expect(existsSync(path.join(openDir, 'rita.txt'))).toBe(false);
  });

  it('refuses a put into the protected path with the real sftp client (logged in with a certificate), while get works', async () => {
    const keyFile = path.join(fixture.dataDir, 'keys', 'warden-box');
    const io = { out: () => undefined, err: () => undefined, stopSignal: () => new Promise<string>(() => undefined) };
    const token = await fixture.dev.issue({ subject: 'alice', groups: ['ops'] });
    expect(await runCli(['ssh', 'login', 'box', '--url', fixture.gateway.admin!.url, '--token', token, '--out', keyFile], io)).toBe(0);
    const local = path.join(fixture.dataDir, 'local.txt');
    await writeFile(local, 'from the sftp binary\n');
    const sftp = (commands: string) =>
      run('sftp', ['-F', '/dev/null', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-i', keyFile, '-P', String(fixture.port), '-b', '-', 'alice@127.0.0.1'], { input: commands });
    const put = await sftp(`put ${local} ${path.join(protectedDir, 'put.txt')}\n`);
    expect(put.code).not.toBe(0);
    expect(put.stderr).toMatch(/Permission denied/);
    expect(existsSync(path.join(protectedDir, 'put.txt'))).toBe(false);
    const fetched = path.join(fixture.dataDir, 'fetched.txt');
    const get = await sftp(`get ${path.join(protectedDir, 'readme.txt')} ${fetched}\nput ${local} ${path.join(openDir, 'put.txt')}\n`);
    expect(get.code).toBe(0);
    expect(await readFile(fetched, 'utf8')).toBe('protected but readable\n');
    expect(await readFile(path.join(openDir, 'put.txt'), 'utf8')).toBe('from the sftp binary\n');
  });
});

describe('exec held for approval (review rule in wait mode)', () => {
  it('holds the exec until an approver approves it through the admin API, then runs it', async () => {
    const marker = path.join(fixture.sshd.dir, 'release-marker');
    const client = await connect(await fixture.dev.issue({ subject: 'alice', groups: ['ops'] }));
    const finished = new Promise<{ stdout: string; code: number | null }>((resolve, reject) => {
      client.exec(`touch ${marker} && echo released`, (error, stream) => {
        if (error) return reject(error);
        let stdout = '';
        let code: number | null = null;
        stream.on('data', (data: Buffer) => (stdout += data.toString()));
        stream.stderr.resume();
        stream.on('exit', (exitCode: number | null) => (code = exitCode));
        stream.on('close', () => resolve({ stdout, code }));
      });
    });
    let settled = false;
    void finished.then(() => (settled = true));

    const approver = await fixture.dev.issue({ subject: 'lena', groups: ['leads'] });
    const api = async (method: 'GET' | 'POST', url: string, body?: unknown) => {
      const response = await fetch(`${fixture.gateway.admin!.url}${url}`, {
        method,
        headers: { authorization: `Bearer ${approver}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: response.status, json: (await response.json()) as Record<string, unknown> };
    };
    let pending: Array<{ id: string; text: string }> = [];
    for (let i = 0; i < 100 && pending.length === 0; i++) {
      pending = ((await api('GET', '/v1/approvals?status=pending')).json['requests'] as Array<{ id: string; text: string }>).filter((request) => request.text.includes('release-marker'));
      if (pending.length === 0) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(pending).toHaveLength(1);
    // Held: nothing ran yet, the client is still waiting.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(settled).toBe(false);
    expect(existsSync(marker)).toBe(false);

    expect((await api('POST', `/v1/approvals/${pending[0]!.id}/approve`, { reason: 'ship it' })).status).toBe(200);
    const result = await finished;
    client.end();
    expect(result).toEqual({ stdout: 'released\n', code: 0 });
    expect(existsSync(marker)).toBe(true);
    const command = (await fixture.auditRecords()).find((record) => record.type === 'command' && String(record['text']).includes('release-marker'));
    expect(command).toMatchObject({ decision: { effect: 'allow' } });
  });
});
