/**
 * Deterministic JSON: the input of the audit hash chain. The same value must give the same bytes
 * on every machine and after a round trip through the log file, or `verify` reports tampering that
 * never happened.
 *
 * Values follow `JSON.stringify` semantics exactly (`toJSON` is honoured, so a Date becomes its ISO
 * string; `undefined`, functions and symbols are dropped from objects and become `null` in arrays;
 * non-finite numbers become `null`), except that object keys are sorted recursively and there is no
 * whitespace. Keys sort by UTF-16 code units and numbers print as ECMAScript does, which is what
 * RFC 8785 (JSON Canonicalization Scheme) prescribes, so a verifier in another language can follow
 * the RFC.
 *
 * Because the output is itself canonical, `canonicalJson(JSON.parse(canonicalJson(v)))` equals
 * `canonicalJson(v)`: the log stores canonical lines and the hash can be recomputed from them.
 *
 * @example
 * canonicalJson({ b: 1, a: [new Date(0), undefined] }) // '{"a":["1970-01-01T00:00:00.000Z",null],"b":1}'
 */
export function canonicalJson(value: unknown): string {
  const out = serialize(value, '', []);
  if (out === undefined) throw new TypeError(`canonicalJson: a top-level ${typeof value} has no JSON form`);
  return out;
}

/** Audit records use a few dozen member names over and over: their quoted forms, remembered. */
const QUOTED_KEYS = new Map<string, string>();

function quotedKey(name: string): string {
  let quoted = QUOTED_KEYS.get(name);
  if (quoted === undefined) {
    quoted = JSON.stringify(name);
    // Bounded: names that come from data (a masked-count label, a header) must not grow it forever.
    if (QUOTED_KEYS.size < 4096) QUOTED_KEYS.set(name, quoted);
  }
  return quoted;
}

/** Returns undefined for values JSON omits (undefined, functions, symbols). */
function serialize(input: unknown, key: string, ancestors: object[]): string | undefined {
  let value = input;
  if ((typeof value === 'object' && value !== null) || typeof value === 'bigint') {
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') value = (toJSON as (key: string) => unknown).call(value, key);
    // Boxed primitives serialize as their primitive, as in JSON.stringify.
    if (value instanceof Number || value instanceof String || value instanceof Boolean) value = value.valueOf();
  }

  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      // String() of a finite number is its JSON form (-0 included: both print 0).
      return Number.isFinite(value) ? String(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      throw new TypeError('canonicalJson: a bigint has no JSON form');
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
  }
  if (value === null) return 'null';

  // Records nest a few levels deep, so a linear scan of the ancestors beats a Set.
  const object = value as object;
  if (ancestors.includes(object)) throw new TypeError('canonicalJson: circular structure');
  ancestors.push(object);
  let out: string;
  if (Array.isArray(object)) {
    out = '[';
    for (let i = 0; i < object.length; i++) out += `${i === 0 ? '' : ','}${serialize(object[i], String(i), ancestors) ?? 'null'}`;
    out += ']';
  } else {
    const record = object as Record<string, unknown>;
    out = '{';
    for (const name of Object.keys(record).sort()) {
      const member = serialize(record[name], name, ancestors);
      if (member !== undefined) out += `${out.length === 1 ? '' : ','}${quotedKey(name)}:${member}`;
    }
    out += '}';
  }
  ancestors.pop();
  return out;
}
