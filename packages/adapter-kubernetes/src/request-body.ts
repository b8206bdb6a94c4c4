/**
 * The object a create or update request carries, as far as policy needs it: its name, namespace and
 * labels (`kubectl create configmap app-config` names the object only in the body). Read from the
 * three encodings kube-apiserver accepts for object bodies:
 *
 * - JSON (`application/json`, what kubectl and client libraries send);
 * - YAML (`application/yaml`);
 * - Protobuf (`application/vnd.kubernetes.protobuf`, what controllers built on client-go send): the
 *   4-byte magic `k8s\0`, then a `runtime.Unknown` message whose `raw` field holds the object's own
 *   message; every top-level Kubernetes object has `ObjectMeta metadata = 1`.
 *   https://kubernetes.io/docs/reference/using-api/api-concepts/#protobuf-encoding
 *   (field numbers from k8s.io/apimachinery/pkg/runtime/generated.proto and
 *   k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto)
 *
 * A body that is none of these, or does not parse, is reported as such: the request is then
 * classified `unknown` and refused unless a rule allows it (fail closed). Pure: no sockets.
 */
import type { Readable } from 'node:stream';
import { parse as parseYaml } from 'yaml';

/** What Warden reads of the object in a request body. */
export interface BodyObject {
  readonly kind?: string;
  readonly name?: string;
  /** `metadata.generateName`: the server appends a suffix to make the name. */
  readonly generateName?: string;
  readonly namespace?: string;
  readonly labels: Readonly<Record<string, string>>;
}

export type BodyInspection = { readonly ok: true; readonly object: BodyObject } | { readonly ok: false; readonly reason: string };

const PROTOBUF_MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

/** Reads the object in `body`, sent with `contentType` (the request's Content-Type header). */
export function inspectBody(contentType: string | undefined, body: Buffer): BodyInspection {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  try {
    if (type === 'application/vnd.kubernetes.protobuf') return { ok: true, object: protobufObject(body) };
    if (type === 'application/json' || type === '') return { ok: true, object: documentObject(JSON.parse(body.toString('utf8'))) };
    if (type === 'application/yaml') return { ok: true, object: documentObject(parseYaml(body.toString('utf8'))) };
    return { ok: false, reason: `a request body of type ${type.slice(0, 100)} is not one Warden can read` };
  } catch (error) {
    return { ok: false, reason: `the request body does not parse as ${type || 'JSON'}: ${error instanceof Error ? error.message.slice(0, 200) : 'unreadable'}` };
  }
}

/** A JSON or YAML document: `kind` and `metadata`. */
function documentObject(document: unknown): BodyObject {
  if (typeof document !== 'object' || document === null || Array.isArray(document)) throw new Error('the body is not an object');
  const { kind, metadata } = document as { kind?: unknown; metadata?: unknown };
  if (metadata !== undefined && (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))) throw new Error('metadata is not an object');
  const meta = (metadata ?? {}) as Record<string, unknown>;
  const labels: Record<string, string> = {};
  if (meta['labels'] !== undefined && meta['labels'] !== null) {
    if (typeof meta['labels'] !== 'object' || Array.isArray(meta['labels'])) throw new Error('metadata.labels is not an object');
    for (const [key, value] of Object.entries(meta['labels'] as Record<string, unknown>)) {
      if (typeof value !== 'string') throw new Error(`label ${key.slice(0, 100)} is not a string`);
      labels[key] = value;
    }
  }
  return {
    labels,
    ...(typeof kind === 'string' ? { kind } : {}),
    ...stringField(meta, 'name'),
    ...stringField(meta, 'generateName'),
    ...stringField(meta, 'namespace'),
  };
}

function stringField(meta: Record<string, unknown>, field: 'name' | 'generateName' | 'namespace'): Partial<Record<typeof field, string>> {
  const value = meta[field];
  if (value === undefined || value === null) return {};
  if (typeof value !== 'string') throw new Error(`metadata.${field} is not a string`);
  return { [field]: value };
}

/** `k8s\0` + runtime.Unknown { TypeMeta typeMeta = 1 { apiVersion = 1; kind = 2 }; bytes raw = 2; contentEncoding = 3; contentType = 4 }. */
function protobufObject(body: Buffer): BodyObject {
  if (body.length < 4 || !body.subarray(0, 4).equals(PROTOBUF_MAGIC)) throw new Error('the protobuf body does not start with the k8s magic');
  let kind: string | undefined;
  let raw: Buffer | undefined;
  let encoding = '';
  for (const field of fields(body.subarray(4))) {
    if (field.number === 1 && field.bytes) {
      for (const typeField of fields(field.bytes)) if (typeField.number === 2 && typeField.bytes) kind = typeField.bytes.toString('utf8');
    } else if (field.number === 2 && field.bytes) raw = field.bytes;
    else if (field.number === 3 && field.bytes) encoding = field.bytes.toString('utf8');
  }
  if (encoding !== '') throw new Error(`content encoding ${encoding.slice(0, 50)} is not supported`);
  if (!raw) throw new Error('the protobuf envelope holds no object');
  // ObjectMeta: name = 1, generateName = 2, namespace = 3, labels = 11 (map entries: key = 1, value = 2).
  const labels: Record<string, string> = {};
  let name: string | undefined;
  let generateName: string | undefined;
  let namespace: string | undefined;
  for (const field of fields(raw)) {
    if (field.number !== 1 || !field.bytes) continue;
    for (const meta of fields(field.bytes)) {
      if (!meta.bytes) continue;
      if (meta.number === 1) name = meta.bytes.toString('utf8');
      else if (meta.number === 2) generateName = meta.bytes.toString('utf8');
      else if (meta.number === 3) namespace = meta.bytes.toString('utf8');
      else if (meta.number === 11) {
        let key = '';
        let value = '';
        for (const entry of fields(meta.bytes)) {
          if (entry.number === 1 && entry.bytes) key = entry.bytes.toString('utf8');
          else if (entry.number === 2 && entry.bytes) value = entry.bytes.toString('utf8');
        }
        labels[key] = value;
      }
    }
  }
  return {
    labels,
    ...(kind !== undefined ? { kind } : {}),
    ...(name !== undefined ? { name } : {}),
    ...(generateName !== undefined ? { generateName } : {}),
    ...(namespace !== undefined ? { namespace } : {}),
  };
}

interface ProtoField {
  readonly number: number;
  /** Length-delimited fields (wire type 2); other wire types are skipped. */
  readonly bytes?: Buffer;
}

/** The fields of one protobuf message; throws on a truncated or malformed message. */
function* fields(message: Buffer): Generator<ProtoField> {
  let offset = 0;
  const varint = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (offset >= message.length) throw new Error('truncated protobuf varint');
      const byte = message[offset++]!;
      // Lengths and field numbers Warden reads fit well within 2^49; larger ones are malformed here.
      if (shift > 49) throw new Error('protobuf varint too long');
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7;
    }
  };
  while (offset < message.length) {
    const key = varint();
    const number = Math.floor(key / 8);
    const wireType = key % 8;
    if (number === 0) throw new Error('protobuf field number 0');
    switch (wireType) {
      case 0:
        varint();
        yield { number };
        break;
      case 1:
        offset += 8;
        yield { number };
        break;
      case 2: {
        const length = varint();
        if (offset + length > message.length) throw new Error('truncated protobuf field');
        yield { number, bytes: message.subarray(offset, offset + length) };
        offset += length;
        break;
      }
      case 5:
        offset += 4;
        yield { number };
        break;
      default:
        throw new Error(`protobuf wire type ${wireType} is not supported`);
    }
    if (offset > message.length) throw new Error('truncated protobuf field');
  }
}

/** Reads a request body whole, up to `limit` bytes (more: `ok: false`, and the rest is not read). */
export function readBody(source: Readable, limit: number): Promise<{ readonly ok: true; readonly body: Buffer } | { readonly ok: false }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        source.off('data', onData);
        source.pause();
        resolve({ ok: false });
        return;
      }
      chunks.push(chunk);
    };
    source.on('data', onData);
    source.once('end', () => resolve({ ok: true, body: Buffer.concat(chunks) }));
    source.once('error', reject);
  });
}
