/**
 * The `limits:` section on the SSH adapter, with ssh2's client, the real `ssh` binary and a raw
 * socket against a real gateway in front of a private OpenSSH server: the login timeout, the idle
 * timeout (no channel data while no command runs) and the connections one listener holds.
 */
import net from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DevIssuer, silentLogger, type AuditRecord } from '@warden/core';
import { collectChannelOutput, type SshChannelOutput, startPrivateSshd, type PrivateSshd } from '@warden/testing';
import { Client } from 'ssh2';
import { parseConfig } from '../config/load-config';
import { startGateway, type RunningGateway } from '../gateway';
import { readAuditRecords, run, type ProcessResult } from './harness';

let sshd: PrivateSshd;
const dirs: string[] = [];
const gateways: RunningGateway[] = [];

beforeAll(async () => {
  sshd = await startPrivateSshd();
});

afterAll(async () => {
  for (const gateway of gateways) await gateway.stop();
  await sshd?.stop();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

/** A gateway with one ssh connection `box` and the given `limits:`; its port, data directory and a token. */
async function sshGateway(limits: string): Promise<{ port: number; dataDir: string; token: string }> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'warden-ssh-limits-'));
  dirs.push(dataDir);
  const yaml = `
dataDir: ${JSON.stringify(dataDir)}
identity: { devIssuer: true }
limits: ${limits}
connections:
  - { name: box, protocol: ssh, listen: 127.0.0.1:0, target: { host: 127.0.0.1, port: ${sshd.port}, user: ${sshd.user}, privateKey: ${JSON.stringify(sshd.clientPrivateKey)}, hostKey: "${sshd.hostKeyFingerprint}", connectTimeoutMs: 5000 } }
grants:
  - { connection: box, groups: [ops], access: full }
`;
  const gateway = await startGateway(parseConfig(yaml, 'ssh-limits.yaml'), { log: silentLogger });
  gateways.push(gateway);
  const token = await (await DevIssuer.loadOrCreate(dataDir)).issue({ subject: 'alice', groups: ['ops'] });
  return { port: gateway.addresses.get('box')!.port, dataDir, token };
}

function connect(port: number, password: string): Promise<Client> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    client.once('ready', () => resolve(client));
    client.once('error', reject);
    client.connect({ host: '127.0.0.1', port, username: 'alice', password, readyTimeout: 10_000 });
  });
}

/** Runs a command, or (without one) opens a shell and sends nothing; resolves when the channel closes. */
function channel(client: Client, command?: string): Promise<SshChannelOutput> {
  return new Promise((resolve, reject) => {
    const opened = (error: Error | undefined, stream: import('ssh2').ClientChannel) => {
      if (error) return reject(error);
      resolve(collectChannelOutput(stream));
    };
    if (command === undefined) client.shell(false, opened);
    else client.exec(command, opened);
  });
}

const auditRecords = (dataDir: string): Promise<AuditRecord[]> => readAuditRecords(dataDir);

/** Polls the audit log for records written just after the client saw the outcome. */
async function eventually(dataDir: string, predicate: (record: AuditRecord) => boolean): Promise<AuditRecord | undefined> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const found = (await auditRecords(dataDir)).find(predicate);
    if (found) return found;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return undefined;
}

/** The OpenSSH client, token through SSH_ASKPASS. */
async function openssh(port: number, token: string, dir: string, command: string): Promise<ProcessResult> {
  const askpass = path.join(dir, `askpass-${Math.random().toString(36).slice(2)}.sh`);
  await writeFile(askpass, `#!/bin/sh\nprintf '%s\\n' '${token}'\n`, { mode: 0o700 });
  return run(
    'ssh',
    ['-F', '/dev/null', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'PreferredAuthentications=keyboard-interactive,password', '-o', 'PubkeyAuthentication=no', '-o', 'NumberOfPasswordPrompts=1', '-p', String(port), 'alice@127.0.0.1', command],
    { env: { SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', DISPLAY: ':0' } },
  );
}

describe('SSH login and idle timeouts', () => {
  let box: { port: number; dataDir: string; token: string };
  beforeAll(async () => {
    box = await sshGateway('{ loginTimeoutSeconds: 1, idleTimeoutSeconds: 1 }');
  });

  it('cuts off a client that never logs in at the login timeout, and still serves others', async () => {
    // A client that connects and sends nothing, not even its identification line.
    const silent = net.connect(box.port, '127.0.0.1');
    silent.on('error', () => undefined);
    silent.resume();
    await new Promise<void>((resolve) => silent.once('close', () => resolve()));

    const client = await connect(box.port, box.token);
    expect(await channel(client, 'echo still-serving')).toMatchObject({ stdout: 'still-serving\n', code: 0 });
    client.end();
  }, 20_000);

  it('closes an idle shell, telling the client why on stderr, and records why the session ended', async () => {
    const client = await connect(box.port, box.token);
    client.on('error', () => undefined);
    const shell = await channel(client);
    expect(shell.stderr).toBe('Warden: the session was idle for 1 s (the limit); reconnect to continue\n');
    expect(shell.code).toBe(143);
    client.end();
    const end = await eventually(box.dataDir, (record) => record.type === 'session.end' && record.reason === 'error');
    expect(end).toMatchObject({ error: 'idle for 1 s' });
  }, 20_000);

  it('does not cut a command that runs longer than the idle timeout without output', async () => {
    const client = await connect(box.port, box.token);
    try {
      expect(await channel(client, 'sleep 2; echo finished')).toEqual({ stdout: 'finished\n', stderr: '', code: 0 });
    } finally {
      client.end();
    }
  }, 20_000);
});

describe('SSH connections per listener', () => {
  it('refuses a connection over maxConnectionsPerListener with a disconnect that says why', async () => {
    const box = await sshGateway('{ maxConnectionsPerListener: 2 }');
    const first = await connect(box.port, box.token);
    const second = await connect(box.port, box.token);
    const refused = await openssh(box.port, box.token, box.dataDir, 'echo never');
    expect(refused.code).toBe(255);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(/Received disconnect from 127\.0\.0\.1 port \d+:12: Warden: too many connections on this listener \(the limit is 2\); try again later/);
    // One leaves: the next client is served.
    first.end();
    await new Promise<void>((resolve) => first.once('close', () => resolve()));
    // The gateway sees the close a moment after the client.
    let served: ProcessResult | undefined;
    for (let attempt = 0; attempt < 20 && served?.code !== 0; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 100));
      served = await openssh(box.port, box.token, box.dataDir, 'echo served');
    }
    expect(served).toMatchObject({ code: 0, stdout: 'served\n' });
    second.end();
  }, 30_000);
});
