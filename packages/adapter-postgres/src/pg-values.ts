import { WardenError, type ValueKind } from '@warden/core';

/**
 * Postgres type OIDs Warden can mask, and their binary wire formats (the `typsend`/`typreceive`
 * functions of src/backend/utils/adt/*.c). https://www.postgresql.org/docs/current/datatype.html
 * Pre-assigned OIDs: src/include/catalog/pg_type.dat.
 */
export const TypeOid = {
  bool: 16,
  bytea: 17,
  char: 18,
  name: 19,
  int8: 20,
  int2: 21,
  int4: 23,
  text: 25,
  json: 114,
  xml: 142,
  float4: 700,
  float8: 701,
  unknown: 705,
  bpchar: 1042,
  varchar: 1043,
  date: 1082,
  time: 1083,
  timestamp: 1114,
  timestamptz: 1184,
  numeric: 1700,
  uuid: 2950,
  jsonb: 3802,
} as const;

/** How a column of a type is masked, and how its binary form converts to and from text. */
export interface PgValueType {
  readonly kind: ValueKind;
  /** Binary wire bytes to the text form the masker works on. */
  decodeBinary(bytes: Buffer): string;
  /** The masker's text back to binary wire bytes. */
  encodeBinary(text: string): Buffer;
}

const utf8: Pick<PgValueType, 'decodeBinary' | 'encodeBinary'> = {
  decodeBinary: (bytes) => bytes.toString('utf8'),
  encodeBinary: (text) => Buffer.from(text, 'utf8'),
};

/** Microseconds between 1970-01-01 and 2000-01-01, Postgres' epoch for dates and timestamps. */
const PG_EPOCH_MS = Date.UTC(2000, 0, 1);
const DAY_MS = 86_400_000;

function int(kind: 'int2' | 'int4' | 'int8', size: 2 | 4 | 8): PgValueType {
  return {
    kind,
    decodeBinary: (bytes) => (size === 2 ? String(bytes.readInt16BE(0)) : size === 4 ? String(bytes.readInt32BE(0)) : bytes.readBigInt64BE(0).toString()),
    encodeBinary: (text) => {
      const out = Buffer.alloc(size);
      if (size === 2) out.writeInt16BE(Number(text));
      else if (size === 4) out.writeInt32BE(Number(text));
      else out.writeBigInt64BE(BigInt(text));
      return out;
    },
  };
}

function float(size: 4 | 8): PgValueType {
  return {
    kind: 'numeric',
    decodeBinary: (bytes) => String(size === 4 ? bytes.readFloatBE(0) : bytes.readDoubleBE(0)),
    encodeBinary: (text) => {
      const out = Buffer.alloc(size);
      if (size === 4) out.writeFloatBE(Number(text));
      else out.writeDoubleBE(Number(text));
      return out;
    },
  };
}

const date: PgValueType = {
  kind: 'date',
  decodeBinary: (bytes) => {
    const days = bytes.readInt32BE(0);
    if (days === 0x7fffffff) return 'infinity';
    if (days === -0x80000000) return '-infinity';
    return isoDate(new Date(PG_EPOCH_MS + days * DAY_MS));
  },
  encodeBinary: (text) => {
    const out = Buffer.alloc(4);
    if (text === 'infinity') out.writeInt32BE(0x7fffffff);
    else if (text === '-infinity') out.writeInt32BE(-0x80000000);
    else out.writeInt32BE(Math.round((parseUtc(text) - PG_EPOCH_MS) / DAY_MS));
    return out;
  },
};

function timestamp(kind: 'timestamp' | 'timestamptz'): PgValueType {
  return {
    kind,
    decodeBinary: (bytes) => {
      const micros = bytes.readBigInt64BE(0);
      if (micros === 0x7fffffffffffffffn) return 'infinity';
      if (micros === -0x8000000000000000n) return '-infinity';
      const ms = PG_EPOCH_MS + Number(micros / 1000n);
      const d = new Date(ms);
      const fraction = String(Number(((micros % 1_000_000n) + 1_000_000n) % 1_000_000n)).padStart(6, '0');
      // Binary timestamptz is UTC; the text form the masker reads says so.
      return `${isoDate(d)} ${d.toISOString().slice(11, 19)}.${fraction}${kind === 'timestamptz' ? '+00' : ''}`;
    },
    encodeBinary: (text) => {
      const out = Buffer.alloc(8);
      if (text === 'infinity') out.writeBigInt64BE(0x7fffffffffffffffn);
      else if (text === '-infinity') out.writeBigInt64BE(-0x8000000000000000n);
      else out.writeBigInt64BE(BigInt(parseUtc(text) - PG_EPOCH_MS) * 1000n);
      return out;
    },
  };
}

const time: PgValueType = {
  kind: 'time',
  decodeBinary: (bytes) => new Date(Number(bytes.readBigInt64BE(0) / 1000n)).toISOString().slice(11, 19),
  encodeBinary: (text) => {
    const m = /^(\d{2}):(\d{2}):(\d{2})/.exec(text);
    if (!m) throw new WardenError('masking', 'a time value could not be encoded');
    const out = Buffer.alloc(8);
    out.writeBigInt64BE(BigInt((Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3])) * 1_000_000));
    return out;
  },
};

const uuid: PgValueType = {
  kind: 'uuid',
  decodeBinary: (bytes) => {
    const hex = bytes.toString('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  },
  encodeBinary: (text) => Buffer.from(text.replace(/-/g, ''), 'hex'),
};

const bytea: PgValueType = {
  kind: 'bytes',
  decodeBinary: (bytes) => `\\x${bytes.toString('hex')}`,
  encodeBinary: (text) => Buffer.from(text.startsWith('\\x') ? text.slice(2) : '', 'hex'),
};

const jsonb: PgValueType = {
  kind: 'json',
  // jsonb's binary form is a version byte (1) and the JSON text.
  decodeBinary: (bytes) => {
    if (bytes[0] !== 1) throw new WardenError('masking', `unsupported jsonb binary version ${bytes[0]}`);
    return bytes.toString('utf8', 1);
  },
  encodeBinary: (text) => Buffer.concat([Buffer.from([1]), Buffer.from(text, 'utf8')]),
};

const bool: PgValueType = {
  kind: 'boolean',
  decodeBinary: (bytes) => (bytes[0] ? 't' : 'f'),
  encodeBinary: (text) => Buffer.from([text === 't' ? 1 : 0]),
};

/**
 * numeric's binary form: int16 ndigits | int16 weight | int16 sign | int16 dscale | int16 digit × ndigits,
 * base-10000 digits, `weight` the power of the first (src/backend/utils/adt/numeric.c, numeric_send).
 */
const numeric: PgValueType = {
  kind: 'numeric',
  decodeBinary: (bytes) => {
    const ndigits = bytes.readInt16BE(0);
    const weight = bytes.readInt16BE(2);
    const sign = bytes.readUInt16BE(4);
    const dscale = bytes.readInt16BE(6);
    if (sign === 0xc000) return 'NaN';
    if (sign === 0xd000) return 'Infinity';
    if (sign === 0xf000) return '-Infinity';
    let intPart = '';
    let fracPart = '';
    for (let i = 0; i < ndigits; i++) {
      const group = String(bytes.readInt16BE(8 + 2 * i)).padStart(4, '0');
      if (i <= weight) intPart += group;
      else fracPart += group;
    }
    for (let i = ndigits; i <= weight; i++) intPart += '0000';
    if (weight < -1) fracPart = '0000'.repeat(-weight - 1) + fracPart;
    intPart = intPart.replace(/^0+(?=\d)/, '') || '0';
    fracPart = fracPart.padEnd(dscale, '0').slice(0, dscale);
    return `${sign === 0x4000 ? '-' : ''}${intPart}${dscale > 0 ? `.${fracPart}` : ''}`;
  },
  encodeBinary: (text) => {
    if (text === 'NaN') return header(0, 0, 0xc000, 0, []);
    const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text);
    if (!m) throw new WardenError('masking', 'a numeric value could not be encoded');
    const negative = m[1] === '-';
    const intDigits = m[2]!.replace(/^0+/, '');
    const frac = m[3] ?? '';
    const intPadded = intDigits.padStart(Math.ceil(intDigits.length / 4) * 4, '0');
    const fracPadded = frac.padEnd(Math.ceil(frac.length / 4) * 4, '0');
    const groups: number[] = [];
    for (let i = 0; i < intPadded.length; i += 4) groups.push(Number(intPadded.slice(i, i + 4)));
    const weight = groups.length - 1;
    for (let i = 0; i < fracPadded.length; i += 4) groups.push(Number(fracPadded.slice(i, i + 4)));
    let first = 0;
    let w = weight;
    while (first < groups.length && groups[first] === 0) {
      first++;
      w--;
    }
    let last = groups.length;
    while (last > first && groups[last - 1] === 0) last--;
    const digits = groups.slice(first, last);
    return header(digits.length, digits.length === 0 ? 0 : w, negative && digits.length > 0 ? 0x4000 : 0, frac.length, digits);
  },
};

function header(ndigits: number, weight: number, sign: number, dscale: number, digits: readonly number[]): Buffer {
  const out = Buffer.alloc(8 + 2 * digits.length);
  out.writeInt16BE(ndigits, 0);
  out.writeInt16BE(weight, 2);
  out.writeUInt16BE(sign, 4);
  out.writeInt16BE(dscale, 6);
  digits.forEach((d, i) => out.writeInt16BE(d, 8 + 2 * i));
  return out;
}

const TYPES: ReadonlyMap<number, PgValueType> = new Map<number, PgValueType>([
  [TypeOid.text, { kind: 'text', ...utf8 }],
  [TypeOid.varchar, { kind: 'text', ...utf8 }],
  [TypeOid.bpchar, { kind: 'text', ...utf8 }],
  [TypeOid.name, { kind: 'text', ...utf8 }],
  [TypeOid.unknown, { kind: 'text', ...utf8 }],
  [TypeOid.char, { kind: 'text', ...utf8 }],
  [TypeOid.xml, { kind: 'text', ...utf8 }],
  [TypeOid.json, { kind: 'json', ...utf8 }],
  [TypeOid.jsonb, jsonb],
  [TypeOid.int2, int('int2', 2)],
  [TypeOid.int4, int('int4', 4)],
  [TypeOid.int8, int('int8', 8)],
  [TypeOid.float4, float(4)],
  [TypeOid.float8, float(8)],
  [TypeOid.numeric, numeric],
  [TypeOid.bool, bool],
  [TypeOid.date, date],
  [TypeOid.time, time],
  [TypeOid.timestamp, timestamp('timestamp')],
  [TypeOid.timestamptz, timestamp('timestamptz')],
  [TypeOid.uuid, uuid],
  [TypeOid.bytea, bytea],
]);

const OTHER: PgValueType = {
  kind: 'other',
  decodeBinary: () => {
    throw new WardenError('masking', 'a value of this type cannot be masked');
  },
  encodeBinary: () => {
    throw new WardenError('masking', 'a value of this type cannot be masked');
  },
};

/** The masking view of a Postgres type; `kind: 'other'` for types Warden cannot mask. */
export function pgValueType(typeOid: number): PgValueType {
  return TYPES.get(typeOid) ?? OTHER;
}

function isoDate(d: Date): string {
  const year = d.getUTCFullYear();
  if (year < 1 || year > 9999) throw new WardenError('masking', 'a date outside years 1–9999 cannot be masked in binary format');
  return d.toISOString().slice(0, 10);
}

/** `YYYY-MM-DD[ HH:MM:SS[.f]][±zone]` as UTC milliseconds (the zone is Warden's own `+00`). */
function parseUtc(text: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?)?(?:([+-])(\d{2})(?::(\d{2}))?)?$/.exec(text);
  if (!m) throw new WardenError('masking', 'a masked date could not be encoded');
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0));
  const offset = m[8] ? (m[8] === '-' ? -1 : 1) * (Number(m[9]) * 60 + Number(m[10] ?? 0)) * 60_000 : 0;
  return ms - offset;
}
