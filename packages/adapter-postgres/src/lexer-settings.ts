/**
 * Warden reads statement text with PostgreSQL's own parser, which lexes as a server does with
 * `standard_conforming_strings = on` and text in UTF-8. A target session in another state reads
 * the same bytes differently: with the setting off, `'\'` does not end a string, so a statement
 * Warden sees as one harmless SELECT can be several to the server; in SJIS, BIG5, GBK, … a lead
 * byte swallows the backslash after it. Both settings are reported by the server (GUC_REPORT) at
 * session start and after every change, which is what the checks below look at.
 *
 * The classifier refuses every statement that changes them (see `StatementClass.changesLexing`);
 * this is the backstop for a change Warden did not see coming (a function that calls set_config,
 * a database or role default).
 */

/** What the setting must be for Warden's analysis to hold, as the server reports it. */
const REQUIRED: ReadonlyMap<string, string> = new Map([
  ['standard_conforming_strings', 'on'],
  ['client_encoding', 'UTF8'],
]);

/**
 * Why Warden cannot analyse statements in a target session whose setting `name` is `value`, or
 * undefined when it can (or `name` has no bearing on lexing).
 *
 * @example
 * ```ts
 * unanalysableSetting('standard_conforming_strings', 'off'); // 'the target session has standard_conforming_strings = off; …'
 * unanalysableSetting('TimeZone', 'UTC'); // undefined
 * ```
 */
export function unanalysableSetting(name: string, value: string): string | undefined {
  const required = REQUIRED.get(name);
  if (required === undefined || value === required) return undefined;
  // The value comes from the server; bounded so that a log line stays a line.
  return `the target session has ${name} = ${value.slice(0, 40)}, and Warden cannot analyse statements under that setting (it reads them with ${name} = ${required})`;
}

/** The first reported setting Warden cannot analyse statements under (see `unanalysableSetting`). */
export function firstUnanalysableSetting(parameters: Iterable<readonly [string, string]>): string | undefined {
  for (const [name, value] of parameters) {
    const reason = unanalysableSetting(name, value);
    if (reason !== undefined) return reason;
  }
  return undefined;
}

/**
 * `unanalysableSetting` for a ParameterStatus message as it arrives from the target.
 * ParameterStatus: 'S' | int32 len | cstring name | cstring value
 * (https://www.postgresql.org/docs/current/protocol-message-formats.html).
 */
export function unanalysableParameterStatus(buffer: Buffer, start: number, end: number): string | undefined {
  const nameEnd = buffer.indexOf(0, start + 5);
  if (nameEnd === -1 || nameEnd >= end) return undefined;
  const name = buffer.toString('latin1', start + 5, nameEnd);
  if (!REQUIRED.has(name)) return undefined;
  const valueEnd = buffer.indexOf(0, nameEnd + 1);
  return unanalysableSetting(name, buffer.toString('latin1', nameEnd + 1, valueEnd === -1 || valueEnd > end ? end : valueEnd));
}
