/**
 * One client session's commands as the audit log tells them: the session is found by the
 * application name the client announced (unique per test session), its commands kept in log order.
 */
import type { AuditRecord } from '@warden/core';

export interface AuditedCommand {
  readonly commandSeq: number;
  readonly text: string;
  readonly effect: 'allow' | 'block' | 'review';
  readonly rule?: string;
  readonly detail?: Readonly<Record<string, string | number | boolean>>;
  /** The result record's error code, when the command ran and failed. */
  readonly errorCode?: string;
}

type CommandRecord = Extract<AuditRecord, { type: 'command' }>;
type ResultRecord = Extract<AuditRecord, { type: 'result' }>;

/** The ids of the sessions that announced `application` (a client may reconnect under the same name). */
export function sessionIdsOf(records: readonly AuditRecord[], application: string): string[] {
  return records.flatMap((record) => (record.type === 'session.start' && record.clientApplication === application ? [record.sessionId] : []));
}

/** The commands of one session, in the order Warden decided them. */
export function auditedCommands(records: readonly AuditRecord[], sessionId: string): AuditedCommand[] {
  const results = new Map<number, ResultRecord>();
  for (const record of records) if (record.type === 'result' && record.sessionId === sessionId) results.set(record.commandSeq, record);
  return records
    .filter((record): record is CommandRecord => record.type === 'command' && record.sessionId === sessionId)
    .map((record) => {
      const error = results.get(record.commandSeq)?.summary.error;
      return {
        commandSeq: record.commandSeq,
        text: record.text,
        effect: record.decision.effect,
        ...('rule' in record.decision && record.decision.rule !== undefined ? { rule: record.decision.rule } : {}),
        ...(record.detail ? { detail: record.detail } : {}),
        ...(error ? { errorCode: error.code } : {}),
      };
    });
}
