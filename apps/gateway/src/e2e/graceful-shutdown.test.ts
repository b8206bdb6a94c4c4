/**
 * A real gateway process receives SIGTERM while a client's command runs, for each adapter other
 * than Postgres (postgres-faults.test.ts covers it): the command finishes and its result reaches
 * the client and the audit log; a new client is refused in the protocol's own terms; sessions
 * still open are ended; the process exits 0 (within `limits.drainTimeoutSeconds` plus a margin:
 * the test's own timeout) and `warden audit verify` passes on the log it left.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { Client as SshClient, type ClientChannel } from 'ssh2';
import { DevIssuer, type AuditRecord } from '@warden/core';
import { collectChannelOutput, type SshChannelOutput, startFakeKubeApiserver, startPrivateSshd, type FakeKubeApiserver, type PrivateSshd } from '@warden/testing';
import { runCli, type CliIo } from '../cli';
import { readAuditRecords, run } from './harness';
import { ensureGatewayBuilt, startGatewayProcess, type GatewayProcess } from './gateway-process';
import { MARIADB, TARGET_USER, createMysqlTestDatabase, type MysqlTestDatabase } from './mysql-harness';

beforeAll(() => ensureGatewayBuilt(), 120_000);

/** Gateways a test started: one that a failed assertion left running is killed after the test. */
const running: GatewayProcess[] = [];
afterEach(() => {
  for (const gateway of running.splice(0)) if (gateway.child.exitCode === null && gateway.child.signalCode === null) gateway.child.kill('SIGKILL');
});

async function startGateway(config: string, connections: readonly string[]): Promise<GatewayProcess> {
  const gateway = await startGatewayProcess(config, connections);
  running.push(gateway);
  return gateway;
}

async function cli(args: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = { out: (text) => void (out += text), err: (text) => void (err += text), stopSignal: () => new Promise(() => undefined) };
  return { code: await runCli(args, io), out, err };
}

/** A config file in a fresh directory, its data directory, and a dev-issuer token for `subject`. */
async function gatewayFiles(dir: string, connections: string, grants: string, limits: string): Promise<{ config: string; dataDir: string; token(subject: string, groups: string[]): Promise<string> }> {
  const config = path.join(dir, 'warden.yaml');
  await writeFile(
    config,
    `
dataDir: ./data
identity: { devIssuer: true }
limits: ${limits}
connections:
${connections}
grants:
${grants}
`,
  );
  const dataDir = path.join(dir, 'data');
  const dev = await DevIssuer.loadOrCreate(dataDir);
  return { config, dataDir, token: (subject, groups) => dev.issue({ subject, groups, kind: 'human' }) };
}

const auditRecordsIn = (dataDir: string): Promise<AuditRecord[]> => readAuditRecords(dataDir);

/** What a test asserts about the log a drained gateway left: one stop record, and a chain that verifies. */
async function expectCleanLog(config: string, dataDir: string): Promise<AuditRecord[]> {
  const records = await auditRecordsIn(dataDir);
  expect(records.filter((record) => record.type === 'gateway.stop')).toHaveLength(1);
  expect(records.at(-1)?.type).toBe('gateway.stop');
  const verified = await cli(['audit', 'verify', '--config', config]);
  expect(verified.out).toMatch(/OK, \d+ records/);
  expect(verified.code).toBe(0);
  return records;
}

describe('a MySQL gateway receives SIGTERM', () => {
  let database: MysqlTestDatabase;
  let dir: string;
  beforeAll(async () => {
    database = await createMysqlTestDatabase();
    dir = await mkdtemp(path.join(tmpdir(), 'warden-drain-mysql-'));
  }, 60_000);
  afterAll(async () => {
    await database?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('lets the running statement finish, refuses new clients with ER_SERVER_SHUTDOWN, ends idle sessions and exits 0', async () => {
    const { config, dataDir, token } = await gatewayFiles(
      dir,
      `  - name: clinic-my
    protocol: mysql
    listen: 127.0.0.1:0
    tls: self-signed
    target: { host: ${MARIADB.host}, port: ${MARIADB.port}, database: ${database.name}, user: ${TARGET_USER.user}, password: ${TARGET_USER.password} }`,
      '  - { connection: clinic-my, groups: [clinicians], access: read-write }',
      '{ drainTimeoutSeconds: 20 }',
    );
    const password = await token('nurse-1', ['clinicians']);
    const gateway = await startGateway(config, ['clinic-my']);
    const connect = () => mysql.createConnection({ host: '127.0.0.1', port: gateway.ports.get('clinic-my')!, user: 'nurse-1', password, database: 'clinic-my', ssl: { rejectUnauthorized: false } });
    const busy = await connect();
    const idle = await connect();
    const busyErrors: Error[] = [];
    busy.on('error', (error) => busyErrors.push(error));
    const idleClosed = new Promise<Error & { code?: number | string }>((resolve) => idle.once('error', resolve));

    const slow = busy.query('SELECT SLEEP(1) AS slept, 42 AS answer').then(
      ([rows]) => ({ ok: true as const, rows }),
      (error: Error & { errno?: number }) => ({ ok: false as const, errno: error.errno, message: error.message }),
    );
    // The statement is on its way to the target before the signal.
    await new Promise((resolve) => setTimeout(resolve, 200));
    gateway.child.kill('SIGTERM');

    // An idle session is ended at once, with the error MySQL sends when it shuts down.
    expect(await idleClosed).toMatchObject({ code: 1053, message: 'Warden is shutting down' });
    // A new client gets ER_SERVER_SHUTDOWN instead of the greeting.
    await expect(connect()).rejects.toMatchObject({ errno: 1053, message: 'Warden is shutting down; connect again once it is back' });
    // The statement in flight finishes and its result reaches the client.
    expect(await slow).toEqual({ ok: true, rows: [{ slept: 0, answer: 42 }] });
    expect(await gateway.exited).toEqual({ code: 0, signal: null });
    // Then its session was ended too, with the same error.
    expect(busyErrors).toEqual([expect.objectContaining({ code: 1053 })]);
    busy.destroy();
    idle.destroy();

    const records = await expectCleanLog(config, dataDir);
    const command = records.find((record) => record.type === 'command' && record.text.includes('SLEEP(1)'));
    expect(command).toBeDefined();
    const result = records.find((record) => record.type === 'result' && record.sessionId === (command as { sessionId: string }).sessionId);
    expect(result).toMatchObject({ summary: { rows: 1, status: 'OK 1 rows, 0 affected' } });
    expect(records.filter((record) => record.type === 'session.end')).toEqual([expect.objectContaining({ reason: 'shutdown' }), expect.objectContaining({ reason: 'shutdown' })]);
  }, 40_000);
});

describe('an SSH gateway receives SIGTERM', () => {
  let sshd: PrivateSshd;
  let dir: string;
  beforeAll(async () => {
    sshd = await startPrivateSshd();
    dir = await mkdtemp(path.join(tmpdir(), 'warden-drain-ssh-'));
  });
  afterAll(async () => {
    await sshd?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  function sshConnect(port: number, password: string): Promise<SshClient> {
    return new Promise((resolve, reject) => {
      const client = new SshClient();
      client.once('ready', () => resolve(client));
      client.once('error', reject);
      client.connect({ host: '127.0.0.1', port, username: 'alice', password, readyTimeout: 10_000 });
    });
  }

  /** Runs a command, or (without one) opens a shell that is sent nothing; resolves when the channel closes. */
  function channel(client: SshClient, command?: string): { opened: Promise<void>; done: Promise<SshChannelOutput> } {
    let opened!: () => void;
    const isOpen = new Promise<void>((resolve) => (opened = resolve));
    const done = new Promise<SshChannelOutput>((resolve, reject) => {
      const onOpen = (error: Error | undefined, stream: ClientChannel) => {
        if (error) return reject(error);
        opened();
        resolve(collectChannelOutput(stream));
      };
      if (command === undefined) client.shell(false, onOpen);
      else client.exec(command, onOpen);
    });
    return { opened: isOpen, done };
  }

  it('lets a running exec finish, tells an open shell why it closes, turns new clients away with a reason and exits 0', async () => {
    const { config, dataDir, token } = await gatewayFiles(
      dir,
      `  - { name: box, protocol: ssh, listen: 127.0.0.1:0, target: { host: 127.0.0.1, port: ${sshd.port}, user: ${sshd.user}, privateKey: ${JSON.stringify(sshd.clientPrivateKey)}, hostKey: "${sshd.hostKeyFingerprint}", connectTimeoutMs: 5000 } }`,
      '  - { connection: box, groups: [ops], access: full }',
      '{ drainTimeoutSeconds: 20 }',
    );
    const password = await token('alice', ['ops']);
    const gateway = await startGateway(config, ['box']);
    const port = gateway.ports.get('box')!;
    const worker = await sshConnect(port, password);
    const operator = await sshConnect(port, password);
    worker.on('error', () => undefined);
    operator.on('error', () => undefined);
    const shell = channel(operator);
    await shell.opened;
    const running = channel(worker, 'sleep 1; echo finished');
    await running.opened;
    // The command is running on the target before the signal.
    await new Promise((resolve) => setTimeout(resolve, 300));
    gateway.child.kill('SIGTERM');

    // The shell is closed at once, and says why.
    expect(await shell.done).toEqual({ stdout: '', stderr: 'Warden is shutting down; this session is closed\n', code: 143 });
    // A new client (the OpenSSH client) is turned away with the reason, before any login.
    const askpass = path.join(dir, 'askpass.sh');
    await writeFile(askpass, `#!/bin/sh\nprintf '%s\\n' '${password}'\n`, { mode: 0o700 });
    const late = await run(
      'ssh',
      ['-F', '/dev/null', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'PreferredAuthentications=keyboard-interactive,password', '-o', 'PubkeyAuthentication=no', '-p', String(port), 'alice@127.0.0.1', 'echo never'],
      { env: { SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', DISPLAY: ':0' } },
    );
    expect(late.code).toBe(255);
    expect(late.stdout).toBe('');
    expect(late.stderr).toMatch(/Received disconnect from 127\.0\.0\.1 port \d+:11: Warden is shutting down; connect again once it is back/);
    // The exec finishes with its output and status.
    expect(await running.done).toEqual({ stdout: 'finished\n', stderr: '', code: 0 });
    expect(await gateway.exited).toEqual({ code: 0, signal: null });
    worker.end();
    operator.end();

    const records = await expectCleanLog(config, dataDir);
    const command = records.find((record) => record.type === 'command' && record.text === 'sleep 1; echo finished') as { sessionId: string; commandSeq: number } | undefined;
    expect(command).toBeDefined();
    expect(records.find((record) => record.type === 'result' && record.sessionId === command!.sessionId && record.commandSeq === command!.commandSeq)).toMatchObject({ summary: { status: 'exit 0' } });
    expect(records.filter((record) => record.type === 'session.end')).toEqual([expect.objectContaining({ reason: 'shutdown' }), expect.objectContaining({ reason: 'shutdown' })]);
  }, 40_000);
});

describe('a Kubernetes gateway receives SIGTERM', () => {
  let fake: FakeKubeApiserver;
  let dir: string;
  beforeAll(async () => {
    fake = await startFakeKubeApiserver({
      objects: [{ resource: 'pods', object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-1', namespace: 'default', labels: { app: 'web' } }, spec: { containers: [{ name: 'main', image: 'busybox' }] } } }],
    });
    dir = await mkdtemp(path.join(tmpdir(), 'warden-drain-k8s-'));
  });
  afterAll(async () => {
    await fake?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function until(condition: () => boolean): Promise<void> {
    while (!condition()) await new Promise((resolve) => setTimeout(resolve, 25));
  }

  it('lets a running exec finish, answers new requests 503, ends a log follow at the drain timeout and exits 0', async () => {
    const { config, dataDir, token } = await gatewayFiles(
      dir,
      `  - name: k8s
    protocol: kubernetes
    listen: 127.0.0.1:0
    tls: self-signed
    target: { server: "${fake.url}", token: "${fake.token}", ca: ${JSON.stringify(fake.ca)} }`,
      '  - { connection: k8s, groups: [ops], access: full }',
      '{ drainTimeoutSeconds: 3 }',
    );
    const bearer = await token('olga', ['ops']);
    const gateway = await startGateway(config, ['k8s']);
    const port = gateway.ports.get('k8s')!;
    const ca = await readFile(path.join(dataDir, 'k8s.tls.crt'), 'utf8');
    const kubeconfig = path.join(dir, 'kubeconfig');
    await writeFile(
      kubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'w', cluster: { server: `https://127.0.0.1:${port}`, 'certificate-authority-data': Buffer.from(ca).toString('base64') } }],
        users: [{ name: 'u', user: { token: bearer } }],
        contexts: [{ name: 'c', context: { cluster: 'w', user: 'u', namespace: 'default' } }],
        'current-context': 'c',
      }),
    );
    const kubectl = (args: readonly string[]) => spawn('kubectl', ['--kubeconfig', kubeconfig, '--cache-dir', path.join(dir, 'kube-cache'), ...args]);
    const outcome = (child: ReturnType<typeof kubectl>) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        child.on('close', (code) => resolve({ code, stdout, stderr }));
      });

    // A log follow that never ends by itself, and an exec whose command runs for a second.
    const follower = kubectl(['logs', '-f', 'web-1']);
    const followed = outcome(follower);
    let logs = '';
    follower.stdout.on('data', (chunk: Buffer) => (logs += chunk.toString()));
    await until(() => fake.requests.some((seen) => seen.path === '/api/v1/namespaces/default/pods/web-1/log'));
    fake.appendLog('default', 'web-1', 'first line\n');
    await until(() => logs.includes('first line'));
    const exec = outcome(kubectl(['exec', 'web-1', '--', 'sh', '-c', 'sleep 1; echo finished']));
    await until(() => fake.requests.some((seen) => seen.websocket && seen.path.endsWith('/exec')));
    gateway.child.kill('SIGTERM');

    // A new request is answered with a Status saying why (the listener stays open while draining).
    let late: { code: number; body: string } | undefined;
    for (let attempt = 0; late?.code !== 503 && attempt < 100; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 25));
      late = await new Promise((resolve, reject) => {
        const req = httpsRequest({ host: '127.0.0.1', port, path: '/api/v1/namespaces/default/pods', ca, agent: false, headers: { authorization: `Bearer ${bearer}` } }, (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => resolve({ code: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end();
      });
    }
    expect(late?.code).toBe(503);
    expect(JSON.parse(late!.body)).toMatchObject({ kind: 'Status', code: 503, reason: 'ServiceUnavailable', message: 'Warden is shutting down; try again once it is back' });

    // The exec finishes with its output and status.
    expect(await exec).toMatchObject({ code: 0, stdout: 'finished\n' });
    // The follow is ended at the drain timeout, and the process exits.
    await followed;
    expect(await gateway.exited).toEqual({ code: 0, signal: null });

    const records = await expectCleanLog(config, dataDir);
    const command = records.find((record) => record.type === 'command' && record.text.startsWith('exec ')) as { sessionId: string; commandSeq: number } | undefined;
    expect(command).toBeDefined();
    expect(records.find((record) => record.type === 'result' && record.sessionId === command!.sessionId && record.commandSeq === command!.commandSeq)).toMatchObject({ summary: { status: 'exit 0' } });
    const ends = records.filter((record) => record.type === 'session.end');
    expect(ends.length).toBeGreaterThan(0);
    for (const end of ends) expect(end).toMatchObject({ reason: 'shutdown' });
  }, 40_000);
});
