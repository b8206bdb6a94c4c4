/**
 * Pod labels for policy: rules can hold `exec` into pods labelled `phi=true` only if Warden knows
 * the pod's labels before it decides. The request URL does not carry them, so Warden reads the pod
 * from the target with its own credential (not the caller's: the caller may exec without the right
 * to get the pod); `requestObjects` adds each label to the command's objects as `label:<key>=<value>`.
 *
 * Lookups are cached briefly per namespace/name (a label changed on the target is seen within
 * `ttlMs`) and concurrent lookups of the same pod share one request. The cache takes a fetch
 * function, so it holds no sockets; `fetchPodLabels` below is the HTTPS side.
 */
import { request as httpsRequest, type Agent } from 'node:https';
import type { Clock } from '@warden/core';
import type { KubeResourceRequest } from './kube-request';
import type { KubernetesTarget } from './kubernetes-target';
import { isStaleConnection, targetUrl } from './target-client';

/** What the target said about a pod. */
export type PodLabelLookup = { readonly kind: 'found'; readonly labels: Readonly<Record<string, string>> } | { readonly kind: 'not-found' };

/** A lookup that did not get an answer Warden can use (unreachable, refused, not JSON). */
export class PodLabelError extends Error {}

/** Verbs on a named pod whose decision includes the pod's labels; the first four reach into the pod. */
const LABELLED_VERBS: ReadonlySet<string> = new Set(['exec', 'attach', 'portforward', 'proxy', 'logs', 'get', 'delete']);
/** Verbs that reach into the pod: without the labels there is no decision (and no such pod, no exec). */
const STREAM_VERBS: ReadonlySet<string> = new Set(['exec', 'attach', 'portforward', 'proxy']);

/** Whether a request's decision needs the labels of the pod it names. */
export function needsPodLabels(request: KubeResourceRequest): boolean {
  if (request.group !== '' || request.resource !== 'pods' || request.namespace === undefined || request.name === undefined) return false;
  // `get pods/x/status` is the pod's own data too: labelled like a get.
  return LABELLED_VERBS.has(request.verb);
}

/** exec/attach/portforward/proxy: a pod that is not there is refused (the target would refuse it too). */
export function reachesIntoPod(request: KubeResourceRequest): boolean {
  return STREAM_VERBS.has(request.verb);
}

interface CacheEntry {
  readonly lookup: Promise<PodLabelLookup>;
  /** When the answer arrived (ms); undefined while in flight. */
  at?: number;
}

/** Most pods remembered at once; the oldest entry goes first. */
const MAX_ENTRIES = 10_000;

export class PodLabelCache {
  private readonly entries = new Map<string, CacheEntry>();

  constructor(
    private readonly fetch: (namespace: string, name: string) => Promise<PodLabelLookup>,
    private readonly clock: Clock,
    /** How long an answer is reused. */
    private readonly ttlMs = 2000,
  ) {}

  /** The pod's labels, from the cache or the target; rejects with `PodLabelError` when unknown. */
  labels(namespace: string, name: string): Promise<PodLabelLookup> {
    const key = `${namespace}/${name}`;
    const now = this.clock.now().getTime();
    const cached = this.entries.get(key);
    if (cached && (cached.at === undefined || now - cached.at < this.ttlMs)) return cached.lookup;
    this.entries.delete(key);
    const entry: CacheEntry = {
      lookup: this.fetch(namespace, name).then(
        (lookup) => {
          // Only a pod that exists is remembered: a pod created a moment later is looked up again.
          if (lookup.kind === 'found' && this.entries.get(key) === entry) entry.at = this.clock.now().getTime();
          else if (this.entries.get(key) === entry) this.entries.delete(key);
          return lookup;
        },
        (error: unknown) => {
          if (this.entries.get(key) === entry) this.entries.delete(key);
          throw error instanceof PodLabelError ? error : new PodLabelError(error instanceof Error ? error.message : String(error));
        },
      ),
    };
    this.entries.set(key, entry);
    if (this.entries.size > MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
    return entry.lookup;
  }

  /** Forgets a pod (Warden forwarded a change to it). */
  forget(namespace: string, name: string): void {
    this.entries.delete(`${namespace}/${name}`);
  }
}

/** Largest pod document Warden reads for its labels. */
const MAX_POD_BYTES = 4 * 1024 * 1024;

/** Reads a pod's labels from the target with Warden's own credential (no impersonation). */
export function fetchPodLabels(target: KubernetesTarget, agent: Agent, namespace: string, name: string): Promise<PodLabelLookup> {
  const url = targetUrl(target, `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}`);
  return lookUp(0);

  function lookUp(retries: number): Promise<PodLabelLookup> {
    return new Promise<PodLabelLookup>((resolve, reject) => {
      const request = httpsRequest(url, {
        method: 'GET',
        agent,
        timeout: target.connectTimeoutMs,
        headers: {
          host: target.server.host,
          // Metadata only from a real API server; a server that ignores the `as` asks sends the whole pod.
          accept: 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1, application/json',
          'user-agent': 'warden-pod-labels',
          ...(target.token === undefined ? {} : { authorization: `Bearer ${target.token}` }),
        },
      });
      request.on('timeout', () => request.destroy(new PodLabelError('the API server did not answer in time')));
      request.on('error', (error) => {
        // A kept-alive connection the API server had closed: ask again (several may have gone stale together).
        if (retries < 3 && isStaleConnection(request, error)) return resolve(lookUp(retries + 1));
        reject(error instanceof PodLabelError ? error : new PodLabelError('the API server is unreachable'));
      });
      request.on('response', (answer) => {
        const chunks: Buffer[] = [];
        let size = 0;
        answer.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_POD_BYTES) return answer.destroy(new PodLabelError('the pod document is too large'));
          chunks.push(chunk);
        });
        answer.on('error', (error) => reject(error instanceof PodLabelError ? error : new PodLabelError('the answer was cut off')));
        answer.on('end', () => {
          const code = answer.statusCode ?? 0;
          if (code === 404) return resolve({ kind: 'not-found' });
          if (code !== 200) return reject(new PodLabelError(`the API server answered HTTP ${code}`));
          try {
            resolve({ kind: 'found', labels: labelsOf(JSON.parse(Buffer.concat(chunks).toString('utf8'))) });
          } catch (error) {
            reject(error instanceof PodLabelError ? error : new PodLabelError('the pod document is not JSON'));
          }
        });
      });
      request.end();
    });
  }
}

/** `metadata.labels` of a pod or PartialObjectMetadata; every value must be a string. */
export function labelsOf(document: unknown): Record<string, string> {
  const metadata = (document as { metadata?: unknown } | null)?.metadata;
  if (typeof metadata !== 'object' || metadata === null) throw new PodLabelError('the pod document has no metadata');
  const labels = (metadata as { labels?: unknown }).labels;
  if (labels === undefined || labels === null) return {};
  if (typeof labels !== 'object' || Array.isArray(labels)) throw new PodLabelError('the pod labels are not a map');
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(labels as Record<string, unknown>)) {
    if (typeof value !== 'string') throw new PodLabelError('a pod label value is not a string');
    out[key] = value;
  }
  return out;
}
