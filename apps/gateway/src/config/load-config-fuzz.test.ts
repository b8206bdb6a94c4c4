/**
 * Property-based fuzzing of the YAML configuration loader: random YAML, and a valid configuration
 * mutated (bytes flipped, cut, invalid UTF-8, aliases, tags, huge numbers). Whatever the text,
 * `parseConfig` returns a validated configuration or throws a `ConfigFileError` naming the file —
 * never another error, never a hang. `tools/bench/fuzz.mjs` runs it with ≥ 100k cases.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fuzzParameters, mutatedFrame } from '@warden/testing';
import { ConfigFileError, parseConfig } from './load-config';

const RUNS = 800;

const VALID = `dataDir: /tmp/warden-fuzz
identity:
  devIssuer: true
connections:
  - name: clinic
    protocol: postgres
    listen: 127.0.0.1:0
    target: { host: 127.0.0.1, port: 5432, database: clinic, user: postgres }
grants:
  - { connection: clinic, groups: [coding-agents], access: read-only }
rules:
  - name: no-ddl
    match: { connection: clinic, action: ddl }
    effect: block
`;

/** Pieces of YAML syntax that stress a loader. */
const yamlPiece = fc.constantFrom(
  '&a [x, x]', '*a', '*nope', '!!binary aGk=', '!!set {a, b}', '!!map', '!!str 1', '!custom x', '? [a]\n: 1', '<<: *a', '---', '...', '%YAML 1.2\n---',
  '1e999', '0x7fffffffffffffff', '-.inf', '.nan', '~', 'null', '"\\u0000"', "'unterminated", '{', '[', ']', '}', ': :', '- - -', '\t', '\u00a0', '${env:NOPE}', '${file:../../../etc/shadow}', '__proto__: { polluted: true }', 'constructor: 1',
);
const randomYaml = fc.array(fc.oneof(yamlPiece, fc.string({ maxLength: 12 })), { maxLength: 12 }).chain((pieces) =>
  fc.array(fc.constantFrom('\n', ' ', ': ', '\n  ', '\n- ', ', '), { minLength: pieces.length, maxLength: pieces.length }).map((seps) => pieces.map((piece, i) => `${piece}${seps[i]}`).join('')),
);
const mutatedValid = mutatedFrame(fc.constant(Buffer.from(VALID))).map((bytes) => bytes.toString('utf8'));
const spliced = fc.tuple(fc.nat({ max: VALID.length }), yamlPiece).map(([at, piece]) => `${VALID.slice(0, at)}${piece}${VALID.slice(at)}`);

function load(text: string): void {
  try {
    const { config } = parseConfig(text, 'fuzz.yaml', {});
    assert.ok(config.connections.length > 0);
  } catch (error) {
    if (!(error instanceof ConfigFileError)) throw error;
    assert.ok(error.message.startsWith('fuzz.yaml'));
  }
}

describe('fuzzing the configuration loader', () => {
  it('any text: a validated configuration or a ConfigFileError naming the file', () => {
    fc.assert(fc.property(fc.oneof(randomYaml, mutatedValid, spliced), load), fuzzParameters(RUNS));
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  // Regression (found while fuzzing): an alias bomb made the YAML library throw a ReferenceError,
  // which escaped as an unexplained crash instead of an error naming the file.
  it('an alias bomb (billion laughs) is a ConfigFileError, not a crash', () => {
    const laughs = ['a: &a [x,x,x,x,x,x,x,x,x]', 'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]', 'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]', 'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]', 'e: [*d,*d,*d,*d,*d,*d,*d,*d,*d]'].join('\n');
    expect(() => parseConfig(laughs, 'bomb.yaml', {})).toThrow(ConfigFileError);
    expect(() => parseConfig(laughs, 'bomb.yaml', {})).toThrow(/^bomb\.yaml: the configuration uses too many aliases/);
  });
});
