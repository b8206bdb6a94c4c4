/**
 * The `limits:` section on the Kubernetes adapter, with the real `kubectl` and plain HTTPS clients
 * against a real gateway in front of the kube-apiserver TEST DOUBLE (tools/testing): the request
 * body size (413 Status), the header (login) timeout, the idle keep-alive timeout and the
 * connections one listener holds (503 Status).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { Agent, request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import type { Socket } from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { DevIssuer, silentLogger, type AuditRecord } from '@warden/core';
import { startFakeKubeApiserver, type FakeKubeApiserver } from '@warden/testing';
import { parseConfig } from '../config/load-config';
import { startGateway, type RunningGateway } from '../gateway';
import { readAuditRecords, run } from './harness';

let fake: FakeKubeApiserver;
const dirs: string[] = [];
const gateways: RunningGateway[] = [];

beforeAll(async () => {
  fake = await startFakeKubeApiserver({
    objects: [{ resource: 'configmaps', object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: 'default' }, data: { mode: 'a' } } }],
  });
});

afterAll(async () => {
  for (const gateway of gateways) await gateway.stop();
  await fake?.stop();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

interface KubeGateway {
  readonly port: number;
  readonly dataDir: string;
  readonly ca: string;
  readonly token: string;
  readonly kubeconfig: string;
}

/** A gateway with one kubernetes connection `k8s` and the given `limits:`, a token and a kubeconfig for it. */
async function kubeGateway(limits: string): Promise<KubeGateway> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'warden-k8s-limits-'));
  dirs.push(dataDir);
  const yaml = `
dataDir: ${JSON.stringify(dataDir)}
identity: { devIssuer: true }
limits: ${limits}
connections:
  - name: k8s
    protocol: kubernetes
    listen: 127.0.0.1:0
    tls: self-signed
    target: { server: "${fake.url}", token: "${fake.token}", ca: ${JSON.stringify(fake.ca)} }
grants:
  - { connection: k8s, groups: [ops], access: full }
`;
  const gateway = await startGateway(parseConfig(yaml, 'k8s-limits.yaml'), { log: silentLogger });
  gateways.push(gateway);
  const port = gateway.addresses.get('k8s')!.port;
  const ca = await readFile(path.join(dataDir, 'k8s.tls.crt'), 'utf8');
  const token = await (await DevIssuer.loadOrCreate(dataDir)).issue({ subject: 'olga', groups: ['ops'] });
  const kubeconfig = path.join(dataDir, 'kubeconfig');
  await writeFile(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'w', cluster: { server: `https://127.0.0.1:${port}`, 'certificate-authority-data': Buffer.from(ca).toString('base64') } }],
      users: [{ name: 'u', user: { token } }],
      contexts: [{ name: 'c', context: { cluster: 'w', user: 'u', namespace: 'default' } }],
      'current-context': 'c',
    }),
  );
  return { port, dataDir, ca, token, kubeconfig };
}

interface Answer {
  readonly code: number;
  readonly body: string;
}

/** One HTTPS request through the gateway; `chunks` are sent as a chunked body. */
function request(gateway: KubeGateway, method: string, requestPath: string, options: { agent?: Agent; chunks?: readonly string[]; onSocket?: (socket: Socket) => void } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port: gateway.port, method, path: requestPath, ca: gateway.ca, agent: options.agent ?? false, headers: { authorization: `Bearer ${gateway.token}`, 'content-type': 'application/merge-patch+json' } },
      (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ code: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    if (options.onSocket) req.once('socket', options.onSocket);
    for (const chunk of options.chunks ?? []) req.write(chunk);
    req.end();
  });
}

const auditRecords = (dataDir: string): Promise<AuditRecord[]> => readAuditRecords(dataDir);

describe('Kubernetes request body limit', () => {
  let gateway: KubeGateway;
  beforeAll(async () => {
    gateway = await kubeGateway('{ maxMessageBytes: 4096 }');
  });

  it('refuses a patch over maxMessageBytes with a 413 Status kubectl shows, and the API server never sees it', async () => {
    const patch = JSON.stringify({ data: { mode: 'x'.repeat(5000) } });
    const result = await run('kubectl', ['--kubeconfig', gateway.kubeconfig, '--cache-dir', path.join(gateway.dataDir, 'kube-cache'), 'patch', 'configmap', 'settings', '--type', 'merge', '-p', patch], { timeoutMs: 15_000 });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Error from server (RequestEntityTooLarge): Warden: the request body is larger than 4096 bytes (the limit)');
    expect(fake.requests.filter((seen) => seen.method === 'PATCH')).toEqual([]);
    const command = (await auditRecords(gateway.dataDir)).find((record) => record.type === 'command' && record.text.startsWith('patch ')) as { sessionId: string; commandSeq: number } | undefined;
    expect(command).toBeDefined();
    const recorded = (await auditRecords(gateway.dataDir)).find((record) => record.type === 'result' && record.sessionId === command!.sessionId && record.commandSeq === command!.commandSeq);
    expect(recorded).toMatchObject({ summary: { status: 'refused', error: { code: 'too-large' } } });
  }, 30_000);

  it('cuts off a chunked body (no Content-Length) once it passes the limit, with a 413 Status', async () => {
    const answer = await request(gateway, 'PATCH', '/api/v1/namespaces/default/configmaps/settings', { chunks: ['{"data":{"mode":"', 'y'.repeat(3000), 'y'.repeat(3000), '"}}'] });
    expect(answer.code).toBe(413);
    expect(JSON.parse(answer.body)).toMatchObject({ kind: 'Status', code: 413, reason: 'RequestEntityTooLarge', message: 'Warden: the request body is larger than 4096 bytes (the limit)' });
    // What reached the API server before the cut was never a whole request: nothing changed.
    expect(fake.get('configmaps', 'default', 'settings')).toMatchObject({ data: { mode: 'a' } });
    // A body under the limit still goes through.
    const small = await request(gateway, 'PATCH', '/api/v1/namespaces/default/configmaps/settings', { chunks: ['{"data":{"mode":"b"}}'] });
    expect(small.code).toBe(200);
  }, 30_000);
});

describe('Kubernetes timeouts', () => {
  let gateway: KubeGateway;
  beforeAll(async () => {
    gateway = await kubeGateway('{ loginTimeoutSeconds: 1, idleTimeoutSeconds: 1 }');
  });

  it('answers 408 and closes a connection whose request headers do not arrive within the login timeout', async () => {
    const socket = tls.connect({ host: '127.0.0.1', port: gateway.port, ca: gateway.ca, servername: 'localhost', rejectUnauthorized: false });
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('secureConnect', () => resolve()));
    // Headers begun, never finished.
    socket.write('GET /api HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    expect(received).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
  }, 20_000);

  it('closes a keep-alive connection idle for the idle timeout, ending its session', async () => {
    // A raw TLS connection: Node's own Agent would close it first, taking the server's Keep-Alive hint.
    const socket = tls.connect({ host: '127.0.0.1', port: gateway.port, ca: gateway.ca, servername: 'localhost', rejectUnauthorized: false });
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('secureConnect', () => resolve()));
    const serverEnded = new Promise<void>((resolve) => socket.once('end', () => resolve()));
    socket.write(`GET /api/v1/namespaces/default/configmaps/settings HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${gateway.token}\r\n\r\n`);
    // The gateway ends the connection (its FIN) once it has been idle after the answer.
    await serverEnded;
    expect(received).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(received).toMatch(/\r\nKeep-Alive: timeout=1\r\n/i);
    socket.destroy();
    let ends: AuditRecord[] = [];
    for (let attempt = 0; attempt < 100 && ends.length === 0; attempt++) {
      ends = (await auditRecords(gateway.dataDir)).filter((record) => record.type === 'session.end');
      if (ends.length === 0) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(ends).toEqual([expect.objectContaining({ reason: 'error', error: 'idle for 1 s' })]);
  }, 20_000);
});

describe('Kubernetes connections per listener', () => {
  it('answers a connection over maxConnectionsPerListener with a 503 Status, and serves again once one closes', async () => {
    const gateway = await kubeGateway('{ maxConnectionsPerListener: 1 }');
    const holder = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      let socket: Socket | undefined;
      expect((await request(gateway, 'GET', '/api/v1/namespaces/default/configmaps/settings', { agent: holder, onSocket: (opened) => (socket = opened) })).code).toBe(200);
      const refused = await request(gateway, 'GET', '/api/v1/namespaces/default/configmaps/settings');
      expect(refused.code).toBe(503);
      expect(JSON.parse(refused.body)).toMatchObject({ kind: 'Status', code: 503, reason: 'ServiceUnavailable', message: 'Warden: too many connections on this listener (the limit is 1); try again later' });
      const closed = new Promise<void>((resolve) => socket!.once('close', () => resolve()));
      holder.destroy();
      await closed;
      // The gateway sees the close a moment later.
      let again: Answer | undefined;
      for (let attempt = 0; attempt < 50 && again?.code !== 200; attempt++) {
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 50));
        again = await request(gateway, 'GET', '/api/v1/namespaces/default/configmaps/settings');
      }
      expect(again?.code).toBe(200);
    } finally {
      holder.destroy();
    }
  }, 30_000);
});
