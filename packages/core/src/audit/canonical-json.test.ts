import { canonicalJson } from './canonical-json';

describe('canonicalJson', () => {
  it('sorts keys recursively and leaves no whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: 'x' } })).toBe('{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}');
  });

  it('gives the same output whatever the insertion order', () => {
    expect(canonicalJson({ seq: 1, type: 't', prev: 'p' })).toBe(canonicalJson({ prev: 'p', type: 't', seq: 1 }));
  });

  it('writes Dates as ISO strings and drops undefined properties', () => {
    expect(canonicalJson({ at: new Date(0), gone: undefined, fn: () => 1 })).toBe('{"at":"1970-01-01T00:00:00.000Z"}');
  });

  it('follows JSON.stringify for values without an object form', () => {
    expect(canonicalJson([undefined, Number.NaN, Infinity, -0, null, true])).toBe('[null,null,null,0,null,true]');
    expect(canonicalJson('line\nbreak "quoted" \u2028')).toBe(JSON.stringify('line\nbreak "quoted" \u2028'));
  });

  it('sorts keys by UTF-16 code units, as RFC 8785 does', () => {
    expect(canonicalJson({ é: 1, z: 2, A: 3, '10': 4, '9': 5 })).toBe('{"10":4,"9":5,"A":3,"z":2,"é":1}');
  });

  it('is stable under a round trip through JSON.parse', () => {
    const value = { when: new Date('2025-03-01T12:00:00Z'), list: [1, 'two', { three: 3 }], nested: { b: false, a: null } };
    const once = canonicalJson(value);
    expect(canonicalJson(JSON.parse(once))).toBe(once);
  });

  it('refuses what has no JSON form', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => canonicalJson(cyclic)).toThrow(/circular/);
    expect(() => canonicalJson({ big: 1n })).toThrow(/bigint/);
    expect(() => canonicalJson(undefined)).toThrow(TypeError);
  });

  it('accepts a shared (non-circular) object twice', () => {
    const shared = { x: 1 };
    expect(canonicalJson({ a: shared, b: shared })).toBe('{"a":{"x":1},"b":{"x":1}}');
  });
});
