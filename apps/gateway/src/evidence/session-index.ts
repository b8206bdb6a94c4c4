import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { DATABASE_TIMELINE_FORMAT, isDatabaseTimelineFile, readAuditLines, recordingOf, type AuditRecord, type DatabaseTimelineLine, type RecordingReference } from '@warden/core';

export interface SessionSummary {
  readonly id: string;
  readonly subject: string;
  readonly kind: string;
  readonly groups: readonly string[];
  readonly connection: string;
  readonly protocol: string;
  readonly clientAddress: string;
  readonly clientApplication?: string;
  readonly access: string;
  readonly start: string;
  end?: string;
  endReason?: string;
  commands: number;
  blocked: number;
  rows: number;
  recordings: number;
}

export interface SessionFilter {
  readonly identity?: string | undefined;
  readonly connection?: string | undefined;
  /** ISO-8601: sessions that started at or after. */
  readonly since?: string | undefined;
  readonly until?: string | undefined;
}

/** A session's records, in log order. */
export interface SessionDetail {
  readonly summary: SessionSummary;
  readonly records: readonly AuditRecord[];
  readonly recordings: readonly RecordingReference[];
}

/** Every session in the log that matches, in start order. One streaming pass; keeps summaries only. */
export async function listSessions(logPath: string, filter: SessionFilter = {}): Promise<SessionSummary[]> {
  const summaries = new SessionSummaries();
  await forEachRecord(logPath, (record) => summaries.add(record));
  return summaries.list().filter((session) => matches(session, filter));
}

/** Builds session summaries from records fed in log order. */
class SessionSummaries {
  private readonly sessions = new Map<string, SessionSummary>();

  list(): SessionSummary[] {
    return [...this.sessions.values()];
  }

  add(record: AuditRecord): void {
    if (record.type === 'session.start') {
      this.sessions.set(record.sessionId, {
        id: record.sessionId,
        subject: record.identity.subject,
        kind: record.identity.kind,
        groups: record.identity.groups,
        connection: record.connection,
        protocol: record.protocol,
        clientAddress: record.clientAddress,
        ...(record.clientApplication ? { clientApplication: record.clientApplication } : {}),
        access: record.access,
        start: record.time,
        commands: 0,
        blocked: 0,
        rows: 0,
        recordings: 0,
      });
      return;
    }
    const id = 'sessionId' in record ? record.sessionId : undefined;
    const session = id === undefined ? undefined : this.sessions.get(id);
    if (!session) return;
    if (record.type === 'command') {
      session.commands++;
      if (record.decision.effect !== 'allow') session.blocked++;
    } else if (record.type === 'result') {
      session.rows += record.summary.rows;
    } else if (record.type === 'session.end') {
      session.end = record.time;
      session.endReason = record.reason;
    } else if (recordingOf(record)) {
      session.recordings++;
    }
  }
}

export function matches(session: SessionSummary, filter: SessionFilter): boolean {
  if (filter.identity && session.subject !== filter.identity) return false;
  if (filter.connection && session.connection !== filter.connection) return false;
  if (filter.since && Date.parse(session.start) < Date.parse(filter.since)) return false;
  if (filter.until && Date.parse(session.start) >= Date.parse(filter.until)) return false;
  return true;
}

/** One session's records, or undefined when the log has no such session. */
export async function sessionDetail(logPath: string, id: string): Promise<SessionDetail | undefined> {
  const records: AuditRecord[] = [];
  const approvals = new Set<string>();
  await forEachRecord(logPath, (record) => {
    const sessionId = 'sessionId' in record ? record.sessionId : undefined;
    if (sessionId === id) {
      records.push(record);
      if (record.type === 'approval.requested') approvals.add(record.requestId);
    } else if ('requestId' in record && approvals.has(record.requestId)) {
      // Approval decisions carry the request id, not the session: they belong to its timeline.
      records.push(record);
    }
  });
  const summaries = new SessionSummaries();
  for (const record of records) summaries.add(record);
  const [summary] = summaries.list();
  if (!summary) return undefined;
  return { summary, records, recordings: records.flatMap((record) => recordingOf(record) ?? []) };
}

/** Every parseable record, in order (`warden audit verify` is what checks them). */
export async function forEachRecord(logPath: string, visit: (record: AuditRecord) => void): Promise<void> {
  await readAuditLines(logPath, (line) => {
    let record: AuditRecord;
    try {
      record = JSON.parse(line.toString('utf8')) as AuditRecord;
    } catch {
      return true;
    }
    visit(record);
    return true;
  });
}

/** Whether a recording the log names is a database timeline (the others are asciicast terminal recordings). */
export function isDatabaseTimeline(recording: RecordingReference): boolean {
  return isDatabaseTimelineFile(recording.file);
}

/**
 * The lines of a database timeline recording, streamed (a recording can be large). Throws when the
 * file is not a timeline or a line is not JSON.
 */
export async function* readDatabaseTimeline(file: string): AsyncGenerator<DatabaseTimelineLine> {
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let first = true;
  for await (const text of lines) {
    if (text === '') continue;
    const line = JSON.parse(text) as DatabaseTimelineLine;
    if (first && (line.type !== 'header' || line.format !== DATABASE_TIMELINE_FORMAT)) throw new Error(`${file} is not a database timeline recording`);
    first = false;
    yield line;
  }
}
