/**
 * What the MariaDB target says one connection ran, from its general log: COM_QUERY is logged as
 * `Query` with the text, COM_STMT_EXECUTE as `Execute` with the parameters written into the text
 * (COM_STMT_PREPARE as `Prepare`, which runs nothing). Warden refuses without touching the target,
 * so a refused command has no line at all.
 * https://mariadb.com/kb/en/general-query-log/
 */
import type { AuditedCommand } from './audit-trail';
import type { GeneralLogRow } from './mysql-target';

export interface MysqlTargetEvent {
  readonly kind: 'ran';
  readonly text: string;
  readonly command: 'Query' | 'Execute';
  /** The same text as one of Warden's login set-up statements: Warden runs them again after COM_RESET_CONNECTION. */
  readonly optional?: boolean;
  /** For an SQL `EXECUTE`: the statement it ran, which the log writes next as an `Execute` line (values inlined). */
  readonly detail?: string;
}

/** SQL EXECUTE of a named statement or EXECUTE IMMEDIATE: the log follows its Query line with what it ran. */
const SQL_EXECUTE = /^\s*EXECUTE\s+(?:`((?:[^`]|``)*)`|([A-Za-z0-9_$]+))/i;

/**
 * The statements a connection ran, after `firstClientText` (the session's first statement from
 * the client): what comes before it is Warden's own set-up of the session at login, and a later
 * statement with the same text is optional (Warden's set-up again after COM_RESET_CONNECTION, or
 * the client's own, then audited).
 */
export function mysqlTargetEvents(rows: readonly GeneralLogRow[], firstClientText: string): MysqlTargetEvent[] {
  const events: MysqlTargetEvent[] = [];
  const setup = new Set<string>();
  let started = false;
  for (const row of rows) {
    if (row.command_type !== 'Query' && row.command_type !== 'Execute') continue;
    if (!started && row.argument === firstClientText) started = true;
    if (!started) setup.add(row.argument);
    else if (row.command_type === 'Execute' && events.at(-1)?.command === 'Query' && events.at(-1)!.detail === undefined && SQL_EXECUTE.test(events.at(-1)!.text)) {
      events.push({ ...events.pop()!, detail: row.argument });
    } else if (!(row.command_type === 'Query' && isSettingsReport(row.argument))) {
      events.push({ kind: 'ran', text: row.argument, command: row.command_type, ...(row.command_type === 'Query' && setup.has(row.argument) ? { optional: true } : {}) });
    }
  }
  return events;
}

const SELF_ASSIGNMENT = /^SESSION ([a-z_]+) = @@SESSION\.([a-z_]+)$/;

/**
 * Warden's own question to the target after a command that may have changed how it reads text:
 * `SET SESSION v = @@SESSION.v, …` assigns each variable its own value (a no-op whose only effect is
 * the session-state report). Being a no-op by construction, leaving it out hides nothing.
 */
export function isSettingsReport(text: string): boolean {
  if (!text.startsWith('SET ')) return false;
  return text
    .slice(4)
    .split(', ')
    .every((part) => {
      const match = SELF_ASSIGNMENT.exec(part);
      return match !== null && match[1] === match[2];
    });
}

/**
 * The same text; for an Execute, the audited prepared text with each `?` standing for a logged
 * value. Warden audits SQL `EXECUTE s` as the text s runs (detail `execute: s`): the Query line
 * must name s, and what the log says it ran must be that text.
 */
export function sameMysqlStatement(event: { readonly text: string; readonly detail?: string }, command: AuditedCommand): boolean {
  const executed = command.detail?.['execute'];
  if (typeof executed === 'string') {
    const named = SQL_EXECUTE.exec(event.text);
    const name = named?.[1]?.replace(/``/g, '`') ?? named?.[2];
    if (name === undefined || name.toLowerCase() === 'immediate' || name.toLowerCase() !== executed) return false;
    return event.detail === undefined || withValues(command.text, event.detail);
  }
  if (event.text === command.text) return true;
  if (command.detail?.['command'] !== 'COM_STMT_EXECUTE' || !command.text.includes('?')) return false;
  return withValues(command.text, event.text);
}

/** `text` is `prepared` with each `?` replaced by a value. */
function withValues(prepared: string, text: string): boolean {
  if (prepared === text) return true;
  const pattern = prepared
    .split('?')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('[\\s\\S]*?');
  return new RegExp(`^${pattern}$`).test(text);
}

/**
 * Audited commands with no Query or Execute line: a refusal (Warden answers it, the target never
 * sees it), and COM_INIT_DB / COM_FIELD_LIST (logged as `Init DB` / `Field List`).
 */
export function notLoggedAsRun(command: AuditedCommand): boolean {
  const kind = command.detail?.['command'];
  return command.effect !== 'allow' || kind === 'COM_INIT_DB' || kind === 'COM_FIELD_LIST';
}
