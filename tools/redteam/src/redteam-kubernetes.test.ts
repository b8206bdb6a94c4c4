/**
 * The Kubernetes attack corpus (attacks/kubernetes-attacks.ts), one test per attack, through one
 * gateway in front of the kube-apiserver TEST DOUBLE (tools/testing fake-kube-apiserver.ts: no
 * real API server runs here; it stores objects and records every request and header it gets).
 * After each attack: the stored objects are unchanged, the target received none of the requests
 * the attack must not get through, no header the caller must not pass, no impersonation other than
 * the caller's own, and the caller saw no protected data. Attacks marked `pending` wait for issue
 * 20 and are skipped (`REDTEAM_RUN_PENDING=1` runs them).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DevIssuer, silentLogger } from '@warden/core';
// The suite runs the gateway in-process from its sources, as redteam-gateway.ts explains.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { parseConfig, startGateway, type RunningGateway } from '@warden/gateway';
import { startFakeKubeApiserver, type FakeKubeApiserver, type FakeKubeRequest, type KubeObject } from '@warden/testing';
import { KUBERNETES_ATTACKS } from './attacks/kubernetes-attacks';
import { runKubernetesAttack, type KubeAnswer, type KubeCaller, type KubernetesAttack } from './kubernetes-attack';

const CALLERS: Readonly<Record<KubeCaller, { subject: string; groups: string[]; kind: 'human' | 'agent' }>> = {
  agent: { subject: 'redteam-agent', groups: ['agents'], kind: 'agent' },
  dev: { subject: 'redteam-dev', groups: ['devs'], kind: 'human' },
  ops: { subject: 'redteam-ops', groups: ['ops'], kind: 'human' },
};

const object = (kind: string, namespace: string, name: string, extra: Partial<KubeObject> & { labels?: Record<string, string> } = {}): KubeObject => {
  const { labels, ...rest } = extra;
  return { apiVersion: 'v1', kind, metadata: { name, namespace, ...(labels ? { labels } : {}) }, ...rest };
};
const containers = { spec: { containers: [{ name: 'main', image: 'busybox' }] } };
const SEEDED: readonly { resource: string; object: KubeObject }[] = [
  { resource: 'pods', object: object('Pod', 'default', 'web-1', { labels: { app: 'web-1' }, ...containers }) },
  { resource: 'pods', object: object('Pod', 'prod', 'web-1', { labels: { app: 'web-1' }, ...containers }) },
  { resource: 'pods', object: object('Pod', 'default', 'records-0', { labels: { app: 'records', phi: 'true' }, ...containers }) },
  { resource: 'secrets', object: object('Secret', 'default', 'db-password', { type: 'Opaque', data: { password: Buffer.from('hunter2').toString('base64') } }) },
  { resource: 'configmaps', object: object('ConfigMap', 'default', 'locked-settings', { data: { mode: 'locked' } }) },
  { resource: 'configmaps', object: object('ConfigMap', 'default', 'open-settings', { data: { mode: 'open' } }) },
];
/** Objects an attack might create: they must not exist afterwards. */
const MUST_NOT_EXIST: readonly [resource: string, namespace: string, name: string][] = [
  ['pods', 'default', 'planted'],
  ['configmaps', 'default', 'locked-new'],
  ['configmaps', 'default', 'agent-made'],
  ['configmaps', 'default', 'probe'],
];

let fake: FakeKubeApiserver;
let gateway: RunningGateway;
let dev: DevIssuer;
let dataDir: string;
let server: URL;
let gatewayCa: string;

beforeAll(async () => {
  fake = await startFakeKubeApiserver({ objects: SEEDED });
  dataDir = await mkdtemp(path.join(tmpdir(), 'warden-redteam-k8s-'));
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
  - { connection: k8s, groups: [agents], access: read-only }
rules:
  - name: agents-no-secrets
    match: { connection: k8s, objects: [secrets], kind: agent }
    effect: block
    reason: agents do not read secrets
  - name: no-delete-in-prod
    match: { connection: k8s, objects: ["namespace:prod"], text: "^(delete|deletecollection) " }
    effect: block
    reason: deleting in prod needs a change ticket
  - name: locked-configmaps
    match: { connection: k8s, action: write, objects: ["configmaps/locked-*"] }
    effect: block
    reason: locked configmaps are managed by the platform team
  - name: no-phi-pods-for-devs
    match: { connection: k8s, objects: ["label:phi=true"], groups: [devs] }
    effect: block
    reason: pods labelled phi=true are for the records team
`;
  gateway = await startGateway(parseConfig(yaml, 'redteam-k8s.yaml'), { log: silentLogger });
  dev = await DevIssuer.loadOrCreate(dataDir);
  server = new URL(`https://127.0.0.1:${gateway.addresses.get('k8s')!.port}`);
  gatewayCa = await readFile(path.join(dataDir, 'k8s.tls.crt'), 'utf8');
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  await fake?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const tokens = new Map<KubeCaller, Promise<string>>();
function token(caller: KubeCaller): Promise<string> {
  let pending = tokens.get(caller);
  if (!pending) tokens.set(caller, (pending = dev.issue(CALLERS[caller])));
  return pending;
}

/** The stored objects the attacks aim at, as the target holds them. */
function storeState(): string {
  const seeded = SEEDED.map(({ resource, object: seed }) => fake.get(resource, seed.metadata.namespace, seed.metadata.name) ?? null);
  const extra = MUST_NOT_EXIST.map(([resource, namespace, name]) => fake.get(resource, namespace, name) ?? null);
  return JSON.stringify({ seeded, extra });
}

function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function seenAs(request: FakeKubeRequest): string {
  return `${request.method} ${decoded(request.path)}${decoded(request.query)}`;
}

function transcript(attack: KubernetesAttack, answers: readonly KubeAnswer[], seen: readonly FakeKubeRequest[]): string {
  const steps = answers.map((answer, index) => `step ${index} ${JSON.stringify(attack.steps[index]).slice(0, 200)}: ${answer.status} ${answer.body.slice(0, 300)}`);
  return [...steps, `the target received: ${seen.map(seenAs).join(' | ') || 'nothing'}`].join('\n');
}

async function attempt(attack: KubernetesAttack): Promise<void> {
  const before = storeState();
  const from = fake.requests.length;
  const answers = await runKubernetesAttack(attack, { server, ca: gatewayCa, token: await token(attack.caller) });
  const seen = fake.requests.slice(from);
  const problems: string[] = [];
  if (storeState() !== before) {
    problems.push(`the target's objects changed:\n${before}\n${storeState()}`);
    // The next attacks start from the seeded objects again.
    for (const seed of SEEDED) fake.put(seed.resource, seed.object);
  }
  const caller = CALLERS[attack.caller];
  for (const request of seen) {
    if (attack.mustNotReach?.test(seenAs(request))) problems.push(`the target received ${seenAs(request)}`);
    for (const name of attack.mustNotForward ?? []) if (request.headers[name] !== undefined) problems.push(`the target received the caller's ${name} header`);
    for (const name of Object.keys(request.headers)) if (/^impersonate-(uid|extra-)/.test(name)) problems.push(`the target received ${name}`);
    if (request.impersonateUser !== undefined && request.impersonateUser !== caller.subject) problems.push(`the target was asked to impersonate ${request.impersonateUser}`);
    if (request.impersonateGroups.some((group) => !caller.groups.includes(group))) problems.push(`the target was asked to impersonate groups ${request.impersonateGroups.join(',')}`);
  }
  if (attack.mustNotSee && answers.some((answer) => attack.mustNotSee!.test(answer.body))) problems.push(`the caller saw protected data (${attack.mustNotSee})`);
  if (attack.expect === 'refused') {
    const answer = answers.at(-1)!;
    if (answer.status > 0 && answer.status < 400) problems.push(`the payload was answered ${answer.status}, not refused`);
  }
  if (problems.length > 0) throw new Error(`${problems.join('\n')}\n${transcript(attack, answers, seen)}`);
}

const runPending = process.env['REDTEAM_RUN_PENDING'] === '1';

describe('the Kubernetes corpus', () => {
  it('names each attack once, in kebab-case', () => {
    const ids = KUBERNETES_ATTACKS.map((attack) => attack.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.filter((id) => !/^[a-z0-9]+(-[a-z0-9]+)*$/.test(id))).toEqual([]);
  });

  it('lets each caller do what its grant allows (the refusals below are not a blanket refusal)', async () => {
    const read = await runKubernetesAttack({ id: 'control', class: 'verbs', caller: 'agent', steps: [{ method: 'GET', path: '/api/v1/namespaces/default/configmaps/open-settings' }], expect: 'no-effect' }, { server, ca: gatewayCa, token: await token('agent') });
    expect(read[0]!.status).toBe(200);
    const pods = await runKubernetesAttack({ id: 'control', class: 'verbs', caller: 'dev', steps: [{ method: 'GET', path: '/api/v1/namespaces/default/pods/web-1' }], expect: 'no-effect' }, { server, ca: gatewayCa, token: await token('dev') });
    expect(pods[0]!.status).toBe(200);
    const secret = await runKubernetesAttack({ id: 'control', class: 'verbs', caller: 'ops', steps: [{ method: 'GET', path: '/api/v1/namespaces/default/secrets/db-password' }], expect: 'no-effect' }, { server, ca: gatewayCa, token: await token('ops') });
    expect(secret[0]!.status).toBe(200);
  });
});

describe('Kubernetes attacks through Warden (target: the kube-apiserver test double)', () => {
  for (const attack of KUBERNETES_ATTACKS) {
    const name = `${attack.id} [${attack.class}, ${attack.caller}]${attack.pending ? ` (pending: ${attack.pending})` : ''}`;
    (attack.pending && !runPending ? it.skip : it)(name, () => attempt(attack), 15_000);
  }
});
