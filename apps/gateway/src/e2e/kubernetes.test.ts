/**
 * Kubernetes through Warden with the real `kubectl` (1.32) and `@kubernetes/client-node` (1.4.0).
 * The target is a TEST DOUBLE for kube-apiserver (tools/testing fake-kube-apiserver.ts: no real
 * API server can run here) that speaks the real wire protocol and records the impersonation
 * headers and credentials Warden sends it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REDACTED_BASE64 } from '@warden/adapter-kubernetes';
import { parseAsciicast } from '@warden/core';
import { DevIssuer, silentLogger } from '@warden/core';
import { startFakeKubeApiserver, type FakeKubeApiserver, type KubeObject } from '@warden/testing';
import { runCli, type CliIo } from '../cli';
import { parseConfig } from '../config/load-config';
import { startGateway, type RunningGateway } from '../gateway';
import { run, type ProcessResult } from './harness';

let fake: FakeKubeApiserver;
let dataDir: string;
let gateway: RunningGateway;
let dev: DevIssuer;
let server: string;
let gatewayCa: string;
let clientNodeRunner: ClientNodeRunner;

type ClientNodeAnswer = { id: number; result: unknown } | { id: number; error: string };
interface ClientNodeRunner {
  call(request: Record<string, unknown>): Promise<ClientNodeAnswer>;
  stop(): void;
}

/** `@kubernetes/client-node` in its own Node process (kubernetes-client-node.mjs): one JSON line per call. */
function startClientNodeRunner(): ClientNodeRunner {
  const child = spawn(process.execPath, [path.join(__dirname, 'kubernetes-client-node.mjs')], { stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting = new Map<number, (answer: ClientNodeAnswer) => void>();
  let ready: () => void;
  const started = new Promise<void>((resolve) => (ready = resolve));
  let buffered = '';
  let next = 0;
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    let end;
    while ((end = buffered.indexOf('\n')) !== -1) {
      const message = JSON.parse(buffered.slice(0, end)) as ClientNodeAnswer | { ready: true };
      buffered = buffered.slice(end + 1);
      if ('ready' in message) ready();
      else waiting.get(message.id)?.(message);
    }
  });
  let exited: string | undefined;
  child.on('exit', (code) => {
    exited = `the client-node process exited (${code})`;
    ready();
    for (const [id, resolve] of waiting) resolve({ id, error: exited });
  });
  return {
    async call(request) {
      await started;
      if (exited !== undefined) return { id: 0, error: exited };
      const id = ++next;
      const answer = new Promise<ClientNodeAnswer>((resolve) => waiting.set(id, resolve));
      child.stdin.write(`${JSON.stringify({ ...request, id })}\n`);
      return answer;
    },
    stop: () => child.kill(),
  };
}

const pod = (namespace: string, name: string): { resource: string; object: KubeObject } => ({
  resource: 'pods',
  object: { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, labels: { app: name } }, spec: { containers: [{ name: 'main', image: 'busybox' }] } },
});

beforeAll(async () => {
  // Started first: loading client-node takes seconds, and overlaps the tests before its own.
  clientNodeRunner = startClientNodeRunner();
  fake = await startFakeKubeApiserver({
    objects: [
      pod('default', 'web-1'),
      pod('prod', 'web-1'),
      { resource: 'pods', object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'records-0', namespace: 'default', labels: { app: 'records', phi: 'true' } }, spec: { containers: [{ name: 'main', image: 'busybox' }] } } },
      { resource: 'secrets', object: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db-password', namespace: 'default' }, type: 'Opaque', data: { password: Buffer.from('hunter2').toString('base64') } } },
    ],
  });
  dataDir = await mkdtemp(path.join(tmpdir(), 'warden-k8s-e2e-'));
  const yaml = `
dataDir: ${JSON.stringify(dataDir)}
identity: { devIssuer: true }
connections:
  - name: k8s
    protocol: kubernetes
    listen: 127.0.0.1:0
    tls: self-signed
    target: { server: "${fake.url}", token: "${fake.token}", ca: ${JSON.stringify(fake.ca)} }
grants:
  - { connection: k8s, groups: [ops], access: full }
  - { connection: k8s, groups: [devs], access: read-write }
  - { connection: k8s, groups: [coding-agents], access: read-only }
  - { connection: k8s, groups: [oncall], access: full }
rules:
  - name: phi-exec-oncall-waits
    match: { connection: k8s, action: exec, objects: ["label:phi=true"], groups: [oncall] }
    effect: review
    approvers: [security]
    reason: exec into a pod labelled phi=true needs a security officer
    approval: { mode: wait, waitSeconds: 30 }
  - name: phi-exec-review
    match: { connection: k8s, action: exec, objects: ["label:phi=true"] }
    effect: review
    approvers: [security]
    reason: exec into a pod labelled phi=true needs a security officer
    approval: { mode: retry, ttlSeconds: 600 }
  - name: no-delete-in-prod
    match: { connection: k8s, objects: ["namespace:prod"], text: "^(delete|deletecollection) " }
    effect: block
    reason: deleting in prod needs a change ticket
  - name: agents-no-secrets
    match: { connection: k8s, objects: [secrets], kind: agent }
    effect: block
    reason: agents do not read secrets
  - name: locked-configmaps
    match: { connection: k8s, action: write, objects: ["configmaps/locked-*"] }
    effect: block
    reason: locked configmaps are managed by the platform team
  - name: no-phi-objects-from-devs
    match: { connection: k8s, action: write, objects: ["label:phi=true"], groups: [devs] }
    effect: block
    reason: only the records team creates objects labelled phi=true
masking:
  - { connection: k8s, detect: [email, ssn] }
admin: { listen: 127.0.0.1:0 }
`;
  gateway = await startGateway(parseConfig(yaml, 'k8s-test.yaml'), { log: silentLogger });
  dev = await DevIssuer.loadOrCreate(dataDir);
  server = `https://127.0.0.1:${gateway.addresses.get('k8s')!.port}`;
  gatewayCa = await readFile(path.join(dataDir, 'k8s.tls.crt'), 'utf8');
});

afterAll(async () => {
  clientNodeRunner?.stop();
  await gateway?.stop();
  await fake?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** A kubeconfig with a bearer token (the exec plugin is tested on its own below). */
async function tokenKubeconfig(subject: string, groups: string[], kind: 'human' | 'agent' = 'human', token?: string): Promise<string> {
  const file = path.join(dataDir, `kubeconfig-${subject}-${Math.random().toString(36).slice(2)}`);
  const jwt = token ?? (await dev.issue({ subject, groups, kind }));
  await writeFile(
    file,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'w', cluster: { server, 'certificate-authority-data': Buffer.from(gatewayCa).toString('base64') } }],
      users: [{ name: 'u', user: { token: jwt } }],
      contexts: [{ name: 'c', context: { cluster: 'w', user: 'u', namespace: 'default' } }],
      'current-context': 'c',
    }),
  );
  return file;
}

function kubectl(kubeconfig: string, args: readonly string[], input?: string): Promise<ProcessResult> {
  return run('kubectl', ['--kubeconfig', kubeconfig, '--cache-dir', path.join(dataDir, 'kube-cache'), ...args], { timeoutMs: 15_000, ...(input === undefined ? {} : { input }) });
}

interface AuditLine {
  readonly type: string;
  readonly text?: string;
  readonly name?: string;
  readonly detail?: Readonly<Record<string, string | number | boolean>>;
  readonly [field: string]: unknown;
}

async function auditRecords(): Promise<AuditLine[]> {
  const text = await readFile(path.join(dataDir, 'audit.log'), 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as AuditLine);
}

async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 5000): Promise<T | undefined> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined || Date.now() > until) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Sends an upgrade request (as kubectl's exec does) and returns the refusal Warden answers with. */
function upgradeAnswer(token: string, requestPath: string, upgrade: 'websocket' | 'SPDY/3.1'): Promise<{ code: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> =
      upgrade === 'websocket'
        ? { 'Sec-WebSocket-Key': randomBytes(16).toString('base64'), 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Protocol': 'v5.channel.k8s.io' }
        : { 'X-Stream-Protocol-Version': 'v4.channel.k8s.io' };
    const request = httpsRequest(`${server}${requestPath}`, {
      method: upgrade === 'websocket' ? 'GET' : 'POST',
      ca: gatewayCa,
      headers: { Authorization: `Bearer ${token}`, Connection: 'Upgrade', Upgrade: upgrade, ...headers },
    });
    request.on('response', (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ code: response.statusCode ?? 0, body }));
    });
    request.on('upgrade', () => reject(new Error('the upgrade was accepted')));
    request.on('error', reject);
    request.end();
  });
}

describe('kubectl through Warden (target: the fake kube-apiserver test double)', () => {
  it('lists pods with a kubeconfig from `warden kubeconfig` (exec credential plugin → `warden token --exec-credential`)', async () => {
    const out = path.join(dataDir, 'kubeconfig-exec');
    const io: CliIo = { out: () => undefined, err: () => undefined, stopSignal: () => new Promise(() => undefined) };
    const bin = path.resolve(__dirname, '../../bin/warden.js');
    const code = await runCli(['kubeconfig', '--connection', 'k8s', '--server', server, '--data-dir', dataDir, '--out', out, '--command', `${process.execPath} ${bin}`, '--namespace', 'default', '--dev', '--subject', 'alice', '--groups', 'ops', '--kind', 'human'], io);
    expect(code).toBe(0);
    const result = await kubectl(out, ['get', 'pods']);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^NAME\s+READY\s+STATUS/);
    expect(result.stdout).toMatch(/web-1\s+1\/1\s+Running/);
    // The fake saw Warden's credential and the caller's identity, never the caller's token.
    const seen = fake.requests.filter((request) => request.path === '/api/v1/namespaces/default/pods');
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((request) => request.authorized && request.impersonateUser === 'alice' && request.impersonateGroups.join(',') === 'ops')).toBe(true);
  });

  it('creates and deletes a configmap, each a decided and audited command', async () => {
    const config = await tokenKubeconfig('bob', ['devs']);
    const manifest = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app-settings' }, data: { mode: 'blue' } });
    const created = await kubectl(config, ['create', '--validate=false', '-f', '-'], manifest);
    expect(created.stderr).toBe('');
    expect(created.stdout.trim()).toBe('configmap/app-settings created');
    expect(fake.get('configmaps', 'default', 'app-settings')?.['data']).toEqual({ mode: 'blue' });
    const deleted = await kubectl(config, ['delete', 'configmap', 'app-settings']);
    expect(deleted.stdout.trim()).toBe('configmap "app-settings" deleted');
    expect(fake.get('configmaps', 'default', 'app-settings')).toBeUndefined();
    const commands = (await auditRecords()).filter((record) => record.type === 'command').map((record) => record.text);
    // The created object's name comes from the request body.
    expect(commands).toEqual(expect.arrayContaining(['create configmaps/app-settings -n default', 'delete configmaps/app-settings -n default']));
  });

  it('reads the name and labels of `kubectl create configmap` from its protobuf body, so rules on them apply', async () => {
    const config = await tokenKubeconfig('bob', ['devs']);
    const created = await kubectl(config, ['create', 'configmap', 'feature-flags', '--from-literal=mode=green']);
    expect(created.stderr).toBe('');
    expect(created.stdout.trim()).toBe('configmap/feature-flags created');
    expect(fake.get('configmaps', 'default', 'feature-flags')?.['data']).toEqual({ mode: 'green' });
    const protobuf = fake.requests.filter((request) => request.method === 'POST' && request.path === '/api/v1/namespaces/default/configmaps').at(-1);
    expect(protobuf?.contentType).toMatch(/protobuf/);

    const before = fake.requests.length;
    const locked = await kubectl(config, ['create', 'configmap', 'locked-routing', '--from-literal=a=b']);
    expect(locked.stderr.trim()).toBe('error: failed to create configmap: Warden: locked configmaps are managed by the platform team (rule "locked-configmaps")');
    expect(fake.requests.length).toBe(before);
    expect(fake.get('configmaps', 'default', 'locked-routing')).toBeUndefined();

    const manifest = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'patient-export', labels: { phi: 'true' } }, data: { a: 'b' } });
    const labelled = await kubectl(config, ['create', '--validate=false', '-f', '-'], manifest);
    expect(labelled.stderr).toMatch(/Warden: only the records team creates objects labelled phi=true \(rule "no-phi-objects-from-devs"\)/);
    expect(fake.get('configmaps', 'default', 'patient-export')).toBeUndefined();

    const commands = (await auditRecords()).filter((record) => record.type === 'command');
    expect(commands.find((record) => record.text === 'create configmaps/feature-flags -n default')).toMatchObject({ decision: { effect: 'allow' } });
    expect(commands.find((record) => record.text === 'create configmaps/locked-routing -n default')).toMatchObject({ decision: { effect: 'block', rule: 'locked-configmaps' } });
    expect(commands.find((record) => record.text === 'create configmaps/patient-export -n default')).toMatchObject({ decision: { effect: 'block', rule: 'no-phi-objects-from-devs' } });
  });

  it('refuses a create whose body Warden cannot read, or whose namespace is not the request\'s, as unknown', async () => {
    const token = await dev.issue({ subject: 'bob', groups: ['devs'] });
    const post = (body: string, contentType: string) =>
      new Promise<{ code: number; body: string }>((resolve, reject) => {
        const request = httpsRequest(`${server}/api/v1/namespaces/default/configmaps`, { method: 'POST', ca: gatewayCa, headers: { authorization: `Bearer ${token}`, 'content-type': contentType } }, (response) => {
          let text = '';
          response.on('data', (chunk: Buffer) => (text += chunk.toString()));
          response.on('end', () => resolve({ code: response.statusCode ?? 0, body: text }));
        });
        request.on('error', reject);
        request.end(body);
      });
    const before = fake.requests.length;
    const garbled = await post('{"kind": "ConfigMap", "metadata": ', 'application/json');
    expect(garbled.code).toBe(403);
    expect(JSON.parse(garbled.body)).toMatchObject({ kind: 'Status', reason: 'Forbidden' });
    const elsewhere = await post(JSON.stringify({ kind: 'ConfigMap', metadata: { name: 'x', namespace: 'prod' } }), 'application/json');
    expect(elsewhere.code).toBe(403);
    expect(fake.requests.length).toBe(before);
    const commands = (await auditRecords()).filter((record) => record.type === 'command' && String(record.text).startsWith('create configmaps -n default'));
    expect(commands.slice(-2).map((record) => (record as unknown as { classification: { action: string; statements: { note?: string }[] } }).classification)).toEqual([
      expect.objectContaining({ action: 'unknown', statements: [expect.objectContaining({ note: expect.stringMatching(/does not parse as application\/json/) })] }),
      expect.objectContaining({ action: 'unknown', statements: [expect.objectContaining({ note: 'the namespace in the body is not the namespace of the request' })] }),
    ]);
  });

  it('refuses a delete in namespace prod with a Forbidden Status naming the rule; nothing reaches the target', async () => {
    const config = await tokenKubeconfig('alice', ['ops']);
    const before = fake.requests.length;
    const result = await kubectl(config, ['delete', 'pod', 'web-1', '-n', 'prod']);
    expect(result.code).not.toBe(0);
    expect(result.stderr.trim()).toBe('Error from server (Forbidden): Warden: deleting in prod needs a change ticket (rule "no-delete-in-prod")');
    expect(fake.get('pods', 'prod', 'web-1')).toBeDefined();
    expect(fake.requests.slice(before).some((request) => request.method === 'DELETE')).toBe(false);
  });

  it('refuses secrets to agents by rule, redacts their values for read-write humans, shows them to full access', async () => {
    const agent = await kubectl(await tokenKubeconfig('agent-1', ['coding-agents'], 'agent'), ['get', 'secrets']);
    expect(agent.stderr.trim()).toBe('Error from server (Forbidden): Warden: agents do not read secrets (rule "agents-no-secrets")');

    const dev = await kubectl(await tokenKubeconfig('bob', ['devs']), ['get', 'secret', 'db-password', '-o', 'json']);
    expect(dev.stderr).toBe('');
    expect((JSON.parse(dev.stdout) as { data: Record<string, string> }).data).toEqual({ password: REDACTED_BASE64 });
    const devList = await kubectl(await tokenKubeconfig('bob', ['devs']), ['get', 'secrets', '-o', 'json']);
    expect(devList.stdout).not.toContain(Buffer.from('hunter2').toString('base64'));
    expect((JSON.parse(devList.stdout) as { items: { data: Record<string, string> }[] }).items[0]!.data).toEqual({ password: REDACTED_BASE64 });

    const ops = await kubectl(await tokenKubeconfig('alice', ['ops']), ['get', 'secret', 'db-password', '-o', 'jsonpath={.data.password}']);
    expect(Buffer.from(ops.stdout, 'base64').toString()).toBe('hunter2');
  });

  it('runs kubectl exec over WebSocket: output, stderr and exit code, recorded with its SHA-256 in the audit log', async () => {
    const config = await tokenKubeconfig('alice', ['ops']);
    const result = await kubectl(config, ['exec', 'web-1', '--', 'sh', '-c', 'echo out-line; echo err-line >&2; exit 3']);
    expect(result.stdout).toBe('out-line\n');
    expect(result.stderr).toContain('err-line');
    expect(result.code).toBe(3);
    const recording = await eventually(async () => (await auditRecords()).find((record) => record.type === 'session.event' && record.name === 'recording'));
    expect(recording).toBeDefined();
    const detail = recording!.detail!;
    const file = path.join(dataDir, 'recordings', String(detail['file']));
    const bytes = await readFile(file);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(detail['sha256']);
    const cast = parseAsciicast(bytes.toString('utf8'));
    expect(cast.events.map((event) => event[2]).join('')).toContain('out-line');
    const command = (await auditRecords()).find((record) => record.type === 'command' && record.text?.startsWith('exec pods/web-1'));
    expect(command?.text).toBe("exec pods/web-1 -n default -c main -- sh -c 'echo out-line; echo err-line >&2; exit 3'");
  });

  it('masks exec output (stdout and stderr) with the connection detectors, live and in the recording; binary output is cut', async () => {
    const config = await tokenKubeconfig('alice', ['ops']);
    const script = 'echo "patient SSN 123-45-6789 seen"; echo "mail jane.roe@example.com" >&2; printf "prompt> "';
    const result = await kubectl(config, ['exec', 'web-1', '--', 'sh', '-c', script]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('patient SSN [SSN] seen\nprompt> ');
    expect(result.stderr).toBe('mail [EMAIL]\n');
    const records = await auditRecords();
    const command = records.find((record) => record.type === 'command' && record.text?.includes('patient SSN'));
    const summary = records.find((record) => record.type === 'result' && record['sessionId'] === command!['sessionId'] && record['commandSeq'] === command!['commandSeq']);
    expect(summary?.['summary']).toMatchObject({ status: 'exit 0', masked: { ssn: 1, email: 1 } });
    const recording = await eventually(async () =>
      (await auditRecords()).find((record) => record.type === 'session.event' && record.name === 'recording' && record['sessionId'] === command!['sessionId'] && record.detail?.['seq'] === command!['commandSeq']),
    );
    const cast = await readFile(path.join(dataDir, 'recordings', String(recording!.detail!['file'])), 'utf8');
    expect(cast).toContain('patient SSN [SSN] seen');
    expect(cast).not.toContain('123-45-6789');
    expect(cast).not.toContain('jane.roe@example.com');

    // A prompt without a newline is not held back for masking: it shows while the command waits for input.
    const interactive = spawn('kubectl', ['--kubeconfig', config, '--cache-dir', path.join(dataDir, 'kube-cache'), 'exec', '-i', 'web-1', '--', 'sh', '-c', 'printf "ssn? "; read x; echo "SSN $x"']);
    let shown = '';
    interactive.stdout.on('data', (chunk: Buffer) => (shown += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => interactive.on('close', resolve));
    expect(await eventually(async () => (shown === 'ssn? ' ? true : undefined), 10_000)).toBe(true);
    interactive.stdin.end('123-45-6789\n');
    expect(await exited).toBe(0);
    expect(shown).toBe('ssn? SSN [SSN]\n');

    // Without a tty, output that is not text (a tar stream, here NUL bytes) cannot be masked: cut.
    const binary = await kubectl(config, ['exec', 'web-1', '--', 'sh', '-c', 'echo first; head -c 16 /dev/zero; echo never']);
    expect(binary.code).not.toBe(0);
    expect(binary.stdout).toBe('first\n');
    expect(binary.stderr).toContain('Warden: the output is not text and this connection masks PHI; the stream was cut');

    // Port forwarding carries arbitrary protocols that cannot be masked: refused on this connection.
    const token = await dev.issue({ subject: 'alice', groups: ['ops'], kind: 'human' });
    const forwarded = await upgradeAnswer(token, '/api/v1/namespaces/default/pods/web-1/portforward?ports=80', 'websocket');
    expect(forwarded.code).toBe(403);
    expect(JSON.parse(forwarded.body)).toMatchObject({ reason: 'Forbidden', message: 'Warden: this connection masks PHI, and port-forwarded traffic cannot be masked; refused' });
  });

  it('refuses exec to a read-only grant', async () => {
    const result = await kubectl(await tokenKubeconfig('agent-1', ['coding-agents'], 'agent'), ['exec', 'web-1', '--', 'id']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('Warden: read-only access does not allow');
  });

  it('streams logs, masking what the connection detects (emails)', async () => {
    fake.appendLog('default', 'web-1', 'started\nsent mail to jane.roe@example.com\n');
    const result = await kubectl(await tokenKubeconfig('alice', ['ops']), ['logs', 'web-1']);
    expect(result.stdout).toContain('started\n');
    expect(result.stdout).not.toContain('jane.roe@example.com');
  });

  it('follows logs and watches pods as streams', async () => {
    const config = await tokenKubeconfig('alice', ['ops']);
    const follower = spawn('kubectl', ['--kubeconfig', config, '--cache-dir', path.join(dataDir, 'kube-cache'), 'logs', '-f', 'web-1', '-n', 'prod']);
    let logs = '';
    follower.stdout.on('data', (chunk: Buffer) => (logs += chunk.toString()));
    await eventually(async () => (fake.requests.some((request) => request.path === '/api/v1/namespaces/prod/pods/web-1/log') ? true : undefined));
    fake.appendLog('prod', 'web-1', 'first line\n');
    expect(await eventually(async () => (logs.includes('first line') ? true : undefined))).toBe(true);
    fake.endLog('prod', 'web-1');
    await new Promise((resolve) => follower.on('close', resolve));

    const watcher = spawn('kubectl', ['--kubeconfig', config, '--cache-dir', path.join(dataDir, 'kube-cache'), 'get', 'pods', '-n', 'default', '--watch', '--output-watch-events']);
    let watched = '';
    watcher.stdout.on('data', (chunk: Buffer) => (watched += chunk.toString()));
    await eventually(async () => (fake.requests.some((request) => request.query.includes('watch=true')) ? true : undefined));
    fake.put('pods', pod('default', 'web-2').object);
    const seen = await eventually(async () => (/ADDED\s+web-2/.test(watched) ? true : undefined));
    watcher.kill();
    expect(seen).toBe(true);
  });

  it('strips impersonation the client asks for and impersonates the verified identity instead', async () => {
    const before = fake.requests.length;
    const result = await kubectl(await tokenKubeconfig('bob', ['devs']), ['get', 'pods', '--as', 'system:admin', '--as-group', 'system:masters']);
    expect(result.code).toBe(0);
    const seen = fake.requests.slice(before).filter((request) => request.path === '/api/v1/namespaces/default/pods');
    expect(seen.map((request) => [request.impersonateUser, request.impersonateGroups])).toEqual([['bob', ['devs']]]);
  });

  it('refuses a SPDY exec upgrade with a Status telling the user to use WebSocket', async () => {
    const token = await dev.issue({ subject: 'alice', groups: ['ops'], kind: 'human' });
    const answer = await upgradeAnswer(token, '/api/v1/namespaces/default/pods/web-1/exec?command=id&stdout=true', 'SPDY/3.1');
    expect(answer.code).toBe(400);
    expect(JSON.parse(answer.body)).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'BadRequest', message: expect.stringContaining('use a kubectl that speaks WebSocket') });
  });

  it('answers a token it cannot verify with a 401 Status; the target never sees the request', async () => {
    const before = fake.requests.length;
    const result = await kubectl(await tokenKubeconfig('x', [], 'human', 'not-a-jwt'), ['get', 'pods']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('error: You must be logged in to the server');
    expect(fake.requests.length).toBe(before);
  });
});

describe('exec into a pod labelled phi=true, held for approval (target: the fake kube-apiserver test double)', () => {
  async function api(token: string, method: 'GET' | 'POST', route: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
    const response = await fetch(`${gateway.admin!.url}${route}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  }
  type Pending = { id: string; text: string; objects: string[]; requester: { subject: string } };
  async function pendingFor(approver: string, subject: string): Promise<Pending[]> {
    const { json } = await api(approver, 'GET', '/v1/approvals?status=pending');
    return (json['requests'] as Pending[]).filter((request) => request.requester.subject === subject);
  }
  const execs = () => fake.requests.filter((request) => request.websocket && request.path === '/api/v1/namespaces/default/pods/records-0/exec').length;

  it('retry mode: a 403 names the approval request; once approved, the same exec runs exactly once', async () => {
    const config = await tokenKubeconfig('dana', ['ops']);
    const security = await dev.issue({ subject: 'sec-1', groups: ['security'], kind: 'human' });
    const before = execs();
    const refused = await kubectl(config, ['exec', 'records-0', '--', 'sh', '-c', 'echo phi-shell']);
    expect(refused.code).not.toBe(0);
    const [request, ...others] = await pendingFor(security, 'dana');
    expect(others).toEqual([]);
    expect(request).toMatchObject({ text: "exec pods/records-0 -n default -c main -- sh -c 'echo phi-shell'", objects: expect.arrayContaining(['label:phi=true', 'namespace:default']) });
    expect(refused.stderr).toContain(
      `Warden: exec into a pod labelled phi=true needs a security officer: held for approval as request ${request!.id}; once it is approved, run the same command again (rule "phi-exec-review"); approval request ${request!.id} is pending`,
    );
    expect(execs()).toBe(before);

    expect(await api(security, 'POST', `/v1/approvals/${request!.id}/approve`, { reason: 'incident 42' })).toMatchObject({ status: 200, json: { status: 'approved' } });
    const approved = await kubectl(config, ['exec', 'records-0', '--', 'sh', '-c', 'echo phi-shell']);
    expect(approved).toMatchObject({ code: 0, stdout: 'phi-shell\n' });
    expect(execs()).toBe(before + 1);
    // Used once: the same exec again is held again (a new request).
    const again = await kubectl(config, ['exec', 'records-0', '--', 'sh', '-c', 'echo phi-shell']);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/held for approval as request apr_/);
    expect(again.stderr).not.toContain(request!.id);
    expect(execs()).toBe(before + 1);
    // A pod without the label is not held.
    expect(await kubectl(config, ['exec', 'web-1', '--', 'true'])).toMatchObject({ code: 0 });
  }, 30_000);

  it('wait mode: kubectl exec is held until a security officer approves, then runs', async () => {
    const config = await tokenKubeconfig('erin', ['oncall']);
    const security = await dev.issue({ subject: 'sec-1', groups: ['security'], kind: 'human' });
    const before = execs();
    const running = kubectl(config, ['exec', 'records-0', '--', 'sh', '-c', 'echo held-then-ran']);
    const pending = await eventually(async () => (await pendingFor(security, 'erin'))[0], 10_000);
    expect(pending).toMatchObject({ objects: expect.arrayContaining(['label:phi=true']) });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(execs()).toBe(before);
    expect(await api(security, 'POST', `/v1/approvals/${pending!.id}/approve`, { reason: 'on call' })).toMatchObject({ status: 200 });
    expect(await running).toMatchObject({ code: 0, stdout: 'held-then-ran\n', stderr: '' });
    expect(execs()).toBe(before + 1);
    const command = (await auditRecords()).find((record) => record.type === 'command' && record.text?.includes('held-then-ran'));
    expect(command).toMatchObject({ decision: { effect: 'allow', rule: 'phi-exec-oncall-waits', approval: pending!.id } });
  }, 30_000);

  it('sends a request again, once, when the API server had closed the kept-alive connection Warden reused', async () => {
    const config = await tokenKubeconfig('alice', ['ops']);
    const path = '/api/v1/namespaces/default/configmaps';
    fake.put('configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kept-alive', namespace: 'default' }, data: { a: 'b' } });
    // Warden's connections to the API server are kept alive between requests: warm one up.
    expect(await kubectl(config, ['get', 'configmaps'])).toMatchObject({ code: 0 });
    fake.setFault({ method: 'GET', path, code: 'drop-reused-connection' });
    const before = fake.requests.filter((request) => request.path === path).length;
    try {
      const listed = await kubectl(config, ['get', 'configmaps']);
      expect(listed).toMatchObject({ code: 0, stderr: '' });
      expect(listed.stdout).toMatch(/^kept-alive\s/m);
    } finally {
      fake.setFault(undefined);
    }
    // The dropped request, then the same request on a new connection.
    expect(fake.requests.filter((request) => request.path === path).length - before).toBe(2);
  });

  it('refuses exec with a Status when the pod labels cannot be read, and exec into a pod that does not exist', async () => {
    const token = await dev.issue({ subject: 'alice', groups: ['ops'], kind: 'human' });
    const execPath = (name: string) => `/api/v1/namespaces/default/pods/${name}/exec?command=id&stdout=true`;
    const before = fake.requests.filter((request) => request.websocket).length;
    const missing = await upgradeAnswer(token, execPath('no-such-pod'), 'websocket');
    expect(missing.code).toBe(404);
    expect(JSON.parse(missing.body)).toMatchObject({ kind: 'Status', reason: 'NotFound', message: 'pods "no-such-pod" not found' });
    // The target fails the label lookup: Warden cannot decide, so it refuses; the exec never reaches the target.
    fake.put('pods', pod('default', 'web-9').object);
    fake.setFault({ method: 'GET', path: '/api/v1/namespaces/default/pods/web-9', code: 500 });
    try {
      const refused = await upgradeAnswer(token, execPath('web-9'), 'websocket');
      expect(refused.code).toBe(503);
      expect(JSON.parse(refused.body)).toMatchObject({
        kind: 'Status',
        reason: 'ServiceUnavailable',
        message: 'Warden: cannot read the labels of pod default/web-9 to decide on exec (the API server answered HTTP 500); refused',
      });
    } finally {
      fake.setFault(undefined);
    }
    expect(fake.requests.filter((request) => request.websocket).length).toBe(before);
    const events = (await auditRecords()).filter((record) => record.type === 'session.event' && record.name === 'pod labels unavailable').map((record) => record.detail);
    expect(events).toEqual([
      { verb: 'exec', namespace: 'default', pod: 'no-such-pod', error: 'pod not found' },
      { verb: 'exec', namespace: 'default', pod: 'web-9', error: 'the API server answered HTTP 500' },
    ]);
    expect(await kubectl(await tokenKubeconfig('alice', ['ops']), ['exec', 'web-9', '--', 'true'])).toMatchObject({ code: 0 });
  });
});

describe('@kubernetes/client-node 1.4.0 through Warden (target: the fake kube-apiserver test double)', () => {
  async function clientNode<T>(op: 'list' | 'exec', subject: string, groups: string[], args: Record<string, unknown>): Promise<T> {
    const token = await dev.issue({ subject, groups, kind: 'human' });
    const answer = await clientNodeRunner.call({ op, server, ca: gatewayCa, token, ...args });
    if ('error' in answer) throw new Error(`client-node: ${answer.error}`);
    return answer.result as T;
  }

  it('lists pods', async () => {
    expect(await clientNode<string[]>('list', 'carol', ['ops'], { namespace: 'prod' })).toEqual(['web-1']);
  });

  it('runs exec with a tty: output arrives, and the session is recorded as asciicast', async () => {
    const result = await clientNode<{ status?: string; stdout: string }>('exec', 'carol', ['ops'], {
      namespace: 'default',
      pod: 'web-1',
      container: 'main',
      command: ['sh', '-c', "echo tty-hello; printf '\\033[1;31mSSN 123-45-6789\\033[0m\\n'"],
      tty: true,
    });
    expect(result.status).toBe('Success');
    const output = result.stdout;
    expect(output).toContain('tty-hello');
    // Masked on the live stream, the colour escape sequences around it intact.
    expect(output).toContain('\x1b[1;31mSSN [SSN]\x1b[0m');
    expect(output).not.toContain('123-45-6789');
    const recording = await eventually(async () => {
      const records = await auditRecords();
      const command = records.find((record) => record.type === 'command' && record.text?.includes('tty-hello'));
      return command && records.find((record) => record.type === 'session.event' && record.name === 'recording' && record['sessionId'] === command['sessionId'] && record.detail?.['seq'] === command['commandSeq']);
    });
    const cast = parseAsciicast(await readFile(path.join(dataDir, 'recordings', String(recording!.detail!['file'])), 'utf8'));
    expect(cast.header.version).toBe(2);
    expect(cast.header.env).toEqual({ TERM: 'xterm' });
    expect(cast.events.map((event) => event[2]).join('')).toContain('tty-hello');
    expect(cast.events.map((event) => event[2]).join('')).toContain('\x1b[1;31mSSN [SSN]\x1b[0m');
    expect(JSON.stringify(cast)).not.toContain('123-45-6789');
  });
});
