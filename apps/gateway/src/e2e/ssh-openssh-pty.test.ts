/**
 * An interactive shell with the real OpenSSH client in a real terminal: `ssh -tt` runs inside a tmux
 * pane (tmux is the terminal; keys are typed with send-keys, the screen read with capture-pane), to a
 * real sshd through Warden. Typed lines are audited as commands, a blocked line never runs, a window
 * resize reaches the target's pty, and the recording plays back with the real asciinema player.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateUserKeyPair } from '@warden/adapter-ssh';
import { parseAsciicast, silentLogger } from '@warden/core';
import { startPrivateSshd, type PrivateSshd } from '@warden/testing';
import { parseConfig } from '../config/load-config';
import { startGateway, type RunningGateway } from '../gateway';
import { readAuditRecords, run } from './harness';

let sshd: PrivateSshd;
let dataDir: string;
let gateway: RunningGateway;
let port: number;
const tmuxSocket = `warden-pty-${process.pid}`;
const key = generateUserKeyPair('pty-bot');

beforeAll(async () => {
  sshd = await startPrivateSshd();
  dataDir = await mkdtemp(path.join(tmpdir(), 'warden-ssh-pty-e2e-'));
  const yaml = `
dataDir: ${JSON.stringify(dataDir)}
identity: { devIssuer: true }
connections:
  - name: box
    protocol: ssh
    listen: 127.0.0.1:0
    target: { host: 127.0.0.1, port: ${sshd.port}, user: ${sshd.user}, privateKey: ${JSON.stringify(sshd.clientPrivateKey)}, hostKey: "${sshd.hostKeyFingerprint}",
      publicKeys: [ { publicKey: "${key.publicKey}", identity: { subject: pty-bot, groups: [ops], kind: agent } } ] }
grants:
  - { connection: box, groups: [ops], access: full }
rules:
  - name: no-recursive-delete
    match: { connection: box, objects: ["rm"] }
    effect: block
    reason: deleting files from a shell is not allowed here
`;
  gateway = await startGateway(parseConfig(yaml, 'ssh-pty-test.yaml'), { log: silentLogger });
  port = gateway.addresses.get('box')!.port;
});

afterAll(async () => {
  tmux('kill-server');
  await gateway?.stop();
  await sshd?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

function tmux(...args: string[]): string {
  const result = spawnSync('tmux', ['-L', tmuxSocket, ...args], { encoding: 'utf8' });
  return result.stdout ?? '';
}

/** Polls the pane until its text matches (the terminal shows what the client printed). */
async function screenShows(pattern: RegExp): Promise<string> {
  let screen = '';
  for (let attempt = 0; attempt < 200; attempt++) {
    screen = tmux('capture-pane', '-p', '-J', '-t', 'w', '-S', '-100');
    if (pattern.test(screen)) return screen;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the terminal never showed ${pattern}; it shows:\n${screen}`);
}

interface AuditRecord {
  readonly type: string;
  readonly [field: string]: unknown;
}

const auditRecords = (): Promise<AuditRecord[]> => readAuditRecords(dataDir);

async function eventually(predicate: (record: AuditRecord) => boolean): Promise<AuditRecord> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const found = (await auditRecords()).find(predicate);
    if (found) return found;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('no such audit record');
}

describe('OpenSSH interactive shell through Warden, in a tmux terminal', () => {
  it('runs typed lines, refuses a blocked one, passes a resize, audits each line, and records a session asciinema plays back', async () => {
    const keyFile = path.join(dataDir, 'pty-bot-key');
    await writeFile(keyFile, key.privateKey, { mode: 0o600 });
    const marker = path.join(sshd.dir, 'must-survive');
    await writeFile(marker, 'kept\n');
    const ssh = [
      'ssh', '-tt', '-F', '/dev/null', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
      '-o', 'IdentitiesOnly=yes', '-o', 'PreferredAuthentications=publickey', '-o', 'LogLevel=ERROR',
      '-i', keyFile, '-p', String(port), 'pty-bot@127.0.0.1',
    ].join(' ');
    tmux('new-session', '-d', '-s', 'w', '-x', '100', '-y', '30', `${ssh}; echo "ssh exited $?"; sleep 30`);

    tmux('send-keys', '-t', 'w', 'PS1="pty> "; echo answer-$((6*7))', 'Enter');
    await screenShows(/^answer-42$/m);
    tmux('resize-window', '-t', 'w', '-x', '120', '-y', '40');
    tmux('send-keys', '-t', 'w', 'stty size', 'Enter');
    await screenShows(/^40 120$/m);
    tmux('send-keys', '-t', 'w', `rm -f ${marker}`, 'Enter');
    await screenShows(/Warden: deleting files from a shell is not allowed here/);
    tmux('send-keys', '-t', 'w', 'exit 3', 'Enter');
    await screenShows(/^ssh exited 3$/m);
    expect(await readFile(marker, 'utf8')).toBe('kept\n');

    const end = await eventually((record) => record.type === 'session.end');
    const records = (await auditRecords()).filter((record) => record['sessionId'] === end['sessionId']);
    const lines = records.filter((record) => record.type === 'command' && (record['detail'] as Record<string, unknown> | undefined)?.['request'] === 'shell-line');
    expect(lines.map((record) => record['text'])).toEqual(expect.arrayContaining(['PS1="pty> "; echo answer-$((6*7))', 'stty size', `rm -f ${marker}`, 'exit 3']));
    expect(lines.find((record) => record['text'] === `rm -f ${marker}`)).toMatchObject({ decision: { effect: 'block', rule: 'no-recursive-delete' } });

    const recording = records.find((record) => record.type === 'session.event' && record['name'] === 'recording');
    const file = path.join(dataDir, 'recordings', String((recording!['detail'] as Record<string, unknown>)['file']));
    expect(existsSync(file)).toBe(true);
    const cast = parseAsciicast(await readFile(file, 'utf8'));
    expect(cast.header).toMatchObject({ version: 2, width: 100, height: 30 });
    expect(cast.events.some(([, type, data]) => type === 'r' && data === '120x40')).toBe(true);
    // asciinema replays what the terminal showed.
    const played = await run('asciinema', ['play', '--speed', '50', '--idle-time-limit', '0.05', file]);
    expect(played.code).toBe(0);
    expect(played.stdout).toContain('answer-42');
    expect(played.stdout).toMatch(/40 120/);
    expect(played.stdout).toContain('Warden: deleting files from a shell is not allowed here');
  });
});
