/**
 * What a masked value must stay valid as. Adapters map their protocol's column types to these (a
 * Postgres `int4` is `int4`, `varchar` is `text`); the masker never sees protocol types.
 */
export const VALUE_KINDS = [
  'text',
  'int2',
  'int4',
  'int8',
  'numeric',
  'boolean',
  'date',
  'timestamp',
  'timestamptz',
  'time',
  'json',
  'uuid',
  'bytes',
  'other',
] as const;

export type ValueKind = (typeof VALUE_KINDS)[number];

/** Kinds whose text can hold free text, and so are worth running content detectors on. */
export function isTextual(kind: ValueKind): boolean {
  return kind === 'text' || kind === 'json';
}
