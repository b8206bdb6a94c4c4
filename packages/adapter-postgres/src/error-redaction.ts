import { readResponseFields } from './backend-messages';
import { BackendCode } from './message-codes';

/**
 * Redaction of the values a target's ErrorResponse or NoticeResponse can quote, for connections
 * with masking (issue: errors never carry values). PostgreSQL quotes values in double quotes
 * (`invalid input syntax for type integer: "…"`), in parentheses (`Key (ssn)=(…)`, `Failing row
 * contains (…)`), in single quotes in a few messages, and echoes them bare in some (JSON and XML
 * input errors, `chr()`, RAISE text). The rules lean to over-redaction: an identifier between quotes
 * is redacted with the values, since a value can hold quote characters of its own.
 */

export const REDACTED = '[REDACTED]';

/** Fields that never carry free text: severity, SQLSTATE, positions, source file/line/routine, object names. */
const KEPT_FIELDS = new Set(['S', 'V', 'C', 'P', 'p', 'F', 'L', 'R', 's', 't', 'c', 'd', 'n']);

/** PL/pgSQL's RAISE and ASSERT: their message, detail and hint are the function's own text, values and all. */
const USER_TEXT_ROUTINES = new Set(['exec_stmt_raise', 'exec_stmt_assert']);

/** SQLSTATEs of XML input errors: libxml's detail echoes the input bare. */
const XML_ERRORS = new Set(['2200L', '2200M', '2200N', '2200S', '2200T']);

/**
 * The text of one free-text field with every value it may quote redacted, shape kept:
 * `invalid input syntax for type integer: "[REDACTED]"`, `Key (ssn)=([REDACTED]) already exists.`
 */
export function redactErrorText(text: string): string {
  let out = text;
  // Key (columns)=(values): from the first `)=(` to the last `)` (values may hold parentheses).
  out = out.replace(/\)=\([\s\S]*\)/, `)=(${REDACTED})`);
  // Failing row contains (values).
  out = out.replace(/(Failing row contains \()[\s\S]*\)/, `$1${REDACTED})`);
  // json/jsonb input: the context line quotes the input bare, to the end of the field.
  out = out.replace(/(JSON data, line \d+: )[\s\S]*/, `$1${REDACTED}`);
  // Quotes: from the first to the last quote of a kind, so quote characters inside a value cannot end it early.
  out = redactBetweenOuterQuotes(out, '"');
  out = redactBetweenOuterQuotes(out, "'");
  // Bare numbers long enough to be an identifier or part of one (`requested character too large for encoding: 123456789`).
  out = out.replace(/\d{4,}/g, REDACTED);
  return out;
}

function redactBetweenOuterQuotes(text: string, quote: string): string {
  const first = text.indexOf(quote);
  const last = text.lastIndexOf(quote);
  if (first === -1) return text;
  // A lone quote: everything after it may be a value.
  if (last === first) return `${text.slice(0, first + 1)}${REDACTED}`;
  return `${text.slice(0, first + 1)}${REDACTED}${text.slice(last)}`;
}

/** The fields of an ErrorResponse or NoticeResponse, each free-text one redacted. */
export function redactNoticeFields(fields: ReadonlyArray<readonly [string, string]>): Array<[string, string]> {
  const routine = fields.find(([type]) => type === 'R')?.[1];
  const code = fields.find(([type]) => type === 'C')?.[1] ?? '';
  const userText = routine !== undefined && USER_TEXT_ROUTINES.has(routine);
  return fields.map(([type, value]): [string, string] => {
    if (KEPT_FIELDS.has(type)) return [type, value];
    // The internal query is statement text, literals and all.
    if (type === 'q') return [type, REDACTED];
    if (userText && (type === 'M' || type === 'D' || type === 'H')) return [type, REDACTED];
    if (type === 'D' && XML_ERRORS.has(code)) return [type, REDACTED];
    return [type, redactErrorText(value)];
  });
}

/**
 * An ErrorResponse or NoticeResponse (`buffer[start, end)`, type byte included) rebuilt with its
 * free-text fields redacted: 'E' | 'N' | int32 len | (byte field type | cstring value)* | \0
 */
export function redactNoticeMessage(buffer: Buffer, start: number, end: number): Buffer {
  const code = buffer[start]!;
  if (code !== BackendCode.ErrorResponse && code !== BackendCode.NoticeResponse) throw new Error('not an ErrorResponse or NoticeResponse');
  const parts: Buffer[] = [];
  // latin1 keeps every byte: the rules match ASCII only, which no client encoding uses inside a multibyte character.
  for (const [type, value] of redactNoticeFields(readResponseFields(buffer, start, end, 'latin1'))) {
    parts.push(Buffer.from(type, 'latin1'), Buffer.from(value, 'latin1'), Buffer.from([0]));
  }
  parts.push(Buffer.from([0]));
  const body = Buffer.concat(parts);
  const header = Buffer.alloc(5);
  header[0] = code;
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

/**
 * A NotificationResponse (`buffer[start, end)`, type byte included) with its payload redacted, the
 * channel kept (the listener named it in LISTEN). The payload is whatever text a NOTIFY or
 * pg_notify of any session sent — `pg_notify('c', ssn)`, a trigger's row — which no column rule sees.
 * 'A' | int32 len | int32 sender process id | cstring channel | cstring payload
 */
export function redactNotificationMessage(buffer: Buffer, start: number, end: number): Buffer {
  if (buffer[start] !== BackendCode.NotificationResponse) throw new Error('not a NotificationResponse');
  const channelEnd = buffer.indexOf(0, start + 9);
  if (channelEnd === -1 || channelEnd >= end) throw new Error('a NotificationResponse without its channel');
  // An empty payload tells nothing: it stays empty.
  const payload = channelEnd + 1 < end - 1 ? Buffer.from(REDACTED, 'latin1') : Buffer.alloc(0);
  const message = Buffer.concat([buffer.subarray(start, channelEnd + 1), payload, Buffer.from([0])]);
  message.writeInt32BE(message.length - 1, 1);
  return message;
}

/**
 * Reported settings whose value is free text a statement can set from a column — a function calling
 * `set_config('application_name', ssn, false)` — unlike client_encoding, DateStyle or TimeZone,
 * which the server accepts only from its own short list.
 */
const FREE_TEXT_PARAMETERS = new Set(['application_name', 'search_path']);

/**
 * A ParameterStatus (`buffer[start, end)`, type byte included) of a free-text setting with its value
 * redacted, or undefined when it cannot carry a value (another setting, or an empty value).
 * 'S' | int32 len | cstring name | cstring value
 */
export function redactParameterStatus(buffer: Buffer, start: number, end: number): Buffer | undefined {
  const nameEnd = buffer.indexOf(0, start + 5);
  if (nameEnd === -1 || nameEnd >= end - 1) return undefined;
  if (!FREE_TEXT_PARAMETERS.has(buffer.toString('latin1', start + 5, nameEnd))) return undefined;
  if (nameEnd + 1 >= end - 1) return undefined;
  const message = Buffer.concat([buffer.subarray(start, nameEnd + 1), Buffer.from(REDACTED, 'latin1'), Buffer.from([0])]);
  message.writeInt32BE(message.length - 1, 1);
  return message;
}
