/**
 * Text values of a result arrive in the connection's result character set, named per column by a
 * collation id. Masking reads and writes text in the ones Warden can decode exactly: UTF-8
 * (utf8mb3, utf8mb4, ascii) and MySQL's `latin1` (which is Windows-1252 with the five undefined
 * bytes mapped to the C1 controls). Any other character set with a masking plan refuses the result.
 * Ids: `SELECT id, character_set_name FROM information_schema.collations` (MariaDB 10.11, MySQL 8).
 */

export interface TextCodec {
  decode(bytes: Buffer): string;
  encode(text: string): Buffer;
}

const UTF8: TextCodec = {
  decode: (bytes) => bytes.toString('utf8'),
  encode: (text) => Buffer.from(text, 'utf8'),
};

/** Windows-1252 at 0x80–0x9F; the rest of `latin1` is ISO-8859-1. */
const CP1252_HIGH = [
  0x20ac, 0x81, 0x201a, 0x192, 0x201e, 0x2026, 0x2020, 0x2021, 0x2c6, 0x2030, 0x160, 0x2039, 0x152, 0x8d, 0x17d, 0x8f,
  0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x2dc, 0x2122, 0x161, 0x203a, 0x153, 0x9d, 0x17e, 0x178,
];
const CP1252_REVERSE = new Map(CP1252_HIGH.map((code, i) => [code, 0x80 + i] as const));

const LATIN1: TextCodec = {
  decode(bytes) {
    let out = '';
    for (const byte of bytes) out += String.fromCharCode(byte >= 0x80 && byte < 0xa0 ? CP1252_HIGH[byte - 0x80]! : byte);
    return out;
  },
  encode(text) {
    const out = Buffer.allocUnsafe(text.length);
    let length = 0;
    for (const char of text) {
      const code = char.codePointAt(0)!;
      // Masked text is Warden's own (ASCII, or letters kept from the value); anything else becomes '?', as the server does.
      out[length++] = code < 0x80 || (code >= 0xa0 && code <= 0xff) ? code : (CP1252_REVERSE.get(code) ?? 0x3f);
    }
    return out.subarray(0, length);
  },
};

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

const UTF8_COLLATIONS: ReadonlySet<number> = new Set([
  // utf8mb3
  33, 76, 83, ...range(192, 215), 223, 576, 577, 578, 1057, 1107, 1216, 1238,
  // utf8mb4 (MySQL 8 adds 255–323)
  45, 46, ...range(224, 247), ...range(255, 323), 608, 609, 610, 1069, 1070, 1248, 1270,
  // ascii
  11, 65, 1035, 1089,
]);
const LATIN1_COLLATIONS: ReadonlySet<number> = new Set([5, 8, 15, 31, 47, 48, 49, 94, 1032, 1071]);

/** The codec for values sent in collation `id`, or undefined when Warden cannot read that character set. */
export function textCodecFor(id: number): TextCodec | undefined {
  if (UTF8_COLLATIONS.has(id)) return UTF8;
  if (LATIN1_COLLATIONS.has(id)) return LATIN1;
  return undefined;
}
