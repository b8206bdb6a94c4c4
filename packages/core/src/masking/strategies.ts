import { copyBytes } from '../bytes';
import { WardenError } from '../errors';
import { daysInMonth } from './checks';
import { DETECTOR_NAMES, type DetectorName } from './detection';
import type { KeyedHash } from './keyed-hash';
import type { ValueKind } from './value-kind';

/**
 * How a value is masked:
 * - `redact`: replaced by a fixed value of the same type (`[REDACTED]`, `0`, `1900-01-01`);
 * - `partial`: the least identifying part kept (last four digits, an e-mail's domain, initials, a year);
 * - `hash`: a keyed HMAC of the value, stable per deployment so that masked values still join;
 * - `year-only`: dates keep their year (`1980-01-01`), other values are redacted;
 * - `fake`: a realistic value of the same shape and type, derived from the keyed hash (stable too).
 */
export const STRATEGY_NAMES = ['redact', 'partial', 'hash', 'year-only', 'fake'] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];

export function isStrategyName(name: string): name is StrategyName {
  return (STRATEGY_NAMES as readonly string[]).includes(name);
}

const REDACTED = '[REDACTED]';
/** The hash domain for whole values: the same e-mail hashes alike in every column, so joins work. */
const VALUE_DOMAIN = 'value';

// ---- whole values of a column ---------------------------------------------------------------------

/**
 * Masks one value of a column whose rule names `strategy`, keeping it valid for `kind`.
 * Throws `WardenError('masking')` when the value cannot be read as its kind: the caller refuses
 * the result rather than pass the value on.
 */
export function maskValue(strategy: StrategyName, kind: ValueKind, value: string, hash: KeyedHash): string {
  switch (kind) {
    case 'text':
      return maskText(strategy, value, hash);
    case 'int2':
    case 'int4':
    case 'int8':
      return maskInteger(strategy, kind, value, hash);
    case 'numeric':
      return maskNumeric(strategy, value, hash);
    case 'boolean':
      return 'f';
    case 'date':
    case 'timestamp':
    case 'timestamptz':
      return maskDateLike(strategy, kind, value, hash);
    case 'time':
      return '00:00:00';
    case 'json':
      return maskJson(value, (leaf) => maskText(strategy, leaf, hash), strategy === 'hash' || strategy === 'fake' ? (n) => hashedInteger(hash, n, 999_999_999) : () => '0');
    case 'uuid':
      return strategy === 'redact' ? '00000000-0000-0000-0000-000000000000' : hashedUuid(hash, value);
    case 'bytes':
      return strategy === 'hash' || strategy === 'fake' ? `\\x${hash.hex(VALUE_DOMAIN, value, 32)}` : '\\x';
    case 'other':
      throw new WardenError('masking', 'a masking rule applies to a column of a type Warden cannot mask');
  }
}

const REDACTED_BYTES = Buffer.from(REDACTED, 'latin1');
const REDACTED_DATE_BYTES = Buffer.from('1900-01-01', 'latin1');
const JANUARY_FIRST_BYTES = Buffer.from('-01-01', 'latin1');
/** The most a value grows when masked from its bytes (`***` before an e-mail's domain, a 16-character hash). */
export const UTF8_MASK_GROWTH = 16;

/**
 * Masks a value straight from its UTF-8 bytes `bytes[start, end)`, where the strategy needs no
 * decoding: writes the masked value's bytes to `out` at `at` (there must be room for
 * `end - start + UTF8_MASK_GROWTH` bytes) and returns the offset after them, or -1 when this value
 * needs `maskValue` on its text. The output is byte for byte what `maskValue` gives for the
 * decoded text.
 */
export function maskUtf8Into(strategy: StrategyName, kind: ValueKind, bytes: Buffer, start: number, end: number, hash: KeyedHash, out: Buffer, at: number): number {
  if (kind === 'text') {
    switch (strategy) {
      case 'redact':
        return copyBytes(REDACTED_BYTES, 0, REDACTED_BYTES.length, out, at);
      case 'hash':
        return hash.hexOfUtf8Into(VALUE_DOMAIN, bytes, start, end, 16, out, at);
      case 'partial': {
        // An e-mail keeps its domain (as partialText); '@' is ASCII, never part of a multi-byte character.
        let sign = end - 1;
        while (sign > start && bytes[sign] !== 0x40) sign--;
        if (sign <= start || sign >= end - 1) return -1;
        out[at] = out[at + 1] = out[at + 2] = 0x2a;
        return copyBytes(bytes, sign, end, out, at + 3);
      }
      default:
        return -1;
    }
  }
  if (kind === 'date' && end - start === 10 && isIsoDate(bytes, start)) {
    switch (strategy) {
      case 'redact':
        return copyBytes(REDACTED_DATE_BYTES, 0, 10, out, at);
      case 'year-only':
      case 'partial':
        copyBytes(bytes, start, start + 4, out, at);
        return copyBytes(JANUARY_FIRST_BYTES, 0, 6, out, at + 4);
      default:
        return -1;
    }
  }
  return -1;
}

/** `YYYY-MM-DD` at `start` (Postgres's ISO date output for a year of four digits). */
function isIsoDate(bytes: Buffer, start: number): boolean {
  for (let i = 0; i < 10; i++) {
    const byte = bytes[start + i]!;
    if (i === 4 || i === 7 ? byte !== 0x2d : byte < 0x30 || byte > 0x39) return false;
  }
  return true;
}

function maskText(strategy: StrategyName, value: string, hash: KeyedHash): string {
  switch (strategy) {
    case 'redact':
      return REDACTED;
    case 'partial':
      return partialText(value);
    case 'hash':
      return hash.hex(VALUE_DOMAIN, value);
    case 'year-only': {
      const iso = /^(\d{4})-\d{2}-\d{2}/.exec(value);
      if (iso) return `${iso[1]}-01-01`;
      const year = /\b(1[89]\d\d|2[01]\d\d)\b/.exec(value);
      return year ? year[1]! : REDACTED;
    }
    case 'fake':
      return fakeText(value, hash);
  }
}

/** An e-mail keeps its domain; text with digits keeps its last four; words keep their initials. */
function partialText(value: string): string {
  const at = value.lastIndexOf('@');
  if (at > 0 && at < value.length - 1) return `***${value.slice(at)}`;
  if (/\d/.test(value)) {
    let keep = 4;
    let out = '';
    for (let i = value.length - 1; i >= 0; i--) {
      const c = value[i]!;
      if (/[A-Za-z0-9]/.test(c)) {
        out = (keep > 0 && value.length > 4 ? c : '*') + out;
        keep--;
      } else {
        out = c + out;
      }
    }
    return out;
  }
  return value.replace(/\p{L}[\p{L}'’-]*/gu, (word) => `${word[0]}.`);
}

function maskInteger(strategy: StrategyName, kind: 'int2' | 'int4' | 'int8', value: string, hash: KeyedHash): string {
  if (!/^-?\d+$/.test(value)) throw new WardenError('masking', `an ${kind} value could not be read for masking`);
  switch (strategy) {
    case 'hash':
    case 'fake':
      return hashedInteger(hash, value, kind === 'int2' ? 32_767 : kind === 'int4' ? 2_147_483_647 : Number.MAX_SAFE_INTEGER);
    case 'partial': {
      const digits = value.replace('-', '');
      return String(Number(digits.slice(-4)));
    }
    default:
      return '0';
  }
}

function hashedInteger(hash: KeyedHash, value: string, max: number): string {
  const digest = hash.digest(VALUE_DOMAIN, value);
  const n = digest.readUInt32BE(0) * 2 ** 21 + (digest.readUInt32BE(4) >>> 11);
  return String(n % (max + 1));
}

function maskNumeric(strategy: StrategyName, value: string, hash: KeyedHash): string {
  if (value === 'NaN' || value === 'Infinity' || value === '-Infinity') return value;
  if (!/^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(value)) throw new WardenError('masking', 'a numeric value could not be read for masking');
  if (strategy === 'hash') return hashedInteger(hash, value, 999_999_999_999);
  if (strategy === 'fake') return formatPreserving(value, hash, /e/i.test(value) ? /[0-9]/ : /[0-9]/).replace(/^(-?)0+(?=\d)/, '$1');
  return '0';
}

// ---- dates ----------------------------------------------------------------------------------------

/** Postgres ISO output (DateStyle ISO): `YYYY-MM-DD[ HH:MM:SS[.ffffff][±TZ]][ BC]`. */
const DATE_LIKE = /^(\d{4,})-(\d{2})-(\d{2})(?:([ T])(\d{2}):(\d{2}):(\d{2})(\.\d+)?)?([+-]\d{2}(?::\d{2}){0,2}|Z)?( BC)?$/;

function maskDateLike(strategy: StrategyName, kind: 'date' | 'timestamp' | 'timestamptz', value: string, hash: KeyedHash): string {
  if (value === 'infinity' || value === '-infinity') return value;
  const m = DATE_LIKE.exec(value);
  if (!m) throw new WardenError('masking', `a ${kind} value is not in ISO format (DateStyle ISO is required for masked date columns)`);
  const era = m[10] ?? '';
  let [year, month, day] = [Number(m[1]), 1, 1];
  switch (strategy) {
    case 'year-only':
    case 'partial':
      break;
    case 'redact':
      year = 1900;
      break;
    case 'hash':
    case 'fake': {
      const digest = hash.digest(VALUE_DOMAIN, value.slice(0, 10));
      // `hash` moves the date anywhere in 1900–2029; `fake` keeps the year and picks a day in it.
      if (strategy === 'hash') year = 1900 + (digest.readUInt16BE(0) % 130);
      month = 1 + (digest[2]! % 12);
      day = 1 + (digest[3]! % daysInMonth(year, month));
      break;
    }
  }
  const datePart = `${String(year).padStart(4, '0')}-${pad2(month)}-${pad2(day)}`;
  if (kind === 'date') return `${datePart}${era}`;
  const separator = m[4] ?? ' ';
  const zone = kind === 'timestamptz' ? (m[9] ?? '') : '';
  return `${datePart}${separator}00:00:00${zone}${era}`;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

// ---- JSON -----------------------------------------------------------------------------------------

/**
 * Masks inside a JSON document: every string value through `text`, every number through `number`
 * (object keys are structure and stay). The result is valid JSON; the original text is returned
 * when nothing changed, so untouched documents keep their exact bytes.
 */
export function maskJson(value: string, text: (leaf: string) => string, number?: (leaf: string) => string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (cause) {
    throw new WardenError('masking', 'a JSON value could not be parsed for masking', { cause });
  }
  let changed = false;
  const walk = (node: unknown): unknown => {
    if (typeof node === 'string') {
      const masked = text(node);
      if (masked !== node) changed = true;
      return masked;
    }
    if (typeof node === 'number' && number) {
      const masked = Number(number(String(node)));
      if (masked !== node) changed = true;
      return masked;
    }
    if (Array.isArray(node)) return node.map(walk);
    if (node !== null && typeof node === 'object') {
      const out: Record<string, unknown> = {};
      for (const [key, child] of Object.entries(node)) out[key] = walk(child);
      return out;
    }
    return node;
  };
  const masked = walk(parsed);
  return changed ? JSON.stringify(masked) : value;
}

// ---- spans found by detectors in free text ---------------------------------------------------------

/** `[PHONE]`, `[SSN]`, …: what `redact` puts in place of a detected span, made once. */
const REDACTED_SPANS = Object.fromEntries(DETECTOR_NAMES.map((name) => [name, `[${name.toUpperCase()}]`])) as Record<DetectorName, string>;

/** Masks a span of free text that `detector` recognised. */
export function maskSpan(strategy: StrategyName, detector: DetectorName, value: string, hash: KeyedHash): string {
  switch (strategy) {
    case 'redact':
      return REDACTED_SPANS[detector];
    case 'hash':
      return `[${detector.toUpperCase()}:${hash.hex(VALUE_DOMAIN, value, 10)}]`;
    case 'partial':
      if (detector === 'name') return partialText(value);
      if (detector === 'date') return yearOf(value) ?? REDACTED_SPANS[detector];
      return partialText(value);
    case 'year-only':
      return (detector === 'date' ? yearOf(value) : undefined) ?? REDACTED_SPANS[detector];
    case 'fake':
      return fakeText(value, hash, detector);
  }
}

function yearOf(value: string): string | undefined {
  const year = /\b(\d{4})\b/.exec(value);
  if (year) return year[1]!;
  const short = /\/(\d{2})$/.exec(value);
  return short ? `${Number(short[1]) > 30 ? '19' : '20'}${short[1]}` : undefined;
}

// ---- fakes ----------------------------------------------------------------------------------------

const FIRST_NAMES = ['Alex', 'Jordan', 'Taylor', 'Morgan', 'Casey', 'Riley', 'Jamie', 'Avery', 'Quinn', 'Rowan', 'Harper', 'Emerson'];
const LAST_NAMES = ['Rivera', 'Chen', 'Okafor', 'Lindqvist', 'Moreau', 'Novak', 'Haddad', 'Tanaka', 'Silva', 'Kowalski', 'Byrne', 'Mensah'];

/**
 * A stable fake of the same shape: SSNs get an area in 900–999 (never issued), e-mails an
 * `example.com` address (reserved, RFC 2606), names come from a list; anything else keeps its format
 * with letters and digits replaced.
 */
function fakeText(value: string, hash: KeyedHash, detector?: DetectorName): string {
  const digest = hash.digest(VALUE_DOMAIN, value);
  const ssn = /^(\d{3})([- ]?)(\d{2})\2(\d{4})$/.exec(value);
  if (ssn && (detector === undefined || detector === 'ssn')) {
    const digits = formatPreserving(value, hash).replace(/\D/g, '');
    return `9${digits.slice(1, 3)}${ssn[2]}${digits.slice(3, 5)}${ssn[2]}${digits.slice(5, 9)}`;
  }
  if (detector === 'email' || (detector === undefined && /^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$/.test(value))) {
    return `user${digest.toString('hex').slice(0, 8)}@example.com`;
  }
  if (detector === 'name' || (detector === undefined && /^\p{Lu}\p{Ll}+(?: \p{Lu}\p{Ll}+){1,2}$/u.test(value))) {
    const words = value.split(/\s+/).length;
    const first = FIRST_NAMES[digest[0]! % FIRST_NAMES.length]!;
    const last = LAST_NAMES[digest[1]! % LAST_NAMES.length]!;
    return words === 1 ? last : `${first} ${last}`;
  }
  return formatPreserving(value, hash);
}

/** Replaces each digit with a digit and each ASCII letter with a letter of the same case. */
function formatPreserving(value: string, hash: KeyedHash, digitClass: RegExp = /[0-9]/): string {
  let digest = hash.digest(VALUE_DOMAIN, value);
  let used = 0;
  let round = 0;
  let out = '';
  for (const c of value) {
    if (used >= digest.length) {
      digest = hash.digest(`${VALUE_DOMAIN}:${++round}`, value);
      used = 0;
    }
    const r = digest[used++]!;
    if (digitClass.test(c)) out += String(r % 10);
    else if (c >= 'a' && c <= 'z') out += String.fromCharCode(97 + (r % 26));
    else if (c >= 'A' && c <= 'Z') out += String.fromCharCode(65 + (r % 26));
    else out += c;
  }
  return out;
}

function hashedUuid(hash: KeyedHash, value: string): string {
  const hex = hash.digest(VALUE_DOMAIN, value.toLowerCase()).toString('hex');
  // Version 4, RFC 4122 variant, so that strict UUID parsers accept it.
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
