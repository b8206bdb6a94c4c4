/** Character codes and classes shared by the hand-written SQL lexers (ASCII only, by design). */
export const Char = {
  QUOTE: 0x27,
  DOUBLE_QUOTE: 0x22,
  BACKSLASH: 0x5c,
  BACKTICK: 0x60,
  DOLLAR: 0x24,
  AT: 0x40,
  HASH: 0x23,
  DOT: 0x2e,
  DASH: 0x2d,
  SLASH: 0x2f,
  STAR: 0x2a,
  AMPERSAND: 0x26,
} as const;

export function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

export function isIdentStart(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
}

export function isIdentChar(c: number): boolean {
  return isIdentStart(c) || isDigit(c);
}
