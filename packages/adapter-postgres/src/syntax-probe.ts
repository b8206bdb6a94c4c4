import type { Classification } from '@warden/core';
import { errorResponse, readErrorResponseFields } from './backend-messages';
import { FrontendCode, SqlState } from './message-codes';

/**
 * Syntax errors in the client's own terms. A Query whose text Warden's parser rejects is refused
 * (fail closed), but the client should see what PostgreSQL itself would say: a syntax error with
 * its position, not Warden's refusal. So instead of running it, Warden asks the target only to
 * parse it:
 *
 *   Parse("", <the client's text>)  Parse("", "<marker>")  Sync
 *
 * - The target rejects the text: its ErrorResponse (42601 with position, …) reaches the client as
 *   the target sent it; the target skips the marker up to Sync, and the session is left as a failed
 *   simple Query leaves it (an open transaction aborted, ReadyForQuery with the right status).
 *   Any error of the Parse passes on so (an analysis error such as 42P01, 25P02 in an aborted
 *   transaction): the Query would have failed with it too, and nothing ran.
 * - The target accepts it (its parser is older or newer than Warden's: PostgreSQL 15 takes
 *   `UPDATE t system_user SET …`, Warden's PostgreSQL 18 parser, where SYSTEM_USER is reserved,
 *   does not): ParseComplete is swallowed, the marker fails like every refusal's (relay.ts) and is
 *   replaced by a "cannot analyse" refusal.
 *
 * Parse runs nothing: PostgreSQL parses and analyses the text, and binds no parameters, plans
 * nothing, executes nothing. Parse analysis can call the input functions of the types of literals
 * (`'x'::sometype`); those only convert a constant, which is acceptable here. It also locks the
 * tables the text names, in the mode the statement would (RowExclusiveLock for an UPDATE), until
 * the transaction ends, as a statement that fails does: the probe always fails (the marker), so an
 * open transaction is aborted and keeps those locks only until the client ends it.
 *
 * The target's unnamed statement is free for this: Warden gives every client statement, unnamed
 * ones too, a name of its own (statement-names.ts). A successful probe leaves nothing behind: the
 * marker's Parse replaces the unnamed statement.
 *
 * A Parse of text with several statements fails with "cannot insert multiple commands into a
 * prepared statement" (42601) even when each is valid: then the target's parser accepted the
 * whole text (a simple Query would run it), so it is not a syntax error but text Warden cannot
 * analyse. A real syntax error anywhere in such a text is reported first, as a simple Query
 * reports it (PostgreSQL parses the whole text before running any of it).
 */

/** Whether Warden refused `classification` only because its parser could not read the text. */
export function isParseError(classification: Classification): boolean {
  const only = classification.statementCount === 1 ? classification.statements[0] : undefined;
  return only?.action === 'unknown' && only.note?.startsWith('parse error') === true;
}

/**
 * The probe for a Query message (`buffer[start, end)`): the client's text is passed on byte for byte
 * (not re-encoded), so the target parses exactly what it would have run.
 */
export function syntaxProbe(buffer: Buffer, start: number, end: number, marker: string): Buffer {
  // Query: 'Q' | int32 len | cstring query
  const zero = buffer.indexOf(0, start + 5);
  const text = buffer.subarray(start + 5, zero === -1 || zero >= end ? end : zero);
  return Buffer.concat([parse(text), parse(Buffer.from(`"${marker}"`, 'utf8')), SYNC]);
}

/**
 * Whether the target's ErrorResponse to the probe says that the text parsed, as several statements
 * (and so is no syntax error). Told by the reporting function (`R`, never translated), and by the
 * message for a server that sends no `R`.
 */
export function isMultipleCommandsError(buffer: Buffer, start: number, end: number): boolean {
  const fields = readErrorResponseFields(buffer, start, end, 'CMR');
  return fields.get('C') === '42601' && (fields.get('R') === 'exec_parse_message' || fields.get('M') === 'cannot insert multiple commands into a prepared statement');
}

/** The refusal of a text the target accepts and Warden's parser does not. */
export function cannotAnalyseReply(classification: Classification, rule: string): Buffer {
  const note = classification.statements[0]?.note;
  return errorResponse({
    severity: 'ERROR',
    code: SqlState.InsufficientPrivilege,
    message: `Warden: Warden cannot analyse this statement${note ? ` (${note})` : ''}, which the target accepts; it is refused`,
    detail: `rule "${rule}"`,
  });
}

/** Parse: 'P' | int32 len | cstring name ("") | cstring query | int16 0 (no parameter types) */
function parse(text: Buffer): Buffer {
  const length = 4 + 1 + text.length + 1 + 2;
  const out = Buffer.alloc(1 + length);
  out[0] = FrontendCode.Parse;
  out.writeInt32BE(length, 1);
  text.copy(out, 6);
  return out;
}

/** Sync: 'S' | int32 4 */
const SYNC = Buffer.from([FrontendCode.Sync, 0, 0, 0, 4]);
