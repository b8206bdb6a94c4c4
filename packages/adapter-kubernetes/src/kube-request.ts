/**
 * A Kubernetes API request, as policy sees it: the URL and method turned into the request
 * attributes kube-apiserver itself authorizes on (verb, API group, resource, subresource,
 * namespace, name). Pure: no sockets.
 *
 * URL layout (https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-uris):
 *   /api/v1[/watch][/namespaces/{ns}]/{resource}[/{name}[/{subresource}[/…]]]        (core group)
 *   /apis/{group}/{version}[/watch][/namespaces/{ns}]/{resource}[/{name}[/{subresource}[/…]]]
 * Discovery: /version, /api, /api/v1, /apis, /apis/{group}, /apis/{group}/{version}, /openapi/….
 */
import type { Action, Classification } from '@warden/core';

/** Verbs as kube-apiserver names them (https://kubernetes.io/docs/reference/access-authn-authz/authorization/#determine-the-request-verb), plus `logs`. */
export const KUBE_VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection', 'exec', 'attach', 'portforward', 'proxy', 'logs'] as const;
export type KubeVerb = (typeof KUBE_VERBS)[number];

/** What each verb does, for policy. */
const VERB_ACTIONS: Readonly<Record<KubeVerb, Action>> = {
  get: 'read',
  list: 'read',
  watch: 'read',
  logs: 'read',
  create: 'write',
  update: 'write',
  patch: 'write',
  delete: 'write',
  deletecollection: 'write',
  exec: 'exec',
  attach: 'exec',
  portforward: 'exec',
  // A proxy to a pod or service reaches whatever listens there: as strong as exec.
  proxy: 'exec',
};

/** Subresources that are verbs of their own (the apiserver authorizes them as `create pods/exec`). */
const STREAM_SUBRESOURCES: Readonly<Record<string, KubeVerb>> = { exec: 'exec', attach: 'attach', portforward: 'portforward', proxy: 'proxy', log: 'logs' };

/** API groups whose writes change who may do what: `admin`, not `write`. */
const ADMIN_GROUPS = new Set(['rbac.authorization.k8s.io', 'admissionregistration.k8s.io', 'certificates.k8s.io']);

/** "Review" resources: creating one asks a question and stores nothing (`kubectl auth can-i`). */
const REVIEW_RESOURCES = new Set(['tokenreviews', 'subjectaccessreviews', 'selfsubjectaccessreviews', 'selfsubjectrulesreviews', 'localsubjectaccessreviews', 'selfsubjectreviews']);

export interface KubeResourceRequest {
  readonly kind: 'resource';
  readonly verb: KubeVerb;
  /** `''` for the core group. */
  readonly group: string;
  readonly version: string;
  readonly resource: string;
  readonly subresource?: string;
  readonly namespace?: string;
  readonly name?: string;
  /** For exec: the command words (`command` query parameters). */
  readonly command?: readonly string[];
  readonly container?: string;
  readonly tty: boolean;
}

export type KubeRequest =
  | KubeResourceRequest
  /** Discovery documents: what the server serves, not what is stored in it. */
  | { readonly kind: 'discovery'; readonly path: string }
  | { readonly kind: 'non-resource'; readonly path: string; readonly method: string }
  | { readonly kind: 'invalid'; readonly reason: string };

const DISCOVERY = [/^\/version$/, /^\/api$/, /^\/api\/v1$/, /^\/apis$/, /^\/apis\/[^/]+$/, /^\/apis\/[^/]+\/[^/]+$/, /^\/openapi\/v2$/, /^\/openapi\/v3(\/.*)?$/];
/** Read-only non-resource endpoints worth letting a client probe. */
const HEALTH = /^\/(healthz|livez|readyz)(\/[^/]+)?$/;

/** Parses a request line. `target` is the request target (`/api/v1/pods?watch=true`). */
export function parseKubeRequest(method: string, target: string): KubeRequest {
  // Warden classifies the path it forwards: anything URL parsing would rewrite (dot segments,
  // encoded dots or slashes, backslashes) could make the two differ, and no client needs it.
  const rawPath = target.split('?')[0]!;
  // Only origin-form targets (`/path?query`). An absolute-form target (`http://host/…`), `*`, or a
  // path with an empty segment (`//host/…`, `/api//v1`) is classified as one path but forwarded as
  // another (or not at all: the join with the API server's address fails). Found while fuzzing.
  if (!rawPath.startsWith('/') || rawPath.includes('//')) return { kind: 'invalid', reason: 'the request target is not an absolute path without empty segments' };
  if (/%2[eEfF]|%5[cC]|\\|(^|\/)\.\.?(\/|$)/.test(rawPath)) return { kind: 'invalid', reason: 'the request path has dot segments, encoded slashes or backslashes' };
  let url: URL;
  try {
    url = new URL(target, 'https://warden.invalid');
  } catch {
    return { kind: 'invalid', reason: 'the request URL does not parse' };
  }
  let path: string;
  try {
    path = decodeURIComponent(url.pathname);
  } catch {
    return { kind: 'invalid', reason: 'the request path is not valid percent-encoding' };
  }
  if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
  const upper = method.toUpperCase();
  if (DISCOVERY.some((pattern) => pattern.test(path))) {
    return upper === 'GET' || upper === 'HEAD' ? { kind: 'discovery', path } : { kind: 'invalid', reason: `${upper} ${path} is not a request Warden can classify` };
  }
  const parts = path.split('/').filter(Boolean);
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 3) {
    group = '';
    version = parts[1]!;
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 4) {
    group = parts[1]!;
    version = parts[2]!;
    rest = parts.slice(3);
  } else {
    return { kind: 'non-resource', path, method: upper };
  }
  let watchPrefix = false;
  if (rest[0] === 'watch') {
    watchPrefix = true;
    rest = rest.slice(1);
  }
  let namespace: string | undefined;
  // `/api/v1/namespaces/{name}/status|finalize` are subresources of the namespace object.
  if (rest[0] === 'namespaces' && rest.length >= 3 && !(rest.length === 3 && (rest[2] === 'status' || rest[2] === 'finalize'))) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [resource, name, ...sub] = rest;
  if (resource === undefined || resource === '') return { kind: 'invalid', reason: 'the request names no resource' };
  // `/api/v1/namespaces/{name}` is the namespace object itself.
  if (resource === 'namespaces' && namespace !== undefined) return { kind: 'invalid', reason: 'the request path is not a Kubernetes resource path' };
  const subresource = sub.length === 0 ? undefined : sub[0] === 'proxy' ? 'proxy' : sub.join('/');
  const query = url.searchParams;
  const watchParam = query.get('watch');
  const watching = watchPrefix || watchParam === 'true' || watchParam === '1';

  let verb: KubeVerb;
  const streamVerb = subresource === undefined ? undefined : STREAM_SUBRESOURCES[subresource];
  if (streamVerb) {
    verb = streamVerb;
  } else {
    switch (upper) {
      case 'GET':
      case 'HEAD':
        verb = watching ? 'watch' : name === undefined ? 'list' : 'get';
        break;
      case 'POST':
        verb = 'create';
        break;
      case 'PUT':
        verb = 'update';
        break;
      case 'PATCH':
        verb = 'patch';
        break;
      case 'DELETE':
        verb = name === undefined ? 'deletecollection' : 'delete';
        break;
      default:
        return { kind: 'invalid', reason: `method ${upper} is not a Kubernetes API verb` };
    }
  }
  const command = query.getAll('command');
  const container = query.get('container') ?? undefined;
  return {
    kind: 'resource',
    verb,
    group,
    version,
    resource,
    tty: query.get('tty') === 'true' || query.get('tty') === '1',
    ...(subresource === undefined ? {} : { subresource }),
    ...(namespace === undefined ? {} : { namespace }),
    ...(name === undefined ? {} : { name }),
    ...(verb === 'exec' && command.length > 0 ? { command } : {}),
    ...(container === undefined ? {} : { container }),
  };
}

/** The resource as kubectl names it: `pods`, `deployments.apps`. */
export function qualifiedResource(request: KubeResourceRequest): string {
  return request.group === '' ? request.resource : `${request.resource}.${request.group}`;
}

/**
 * The command text for the audit log and `text` rules, in kubectl's words:
 * `delete pods/web-1 -n prod`, `list secrets -n default`, `exec pods/web-1 -n prod -- sh -c 'id'`.
 */
export function commandText(request: KubeResourceRequest): string {
  const target = [qualifiedResource(request), request.name, request.subresource && !STREAM_SUBRESOURCES[request.subresource] ? request.subresource : undefined].filter(Boolean).join('/');
  let text = `${request.verb} ${target}`;
  if (request.namespace !== undefined) text += ` -n ${request.namespace}`;
  if (request.container !== undefined) text += ` -c ${request.container}`;
  if (request.command) text += ` -- ${request.command.map(shellQuote).join(' ')}`;
  return text;
}

/**
 * Objects for rules: the resource (`pods`, `deployments.apps` and its plain name `deployments`),
 * the named object (`pods/web-1`), the subresource (`pods/exec`), `namespace:<ns>`, and for a pod
 * whose labels Warden looked up, one `label:<key>=<value>` per label (`label:phi=true`).
 */
export function requestObjects(request: KubeResourceRequest, labels?: Readonly<Record<string, string>>): string[] {
  const objects = new Set<string>([request.resource, qualifiedResource(request)]);
  if (request.name !== undefined) objects.add(`${request.resource}/${request.name}`);
  if (request.subresource !== undefined) objects.add(`${request.resource}/${request.subresource.split('/')[0]}`);
  if (request.namespace !== undefined) objects.add(`namespace:${request.namespace}`);
  // A namespace object is its own namespace: `delete namespaces/prod` matches `namespace:prod`.
  if (request.group === '' && request.resource === 'namespaces' && request.name !== undefined) objects.add(`namespace:${request.name}`);
  for (const [key, value] of Object.entries(labels ?? {})) objects.add(`label:${key}=${value}`);
  return [...objects];
}

/** The request's action: reads, writes, exec-like streams; writes that change permissions are `admin`. */
export function requestAction(request: KubeResourceRequest): Action {
  const action = VERB_ACTIONS[request.verb];
  if (action === 'write' && request.verb === 'create' && REVIEW_RESOURCES.has(request.resource)) return 'read';
  if (action === 'write' && (ADMIN_GROUPS.has(request.group) || (request.resource === 'serviceaccounts' && request.subresource === 'token'))) return 'admin';
  return action;
}

/** The classification `session.decide` takes; `labels` are the named pod's, when Warden looked them up. */
export function classifyKubeRequest(request: KubeResourceRequest, labels?: Readonly<Record<string, string>>): Classification {
  const statement = {
    action: requestAction(request),
    objects: requestObjects(request, labels),
    bulk: request.verb === 'deletecollection',
    ...(request.resource === 'secrets' && request.group === '' ? { note: 'secret values' } : {}),
  };
  return { action: statement.action, objects: statement.objects, bulk: statement.bulk, statementCount: 1, statements: [statement] };
}

/** A non-resource request: health probes are reads; anything else Warden cannot classify. */
export function classifyNonResource(path: string, method: string): Classification {
  const read = (method === 'GET' || method === 'HEAD') && HEALTH.test(path);
  const statement = read
    ? { action: 'read' as const, objects: [`nonresource:${path}`], bulk: false }
    : { action: 'unknown' as const, objects: [`nonresource:${path}`], bulk: false, note: 'not a Kubernetes resource path' };
  return { action: statement.action, objects: statement.objects, bulk: false, statementCount: 1, statements: [statement] };
}

function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
