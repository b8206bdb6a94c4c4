/**
 * A TEST DOUBLE for kube-apiserver: no real Kubernetes API server can run on this machine, so the
 * Kubernetes adapter's tests run real `kubectl` (1.32) and `@kubernetes/client-node` against this.
 * It speaks the real wire protocol (HTTPS, bearer tokens, JSON, `Status` errors, chunked watch
 * streams, WebSocket exec) for the part of the API those clients use in the tests:
 *
 * - discovery: `/version`, `/api`, `/api/v1`, `/apis` (an empty group list; the aggregated
 *   discovery kubectl asks for first is answered in the legacy format, which kubectl accepts),
 *   `/openapi/v2` and `/openapi/v3` → 404 (kubectl then skips client-side validation);
 * - `namespaces` (cluster-scoped), `pods`, `secrets`, `configmaps` (namespaced): list (also across
 *   namespaces, with `labelSelector` k=v and `fieldSelector` metadata.name/metadata.namespace),
 *   get, create, update (PUT), JSON merge patch, delete, and `watch=true` streams (newline-delimited
 *   JSON events, resumable from a `resourceVersion`); `kubectl get` tables (`as=Table`);
 * - `pods/log` (`follow=true` streams what `appendLog` adds until `endLog`);
 * - `pods/exec` over WebSocket (`v5.channel.k8s.io`, `v4.channel.k8s.io`): the command runs as a
 *   LOCAL child process on this machine (with `tty=true`, under `script` for a pseudo-terminal).
 *
 * - protobuf request bodies (`application/vnd.kubernetes.protobuf`, what `kubectl create configmap`
 *   sends) for creating a ConfigMap (metadata name/namespace/labels and `data`); answers are JSON.
 *
 * Not covered: other resources and API groups, protobuf bodies of other kinds (answered 415),
 * server-side apply, RBAC. It does not act on
 * `Impersonate-*` headers; it records them (and the bearer token check) so tests can assert what
 * Warden sent. `setFault` makes one path fail with an error Status (to test Warden's fail-closed
 * paths, e.g. a pod-label lookup that fails).
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { generate } from 'selfsigned';
import { WebSocketServer, type WebSocket } from 'ws';

/** One request as the fake server saw it. */
export interface FakeKubeRequest {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly authorized: boolean;
  readonly impersonateUser?: string;
  readonly impersonateGroups: readonly string[];
  readonly websocket: boolean;
  readonly contentType?: string;
  /** Every header as received (lower-case names): what a client could pass through Warden. */
  readonly headers: Readonly<Record<string, readonly string[]>>;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; uid?: string; resourceVersion?: string; creationTimestamp?: string; labels?: Record<string, string>; [key: string]: unknown };
  [key: string]: unknown;
}

export interface FakeKubeApiserver {
  /** `https://127.0.0.1:<port>` */
  readonly url: string;
  /** The server's self-signed certificate (PEM): the CA to trust. */
  readonly ca: string;
  /** The bearer token it accepts (Warden's credential for the target). */
  readonly token: string;
  /** Every request so far, oldest first. */
  readonly requests: FakeKubeRequest[];
  /** The stored object, or undefined. `resource` is plural (`pods`). */
  get(resource: string, namespace: string | undefined, name: string): KubeObject | undefined;
  /** Stores (creates or replaces) an object directly, emitting a watch event. */
  put(resource: string, object: KubeObject): void;
  /** Appends text to a pod's log (followers see it at once). */
  appendLog(namespace: string, pod: string, text: string): void;
  /** Ends a pod's log stream for followers. */
  endLog(namespace: string, pod: string): void;
  /** Makes requests for one path fail with a Status of `code` (undefined: no fault). */
  setFault(fault: FakeKubeFault | undefined): void;
  stop(): Promise<void>;
}

/**
 * A failure the test double injects: requests with this method and exact path get an error Status
 * of `code`, or with `code: 'drop-reused-connection'`, the first such request that arrives on a
 * kept-alive connection has its connection closed without an answer (what a client sees when the
 * server closed an idle connection just as the client reused it); later ones are answered.
 */
export interface FakeKubeFault {
  readonly method: string;
  readonly path: string;
  readonly code: number | 'drop-reused-connection';
}

export interface StartFakeKubeApiserverOptions {
  /** The token Warden must present; default: a random one. */
  readonly token?: string;
  /** Objects to start with, in addition to namespaces `default` and `prod`. */
  readonly objects?: readonly { resource: string; object: KubeObject }[];
}

/** Resources served, as `/api/v1` lists them. */
const RESOURCES = {
  namespaces: { kind: 'Namespace', singularName: 'namespace', namespaced: false, shortNames: ['ns'] },
  pods: { kind: 'Pod', singularName: 'pod', namespaced: true, shortNames: ['po'] },
  secrets: { kind: 'Secret', singularName: 'secret', namespaced: true, shortNames: [] },
  configmaps: { kind: 'ConfigMap', singularName: 'configmap', namespaced: true, shortNames: ['cm'] },
} as const;
type ResourceName = keyof typeof RESOURCES;
const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

interface WatchEvent {
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly resource: ResourceName;
  readonly object: KubeObject;
  readonly rv: number;
}

interface Watcher {
  readonly resource: ResourceName;
  readonly namespace: string | undefined;
  readonly filter: (object: KubeObject) => boolean;
  readonly send: (event: WatchEvent) => void;
}

interface PodLog {
  text: string;
  ended: boolean;
  readonly followers: Set<(chunk: string | null) => void>;
}

/** Starts the test double on 127.0.0.1 (port 0). */
export async function startFakeKubeApiserver(options: StartFakeKubeApiserverOptions = {}): Promise<FakeKubeApiserver> {
  const token = options.token ?? randomUUID();
  const pems = await generate([{ name: 'commonName', value: 'fake-kube-apiserver' }], {
    keySize: 2048,
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] }],
  });
  const store = new Map<string, KubeObject>();
  const events: WatchEvent[] = [];
  const watchers = new Set<Watcher>();
  const logs = new Map<string, PodLog>();
  const requests: FakeKubeRequest[] = [];
  let rv = 100;
  let fault: FakeKubeFault | undefined;
  /** Requests served on each connection (to tell a kept-alive connection from a new one). */
  const servedOn = new WeakMap<object, number>();

  const keyOf = (resource: string, namespace: string | undefined, name: string) => `${resource}/${namespace ?? ''}/${name}`;
  const emit = (type: WatchEvent['type'], resource: ResourceName, object: KubeObject) => {
    const event = { type, resource, object, rv: Number(object.metadata.resourceVersion) };
    events.push(event);
    for (const watcher of watchers) {
      if (watcher.resource === resource && (watcher.namespace === undefined || watcher.namespace === object.metadata.namespace) && watcher.filter(object)) watcher.send(event);
    }
  };
  const put = (resource: string, object: KubeObject, type: 'ADDED' | 'MODIFIED' = 'ADDED') => {
    const spec = RESOURCES[resource as ResourceName];
    if (!spec) throw new Error(`fake kube-apiserver: unknown resource ${resource}`);
    const stored: KubeObject = {
      ...object,
      apiVersion: 'v1',
      kind: spec.kind,
      metadata: { creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), uid: randomUUID(), ...object.metadata, resourceVersion: String(++rv) },
    };
    if (resource === 'pods') stored['status'] ??= { phase: 'Running', containerStatuses: [{ name: 'main', ready: true, restartCount: 0 }] };
    store.set(keyOf(resource, stored.metadata.namespace, stored.metadata.name), stored);
    emit(type, resource as ResourceName, stored);
    return stored;
  };
  const remove = (resource: ResourceName, object: KubeObject) => {
    store.delete(keyOf(resource, object.metadata.namespace, object.metadata.name));
    const gone = { ...object, metadata: { ...object.metadata, resourceVersion: String(++rv) } };
    emit('DELETED', resource, gone);
    return gone;
  };
  const logOf = (namespace: string, pod: string): PodLog => {
    const key = `${namespace}/${pod}`;
    let log = logs.get(key);
    if (!log) logs.set(key, (log = { text: '', ended: false, followers: new Set() }));
    return log;
  };

  for (const name of ['default', 'prod']) put('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name }, status: { phase: 'Active' } });
  for (const { resource, object } of options.objects ?? []) put(resource, object);

  const server: Server = createServer({ cert: pems.cert, key: pems.private }, (req, res) => {
    const record = recordRequest(req, token, false);
    requests.push(record);
    if (!record.authorized) return sendStatus(res, 401, 'Unauthorized', 'Unauthorized');
    if (fault && fault.method === record.method && fault.path === record.path) {
      if (typeof fault.code === 'number') return sendStatus(res, fault.code, 'InternalError', 'injected fault');
      const served = servedOn.get(req.socket) ?? 0;
      if (served > 0) {
        fault = undefined;
        req.socket.destroy();
        return;
      }
    }
    servedOn.set(req.socket, (servedOn.get(req.socket) ?? 0) + 1);
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      try {
        let body = Buffer.concat(chunks).toString('utf8');
        // kubectl's typed clients (`kubectl create configmap …`) send protobuf.
        if ((req.headers['content-type'] ?? '').includes('protobuf')) {
          const object = decodeProtobufConfigMap(Buffer.concat(chunks));
          if (!object) return sendStatus(res, 415, 'UnsupportedMediaType', 'the fake kube-apiserver reads protobuf bodies of ConfigMaps only');
          body = JSON.stringify(object);
        }
        route(req, res, body);
      } catch (error) {
        sendStatus(res, 500, 'InternalError', (error as Error).message);
      }
    });
  });

  function route(req: IncomingMessage, res: ServerResponse, body: string): void {
    const url = new URL(req.url ?? '/', 'https://fake');
    const path = url.pathname.replace(/\/$/, '');
    const method = req.method ?? 'GET';
    if (path === '/version') return sendJson(res, 200, { major: '1', minor: '32', gitVersion: 'v1.32.0-fake', platform: 'linux/amd64', goVersion: 'go1.23' });
    if (path === '/api') return sendJson(res, 200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: `127.0.0.1:${port()}` }] });
    if (path === '/apis') return sendJson(res, 200, { kind: 'APIGroupList', apiVersion: 'v1', groups: [] });
    if (path === '/api/v1') return sendJson(res, 200, resourceList());
    if (path.startsWith('/openapi')) return sendStatus(res, 404, 'NotFound', 'the fake kube-apiserver serves no OpenAPI document');
    const parts = path.split('/').filter(Boolean);
    if (parts[0] !== 'api' || parts[1] !== 'v1') return sendStatus(res, 404, 'NotFound', 'the server could not find the requested resource');
    let rest = parts.slice(2);
    let namespace: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
    const resource = rest[0] as ResourceName;
    const spec = RESOURCES[resource];
    if (!spec) return sendStatus(res, 404, 'NotFound', 'the server could not find the requested resource');
    const name = rest[1];
    const subresource = rest[2];
    if (resource === 'namespaces' && namespace !== undefined) return sendStatus(res, 404, 'NotFound', 'the server could not find the requested resource');
    if (subresource === 'log' && resource === 'pods' && namespace !== undefined && name !== undefined && method === 'GET') return podLog(res, url, namespace, name);
    if (subresource !== undefined) return sendStatus(res, 404, 'NotFound', `subresource ${subresource} is not served over plain HTTP here`);

    if (name === undefined) {
      if (method === 'GET') {
        const filter = selectorFilter(url);
        if (url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1') return watch(req, res, url, resource, namespace, filter);
        return list(req, res, url, resource, namespace, filter);
      }
      if (method === 'POST') {
        const object = JSON.parse(body) as KubeObject;
        if (!object.metadata?.name) return sendStatus(res, 422, 'Invalid', `${spec.kind} is invalid: metadata.name: Required value: name is required`);
        const target = spec.namespaced ? (namespace ?? object.metadata.namespace ?? 'default') : undefined;
        if (spec.namespaced && !store.has(keyOf('namespaces', undefined, target!))) return sendStatus(res, 404, 'NotFound', `namespaces "${target}" not found`);
        if (store.has(keyOf(resource, target, object.metadata.name))) return sendStatus(res, 409, 'AlreadyExists', `${resource} "${object.metadata.name}" already exists`, { name: object.metadata.name, kind: resource });
        const { namespace: _ignored, ...metadata } = object.metadata;
        return sendJson(res, 201, put(resource, { ...object, metadata: { ...metadata, name: object.metadata.name, ...(target === undefined ? {} : { namespace: target }) } }));
      }
      return sendStatus(res, 405, 'MethodNotAllowed', `${method} is not supported on a collection here`);
    }
    const existing = store.get(keyOf(resource, namespace, name));
    const notFound = () => sendStatus(res, 404, 'NotFound', `${resource} "${name}" not found`, { name, kind: resource });
    if (method === 'GET') return existing ? sendJson(res, 200, wantsTable(req) ? table(resource, [existing], url) : existing) : notFound();
    if (method === 'DELETE') {
      if (!existing) return notFound();
      return sendJson(res, 200, remove(resource, existing));
    }
    if (method === 'PUT') {
      if (!existing) return notFound();
      const object = JSON.parse(body) as KubeObject;
      return sendJson(res, 200, put(resource, { ...object, metadata: { ...object.metadata, name, ...(namespace === undefined ? {} : { namespace }) } }, 'MODIFIED'));
    }
    if (method === 'PATCH') {
      if (!existing) return notFound();
      const patched = mergePatch(existing, JSON.parse(body)) as KubeObject;
      return sendJson(res, 200, put(resource, { ...patched, metadata: { ...patched.metadata, name, ...(namespace === undefined ? {} : { namespace }) } }, 'MODIFIED'));
    }
    return sendStatus(res, 405, 'MethodNotAllowed', `${method} is not supported here`);
  }

  function matching(resource: ResourceName, namespace: string | undefined, filter: (object: KubeObject) => boolean): KubeObject[] {
    return [...store.entries()]
      .filter(([key]) => key.startsWith(`${resource}/`))
      .map(([, object]) => object)
      .filter((object) => (namespace === undefined || object.metadata.namespace === namespace) && filter(object))
      .sort((a, b) => `${a.metadata.namespace ?? ''}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace ?? ''}/${b.metadata.name}`));
  }

  function list(req: IncomingMessage, res: ServerResponse, url: URL, resource: ResourceName, namespace: string | undefined, filter: (object: KubeObject) => boolean): void {
    const items = matching(resource, namespace, filter);
    if (wantsTable(req)) return sendJson(res, 200, table(resource, items, url));
    sendJson(res, 200, { kind: `${RESOURCES[resource].kind}List`, apiVersion: 'v1', metadata: { resourceVersion: String(rv) }, items });
  }

  function watch(req: IncomingMessage, res: ServerResponse, url: URL, resource: ResourceName, namespace: string | undefined, filter: (object: KubeObject) => boolean): void {
    const asTable = wantsTable(req);
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    const send = (event: { type: string; object: KubeObject }) => {
      const object = asTable ? table(event.object.metadata ? resourceOfKind(event.object.kind) : resource, [event.object], url) : event.object;
      res.write(`${JSON.stringify({ type: event.type, object })}\n`);
    };
    const from = url.searchParams.get('resourceVersion');
    if (from === null || from === '' || from === '0') {
      for (const object of matching(resource, namespace, filter)) send({ type: 'ADDED', object });
    } else {
      for (const event of events) {
        if (event.rv > Number(from) && event.resource === resource && (namespace === undefined || event.object.metadata.namespace === namespace) && filter(event.object)) send(event);
      }
    }
    const watcher: Watcher = { resource, namespace, filter, send };
    watchers.add(watcher);
    const timeout = Number(url.searchParams.get('timeoutSeconds') ?? '0');
    const timer = timeout > 0 ? setTimeout(() => res.end(), timeout * 1000) : undefined;
    res.on('close', () => {
      watchers.delete(watcher);
      if (timer) clearTimeout(timer);
    });
  }

  function podLog(res: ServerResponse, url: URL, namespace: string, pod: string): void {
    if (!store.has(keyOf('pods', namespace, pod))) return sendStatus(res, 404, 'NotFound', `pods "${pod}" not found`, { name: pod, kind: 'pods' });
    const log = logOf(namespace, pod);
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked' });
    res.write(log.text);
    if (url.searchParams.get('follow') !== 'true' || log.ended) return void res.end();
    const follower = (chunk: string | null) => (chunk === null ? res.end() : res.write(chunk));
    log.followers.add(follower);
    res.on('close', () => log.followers.delete(follower));
  }

  // exec over WebSocket.
  const wss = new WebSocketServer({ noServer: true, handleProtocols: (protocols) => ['v5.channel.k8s.io', 'v4.channel.k8s.io'].find((p) => protocols.has(p)) ?? false });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const record = recordRequest(req, token, true);
    requests.push(record);
    const url = new URL(req.url ?? '/', 'https://fake');
    const match = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/exec$/.exec(url.pathname);
    const reject = (code: number, message: string) => {
      const body = JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, code });
      socket.end(`HTTP/1.1 ${code} ${code === 401 ? 'Unauthorized' : 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    };
    if (!record.authorized) return reject(401, 'Unauthorized');
    if (!match) return reject(404, 'the fake kube-apiserver serves only pods/exec over WebSocket');
    if (!store.has(keyOf('pods', decodeURIComponent(match[1]!), decodeURIComponent(match[2]!)))) return reject(404, `pods "${match[2]}" not found`);
    const command = url.searchParams.getAll('command');
    if (command.length === 0) return reject(400, 'you must specify at least 1 command');
    wss.handleUpgrade(req, socket, head, (ws) => runExec(ws, command, url.searchParams.get('tty') === 'true', url.searchParams.get('stdin') === 'true'));
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = () => (server.address() as AddressInfo).port;

  return {
    url: `https://127.0.0.1:${port()}`,
    ca: pems.cert,
    token,
    requests,
    get: (resource, namespace, name) => store.get(keyOf(resource, namespace, name)),
    put: (resource, object) => void put(resource, object, store.has(keyOf(resource, object.metadata.namespace, object.metadata.name)) ? 'MODIFIED' : 'ADDED'),
    appendLog: (namespace, pod, text) => {
      const log = logOf(namespace, pod);
      log.text += text;
      for (const follower of log.followers) follower(text);
    },
    setFault: (next) => {
      fault = next;
    },
    endLog: (namespace, pod) => {
      const log = logOf(namespace, pod);
      log.ended = true;
      for (const follower of log.followers) follower(null);
    },
    stop: async () => {
      for (const client of wss.clients) client.terminate();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Runs the command locally and relays it over the channel protocol: each binary message is one
 * channel byte (0 stdin, 1 stdout, 2 stderr, 3 status, 4 resize, 255 close in v5) and data.
 */
function runExec(ws: WebSocket, command: string[], tty: boolean, stdin: boolean): void {
  const quoted = command.map((word) => `'${word.replace(/'/g, `'\\''`)}'`).join(' ');
  const child = tty ? spawn('script', ['-qfec', quoted, '/dev/null'], { stdio: 'pipe', env: { ...process.env, TERM: 'xterm' } }) : spawn(command[0]!, command.slice(1), { stdio: 'pipe' });
  const frame = (channel: number, data: Buffer | string) => Buffer.concat([Buffer.from([channel]), Buffer.isBuffer(data) ? data : Buffer.from(data)]);
  let failed: string | undefined;
  child.on('error', (error) => (failed = error.message));
  // A command that exits without reading its input must not crash the server with EPIPE.
  child.stdin.on('error', () => undefined);
  child.stdout.on('data', (data: Buffer) => ws.send(frame(1, data)));
  child.stderr.on('data', (data: Buffer) => ws.send(frame(tty ? 1 : 2, data)));
  if (!stdin) child.stdin.end();
  ws.on('message', (data: Buffer) => {
    const channel = data[0];
    if (channel === 0 && stdin) child.stdin.write(data.subarray(1));
    else if (channel === 255 && data[1] === 0) child.stdin.end();
  });
  ws.on('close', () => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  child.on('close', (code) => {
    const status =
      failed !== undefined
        ? { metadata: {}, status: 'Failure', message: failed, reason: 'InternalError' }
        : code === 0
          ? { metadata: {}, status: 'Success' }
          : { metadata: {}, status: 'Failure', message: `command terminated with non-zero exit code: exit status ${code}`, reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: String(code) }] } };
    ws.send(frame(3, JSON.stringify(status)), () => ws.close(1000));
  });
}

function recordRequest(req: IncomingMessage, token: string, websocket: boolean): FakeKubeRequest {
  const url = new URL(req.url ?? '/', 'https://fake');
  const groups = req.headersDistinct['impersonate-group'] ?? [];
  const user = req.headers['impersonate-user'];
  return {
    method: req.method ?? 'GET',
    path: url.pathname,
    query: url.search,
    authorized: req.headers.authorization === `Bearer ${token}`,
    ...(typeof user === 'string' ? { impersonateUser: user } : {}),
    impersonateGroups: groups,
    websocket,
    ...(req.headers['content-type'] ? { contentType: req.headers['content-type'] } : {}),
    headers: Object.fromEntries(Object.entries(req.headersDistinct).map(([name, values]) => [name, values ?? []])),
  };
}

function resourceList() {
  return {
    kind: 'APIResourceList',
    groupVersion: 'v1',
    resources: [
      ...Object.entries(RESOURCES).map(([name, spec]) => ({ name, singularName: spec.singularName, namespaced: spec.namespaced, kind: spec.kind, verbs: VERBS, shortNames: spec.shortNames })),
      { name: 'pods/log', singularName: '', namespaced: true, kind: 'Pod', verbs: ['get'] },
      { name: 'pods/exec', singularName: '', namespaced: true, kind: 'PodExecOptions', verbs: ['create', 'get'] },
    ],
  };
}

function resourceOfKind(kind: string): ResourceName {
  return (Object.entries(RESOURCES).find(([, spec]) => spec.kind === kind)?.[0] ?? 'pods') as ResourceName;
}

/** `kubectl get` asks for `application/json;as=Table;v=v1;g=meta.k8s.io` first. */
function wantsTable(req: IncomingMessage): boolean {
  return /as=Table/.test(req.headers.accept ?? '');
}

function table(resource: ResourceName, objects: readonly KubeObject[], url: URL) {
  const age = (object: KubeObject) => `${Math.max(0, Math.round((Date.now() - Date.parse(object.metadata.creationTimestamp ?? '')) / 1000))}s`;
  const columns: [string, (object: KubeObject) => string | number][] = [['Name', (object) => object.metadata.name]];
  if (resource === 'pods') columns.push(['Ready', () => '1/1'], ['Status', (object) => String((object['status'] as { phase?: string } | undefined)?.phase ?? 'Unknown')], ['Restarts', () => 0]);
  if (resource === 'secrets') columns.push(['Type', (object) => String(object['type'] ?? 'Opaque')], ['Data', (object) => Object.keys((object['data'] as object | undefined) ?? {}).length]);
  if (resource === 'configmaps') columns.push(['Data', (object) => Object.keys((object['data'] as object | undefined) ?? {}).length]);
  if (resource === 'namespaces') columns.push(['Status', (object) => String((object['status'] as { phase?: string } | undefined)?.phase ?? 'Active')]);
  columns.push(['Age', age]);
  const includeObject = url.searchParams.get('includeObject') ?? 'Metadata';
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion: String(objects.at(-1)?.metadata.resourceVersion ?? '0') },
    columnDefinitions: columns.map(([name]) => ({ name, type: name === 'Restarts' || name === 'Data' ? 'integer' : 'string', format: name === 'Name' ? 'name' : '', description: name, priority: 0 })),
    rows: objects.map((object) => ({
      cells: columns.map(([, cell]) => cell(object)),
      object: includeObject === 'Object' ? object : includeObject === 'None' ? undefined : { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: object.metadata },
    })),
  };
}

function selectorFilter(url: URL): (object: KubeObject) => boolean {
  const tests: ((object: KubeObject) => boolean)[] = [];
  for (const term of (url.searchParams.get('labelSelector') ?? '').split(',').filter(Boolean)) {
    const [key, value] = term.split('=');
    tests.push((object) => object.metadata.labels?.[key!] === value);
  }
  for (const term of (url.searchParams.get('fieldSelector') ?? '').split(',').filter(Boolean)) {
    const [key, value] = term.split('=');
    if (key === 'metadata.name') tests.push((object) => object.metadata.name === value);
    else if (key === 'metadata.namespace') tests.push((object) => object.metadata.namespace === value);
  }
  return (object) => tests.every((test) => test(object));
}

/** RFC 7386 JSON merge patch (strategic merge patches on these kinds reduce to it). */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

function sendJson(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function sendStatus(res: ServerResponse, code: number, reason: string, message: string, details?: Record<string, string>): void {
  sendJson(res, code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code, ...(details ? { details } : {}) });
}

/**
 * A ConfigMap in the Kubernetes protobuf encoding: `k8s\0`, then runtime.Unknown { typeMeta = 1
 * { apiVersion = 1, kind = 2 }, raw = 2 }, raw being ConfigMap { metadata = 1 { name = 1,
 * namespace = 3, labels = 11 }, data = 2 (map entries key = 1, value = 2) }. Undefined for anything
 * else. The double's own reading, independent of the code under test.
 */
function decodeProtobufConfigMap(body: Buffer): KubeObject | undefined {
  if (body.length < 4 || body.toString('latin1', 0, 4) !== 'k8s\u0000') return undefined;
  const envelope = protobufFields(body.subarray(4));
  const typeMeta = protobufFields(envelope.get(1)?.[0] ?? Buffer.alloc(0));
  if (typeMeta.get(2)?.[0]?.toString('utf8') !== 'ConfigMap') return undefined;
  const configMap = protobufFields(envelope.get(2)?.[0] ?? Buffer.alloc(0));
  const meta = protobufFields(configMap.get(1)?.[0] ?? Buffer.alloc(0));
  const pairs = (entries: Buffer[] | undefined) =>
    Object.fromEntries((entries ?? []).map((entry) => {
      const fields = protobufFields(entry);
      return [fields.get(1)?.[0]?.toString('utf8') ?? '', fields.get(2)?.[0]?.toString('utf8') ?? ''];
    }));
  const name = meta.get(1)?.[0]?.toString('utf8');
  const namespace = meta.get(3)?.[0]?.toString('utf8');
  const labels = pairs(meta.get(11));
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { ...(name ? { name } : {}), ...(namespace ? { namespace } : {}), ...(Object.keys(labels).length > 0 ? { labels } : {}) } as KubeObject['metadata'],
    data: pairs(configMap.get(2)),
  };
}

/** Length-delimited fields of a protobuf message by number (varint and fixed fields skipped). */
function protobufFields(message: Buffer): Map<number, Buffer[]> {
  const fields = new Map<number, Buffer[]>();
  let offset = 0;
  const varint = () => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = message[offset++];
      if (byte === undefined) throw new Error('truncated protobuf');
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
  };
  while (offset < message.length) {
    const key = varint();
    const wire = key & 7;
    if (wire === 0) varint();
    else if (wire === 1) offset += 8;
    else if (wire === 5) offset += 4;
    else if (wire === 2) {
      const length = varint();
      const list = fields.get(key >>> 3) ?? [];
      list.push(message.subarray(offset, offset + length));
      fields.set(key >>> 3, list);
      offset += length;
    } else throw new Error(`protobuf wire type ${wire}`);
  }
  return fields;
}
