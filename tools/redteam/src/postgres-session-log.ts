/**
 * What the Postgres target says one session ran, from its `log_statement = all` log: the session
 * is picked out by the application_name its client announced (Warden passes it on; its own catalog
 * and estimate connections use other names), then followed by the server's session id, so a
 * later `SET application_name` cannot hide statements.
 */
import type { ServerLogEntry } from '@warden/testing';
import type { AuditedCommand } from './audit-trail';

/** A statement the target ran, or one of Warden's refusal markers it was sent. */
export type TargetEvent = { readonly kind: 'ran'; readonly text: string; readonly message: string; readonly detail?: string } | { readonly kind: 'refusal'; readonly marker: string };

// `statement: …` for simple queries; `execute <name>: …` or `execute fetch from <name>/<portal>: …` for Execute.
const STATEMENT_LINE = /^statement: ([\s\S]*)$/;
const EXECUTE_LINE = /^execute (?:fetch from )?[^\s:]*: ([\s\S]*)$/;
/** The statement Warden sends the target in place of a refused one: it fails with this unique name. */
const REFUSAL_MARKER = /^"(warden-refused-[0-9a-f]+)"$/;

/** The server's session ids of the sessions that announced `application`, in the order they started. */
export function targetSessionsOf(entries: readonly ServerLogEntry[], application: string): string[] {
  const ids: string[] = [];
  for (const entry of entries) {
    const id = entry.session_id;
    if (entry.application_name === application && id !== undefined && !ids.includes(id)) ids.push(id);
  }
  return ids;
}

/** The statements one target session ran and the refusal markers it was sent, in order. */
export function targetEvents(entries: readonly ServerLogEntry[], sessionId: string): TargetEvent[] {
  const events: TargetEvent[] = [];
  for (const entry of entries) {
    if (entry.session_id !== sessionId) continue;
    let text: string | undefined;
    if (entry.error_severity === 'LOG') {
      text = STATEMENT_LINE.exec(entry.message)?.[1] ?? EXECUTE_LINE.exec(entry.message)?.[1];
    } else if (entry.error_severity === 'ERROR' && entry.statement !== undefined && REFUSAL_MARKER.test(entry.statement)) {
      // An extended-protocol refusal fails at Parse, before anything is logged as run.
      text = entry.statement;
    }
    if (text === undefined) continue;
    const marker = REFUSAL_MARKER.exec(text)?.[1];
    if (marker === undefined) {
      events.push({ kind: 'ran', text, message: entry.message, ...(entry.detail === undefined ? {} : { detail: entry.detail }) });
    } else {
      const last = events.at(-1);
      // A simple-query marker is logged as a statement and again with its error: one refusal.
      if (!(last?.kind === 'refusal' && last.marker === marker)) events.push({ kind: 'refusal', marker });
    }
  }
  return events;
}

// SQL EXECUTE and FETCH/MOVE are audited as what they run, with the name in the detail.
const EXECUTE = /^\s*EXECUTE\s+("(?:[^"]|"")+"|[A-Za-z_][\w$]*)/i;
const FETCH_OR_MOVE = /^\s*(FETCH|MOVE)\b[\s\S]*?("(?:[^"]|"")+"|[A-Za-z_][\w$]*)\s*;?\s*$/i;

function identifier(text: string): string {
  return text.startsWith('"') ? text.slice(1, -1).replaceAll('""', '"') : text.toLowerCase();
}

/**
 * Whether a statement the target ran is the audited command: the same text, or a SQL EXECUTE whose
 * audit record names the prepared statement and holds the text the target says it prepared (the
 * log's `prepare: PREPARE … AS <text>` detail), or a FETCH/MOVE whose record names the cursor.
 */
export function sameStatement(event: { readonly text: string; readonly detail?: string }, command: AuditedCommand): boolean {
  if (event.text === command.text) return true;
  const execute = EXECUTE.exec(event.text);
  if (execute && command.detail?.['execute'] !== undefined) {
    if (identifier(execute[1]!) !== identifier(String(command.detail['execute']))) return false;
    // Prepared with SQL PREPARE, the log shows the PREPARE text; with Parse, only the name.
    return event.detail === undefined || !event.detail.startsWith('prepare: ') || event.detail.trimEnd().endsWith(command.text.trimEnd());
  }
  const cursor = FETCH_OR_MOVE.exec(event.text);
  if (cursor) {
    const named = command.detail?.[cursor[1]!.toLowerCase()];
    return named !== undefined && identifier(cursor[2]!) === identifier(String(named));
  }
  return false;
}

/**
 * Audited commands the target may not log as run: an Execute (after an error earlier in its
 * pipeline the target discards messages up to Sync), a command that failed at the target (a
 * malformed message, bytes that are not UTF-8 or a syntax error are refused before logging), and
 * a refusal (Warden may answer it without the target). An allowed simple query that succeeded
 * must be in the target's log.
 */
export function skippedByTarget(command: AuditedCommand): boolean {
  return command.detail?.['message'] === 'Execute' || command.errorCode !== undefined || command.effect !== 'allow';
}
