/**
 * Property-based fuzzing of the Kubernetes request parsing: request targets (random, and valid
 * resource paths mutated), and the line-by-line stream rewriter fed arbitrary bytes (invalid UTF-8
 * included) cut into arbitrary chunks. `tools/bench/fuzz.mjs` runs the same properties with
 * ≥ 100k cases each. Also the reading of create/update bodies (JSON, YAML, protobuf).
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { chunksAt, fuzzParameters } from '@warden/testing';
import { classifyKubeRequest, commandText, parseKubeRequest } from './kube-request';
import { LineTransform } from './line-transform';
import { inspectBody } from './request-body';
import { targetUrl } from './target-client';
import type { KubernetesTarget } from './kubernetes-target';

const RUNS = 1500;

const segment = fc.oneof(
  fc.constantFrom('api', 'apis', 'v1', 'apps', 'namespaces', 'prod', 'pods', 'secrets', 'web-1', 'exec', 'log', 'proxy', 'watch', 'status', '', '.', '..', '%2e', '%2F', '%zz', '%', '\\', '?', '#', ':', '//'),
  fc.string({ maxLength: 6 }),
);
const query = fc.array(fc.tuple(fc.constantFrom('command', 'watch', 'tty', 'container', 'x'), fc.string({ maxLength: 6 })), { maxLength: 3 });
/** Request targets shaped like Kubernetes paths, with hostile pieces mixed in. */
const requestTarget = fc.oneof(
  fc.tuple(fc.constantFrom('/', '//', '', 'http://evil', 'https://h:1', '*', '/.'), fc.array(segment, { maxLength: 8 }), query).map(
    ([prefix, segments, params]) => `${prefix}${segments.join('/')}${params.length > 0 ? `?${params.map(([k, v]) => `${k}=${v}`).join('&')}` : ''}`,
  ),
  fc.string({ maxLength: 60 }),
);
const method = fc.oneof(fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'get', 'CONNECT'), fc.string({ maxLength: 8 }));

const TARGET = { server: new URL('https://127.0.0.1:6443/base') } as unknown as KubernetesTarget;

describe('fuzzing the Kubernetes request parsing', () => {
  it('parseKubeRequest never throws, and classifies exactly the path Warden forwards', () => {
    fc.assert(
      fc.property(method, requestTarget, (verb, target) => {
        const parsed = parseKubeRequest(verb.toUpperCase(), target);
        if (parsed.kind === 'invalid') return;
        // Whatever Warden decides on must be what the API server receives.
        const forwarded = targetUrl(TARGET, target);
        assert.equal(forwarded.host, '127.0.0.1:6443');
        let path = decodeURIComponent(forwarded.pathname.slice('/base'.length));
        if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
        if (parsed.kind === 'resource') {
          const segments = [parsed.group === '' ? 'api' : `apis/${parsed.group}`, parsed.version].join('/');
          assert.ok(path.startsWith(`/${segments}/`), `${target} was classified as ${commandText(parsed)} but forwards ${path}`);
          assert.ok(path.includes(`/${parsed.resource}`));
          if (parsed.name !== undefined) assert.ok(path.includes(`/${parsed.resource}/${parsed.name}`));
          if (parsed.namespace !== undefined) assert.ok(path.includes(`/namespaces/${parsed.namespace}/`));
          classifyKubeRequest(parsed);
        } else {
          assert.equal(parsed.path, path);
        }
      }),
      fuzzParameters(RUNS),
    );
  });

  it('LineTransform: how the bytes are cut never changes the lines it sees', async () => {
    const run = async (chunks: readonly Buffer[]): Promise<string> => {
      const seen: string[] = [];
      const out: string[] = [];
      const transform = new LineTransform((line) => {
        seen.push(line);
        return line.toUpperCase();
      });
      for await (const piece of Readable.from(chunks.map((chunk) => Buffer.from(chunk))).pipe(transform)) out.push(String(piece));
      return JSON.stringify({ seen, out: out.join('') });
    };
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), fc.array(fc.nat(), { maxLength: 8 }), async (bytes, cuts) => {
        const input = Buffer.from(bytes);
        const whole = await run([input]);
        assert.equal(await run(chunksAt(input, cuts)), whole);
        const { seen } = JSON.parse(whole) as { seen: string[] };
        // Every line is the input's own text (invalid UTF-8 as U+FFFD), none invented, none lost.
        assert.equal(seen.join('\n'), input.toString('utf8').replace(/\n$/, ''));
      }),
      fuzzParameters(RUNS),
    );
  });
});

describe('create/update bodies', () => {
  it('never throws, whatever the bytes and content type', () => {
    const contentType = fc.constantFrom('application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf', '', 'x/y');
    const protobufish = fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.concat([Buffer.from('k8s\0', 'latin1'), Buffer.from(bytes)]));
    fc.assert(
      fc.property(contentType, fc.oneof(fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)), protobufish), (type, body) => {
        const result = inspectBody(type, body);
        return result.ok === true || typeof result.reason === 'string';
      }),
      fuzzParameters(RUNS),
    );
  });
});
