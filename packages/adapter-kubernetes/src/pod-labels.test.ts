import { Agent } from 'node:https';
import { startFakeKubeApiserver } from '@warden/testing';
import { classifyKubeRequest, parseKubeRequest, type KubeResourceRequest } from './kube-request';
import { parseKubernetesTarget } from './kubernetes-target';
import { PodLabelCache, PodLabelError, fetchPodLabels, labelsOf, needsPodLabels, reachesIntoPod, type PodLabelLookup } from './pod-labels';
import { targetTls } from './target-client';

function resource(method: string, target: string): KubeResourceRequest {
  const parsed = parseKubeRequest(method, target);
  if (parsed.kind !== 'resource') throw new Error(`expected a resource request, got ${parsed.kind}`);
  return parsed;
}

describe('needsPodLabels', () => {
  it.each([
    ['GET', '/api/v1/namespaces/prod/pods/web-1/exec?command=id', true, true],
    ['GET', '/api/v1/namespaces/prod/pods/web-1/attach', true, true],
    ['GET', '/api/v1/namespaces/prod/pods/web-1/portforward?ports=80', true, true],
    ['GET', '/api/v1/namespaces/prod/pods/web-1/proxy/metrics', true, true],
    ['GET', '/api/v1/namespaces/prod/pods/web-1', true, false],
    ['DELETE', '/api/v1/namespaces/prod/pods/web-1', true, false],
    ['GET', '/api/v1/namespaces/prod/pods/web-1/log', true, false],
    ['GET', '/api/v1/namespaces/prod/pods', false, false],
    ['PATCH', '/api/v1/namespaces/prod/pods/web-1', false, false],
    ['GET', '/api/v1/namespaces/prod/configmaps/web-1', false, false],
    ['GET', '/apis/example.com/v1/namespaces/prod/pods/web-1', false, false],
  ])('%s %s: labels %s, reaches into the pod %s', (method, target, needs, reaches) => {
    const request = resource(method, target);
    expect(needsPodLabels(request)).toBe(needs);
    if (needs) expect(reachesIntoPod(request)).toBe(reaches);
  });

  it('puts each label among the objects as label:<key>=<value>, which rules glob on', () => {
    const request = resource('GET', '/api/v1/namespaces/prod/pods/web-1/exec?command=id');
    expect(classifyKubeRequest(request, { phi: 'true', 'app.kubernetes.io/name': 'web' }).objects).toEqual([
      'pods',
      'pods/web-1',
      'pods/exec',
      'namespace:prod',
      'label:phi=true',
      'label:app.kubernetes.io/name=web',
    ]);
    expect(classifyKubeRequest(request).objects).not.toContainEqual(expect.stringMatching(/^label:/));
  });
});

describe('labelsOf', () => {
  it('reads metadata.labels; a pod without labels has none', () => {
    expect(labelsOf({ metadata: { name: 'p', labels: { phi: 'true' } } })).toEqual({ phi: 'true' });
    expect(labelsOf({ metadata: { name: 'p' } })).toEqual({});
  });

  it('refuses what is not a pod document', () => {
    expect(() => labelsOf({ kind: 'Status' })).toThrow(PodLabelError);
    expect(() => labelsOf({ metadata: { labels: ['phi'] } })).toThrow(PodLabelError);
    expect(() => labelsOf({ metadata: { labels: { phi: true } } })).toThrow(PodLabelError);
    expect(() => labelsOf(null)).toThrow(PodLabelError);
  });
});

describe('PodLabelCache', () => {
  let now = 0;
  const clock = { now: () => new Date(now) };
  function cache(answers: (() => Promise<PodLabelLookup>)[]) {
    const calls: string[] = [];
    const lookups = new PodLabelCache(
      (namespace, name) => {
        calls.push(`${namespace}/${name}`);
        return answers.shift()!();
      },
      clock,
      2000,
    );
    return { lookups, calls };
  }
  const found = (value: string) => () => Promise.resolve<PodLabelLookup>({ kind: 'found', labels: { phi: value } });

  beforeEach(() => (now = 1_000_000));

  it('reuses an answer for ttlMs, shares a lookup in flight, and looks up again after', async () => {
    const { lookups, calls } = cache([found('true'), found('false')]);
    const [a, b] = await Promise.all([lookups.labels('prod', 'web-1'), lookups.labels('prod', 'web-1')]);
    expect(a).toEqual({ kind: 'found', labels: { phi: 'true' } });
    expect(b).toBe(a);
    now += 1999;
    expect(await lookups.labels('prod', 'web-1')).toBe(a);
    now += 1;
    expect(await lookups.labels('prod', 'web-1')).toEqual({ kind: 'found', labels: { phi: 'false' } });
    expect(calls).toEqual(['prod/web-1', 'prod/web-1']);
  });

  it('keeps namespaces apart and forgets a pod on request', async () => {
    const { lookups, calls } = cache([found('a'), found('b'), found('c')]);
    await lookups.labels('prod', 'web-1');
    await lookups.labels('default', 'web-1');
    lookups.forget('prod', 'web-1');
    expect(await lookups.labels('prod', 'web-1')).toEqual({ kind: 'found', labels: { phi: 'c' } });
    expect(calls).toEqual(['prod/web-1', 'default/web-1', 'prod/web-1']);
  });

  it('does not remember failures or missing pods', async () => {
    const { lookups, calls } = cache([() => Promise.reject(new Error('ECONNRESET')), () => Promise.resolve({ kind: 'not-found' }), found('true')]);
    await expect(lookups.labels('prod', 'web-1')).rejects.toThrow(PodLabelError);
    expect(await lookups.labels('prod', 'web-1')).toEqual({ kind: 'not-found' });
    expect(await lookups.labels('prod', 'web-1')).toEqual({ kind: 'found', labels: { phi: 'true' } });
    expect(calls).toHaveLength(3);
  });
});

describe('fetchPodLabels (target: the fake kube-apiserver test double)', () => {
  it('reads labels with Warden credential and no impersonation; 404 is not-found; a wrong token fails', async () => {
    const fake = await startFakeKubeApiserver({
      objects: [{ resource: 'pods', object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'db-0', namespace: 'prod', labels: { phi: 'true', app: 'db' } } } }],
    });
    try {
      const target = parseKubernetesTarget({ server: fake.url, token: fake.token, ca: fake.ca });
      const agent = new Agent(targetTls(target));
      expect(await fetchPodLabels(target, agent, 'prod', 'db-0')).toEqual({ kind: 'found', labels: { phi: 'true', app: 'db' } });
      expect(await fetchPodLabels(target, agent, 'prod', 'nope')).toEqual({ kind: 'not-found' });
      const seen = fake.requests.filter((request) => request.path === '/api/v1/namespaces/prod/pods/db-0');
      expect(seen).toEqual([expect.objectContaining({ method: 'GET', authorized: true, impersonateGroups: [] })]);
      expect(seen[0]!.impersonateUser).toBeUndefined();
      const wrong = parseKubernetesTarget({ server: fake.url, token: 'wrong', ca: fake.ca });
      await expect(fetchPodLabels(wrong, agent, 'prod', 'db-0')).rejects.toThrow('the API server answered HTTP 401');
      agent.destroy();
    } finally {
      await fake.stop();
    }
  });
});
