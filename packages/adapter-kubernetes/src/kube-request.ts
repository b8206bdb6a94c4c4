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
import { inspectBody, type BodyInspection } from './request-body';

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
export function commandText(request: KubeResourceRequest, carried?: CarriedObject): string {
  const name = request.name ?? (carried?.ok ? carried.object.name : undefined);
  const target = [qualifiedResource(request), name, request.subresource && !STREAM_SUBRESOURCES[request.subresource] ? request.subresource : undefined].filter(Boolean).join('/');
  let text = `${request.verb} ${target}`;
  if (request.namespace !== undefined) text += ` -n ${request.namespace}`;
  if (request.container !== undefined) text += ` -c ${request.container}`;
  if (request.command) text += ` -- ${request.command.map(shellQuote).join(' ')}`;
  if (carried?.ok && name === undefined && carried.object.generateName !== undefined) text += ` (generateName ${carried.object.generateName})`;
  return text;
}

/** The object a create or update carries in its body (see request-body.ts), or why it could not be read. */
export type CarriedObject = BodyInspection;

/** Whether the request's body is an object Warden reads before deciding: a create or update of a resource itself. */
export function carriesObject(request: KubeResourceRequest): boolean {
  return (request.verb === 'create' || request.verb === 'update') && request.subresource === undefined;
}

/**
 * The object in a create or update body. A body whose namespace (or, for an update, name) is not
 * the request's is refused by the API server; Warden does not try to guess which one counts.
 */
export function carriedObject(request: KubeResourceRequest, contentType: string | undefined, body: Buffer): CarriedObject {
  const inspected = inspectBody(contentType, body);
  if (!inspected.ok) return inspected;
  const { namespace, name } = inspected.object;
  if (namespace !== undefined && namespace !== '' && namespace !== request.namespace) return { ok: false, reason: 'the namespace in the body is not the namespace of the request' };
  if (request.name !== undefined && name !== undefined && name !== request.name) return { ok: false, reason: 'the name in the body is not the name of the request' };
  return inspected;
}

/**
 * Objects for rules: the resource (`pods`, `deployments.apps` and its plain name `deployments`),
 * the named object (`pods/web-1`), the subresource (`pods/exec`), `namespace:<ns>`, and for a pod
 * whose labels Warden looked up, one `label:<key>=<value>` per label (`label:phi=true`).
 */
export function requestObjects(request: KubeResourceRequest, labels?: Readonly<Record<string, string>>, carried?: CarriedObject): string[] {
  const objects = new Set<string>([request.resource, qualifiedResource(request)]);
  if (request.name !== undefined) objects.add(`${request.resource}/${request.name}`);
  // A create or update: the object's name and labels as the body gives them.
  if (carried?.ok) {
    if (carried.object.name !== undefined) objects.add(`${request.resource}/${carried.object.name}`);
    for (const [key, value] of Object.entries(carried.object.labels)) objects.add(`label:${key}=${value}`);
  }
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
export function classifyKubeRequest(request: KubeResourceRequest, labels?: Readonly<Record<string, string>>, carried?: CarriedObject): Classification {
  // A body Warden cannot read could name any object: unknown, refused unless a rule allows it.
  const unreadable = carried !== undefined && !carried.ok ? carried.reason : undefined;
  const statement = {
    action: unreadable ? ('unknown' as const) : requestAction(request),
    objects: requestObjects(request, labels, carried),
    bulk: request.verb === 'deletecollection',
    ...(unreadable ? { note: unreadable } : request.resource === 'secrets' && request.group === '' ? { note: 'secret values' } : {}),
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
