/**
 * The Kubernetes attack corpus (issue 20), run by redteam-kubernetes.test.ts through Warden to the
 * kube-apiserver test double. The gateway's rules: agents do not read secrets (`default/db-password`
 * holds hunter2); devs do not touch pods labelled phi=true (`default/records-0`), delete in `prod`
 * or write configmaps named `locked-*` (`default/locked-settings`); devs have read-write, agents
 * read-only, ops full. Each attack names what the target must not receive, what the caller must
 * not see, and the stored objects must be unchanged afterwards.
 */
import type { KubeCaller, KubernetesAttack, KubeStep } from '../kubernetes-attack';

const SECRET = /aHVudGVyMg|hunter2/;
/** A request the API server routes to the secrets (after decoding, as the test double's record is compared). */
const REACHES_SECRETS = /^GET \/api\/v1\/(watch\/)?(namespaces\/default\/)?secrets(\/|\?|$)/;
const PHI_POD = /records-0/;
const LOCKED = '/api/v1/namespaces/default/configmaps/locked-settings';

const get = (path: string, headers?: Record<string, string | string[]>): KubeStep => ({ method: 'GET', path, ...(headers ? { headers } : {}) });

/** Request targets that still mean "the secret" to some parser; an agent must get none of them. */
const SECRET_PATHS: readonly (readonly [id: string, path: string, pending?: `issue-20: ${string}`])[] = [
  ['secret-plain', '/api/v1/namespaces/default/secrets/db-password'],
  ['secret-list', '/api/v1/namespaces/default/secrets'],
  ['secret-list-all-namespaces', '/api/v1/secrets'],
  ['secret-encoded-slash-before-resource', '/api/v1/namespaces/default%2Fsecrets/db-password'],
  ['secret-all-slashes-encoded', '/api/v1/namespaces%2Fdefault%2Fsecrets%2Fdb-password'],
  ['secret-encoded-dot-dot', '/api/v1/namespaces/default/configmaps/%2e%2e/secrets/db-password'],
  ['secret-upper-encoded-dot-dot', '/api/v1/namespaces/default/configmaps/%2E%2E/secrets/db-password'],
  ['secret-dot-dot', '/api/v1/namespaces/default/configmaps/../secrets/db-password'],
  ['secret-dot-segment', '/api/v1/namespaces/default/./secrets/db-password'],
  ['secret-double-slash', '/api/v1//namespaces/default/secrets/db-password'],
  ['secret-leading-double-slash', '//api/v1/namespaces/default/secrets/db-password'],
  ['secret-double-slash-before-name', '/api/v1/namespaces/default/secrets//db-password'],
  ['secret-trailing-slash', '/api/v1/namespaces/default/secrets/db-password/'],
  ['secret-resource-upper-case', '/api/v1/namespaces/default/Secrets/db-password'],
  ['secret-api-upper-case', '/API/v1/namespaces/default/secrets/db-password'],
  ['secret-encoded-letter', '/api/v1/namespaces/default/%73ecrets/db-password'],
  ['secret-encoded-name', '/api/v1/namespaces/default/secrets/%64b-password'],
  ['secret-semicolon-parameter', '/api/v1/namespaces/default/secrets;x=y/db-password'],
  ['secret-backslash', '/api/v1/namespaces/default\\secrets\\db-password'],
  ['secret-encoded-backslash', '/api/v1/namespaces/default%5Csecrets%5Cdb-password'],
  ['secret-null-byte', '/api/v1/namespaces/default/secrets/db-password%00'],
  ['secret-watch-path', '/api/v1/watch/namespaces/default/secrets/db-password'],
  ['secret-watch-list-path', '/api/v1/watch/namespaces/default/secrets'],
  ['secret-watch-query', '/api/v1/namespaces/default/secrets?watch=1&timeoutSeconds=1'],
  ['secret-watch-query-true', '/api/v1/secrets?watch=true&timeoutSeconds=1'],
  ['secret-field-selector', '/api/v1/namespaces/default/secrets?fieldSelector=metadata.name%3Ddb-password'],
  ['secret-as-table', '/api/v1/namespaces/default/secrets?includeObject=Object'],
  ['secret-via-namespace-subresource', '/api/v1/namespaces/default/secrets/db-password/status'],
  ['secret-via-apis-group', '/apis//v1/namespaces/default/secrets/db-password'],
  ['secret-query-in-path', '/api/v1/namespaces/default/pods?x=/../../secrets/db-password'],
];

const pathEncoding: KubernetesAttack[] = SECRET_PATHS.map(([id, path, pending]) => ({
  id: `agent-reads-${id}`,
  class: id.includes('watch') ? 'watch' : 'path-encoding',
  caller: 'agent',
  steps: [get(path)],
  // A path in the query is only a query: the pods list it rides on is allowed, the secret is not reached.
  expect: id === 'secret-query-in-path' ? 'no-effect' : 'refused',
  mustNotReach: REACHES_SECRETS,
  mustNotSee: SECRET,
  ...(pending ? { pending } : {}),
}));

const POD = '/api/v1/namespaces/default/pods/web-1';
const PHI = '/api/v1/namespaces/default/pods/records-0';

/** Subresources a read-write grant (devs) must not reach; exec-like verbs are above it. */
const subresources: KubernetesAttack[] = (
  [
    ['exec-post', 'POST', `${POD}/exec?command=id&stdout=true`],
    ['exec-get', 'GET', `${POD}/exec?command=id&stdout=true`],
    ['attach', 'POST', `${POD}/attach?stdout=true`],
    ['portforward', 'POST', `${POD}/portforward?ports=80`],
    ['pod-proxy', 'GET', `${POD}/proxy/`],
    ['pod-proxy-with-port', 'GET', '/api/v1/namespaces/default/pods/web-1:8080/proxy/admin'],
    ['exec-encoded-subresource', 'POST', `${POD}/%65xec?command=id&stdout=true`],
    // Subresource names are case-sensitive: `/EXEC` is not exec to the API server (404), so only its effect counts.
    ['exec-upper-case-subresource', 'POST', `${POD}/EXEC?command=id&stdout=true`, 'no-effect'],
    ['exec-trailing-slash', 'POST', `${POD}/exec/?command=id&stdout=true`],
    ['exec-double-slash', 'POST', `${POD}//exec?command=id&stdout=true`],
    ['ephemeral-containers', 'PATCH', `${PHI}/ephemeralcontainers`, 'refused', 'issue-20: ephemeralcontainers (a debug container in the pod, as strong as exec) passes as a patch, without the pod\'s labels'],
    ['phi-pod-status-patch', 'PATCH', `${PHI}/status`, 'refused', 'issue-20: a write to a subresource of a pod labelled phi=true is decided without the pod\'s labels'],
    ['phi-pod-log', 'GET', `${PHI}/log`],
    ['phi-pod-log-follow', 'GET', `${PHI}/log?follow=true`],
    ['phi-pod-eviction', 'POST', `${PHI}/eviction`, 'refused', 'issue-20: an eviction deletes the pod but is `create pods/eviction`, decided without the pod\'s labels'],
    ['prod-pod-eviction', 'POST', '/api/v1/namespaces/prod/pods/web-1/eviction', 'refused', 'issue-20: an eviction deletes the pod but is `create pods/eviction`, which delete rules do not match'],
    ['phi-pod-binding', 'POST', `${PHI}/binding`, 'refused', 'issue-20: a write to a subresource of a pod labelled phi=true is decided without the pod\'s labels'],
  ] satisfies (readonly [string, string, string, ('refused' | 'no-effect')?, string?])[]
).map(([id, method, path, expect, pending]): KubernetesAttack => ({
  id: `dev-${id}`,
  class: 'subresources',
  caller: 'dev',
  ...(pending ? { pending: pending as `issue-20: ${string}` } : {}),
  steps: [{ method: method!, path: path!, ...(method === 'GET' ? {} : { body: method === 'PATCH' ? '{"metadata":{"labels":{"x":"y"}}}' : '{"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":"web-1"}}', headers: { 'Content-Type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json' } }) }],
  expect: expect === 'no-effect' ? 'no-effect' : 'refused',
  mustNotReach: new RegExp(`^${method} .*/(exec|attach|portforward|proxy|ephemeralcontainers|status|log|eviction|binding)`),
}));

/** Proxies to services and nodes reach whatever listens behind them, the API server itself too. */
const proxies: KubernetesAttack[] = [
  ['service-proxy', '/api/v1/namespaces/default/services/web:80/proxy/'],
  ['service-proxy-to-apiserver-secrets', '/api/v1/namespaces/default/services/https:kubernetes:443/proxy/api/v1/namespaces/default/secrets/db-password'],
  ['node-proxy', '/api/v1/nodes/node-1/proxy/'],
  ['node-proxy-kubelet-exec', '/api/v1/nodes/node-1:10250/proxy/exec/default/web-1/main?command=id'],
  ['node-proxy-kubelet-pods', '/api/v1/nodes/node-1:10250/proxy/pods'],
  ['service-proxy-encoded', '/api/v1/namespaces/default/services/web:80/%70roxy/'],
].flatMap(([id, path]) =>
  (['agent', 'dev'] as const).map((caller): KubernetesAttack => ({ id: `${caller}-${id}`, class: 'proxy', caller, steps: [get(path!)], expect: 'refused', mustNotReach: /proxy/i, mustNotSee: SECRET })),
);

/** Identity headers a caller sends hoping the target believes them; Warden sends its own. */
const IDENTITY_HEADERS: readonly (readonly [id: string, headers: Record<string, string | string[]>, forbidden: readonly string[], pending?: `issue-20: ${string}`])[] = [
  ['impersonate-user', { 'Impersonate-User': 'system:admin' }, []],
  ['impersonate-group', { 'Impersonate-Group': 'system:masters' }, []],
  ['impersonate-user-and-groups', { 'Impersonate-User': 'system:admin', 'Impersonate-Group': ['system:masters', 'system:nodes'] }, []],
  ['impersonate-uid', { 'Impersonate-Uid': '0' }, ['impersonate-uid']],
  ['impersonate-extra-scopes', { 'Impersonate-Extra-Scopes': 'admin' }, ['impersonate-extra-scopes']],
  ['impersonate-extra-encoded-key', { 'Impersonate-Extra-Acme.com%2Fproject': 'all' }, ['impersonate-extra-acme.com%2fproject']],
  ['impersonate-upper-case-name', { 'IMPERSONATE-USER': 'system:admin' }, []],
  ['x-remote-user', { 'X-Remote-User': 'system:admin' }, ['x-remote-user'], 'issue-20: X-Remote-* headers from the client reach the API server'],
  ['x-remote-group', { 'X-Remote-Group': 'system:masters' }, ['x-remote-group'], 'issue-20: X-Remote-* headers from the client reach the API server'],
  ['x-remote-extra', { 'X-Remote-Extra-Scopes': 'admin' }, ['x-remote-extra-scopes'], 'issue-20: X-Remote-* headers from the client reach the API server'],
  ['proxy-authorization', { 'Proxy-Authorization': 'Bearer forged' }, ['proxy-authorization']],
  ['second-authorization', { 'X-Authorization': 'Bearer forged' }, [], undefined],
];

const impersonation: KubernetesAttack[] = IDENTITY_HEADERS.flatMap(([id, headers, forbidden, pending]) =>
  (['agent', 'ops'] as const).map((caller): KubernetesAttack => ({
    id: `${caller}-sends-${id}`,
    class: 'impersonation',
    caller,
    // An allowed read, to see which headers reach the target with it.
    steps: [get('/api/v1/namespaces/default/configmaps', headers)],
    expect: 'no-effect',
    mustNotForward: forbidden,
    ...(pending ? { pending } : {}),
  })),
);
// An agent that names itself an admin still gets no secret.
impersonation.push(
  { id: 'agent-impersonates-admin-for-secret', class: 'impersonation', caller: 'agent', steps: [get('/api/v1/namespaces/default/secrets/db-password', { 'Impersonate-User': 'system:admin', 'Impersonate-Group': 'system:masters' })], expect: 'refused', mustNotSee: SECRET },
  { id: 'agent-forged-authorization-twice', class: 'impersonation', caller: 'agent', steps: [{ raw: `GET /api/v1/namespaces/default/secrets/db-password HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {{token}}\r\nAuthorization: Bearer forged\r\nConnection: close\r\n\r\n` }], expect: 'refused', mustNotSee: SECRET },
);

const PATCH_BODY = '{"data":{"mode":"changed"}}';
/** Writes a dev must not make, in many encodings of the verb and the body. */
const verbs: KubernetesAttack[] = [
  ...['application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/json-patch+json', 'application/apply-patch+yaml', 'application/merge-patch+json; charset=utf-8', 'APPLICATION/MERGE-PATCH+JSON', 'text/plain', 'application/json'].map(
    (type): KubernetesAttack => ({
      id: `dev-patches-locked-configmap-as-${type === type.toUpperCase() ? 'upper-case-' : ''}${type.replace(/[^a-zA-Z]+/g, '-').replace(/-$/, '').toLowerCase()}`,
      class: 'verbs',
      caller: 'dev',
      steps: [{ method: 'PATCH', path: LOCKED, headers: { 'Content-Type': type }, body: type.includes('json-patch') ? '[{"op":"replace","path":"/data/mode","value":"changed"}]' : PATCH_BODY }],
      expect: 'refused',
      mustNotReach: /^PATCH .*locked-settings/,
    }),
  ),
  { id: 'dev-patches-locked-configmap-without-content-type', steps: [{ method: 'PATCH', path: LOCKED, headers: { 'Content-Type': '' }, body: PATCH_BODY }], mustNotReach: /^PATCH .*locked-settings/ },
  { id: 'dev-puts-locked-configmap', steps: [{ method: 'PUT', path: LOCKED, body: '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"locked-settings"},"data":{"mode":"changed"}}' }], mustNotReach: /^PUT .*locked-settings/ },
  { id: 'dev-creates-locked-configmap', steps: [{ method: 'POST', path: '/api/v1/namespaces/default/configmaps', body: '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"locked-new"},"data":{}}' }], mustNotReach: /^POST .*configmaps/ },
  { id: 'dev-puts-open-name-with-locked-body', steps: [{ method: 'PUT', path: '/api/v1/namespaces/default/configmaps/open-settings', body: '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"locked-settings"},"data":{"mode":"changed"}}' }] },
  { id: 'dev-deletes-locked-configmap', steps: [{ method: 'DELETE', path: LOCKED }], mustNotReach: /^DELETE .*locked-settings/ },
  { id: 'dev-deletes-locked-configmap-encoded', steps: [{ method: 'DELETE', path: '/api/v1/namespaces/default/configmaps/%6cocked-settings' }], mustNotReach: /^DELETE .*locked-settings/ },
  { id: 'dev-deletes-prod-pod', steps: [{ method: 'DELETE', path: '/api/v1/namespaces/prod/pods/web-1' }], mustNotReach: /^DELETE .*prod/ },
  { id: 'dev-deletecollection-prod-pods', steps: [{ method: 'DELETE', path: '/api/v1/namespaces/prod/pods' }], mustNotReach: /^DELETE .*prod/ },
  { id: 'dev-deletecollection-prod-pods-by-label', steps: [{ method: 'DELETE', path: '/api/v1/namespaces/prod/pods?labelSelector=app%3Dweb-1' }], mustNotReach: /^DELETE .*prod/ },
  { id: 'dev-deletes-prod-pod-lower-case-method', steps: [{ raw: 'delete /api/v1/namespaces/prod/pods/web-1 HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {{token}}\r\nConnection: close\r\n\r\n' }], mustNotReach: /prod/ },
  { id: 'dev-deletes-prod-pod-by-method-override', steps: [{ method: 'POST', path: '/api/v1/namespaces/prod/pods/web-1', headers: { 'X-HTTP-Method-Override': 'DELETE' }, body: '{}' }], expect: 'no-effect' },
  { id: 'dev-deletes-prod-pod-encoded-namespace', steps: [{ method: 'DELETE', path: '/api/v1/namespaces/%70rod/pods/web-1' }], mustNotReach: /^DELETE / },
  { id: 'dev-deletes-prod-pod-dot-dot', steps: [{ method: 'DELETE', path: '/api/v1/namespaces/default/../prod/pods/web-1' }], mustNotReach: /^DELETE / },
  { id: 'dev-creates-phi-pod', steps: [{ method: 'POST', path: '/api/v1/namespaces/default/pods', body: '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"planted","labels":{"phi":"true"}},"spec":{"containers":[{"name":"main","image":"busybox"}]}}' }], mustNotReach: /^POST / },
  { id: 'dev-patches-phi-pod', pending: "issue-20: a patch of a pod labelled phi=true is decided on the patch body's labels, not the stored pod's", steps: [{ method: 'PATCH', path: PHI, headers: { 'Content-Type': 'application/merge-patch+json' }, body: '{"metadata":{"labels":{"owner":"dev"}}}' }], mustNotReach: /^PATCH / },
  { id: 'dev-patches-phi-label-off', pending: "issue-20: a patch of a pod labelled phi=true is decided on the patch body's labels, not the stored pod's", steps: [{ method: 'PATCH', path: PHI, headers: { 'Content-Type': 'application/merge-patch+json' }, body: '{"metadata":{"labels":{"phi":null}}}' }], mustNotReach: /^PATCH / },
  { id: 'dev-deletes-phi-pod', steps: [{ method: 'DELETE', path: PHI }], mustNotReach: /^DELETE / },
  { id: 'agent-creates-configmap', caller: 'agent', steps: [{ method: 'POST', path: '/api/v1/namespaces/default/configmaps', body: '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"agent-made"},"data":{}}' }], mustNotReach: /^POST / },
  { id: 'agent-deletes-pod', caller: 'agent', steps: [{ method: 'DELETE', path: POD }], mustNotReach: /^DELETE / },
  { id: 'agent-patch-disguised-as-get-body', caller: 'agent', steps: [{ method: 'GET', path: LOCKED, body: PATCH_BODY }], expect: 'no-effect' },
].map((attack): KubernetesAttack => ({ class: 'verbs', caller: 'dev', expect: 'refused', ...attack }) as KubernetesAttack);

/** Reads of the pod labelled phi=true by devs, through lists, selectors and watches. */
const PODS = '/api/v1/namespaces/default/pods';
const protectedPods: KubernetesAttack[] = [
  ['get', PHI],
  ['get-encoded-name', '/api/v1/namespaces/default/pods/%72ecords-0'],
  ['get-as-table', `${PHI}?includeObject=Object`],
  ['list-field-selector-name', `${PODS}?fieldSelector=metadata.name%3Drecords-0`, 'issue-20: a list narrowed to a protected pod by fieldSelector is not checked against its labels'],
  ['list-label-selector', `${PODS}?labelSelector=phi%3Dtrue`, 'issue-20: a list is not checked against the labels of the pods it returns'],
  ['list-namespace', PODS, 'issue-20: a list is not checked against the labels of the pods it returns'],
  ['list-all-namespaces', '/api/v1/pods', 'issue-20: a list is not checked against the labels of the pods it returns'],
  ['watch-field-selector', `${PODS}?watch=1&timeoutSeconds=1&fieldSelector=metadata.name%3Drecords-0`, 'issue-20: a watch narrowed to a protected pod is not checked against its labels'],
  ['watch-path', '/api/v1/watch/namespaces/default/pods/records-0'],
].map(([id, path, pending]): KubernetesAttack => ({
  id: `dev-reads-phi-pod-${id}`,
  class: path!.includes('watch') ? 'watch' : 'protected-pods',
  caller: 'dev',
  steps: [get(path!)],
  expect: 'refused',
  mustNotSee: PHI_POD,
  ...(pending ? { pending: pending as `issue-20: ${string}` } : {}),
}));

/** Raw bytes on one connection: a second request hidden where a parser might not look. */
const SECRET_REQUEST = 'GET /api/v1/namespaces/default/secrets/db-password HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {{token}}\r\n\r\n';
const smuggle = (head: string, body: string) => `${head}\r\nHost: localhost\r\nAuthorization: Bearer {{token}}\r\nContent-Type: application/json\r\n\r\n${body}`;
const smuggling: KubernetesAttack[] = [
  ['chunked-with-second-request-after-last-chunk', smuggle('POST /api/v1/namespaces/default/configmaps/probe HTTP/1.1\r\nTransfer-Encoding: chunked', `0\r\n\r\n${SECRET_REQUEST}`)],
  ['content-length-and-chunked', smuggle(`POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked`, `0\r\n\r\n${SECRET_REQUEST}`)],
  ['chunked-and-content-length', smuggle(`POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 200`, `0\r\n\r\n${SECRET_REQUEST}`)],
  ['two-content-lengths', smuggle(`POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nContent-Length: 0\r\nContent-Length: ${SECRET_REQUEST.length}`, SECRET_REQUEST)],
  ['obfuscated-transfer-encoding', smuggle('POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nTransfer-Encoding: xchunked\r\nContent-Length: 5', `0\r\n\r\n${SECRET_REQUEST}`)],
  ['transfer-encoding-list', smuggle('POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nTransfer-Encoding: identity, chunked', `0\r\n\r\n${SECRET_REQUEST}`)],
  ['space-before-colon', smuggle('POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nTransfer-Encoding : chunked', `0\r\n\r\n${SECRET_REQUEST}`)],
  ['bare-line-feeds', 'GET /api/v1/namespaces/default/configmaps HTTP/1.1\nHost: localhost\nAuthorization: Bearer {{token}}\n\n' + SECRET_REQUEST],
  ['pipelined-second-request', `GET /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {{token}}\r\n\r\n${SECRET_REQUEST}`],
  ['get-with-body-holding-request', smuggle(`GET /api/v1/namespaces/default/configmaps HTTP/1.1\r\nContent-Length: ${SECRET_REQUEST.length}`, SECRET_REQUEST)],
  ['expect-continue-with-request-body', smuggle(`POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: ${SECRET_REQUEST.length}`, SECRET_REQUEST)],
  ['h2c-upgrade-then-request', `GET /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {{token}}\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n${SECRET_REQUEST}`],
  ['websocket-upgrade-to-secret', `GET /api/v1/namespaces/default/secrets/db-password HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {{token}}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`],
  ['absolute-form-request-target', `GET https://localhost/api/v1/namespaces/default/secrets/db-password HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {{token}}\r\nConnection: close\r\n\r\n`],
  ['header-injected-line', `GET /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {{token}}\r\nX-Note: a\r\nImpersonate-User: system:admin\r\nConnection: close\r\n\r\n`],
  ['http-1-0-keep-alive-pipeline', `GET /api/v1/namespaces/default/configmaps HTTP/1.0\r\nHost: localhost\r\nAuthorization: Bearer {{token}}\r\nConnection: keep-alive\r\n\r\n${SECRET_REQUEST}`],
].map(([id, raw]): KubernetesAttack => ({ id: `agent-smuggles-${id}`, class: 'smuggling', caller: 'agent', steps: [{ raw: raw! }], expect: 'no-effect', mustNotReach: REACHES_SECRETS, mustNotSee: SECRET, mustNotForward: ['impersonate-uid'] }));

/** Legitimate reads that must keep working (the suite's refusals are not a blanket refusal). */
const controls: KubernetesAttack[] = [];

export const KUBERNETES_ATTACKS: readonly KubernetesAttack[] = [...pathEncoding, ...subresources, ...proxies, ...impersonation, ...verbs, ...protectedPods, ...smuggling, ...controls];
export type { KubeCaller };
