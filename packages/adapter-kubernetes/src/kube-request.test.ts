import { classifyKubeRequest, classifyNonResource, commandText, parseKubeRequest, type KubeResourceRequest } from './kube-request';

function resource(method: string, target: string): KubeResourceRequest {
  const parsed = parseKubeRequest(method, target);
  if (parsed.kind !== 'resource') throw new Error(`expected a resource request, got ${parsed.kind}`);
  return parsed;
}

describe('parseKubeRequest', () => {
  it.each([
    ['GET', '/api/v1/namespaces/prod/pods', 'list pods -n prod', 'read'],
    ['GET', '/api/v1/pods', 'list pods', 'read'],
    ['GET', '/api/v1/namespaces/prod/pods/web-1', 'get pods/web-1 -n prod', 'read'],
    ['GET', '/api/v1/namespaces/prod/pods?watch=true&resourceVersion=5', 'watch pods -n prod', 'read'],
    ['GET', '/api/v1/watch/namespaces/prod/pods', 'watch pods -n prod', 'read'],
    ['POST', '/api/v1/namespaces/prod/configmaps', 'create configmaps -n prod', 'write'],
    ['PUT', '/api/v1/namespaces/prod/configmaps/c', 'update configmaps/c -n prod', 'write'],
    ['PATCH', '/apis/apps/v1/namespaces/prod/deployments/web/scale', 'patch deployments.apps/web/scale -n prod', 'write'],
    ['DELETE', '/api/v1/namespaces/prod/pods/web-1', 'delete pods/web-1 -n prod', 'write'],
    ['DELETE', '/api/v1/namespaces/prod/pods', 'deletecollection pods -n prod', 'write'],
    ['GET', '/api/v1/namespaces/prod/pods/web-1/log?follow=true', 'logs pods/web-1 -n prod', 'read'],
    ['GET', '/api/v1/namespaces/prod/pods/web-1/exec?command=sh&command=-c&command=echo%20hi&container=main', "exec pods/web-1 -n prod -c main -- sh -c 'echo hi'", 'exec'],
    ['POST', '/api/v1/namespaces/prod/pods/web-1/attach?stdin=true', 'attach pods/web-1 -n prod', 'exec'],
    ['GET', '/api/v1/namespaces/prod/pods/web-1/portforward?ports=80', 'portforward pods/web-1 -n prod', 'exec'],
    ['GET', '/api/v1/namespaces/prod/services/web:80/proxy/admin/reset', 'proxy services/web:80 -n prod', 'exec'],
    ['DELETE', '/api/v1/namespaces/prod', 'delete namespaces/prod', 'write'],
    ['PUT', '/api/v1/namespaces/prod/finalize', 'update namespaces/prod/finalize', 'write'],
    ['POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', 'create clusterrolebindings.rbac.authorization.k8s.io', 'admin'],
    ['POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', 'create selfsubjectaccessreviews.authorization.k8s.io', 'read'],
    ['POST', '/api/v1/namespaces/prod/serviceaccounts/builder/token', 'create serviceaccounts/builder/token -n prod', 'admin'],
  ])('%s %s → %s (%s)', (method, target, text, action) => {
    const request = resource(method, target);
    expect(commandText(request)).toBe(text);
    expect(classifyKubeRequest(request).action).toBe(action);
  });

  it('names the objects rules match on: resource, named object, subresource, namespace', () => {
    expect(classifyKubeRequest(resource('GET', '/api/v1/namespaces/prod/secrets/db')).objects).toEqual(['secrets', 'secrets/db', 'namespace:prod']);
    expect(classifyKubeRequest(resource('GET', '/api/v1/namespaces/prod/pods/web-1/exec?command=id')).objects).toEqual(['pods', 'pods/web-1', 'pods/exec', 'namespace:prod']);
    expect(classifyKubeRequest(resource('DELETE', '/api/v1/namespaces/prod')).objects).toEqual(['namespaces', 'namespaces/prod', 'namespace:prod']);
    expect(classifyKubeRequest(resource('GET', '/apis/apps/v1/namespaces/prod/deployments')).objects).toEqual(['deployments', 'deployments.apps', 'namespace:prod']);
    expect(classifyKubeRequest(resource('DELETE', '/api/v1/namespaces/prod/pods')).bulk).toBe(true);
  });

  it('decodes percent-encoding before classifying, so an encoded name is the name it stands for', () => {
    expect(resource('DELETE', '/api/v1/namespaces/%70rod/pods/web-1').namespace).toBe('prod');
  });

  it('reads tty from the query', () => {
    expect(resource('GET', '/api/v1/namespaces/d/pods/p/exec?command=sh&tty=true').tty).toBe(true);
    expect(resource('GET', '/api/v1/namespaces/d/pods/p/exec?command=sh').tty).toBe(false);
  });

  it('recognizes discovery documents, only for GET', () => {
    for (const target of ['/version', '/api', '/api/v1', '/apis', '/apis/apps', '/apis/apps/v1', '/openapi/v2', '/openapi/v3/api/v1', '/api?timeout=32s']) {
      expect(parseKubeRequest('GET', target).kind).toBe('discovery');
    }
    expect(parseKubeRequest('POST', '/api/v1').kind).toBe('invalid');
  });

  it('refuses what it cannot classify', () => {
    for (const target of ['/api/v1/namespaces/a/%2e%2e/b', '/api/v1/namespaces/a/../b', '/api/v1/namespaces/prod/pods/web%2F1', '/api/v1\\namespaces', '/api/v1/namespaces/./pods']) {
      expect(parseKubeRequest('GET', target).kind).toBe('invalid');
    }
    expect(parseKubeRequest('GET', '/api/v1/namespaces/a/%zz').kind).toBe('invalid');
    expect(parseKubeRequest('OPTIONS', '/api/v1/pods').kind).toBe('invalid');
    expect(classifyNonResource('/metrics', 'GET').action).toBe('unknown');
    expect(classifyNonResource('/healthz', 'GET').action).toBe('read');
  });

  // Regression (found while fuzzing): these were classified as `list secrets` / `list pods` while a
  // different path was forwarded; the absolute form made the URL join with the API server throw
  // inside the request handler, an unhandled rejection that took the gateway down.
  it('absolute-form and empty-segment request targets are refused, not classified as another path', () => {
    for (const target of ['http://evil/api/v1/secrets', 'https://127.0.0.1:6443/api/v1/pods', '//evil/api/v1/pods', '/api//v1/pods', '*', '', 'api/v1/pods']) {
      expect(parseKubeRequest('GET', target)).toEqual({ kind: 'invalid', reason: 'the request target is not an absolute path without empty segments' });
    }
  });
});
