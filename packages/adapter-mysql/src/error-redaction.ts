import { framePacket } from './packet-codec';
import { PacketHeader } from './protocol';

/**
 * Redaction of the values a target's error or warning text can quote (issue: errors never carry
 * values): MySQL and MariaDB quote them in single quotes (`Truncated incorrect INTEGER value: '…'`,
 * `Duplicate entry '…' for key 'ssn'`, `XPATH syntax error: '…'`). Everything from the first to the
 * last quote of a kind is redacted, since a value can hold quote characters of its own: an identifier
 * between two values goes with them, a value never stays. Used for ERR packets, the audit record of a
 * target error, and the Message column of `SHOW WARNINGS` / `SHOW ERRORS` (result-rows.ts).
 */

export const REDACTED = '[REDACTED]';

/** `text` with every value it may quote redacted, shape kept: `Truncated incorrect INTEGER value: '[REDACTED]'`. */
export function redactErrorText(text: string): string {
  let out = redactBetweenOuterQuotes(text, "'");
  out = redactBetweenOuterQuotes(out, '"');
  // Bare numbers long enough to be an identifier or part of one.
  return out.replace(/\d{4,}/g, REDACTED);
}

function redactBetweenOuterQuotes(text: string, quote: string): string {
  const first = text.indexOf(quote);
  if (first === -1) return text;
  const last = text.lastIndexOf(quote);
  // A lone quote: everything after it may be a value.
  if (last === first) return `${text.slice(0, first + 1)}${REDACTED}`;
  return `${text.slice(0, first + 1)}${REDACTED}${text.slice(last)}`;
}

/** MariaDB's progress report rides in an ERR packet with this code; it carries no statement text. */
const PROGRESS_REPORT = 0xffff;

/**
 * An ERR packet (`buffer[start, end)`, header included, one packet) with its message redacted:
 * 0xff | int<2> code | ['#' sqlstate<5>] | message. The code and SQLSTATE stay.
 */
export function redactErrPacket(buffer: Buffer, start: number, end: number): Buffer {
  const payload = buffer.subarray(start + 4, end);
  if (payload[0] !== PacketHeader.ERR || payload.length < 3 || payload.readUInt16LE(1) === PROGRESS_REPORT) return Buffer.from(buffer.subarray(start, end));
  const messageAt = payload[3] === 0x23 /* # */ && payload.length >= 9 ? 9 : 3;
  // latin1 keeps every byte: the rules match ASCII only, which no character set uses inside a multibyte character.
  const message = redactErrorText(payload.toString('latin1', messageAt));
  return framePacket(Buffer.concat([payload.subarray(0, messageAt), Buffer.from(message, 'latin1')]), buffer[start + 3]!);
}
