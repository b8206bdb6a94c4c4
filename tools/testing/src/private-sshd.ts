/**
 * A throwaway OpenSSH server on 127.0.0.1, for tests of the SSH adapter: its own config, host key and
 * authorized_keys in a temp dir; no system sshd or system file is touched (except that, as root,
 * sshd needs its privilege-separation directory /run/sshd, created if missing). It accepts only the
 * generated client key, for the current OS user.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

export interface PrivateSshd {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** The temp dir holding the server's files; tests may use it as a scratch area on the target. */
  readonly dir: string;
  /** The OS user the client key logs in as. */
  readonly user: string;
  /** OpenSSH private key text of the authorized client key. */
  readonly clientPrivateKey: string;
  /** Path of that key, for the `ssh` binary (`-i`). */
  readonly clientKeyFile: string;
  /** The host key's fingerprint as `ssh-keygen -lf` prints it (`SHA256:…`). */
  readonly hostKeyFingerprint: string;
  /** Stops the server and removes its directory. Safe to call twice. */
  stop(): Promise<void>;
}

const SSHD = '/usr/sbin/sshd';
const START_TIMEOUT_MS = 10_000;

/**
 * @example
 * const sshd = await startPrivateSshd();
 * // target: { host: sshd.host, port: sshd.port, user: sshd.user, privateKey: sshd.clientPrivateKey, hostKey: sshd.hostKeyFingerprint }
 * await sshd.stop();
 */
export async function startPrivateSshd(): Promise<PrivateSshd> {
  const dir = await mkdtemp(join(tmpdir(), 'warden-sshd-'));
  const keygen = (file: string) => {
    const result = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'warden-test', '-f', file], { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`ssh-keygen failed: ${result.stderr}`);
  };
  keygen(join(dir, 'host_key'));
  keygen(join(dir, 'client_key'));
  await writeFile(join(dir, 'authorized_keys'), await readFile(join(dir, 'client_key.pub')), { mode: 0o600 });
  const listed = spawnSync('ssh-keygen', ['-lf', join(dir, 'host_key.pub')], { encoding: 'utf8' }).stdout;
  const hostKeyFingerprint = /SHA256:[A-Za-z0-9+/]+/.exec(listed)?.[0];
  if (!hostKeyFingerprint) throw new Error(`cannot read the host key fingerprint: ${listed}`);
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });

  let child: ChildProcess | undefined;
  let port = 0;
  let lastError = '';
  for (let attempt = 0; attempt < 3 && !child; attempt++) {
    port = await freePort();
    await writeFile(join(dir, 'sshd_config'), sshdConfig(dir, port));
    const started = spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    started.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    if (await listening(port, started)) child = started;
    else {
      started.kill('SIGKILL');
      lastError = stderr;
    }
  }
  if (!child) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`sshd did not start: ${lastError}`);
  }
  const running = child;
  const onExit = () => running.kill('SIGKILL');
  process.once('exit', onExit);
  let stopping: Promise<void> | undefined;
  return {
    host: '127.0.0.1',
    port,
    dir,
    user: userInfo().username,
    clientPrivateKey: await readFile(join(dir, 'client_key'), 'utf8'),
    clientKeyFile: join(dir, 'client_key'),
    hostKeyFingerprint,
    stop: () =>
      (stopping ??= (async () => {
        process.removeListener('exit', onExit);
        if (running.exitCode === null) {
          const exited = new Promise((resolve) => running.once('exit', resolve));
          running.kill('SIGTERM');
          await exited;
        }
        await rm(dir, { recursive: true, force: true });
      })()),
  };
}

function sshdConfig(dir: string, port: number): string {
  return [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${join(dir, 'host_key')}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin prohibit-password',
    'UsePAM no',
    // The temp dir's modes are not sshd's business here.
    'StrictModes no',
    'Subsystem sftp internal-sftp',
    // Accept everything the client sends: what reaches the target is Warden's allow-list.
    'AcceptEnv *',
    'AllowAgentForwarding yes',
    'AllowTcpForwarding yes',
    'PrintMotd no',
    'PrintLastLog no',
    'LogLevel ERROR',
    '',
  ].join('\n');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Polls until the port accepts connections; false if the process exits or time runs out. */
async function listening(port: number, child: ChildProcess): Promise<boolean> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) return false;
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}
