import { Readable } from 'node:stream';
import { inspectBody, readBody } from './request-body';

/** Protobuf encoding helpers: a length-delimited field, and a message of such fields. */
function varint(value: number): Buffer {
  const bytes: number[] = [];
  while (value >= 0x80) {
    bytes.push((value & 0x7f) | 0x80);
    value = Math.floor(value / 128);
  }
  bytes.push(value);
  return Buffer.from(bytes);
}
const field = (number: number, value: Buffer | string) => {
  const bytes = typeof value === 'string' ? Buffer.from(value) : value;
  return Buffer.concat([varint(number * 8 + 2), varint(bytes.length), bytes]);
};
const k8sProtobuf = (kind: string, object: Buffer, encoding?: string) =>
  Buffer.concat([Buffer.from('k8s\0', 'latin1'), field(1, Buffer.concat([field(1, 'v1'), field(2, kind)])), field(2, object), ...(encoding ? [field(3, encoding)] : [])]);

describe('inspectBody', () => {
  it('reads kind, name, namespace and labels from JSON', () => {
    const body = Buffer.from(JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'db-0', namespace: 'prod', labels: { phi: 'true', app: 'db' } } }));
    expect(inspectBody('application/json; charset=utf-8', body)).toEqual({ ok: true, object: { kind: 'Pod', name: 'db-0', namespace: 'prod', labels: { phi: 'true', app: 'db' } } });
  });

  it('reads YAML, and generateName', () => {
    const body = Buffer.from('apiVersion: v1\nkind: Pod\nmetadata:\n  generateName: job-\n  labels: { team: records }\n');
    expect(inspectBody('application/yaml', body)).toEqual({ ok: true, object: { kind: 'Pod', generateName: 'job-', labels: { team: 'records' } } });
  });

  it('reads the protobuf encoding: the Unknown envelope, ObjectMeta name, namespace and labels, skipping other fields', () => {
    const labels = Buffer.concat([field(11, Buffer.concat([field(1, 'phi'), field(2, 'true')])), field(11, Buffer.concat([field(1, 'app'), field(2, 'records')]))]);
    // uid (5) and a varint field (generation = 7) between the fields Warden reads.
    const meta = Buffer.concat([field(1, 'feature-flags'), field(5, 'abc'), Buffer.from([7 * 8, 0x96, 0x01]), field(3, 'default'), labels]);
    const configMap = Buffer.concat([field(1, meta), field(2, Buffer.concat([field(1, 'mode'), field(2, 'green')]))]);
    expect(inspectBody('application/vnd.kubernetes.protobuf', k8sProtobuf('ConfigMap', configMap))).toEqual({
      ok: true,
      object: { kind: 'ConfigMap', name: 'feature-flags', namespace: 'default', labels: { phi: 'true', app: 'records' } },
    });
  });

  it.each([
    ['no magic', 'application/vnd.kubernetes.protobuf', Buffer.from('{"kind":"Pod"}')],
    ['a truncated field', 'application/vnd.kubernetes.protobuf', k8sProtobuf('Pod', field(1, field(1, 'web'))).subarray(0, -2)],
    ['a content encoding', 'application/vnd.kubernetes.protobuf', k8sProtobuf('Pod', field(1, field(1, 'web')), 'gzip')],
    ['JSON that is not an object', 'application/json', Buffer.from('[1]')],
    ['a label that is not a string', 'application/json', Buffer.from('{"metadata":{"labels":{"a":1}}}')],
    ['a name that is not a string', 'application/json', Buffer.from('{"metadata":{"name":["a"]}}')],
    ['an unknown content type', 'text/plain', Buffer.from('hello')],
  ])('refuses to guess at %s', (_name, contentType, body) => {
    expect(inspectBody(contentType, body)).toEqual({ ok: false, reason: expect.any(String) });
  });
});

describe('readBody', () => {
  it('reads a body whole, however it is chunked', async () => {
    await expect(readBody(Readable.from([Buffer.from('{"a"'), Buffer.from(':1}')]), 100)).resolves.toEqual({ ok: true, body: Buffer.from('{"a":1}') });
  });

  it('stops at the limit and says so, without reading the rest', async () => {
    let pulled = 0;
    const source = new Readable({
      read() {
        pulled++;
        this.push(Buffer.alloc(1024));
      },
    });
    await expect(readBody(source, 4096)).resolves.toEqual({ ok: false });
    const after = pulled;
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(pulled).toBeLessThanOrEqual(after + 1);
  });
});
