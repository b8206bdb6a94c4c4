/**
 * Validity checks that turn a regex hit into a detection. A pattern that merely looks like an
 * identifier (nine digits, sixteen digits, four dotted numbers) is only reported when the value
 * could really be one: that is what keeps precision up on clinical text full of numbers.
 */

/** Luhn (mod 10) check over the digits of a card number. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/**
 * Issuer prefixes and lengths of the card networks (ISO/IEC 7812 IINs as published by the networks):
 * Visa, Mastercard (51–55, 2221–2720), Amex, Discover, Diners, JCB.
 */
export function cardNetworkValid(digits: string): boolean {
  const n = digits.length;
  const two = Number(digits.slice(0, 2));
  const four = Number(digits.slice(0, 4));
  if (digits[0] === '4') return n === 13 || n === 16 || n === 19;
  if ((two >= 51 && two <= 55) || (four >= 2221 && four <= 2720)) return n === 16;
  if (two === 34 || two === 37) return n === 15;
  if (digits.startsWith('6011') || digits.startsWith('65') || (four >= 6440 && four <= 6499)) return n >= 16 && n <= 19;
  if (two === 36 || two === 38 || (four >= 3000 && four <= 3059)) return n >= 14 && n <= 19;
  if (four >= 3528 && four <= 3589) return n >= 16 && n <= 19;
  return false;
}

/**
 * SSA rules for issued numbers (https://www.ssa.gov/employer/randomization.html): the area is never
 * 000, 666 or 900–999, the group never 00, the serial never 0000.
 */
export function ssnValid(area: string, group: string, serial: string): boolean {
  const a = Number(area);
  if (a === 0 || a === 666 || a >= 900) return false;
  if (group === '00' || serial === '0000') return false;
  // Numbers the SSA voided after they were published in advertising.
  if (area === '078' && group === '05' && serial === '1120') return false;
  if (area === '219' && group === '09' && serial === '9999') return false;
  return true;
}

/** A calendar date that exists (leap years included), within a plausible range for a person. */
export function dateValid(year: number, month: number, day: number): boolean {
  if (!Number.isInteger(year) || !Number.isInteger(month) || !Number.isInteger(day)) return false;
  if (year < 1850 || year > 2150 || month < 1 || month > 12 || day < 1) return false;
  return day <= daysInMonth(year, month);
}

export function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Dotted-quad IPv4 with every octet 0–255 and no leading zeros (which some parsers read as octal). */
export function ipv4Valid(text: string): boolean {
  const parts = text.split('.');
  if (parts.length !== 4) return false;
  for (const part of parts) {
    if (part.length === 0 || part.length > 3) return false;
    if (part.length > 1 && part[0] === '0') return false;
    if (Number(part) > 255) return false;
  }
  return true;
}

/** RFC 4291 text form: eight groups of up to four hex digits, one `::` allowed, optional IPv4 tail. */
export function ipv6Valid(text: string): boolean {
  if (text.length < 2 || text.length > 45) return false;
  const doubleColon = text.indexOf('::');
  if (doubleColon !== -1 && text.indexOf('::', doubleColon + 1) !== -1) return false;
  let groups = text.split(':');
  let slots = 8;
  const last = groups[groups.length - 1] ?? '';
  if (last.includes('.')) {
    if (!ipv4Valid(last)) return false;
    groups = groups.slice(0, -1);
    slots = 6;
  }
  if (doubleColon === -1) {
    return groups.length === slots && groups.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g));
  }
  const [head = '', tail = ''] = text.slice(0, slots === 6 ? text.lastIndexOf(':') : undefined).split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === '' ? [] : tail.split(':');
  if (headGroups.length + tailGroups.length > slots - 1) return false;
  // At least one hex digit overall, or it is just "::".
  return [...headGroups, ...tailGroups].every((g) => /^[0-9a-fA-F]{1,4}$/.test(g));
}

const VIN_VALUES: Readonly<Record<string, number>> = {
  A: 1, B: 2, C: 3, D: 4, E: 5, F: 6, G: 7, H: 8, J: 1, K: 2, L: 3, M: 4, N: 5, P: 7, R: 9,
  S: 2, T: 3, U: 4, V: 5, W: 6, X: 7, Y: 8, Z: 9,
};
const VIN_WEIGHTS = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2] as const;

/** 49 CFR 565.15: the ninth character of a North American VIN is a check digit (0–9 or X). */
export function vinValid(vin: string): boolean {
  if (!/^[A-HJ-NPR-Z0-9]{17}$/.test(vin)) return false;
  let sum = 0;
  for (let i = 0; i < 17; i++) {
    const c = vin[i]!;
    const value = c >= '0' && c <= '9' ? c.charCodeAt(0) - 48 : VIN_VALUES[c];
    if (value === undefined) return false;
    sum += value * VIN_WEIGHTS[i]!;
  }
  const check = sum % 11;
  return vin[8] === (check === 10 ? 'X' : String(check));
}

/** The check digit that makes a 17-character VIN valid (for tests and fakes). */
export function vinCheckDigit(vin: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) {
    if (i === 8) continue;
    const c = vin[i]!;
    const value = c >= '0' && c <= '9' ? c.charCodeAt(0) - 48 : (VIN_VALUES[c] ?? 0);
    sum += value * VIN_WEIGHTS[i]!;
  }
  const check = sum % 11;
  return check === 10 ? 'X' : String(check);
}
