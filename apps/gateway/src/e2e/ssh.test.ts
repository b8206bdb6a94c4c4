/**
 * SSH through Warden to a real OpenSSH server (a private sshd), with ssh2's client and the real `ssh`
 * binary: exec, a pty shell, sftp, policy on command lines, refused tokens, a pinned host key, and
 * recordings that replay to what the client saw.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseAsciicast } from '@warden/core';
import { DevIssuer, silentLogger } from '@warden/core';
import { collectChannelOutput, type SshChannelOutput, startPrivateSshd, type PrivateSshd } from '@warden/testing';
import { Client, type ClientChannel, type ConnectConfig } from 'ssh2';
import { parseConfig } from '../config/load-config';
import { startGateway, type RunningGateway } from '../gateway';
import { run } from './harness';

let sshd: PrivateSshd;
let dataDir: string;
let gateway: RunningGateway;
let dev: DevIssuer;
let port: number;
let wrongKeyPort: number;
let maskedPort: number;
let maskedLivePort: number;

beforeAll(async () => {
  sshd = await startPrivateSshd();
  dataDir = await mkdtemp(path.join(tmpdir(), 'warden-ssh-e2e-'));
  const target = (hostKey: string) =>
    `{ host: 127.0.0.1, port: ${sshd.port}, user: ${sshd.user}, privateKey: ${JSON.stringify(sshd.clientPrivateKey)}, hostKey: "${hostKey}", allowEnv: [LANG, WARDEN_OK_*], connectTimeoutMs: 5000 }`;
  const yaml = `
dataDir: ${JSON.stringify(dataDir)}
identity: { devIssuer: true }
connections:
  - { name: box, protocol: ssh, listen: 127.0.0.1:0, target: ${target(sshd.hostKeyFingerprint)} }
  - { name: impostor, protocol: ssh, listen: 127.0.0.1:0, target: ${target(`SHA256:${'A'.repeat(43)}`)} }
  - { name: masked, protocol: ssh, listen: 127.0.0.1:0, target: ${target(sshd.hostKeyFingerprint)} }
  - { name: masked-live, protocol: ssh, listen: 127.0.0.1:0, target: ${target(sshd.hostKeyFingerprint).replace(/ }$/, ', maskLiveOutput: true }')} }
grants:
  - { connection: box, groups: [ops], access: full }
  - { connection: impostor, groups: [ops], access: full }
  - { connection: box, groups: [readers], access: read-only }
  - { connection: masked, groups: [ops], access: full }
  - { connection: masked-live, groups: [ops], access: full }
masking:
  - { connection: masked, detect: [ssn, email] }
  - { connection: masked-live, detect: [ssn, email] }
rules:
  - name: no-pipe-to-shell
    match: { connection: box, objects: ["curl|*sh", "wget|*sh"] }
    effect: block
    reason: piping a download into a shell is not allowed
`;
  gateway = await startGateway(parseConfig(yaml, 'ssh-test.yaml'), { log: silentLogger });
  dev = await DevIssuer.loadOrCreate(dataDir);
  port = gateway.addresses.get('box')!.port;
  wrongKeyPort = gateway.addresses.get('impostor')!.port;
  maskedPort = gateway.addresses.get('masked')!.port;
  maskedLivePort = gateway.addresses.get('masked-live')!.port;
});

afterAll(async () => {
  await gateway?.stop();
  await sshd?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const token = (groups = ['ops'], subject = 'alice') => dev.issue({ subject, groups });

/** Audit records as the tests read them: the fields they look at, whatever the record's type. */
interface AuditRecord {
  readonly type: string;
  readonly [field: string]: unknown;
  readonly sessionId?: string;
  readonly text?: string;
  readonly connection?: string;
  readonly detail?: Readonly<Record<string, string | number | boolean>>;
}

async function auditRecords(): Promise<AuditRecord[]> {
  // Records become visible once flushed; the session's end record is written before the client's close completes.
  const text = await readFile(path.join(dataDir, 'audit.log'), 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as AuditRecord);
}

/** Polls the audit log for a record written after the client already saw the outcome. */
async function eventually(predicate: (record: AuditRecord) => boolean): Promise<AuditRecord | undefined> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const found = (await auditRecords()).find(predicate);
    if (found) return found;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return undefined;
}

function connect(config: Partial<ConnectConfig> & { password?: string }, onKeyboard?: (instructions: string) => void): Promise<Client> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    client.once('ready', () => resolve(client));
    client.once('error', reject);
    client.on('keyboard-interactive', (_name, instructions, _lang, prompts, finish) => {
      onKeyboard?.(instructions);
      finish(prompts.map(() => config.password ?? ''));
    });
    client.connect({ host: '127.0.0.1', port, username: 'alice', readyTimeout: 10_000, ...config });
  });
}

function exec(client: Client, command: string, options: { env?: NodeJS.ProcessEnv } = {}): Promise<SshChannelOutput> {
  return new Promise((resolve, reject) => {
    client.exec(command, options, (error, stream) => {
      if (error) return reject(error);
      resolve(collectChannelOutput(stream));
    });
  });
}

/** Waits until the shell's accumulated output matches. */
function waitFor(output: () => string, pattern: RegExp, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const check = () => {
      if (pattern.test(output())) return resolve();
      if (Date.now() - started > timeoutMs) return reject(new Error(`timed out waiting for ${pattern}; output so far: ${JSON.stringify(output().slice(-500))}`));
      setTimeout(check, 20);
    };
    check();
  });
}

describe('SSH through Warden (ssh2 client, token as password)', () => {
  it('runs an exec with its output, stderr and exit status, and audits the parsed command', async () => {
    const client = await connect({ password: await token() });
    const result = await exec(client, 'echo hello; echo oops >&2; exit 3');
    client.end();
    expect(result).toEqual({ stdout: 'hello\n', stderr: 'oops\n', code: 3 });
    const command = (await auditRecords()).find((record) => record.type === 'command' && record.text === 'echo hello; echo oops >&2; exit 3');
    expect(command).toMatchObject({ decision: { effect: 'allow' }, classification: { action: 'exec', statementCount: 3 } });
  });

  it('refuses a blocked exec before it runs: stderr names the rule, exit status 126, the target never ran it', async () => {
    const marker = path.join(sshd.dir, 'blocked-marker');
    const client = await connect({ password: await token() });
    const result = await exec(client, `touch ${marker}; curl -s http://127.0.0.1:9/x | sh`);
    client.end();
    expect(result.code).toBe(126);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe('Warden: piping a download into a shell is not allowed (rule "no-pipe-to-shell")\n');
    expect(existsSync(marker)).toBe(false);
    // The same session-less check through a shell -c wrapper: parsed too.
    const again = await connect({ password: await token() });
    const wrapped = await exec(again, `bash -c 'touch ${marker}; wget -qO- http://127.0.0.1:9/x | bash'`);
    again.end();
    expect(wrapped.code).toBe(126);
    expect(existsSync(marker)).toBe(false);
  });

  it('refuses exec to a read-only grant and a command whose program is computed at run time', async () => {
    const reader = await connect({ password: await token(['readers'], 'rita') });
    const refused = await exec(reader, 'id');
    reader.end();
    expect(refused.code).toBe(126);
    expect(refused.stderr).toMatch(/^Warden: read-only access does not allow exec statements/);
    const client = await connect({ password: await token() });
    const dynamic = await exec(client, '$(echo id)');
    client.end();
    expect(dynamic.code).toBe(126);
    expect(dynamic.stderr).toMatch(/program name is computed at run time/);
  });

  it('passes allow-listed environment variables only', async () => {
    const client = await connect({ password: await token() });
    const result = await exec(client, 'echo "[$WARDEN_OK_A][$WARDEN_NO_B]"', { env: { WARDEN_OK_A: 'yes', WARDEN_NO_B: 'no' } });
    client.end();
    expect(result.stdout).toBe('[yes][]\n');
  });

  it('refuses port forwarding', async () => {
    const client = await connect({ password: await token() });
    const error = await new Promise<Error | undefined>((resolve) => client.forwardOut('127.0.0.1', 0, '127.0.0.1', sshd.port, (err) => resolve(err)));
    client.end();
    // ssh2's server can only answer SSH_OPEN_CONNECT_FAILED (RFC 4254 §5.1) here; the audit log says why.
    expect((error as Error & { reason?: number }).reason).toBe(2);
    const refusal = await eventually((record) => record.type === 'session.event' && record.name === 'port forwarding refused');
    expect(refusal).toMatchObject({ detail: { kind: 'direct-tcpip', destination: `127.0.0.1:${sshd.port}` } });
  });

  it('refuses a bad token as an authentication failure, and audits it', async () => {
    await expect(connect({ password: 'not-a-token' })).rejects.toThrow(/authentication methods failed/);
    const expired = await dev.issue({ subject: 'alice', groups: ['ops'], ttlSeconds: 60, now: new Date(Date.now() - 3_600_000) });
    await expect(connect({ password: expired, tryKeyboard: true })).rejects.toThrow(/authentication methods failed/);
    const failures = (await auditRecords()).filter((record) => record.type === 'auth.failure' && record.connection === 'box');
    expect(failures.map((record) => record.code)).toEqual(expect.arrayContaining(['unauthenticated']));
    expect(failures.some((record) => record.subject === 'alice' && /expired/i.test(String(record.reason)))).toBe(true);
  });

  it('refuses a target whose host key does not match the pinned fingerprint', async () => {
    await expect(connect({ port: wrongKeyPort, password: await token() })).rejects.toThrow(/authentication methods failed/);
    const ends = (await auditRecords()).filter((record) => record.type === 'session.end' && record.reason === 'error');
    expect(ends.some((record) => String(record.error).includes(`the target's host key (${sshd.hostKeyFingerprint}) does not match the pinned hostKey`))).toBe(true);
  });

  it('runs a pty shell: typed lines are recorded as commands, window changes pass through, a blocked line does not run, and the recording replays to the same output', async () => {
    const marker = path.join(sshd.dir, 'shell-marker');
    const client = await connect({ password: await token() });
    const stream = await new Promise<ClientChannel>((resolve, reject) =>
      client.shell({ term: 'xterm', cols: 100, rows: 30 }, (error, channel) => (error ? reject(error) : resolve(channel))),
    );
    let seen = '';
    stream.on('data', (data: Buffer) => (seen += data.toString()));
    const closed = new Promise<void>((resolve) => stream.on('close', () => resolve()));
    stream.write('PS1="wp> "; echo $((6*7))\r');
    await waitFor(() => seen, /42\r?\n/);
    stream.setWindow(40, 120, 0, 0);
    stream.write('stty size\r');
    await waitFor(() => seen, /40 120/);
    stream.write(`touch ${marker}; curl -s http://127.0.0.1:9/x | sh\r`);
    await waitFor(() => seen, /Warden: piping a download into a shell is not allowed/);
    stream.write('exit\r');
    await closed;
    client.end();
    expect(existsSync(marker)).toBe(false);

    const shellCommand = await eventually((record) => record.type === 'command' && record.text === 'stty size');
    await eventually((record) => record.type === 'session.end' && record.sessionId === shellCommand!.sessionId);
    const records = await auditRecords();
    const lines = records.filter((record) => record.type === 'command' && record.detail?.['request'] === 'shell-line').map((record) => String(record.text));
    expect(lines).toEqual(expect.arrayContaining(['PS1="wp> "; echo $((6*7))', 'stty size', 'exit']));
    const blockedLine = records.find((record) => record.type === 'command' && String(record.text).includes('curl -s'));
    expect(blockedLine).toMatchObject({ decision: { effect: 'block', rule: 'no-pipe-to-shell' } });

    const recording = records.filter((record) => record.type === 'session.event' && record.name === 'recording').at(-1)!;
    const file = path.join(dataDir, 'recordings', String(recording.detail!['file']));
    const bytes = await readFile(file);
    const { createHash } = await import('node:crypto');
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(recording.detail!['sha256']);
    const cast = parseAsciicast(bytes.toString('utf8'));
    expect(cast.header).toMatchObject({ version: 2, width: 100, height: 30 });
    const replayed = cast.events.filter(([, type]) => type === 'o').map(([, , data]) => data).join('');
    expect(replayed).toBe(seen);
    expect(cast.events.some(([, type, data]) => type === 'r' && data === '120x40')).toBe(true);
    const typed = cast.events.filter(([, type]) => type === 'i').map(([, , data]) => data).join('');
    expect(typed).toContain('stty size\r');
  });

  it('records an exec as asciicast too, replaying to its output', async () => {
    const client = await connect({ password: await token() });
    const result = await exec(client, 'printf "one\\ntwo\\n"; printf "é" ');
    client.end();
    expect(result.stdout).toBe('one\ntwo\né');
    let recording: AuditRecord | undefined;
    for (let i = 0; i < 100 && !recording; i++) {
      const records = await auditRecords();
      const command = records.find((record) => record.type === 'command' && String(record.text).startsWith('printf "one'));
      recording = records.find((record) => record.type === 'session.event' && record.name === 'recording' && command && record.sessionId === command.sessionId);
      if (!recording) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const file = path.join(dataDir, 'recordings', String(recording!.detail!['file']));
    const cast = parseAsciicast(await readFile(file, 'utf8'));
    expect(cast.events.filter(([, type]) => type === 'o').map(([, , data]) => data).join('')).toBe(result.stdout);
    // The asciinema player itself (Debian's asciinema 2.2) plays the file back to the same output.
    const played = await run('asciinema', ['play', '--speed', '50', '--idle-time-limit', '0.1', file]);
    expect(played).toMatchObject({ code: 0, stderr: '' });
    expect(played.stdout).toBe(result.stdout);
  });

  it('uploads and downloads with sftp through Warden', async () => {
    const client = await connect({ password: await token() });
    const sftp = await new Promise<import('ssh2').SFTPWrapper>((resolve, reject) => client.sftp((error, wrapper) => (error ? reject(error) : resolve(wrapper))));
    const local = path.join(dataDir, 'upload.bin');
    const content = Buffer.alloc(300_000, 'warden-sftp-');
    await writeFile(local, content);
    const remote = path.join(sshd.dir, 'uploaded.bin');
    await new Promise<void>((resolve, reject) => sftp.fastPut(local, remote, (error) => (error ? reject(error) : resolve())));
    expect((await readFile(remote)).equals(content)).toBe(true);
    const back = path.join(dataDir, 'downloaded.bin');
    await new Promise<void>((resolve, reject) => sftp.fastGet(remote, back, (error) => (error ? reject(error) : resolve())));
    const missing = path.join(sshd.dir, 'never-written.bin');
    const removal = await new Promise<Error | undefined>((resolve) => sftp.unlink(missing, (error) => resolve(error ?? undefined)));
    client.end();
    expect((await readFile(back)).equals(content)).toBe(true);
    expect(removal?.message).toMatch(/no such file/i);

    // Each file operation's outcome is audited: bytes through each handle, the target's refusal.
    const resultOf = async (text: string) => {
      const command = await eventually((record) => record.type === 'command' && record.text === text);
      expect(command).toBeDefined();
      const result = await eventually((record) => record.type === 'result' && record.sessionId === command!.sessionId && (record as { commandSeq?: number }).commandSeq === (command as { commandSeq?: number }).commandSeq);
      return (result as unknown as { summary: { rows: number; status: string; error?: { code: string } } } | undefined)?.summary;
    };
    const upload = await resultOf(`open ${remote} (write)`);
    expect(upload).toMatchObject({ rows: content.length, status: `ok (read 0 bytes, wrote ${content.length} bytes)` });
    const download = await resultOf(`open ${remote} (read)`);
    expect(download).toMatchObject({ rows: content.length, status: `ok (read ${content.length} bytes, wrote 0 bytes)` });
    const failed = await resultOf(`remove ${missing}`);
    expect(failed).toMatchObject({ rows: 0, status: 'SSH_FX_NO_SUCH_FILE', error: { code: 'SSH_FX_NO_SUCH_FILE' } });
  });
});

/** The recording of the (only) exec of the session that ran the command `which` picks, once it is written. */
async function recordingOf(which: (text: string) => boolean): Promise<{ record: AuditRecord; file: string }> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const records = await auditRecords();
    const command = records.find((record) => record.type === 'command' && which(String(record.text)));
    const recording = records.find((record) => record.type === 'session.event' && record.name === 'recording' && command && record.sessionId === command.sessionId);
    if (recording) return { record: recording, file: path.join(dataDir, 'recordings', String(recording.detail!['file'])) };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('no recording for the command');
}

/** Every file under a directory, recursively. */
async function filesUnder(dir: string): Promise<string[]> {
  const { readdir } = await import('node:fs/promises');
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => path.join(entry.parentPath, entry.name));
}

describe('SSH recordings: binary output and masking', () => {
  it('records binary output of an exec as a marker with its size and SHA-256, not as text, and the client gets every byte', async () => {
    const { createHash, randomBytes } = await import('node:crypto');
    const payload = randomBytes(2 * 1024 * 1024);
    const remote = path.join(sshd.dir, 'payload.bin');
    await writeFile(remote, payload);
    const client = await connect({ password: await token() });
    const command = `cat ${remote}`;
    const received = await new Promise<Buffer>((resolve, reject) => {
      client.exec(command, (error, stream) => {
        if (error) return reject(error);
        const chunks: Buffer[] = [];
        stream.on('data', (data: Buffer) => chunks.push(data));
        stream.on('close', () => resolve(Buffer.concat(chunks)));
      });
    });
    client.end();
    expect(received.equals(payload)).toBe(true);
    const { record, file } = await recordingOf((text) => text === command);
    expect(record.detail).toMatchObject({ binaryOutputBytes: payload.length });
    const bytes = await readFile(file);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(record.detail!['sha256']);
    // The 2 MiB payload is not in the file: one marker stands for it.
    expect(bytes.length).toBeLessThan(2000);
    const cast = parseAsciicast(bytes.toString('utf8'));
    expect(cast.header.version).toBe(2);
    const markers = cast.events.filter(([, type]) => type === 'm').map(([, , data]) => data);
    expect(markers).toEqual([`binary output (not shown): ${payload.length} bytes, sha256 ${createHash('sha256').update(payload).digest('hex')}`]);
  });

  // Synthetic values: a valid-looking SSN and an e-mail address.
  const ssn = '412-55-7301';
  const email = 'ann.smith@example.org';
  const printPhi = `printf 'patient ssn %s\\n' ${ssn}; printf '\\033[1mmail\\033[0m %s\\n' ${email} >&2`;

  it('masks the recording with the connection\'s detectors while the client sees the output as it is', async () => {
    const client = await connect({ port: maskedPort, password: await token() });
    const result = await exec(client, printPhi);
    client.end();
    expect(result.stdout).toBe(`patient ssn ${ssn}\n`);
    expect(result.stderr).toBe(`\x1b[1mmail\x1b[0m ${email}\n`);
    // The audit log holds the command line with the values redacted.
    const { record, file } = await recordingOf((text) => text.startsWith("printf 'patient ssn") && !text.includes('partial line'));
    expect(record.detail!['file']).toBeDefined();
    const cast = parseAsciicast(await readFile(file, 'utf8'));
    const replayed = cast.events.filter(([, type]) => type === 'o').map(([, , data]) => data).join('');
    // Both lines masked; the escape sequences around the e-mail are intact.
    expect(replayed).toMatch(/^patient ssn (?!412)\S+\n\x1b\[1mmail\x1b\[0m (?!ann)\S+\n$|^\x1b\[1mmail\x1b\[0m (?!ann)\S+\npatient ssn (?!412)\S+\n$/);
    expect(record.detail!['masked']).toMatch(/ssn:1/);
    expect(record.detail!['masked']).toMatch(/email:1/);
  });

  it('masks the live output too when the connection says maskLiveOutput, and no raw value is anywhere under the data directory', async () => {
    const client = await connect({ port: maskedLivePort, password: await token() });
    const result = await exec(client, `${printPhi}; printf 'partial line ${ssn}'`);
    client.end();
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^patient ssn (?!412)\S+\npartial line (?!412)\S+$/);
    expect(result.stdout).not.toContain(ssn);
    expect(result.stderr).toMatch(/^\x1b\[1mmail\x1b\[0m (?!ann)\S+\n$/);
    const command = await eventually((record) => record.type === 'command' && record.detail?.['request'] === 'exec' && String(record.text).includes('partial line'));
    const resultRecord = await eventually((record) => record.type === 'result' && record.sessionId === command!.sessionId);
    expect(resultRecord).toMatchObject({ summary: { masked: { ssn: 2, email: 1 } } });
    await eventually((record) => record.type === 'session.event' && record.name === 'recording' && record.sessionId === command!.sessionId);
    for (const file of await filesUnder(dataDir)) {
      const content = await readFile(file, 'latin1');
      expect({ file, ssn: content.includes(ssn), email: content.includes(email) }).toEqual({ file, ssn: false, email: false });
    }
  });
});

describe('SSH: sftp on a connection that masks live output', () => {
  it('refuses a download (file contents cannot be masked) with the reason, audited; uploads still work', async () => {
    const ssn = '412-55-7301';
    const remote = path.join(sshd.dir, 'phi-notes.txt');
    await writeFile(remote, `patient ssn ${ssn}\n`);
    const client = await connect({ port: maskedLivePort, password: await token() });
    const sftp = await new Promise<import('ssh2').SFTPWrapper>((resolve, reject) => client.sftp((error, wrapper) => (error ? reject(error) : resolve(wrapper))));
    const local = path.join(dataDir, 'phi-notes.download');
    const refused = await new Promise<Error | undefined>((resolve) => sftp.fastGet(remote, local, (error) => resolve(error ?? undefined)));
    const uploaded = path.join(sshd.dir, 'from-client.txt');
    await new Promise<void>((resolve, reject) => sftp.writeFile(uploaded, 'no phi here\n', (error) => (error ? reject(error) : resolve())));
    client.end();
    expect(refused?.message).toMatch(/file contents cannot be masked; download refused/);
    expect(await readFile(uploaded, 'utf8')).toBe('no phi here\n');
    const command = await eventually((record) => record.type === 'command' && record.text === `open ${remote} (read)`);
    const result = await eventually((record) => record.type === 'result' && record.sessionId === command!.sessionId && (record as { commandSeq?: number }).commandSeq === (command as { commandSeq?: number }).commandSeq);
    expect(result).toMatchObject({ summary: { status: 'refused', error: { code: 'not-inspectable' } } });
    // Nothing of the file reached the client (fastGet may leave an empty local file, or none).
    expect(await readFile(local, 'latin1').catch(() => '')).toBe('');
  });
});

describe('SSH through Warden (the OpenSSH client, token through SSH_ASKPASS)', () => {
  async function ssh(command: string, options: { token?: string; port?: number } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const tokenText = options.token ?? (await token());
    // OpenSSH cuts passwords at 1023 bytes; the dev issuer's tokens are shorter.
    expect(tokenText.length).toBeLessThan(1024);
    const askpass = path.join(dataDir, `askpass-${Math.random().toString(36).slice(2)}.sh`);
    await writeFile(askpass, `#!/bin/sh\nprintf '%s\\n' '${tokenText}'\n`, { mode: 0o700 });
    return run(
      'ssh',
      [
        '-F', '/dev/null',
        '-o', 'StrictHostKeyChecking=no',
        '-o', 'UserKnownHostsFile=/dev/null',
        '-o', 'PreferredAuthentications=keyboard-interactive,password',
        '-o', 'PubkeyAuthentication=no',
        '-o', 'NumberOfPasswordPrompts=1',
        // INFO: OpenSSH prints a keyboard-interactive request's instruction (Warden's refusal reason) at this level.
        '-o', 'LogLevel=INFO',
        '-p', String(options.port ?? port),
        'alice@127.0.0.1',
        command,
      ],
      { env: { SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', DISPLAY: ':0' } },
    );
  }

  it('runs a command with its output and exit status', async () => {
    const result = await ssh('echo from-openssh; exit 7');
    expect(result.stdout).toBe('from-openssh\n');
    expect(result.code).toBe(7);
  });

  it('shows a blocked command\'s reason on stderr and exits 126', async () => {
    const result = await ssh('curl -s http://127.0.0.1:9/x | sh');
    expect(result.code).toBe(126);
    expect(result.stderr).toContain('Warden: piping a download into a shell is not allowed (rule "no-pipe-to-shell")');
  });

  it('shows why a token was refused', async () => {
    const expired = await dev.issue({ subject: 'alice', groups: ['ops'], ttlSeconds: 60, now: new Date(Date.now() - 3_600_000) });
    const result = await ssh('id', { token: expired });
    expect(result.code).toBe(255);
    expect(result.stderr).toMatch(/Warden: .*expired/i);
    expect(result.stderr).toMatch(/Permission denied/);
  });

  it('shows why the target was refused when its host key does not match', async () => {
    const result = await ssh('id', { port: wrongKeyPort });
    expect(result.code).toBe(255);
    expect(result.stderr).toContain(`Warden: the target's host key (${sshd.hostKeyFingerprint}) does not match the pinned hostKey`);
  });
});
