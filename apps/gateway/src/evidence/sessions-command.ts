import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { sha256OfFile, type AuditRecord, type DatabaseTimelineLine, type RecordingReference } from '@warden/core';
import { CONTEXT_OPTIONS, evidenceContext, usageError } from './evidence-context';
import { READER_OPTIONS, recordEvidenceRead } from './evidence-read';
import { isDatabaseTimeline, listSessions, readDatabaseTimeline, sessionDetail, type SessionSummary } from './session-index';

export const SESSIONS_USAGE = `  warden sessions list [--identity X] [--connection Y] [--since ISO] [--json]
  warden sessions show ID [--json]      a session's timeline: start, each command with its decision
                                        and result, approvals, recordings, end; for a database
                                        session also its recording: a few of the masked rows the
                                        client received per command, row counts and timings
  warden replay ID [--speed F] [--no-wait]
                                        play the session's terminal recordings (asciicast v2) with
                                        their original timing; database sessions step through their
                                        recorded commands with the masked rows the client received
                                        (--no-wait: print it all at once)
                                        (each of these is recorded in the audit log as evidence.read;
                                        who: --token via the running gateway's admin API, or --as NAME,
                                        else the OS user; plus --config FILE | --data-dir DIR)
`;

interface Io {
  out(text: string): void;
  err(text: string): void;
}

export async function sessionsCommand(args: readonly string[], io: Io): Promise<number> {
  const [subcommand, ...rest] = args;
  if (subcommand === 'list') return list(rest, io);
  if (subcommand === 'show') return show(rest, io);
  io.err(`warden sessions: unknown subcommand "${subcommand ?? ''}" (available: list, show)\n`);
  return 2;
}

async function list(args: readonly string[], io: Io): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: { ...CONTEXT_OPTIONS, ...READER_OPTIONS, identity: { type: 'string' }, connection: { type: 'string' }, since: { type: 'string' }, json: { type: 'boolean', default: false } },
    strict: true,
  });
  if (values.since !== undefined && Number.isNaN(Date.parse(values.since))) throw usageError(`--since must be an ISO-8601 time, not '${values.since}'`);
  const context = evidenceContext(values);
  const filter = { identity: values.identity, connection: values.connection, since: values.since };
  await recordEvidenceRead(context, 'sessions.list', definedOnly(filter), values);
  const sessions = await listSessions(context.logPath, filter);
  if (values.json) {
    io.out(`${JSON.stringify(sessions, null, 2)}\n`);
    return 0;
  }
  if (sessions.length === 0) {
    io.out('no sessions match\n');
    return 0;
  }
  for (const session of sessions) io.out(`${summaryLine(session)}\n`);
  return 0;
}

function summaryLine(session: SessionSummary): string {
  const ended = session.end ? `ended ${session.end} (${session.endReason})` : 'open';
  return `${session.id}  ${session.start}  ${session.subject} (${session.kind}) → ${session.connection} [${session.protocol}, ${session.access}]  ${session.commands} commands, ${session.blocked} blocked, ${session.rows} rows, ${session.recordings} recordings  ${ended}`;
}

async function show(args: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({ args: [...args], options: { ...CONTEXT_OPTIONS, ...READER_OPTIONS, json: { type: 'boolean', default: false } }, allowPositionals: true, strict: true });
  const [id] = positionals;
  if (!id) throw usageError('warden sessions show ID: the session id is required');
  const context = evidenceContext(values);
  await recordEvidenceRead(context, 'sessions.show', { session: id }, values);
  const detail = await sessionDetail(context.logPath, id);
  if (!detail) {
    io.err(`warden sessions show: no session ${id} in ${context.logPath}\n`);
    return 1;
  }
  if (values.json) {
    io.out(`${JSON.stringify(detail, null, 2)}\n`);
    return 0;
  }
  const s = detail.summary;
  io.out(`session ${s.id}: ${s.subject} (${s.kind}; groups ${s.groups.join(', ') || '-'}) on ${s.connection} [${s.protocol}, ${s.access}] from ${s.clientAddress}${s.clientApplication ? `, ${s.clientApplication}` : ''}\n`);
  for (const record of detail.records) {
    const line = timelineLine(record);
    if (line) io.out(`  ${record.time}  ${line}\n`);
  }
  let code = 0;
  for (const recording of detail.recordings.filter(isDatabaseTimeline)) {
    const file = await vouchedRecording(context.recordingsDir, recording, 'warden sessions show', io);
    if (file === undefined) {
      code = 1;
      continue;
    }
    io.out(`recorded timeline ${recording.file} (what the client received, after masking):\n`);
    const shown = new Map<number, number>();
    for await (const line of readDatabaseTimeline(file)) {
      // A few rows per command; the row count and `replay` give the rest.
      if (line.type === 'rows') {
        const before = shown.get(line.seq) ?? 0;
        const rows = line.rows.slice(0, Math.max(0, SHOWN_ROWS_PER_COMMAND - before));
        shown.set(line.seq, before + rows.length);
        for (const row of rows) io.out(`  ${rowLine(row)}\n`);
        continue;
      }
      const text = recordedLine(line, shown.get('seq' in line ? line.seq : -1) ?? 0);
      if (text !== undefined) io.out(`  ${text}\n`);
    }
  }
  return code;
}

/** Rows of each command that `sessions show` prints from a database recording. */
const SHOWN_ROWS_PER_COMMAND = 3;

/**
 * The path of a recording the audit log names, once its SHA-256 matches the log's; otherwise
 * says why on stderr and returns undefined (only what the audit log vouches for is shown).
 */
async function vouchedRecording(recordingsDir: string, recording: RecordingReference, command: string, io: Io): Promise<string | undefined> {
  const file = path.join(recordingsDir, path.basename(recording.file));
  const actual = await sha256OfFile(file);
  if (actual === recording.sha256) return file;
  io.err(`${command}: recording ${recording.file} ${actual === undefined ? 'is missing' : 'does not match the SHA-256 in the audit log (altered)'}\n`);
  return undefined;
}

/**
 * One line of a database recording, other than its rows; `rowsShown` is how many of the command's
 * rows were printed (for the note on the rest).
 */
export function recordedLine(line: DatabaseTimelineLine, rowsShown: number): string | undefined {
  switch (line.type) {
    case 'header':
      return `${line.start}  ${line.identity.subject} on ${line.connection} [${line.protocol}] from ${line.clientAddress}; values kept up to ${line.resultBytesPerCommand} bytes per command`;
    case 'command': {
      const { decision } = line;
      const why = decision.effect === 'allow' ? '' : ` — ${decision.rule ? `rule "${decision.rule}": ` : ''}${decision.reason ?? ''}`;
      return `+${formatMs(line.t)}  #${line.seq} ${oneLine(line.text)}  → ${decision.effect.toUpperCase()}${why}`;
    }
    case 'columns':
      return `  #${line.seq} columns: ${line.names.join(' | ')}`;
    case 'result': {
      const outcome = line.error ? `error ${line.error.code}: ${line.error.message}` : (line.status ?? 'ok');
      const more = line.recordedRows > rowsShown ? `, ${line.recordedRows - rowsShown} more recorded rows not shown` : '';
      const cut = line.truncated ? `, values recorded for ${line.recordedRows} (truncated at the recording's cap)` : '';
      const firstRow = line.timings.firstRow === undefined ? '' : `, first row at +${formatMs(line.timings.firstRow)}`;
      return `  #${line.seq} result: ${outcome}, ${line.rows} rows${cut}${more}; ${line.timings.ms} ms${firstRow}`;
    }
    case 'end':
      return `+${formatMs(line.t)}  end: ${line.reason}`;
    default:
      return undefined;
  }
}

/** A recorded row: values as the client received them, NULL for null, control characters escaped. */
function rowLine(row: ReadonlyArray<string | null>): string {
  return `    │ ${row.map((value) => (value === null ? 'NULL' : value.replace(/[\u0000-\u001f]/g, (c) => JSON.stringify(c).slice(1, -1)))).join(' │ ')}`;
}

function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(3)} s` : `${ms.toFixed(3)} ms`;
}

/** One line of a timeline; undefined for records that add nothing to it. */
export function timelineLine(record: AuditRecord): string | undefined {
  switch (record.type) {
    case 'session.start':
      return `session start (access ${record.access})`;
    case 'command': {
      const { decision } = record;
      const why = decision.effect === 'allow' ? '' : ` — ${decision.rule ? `rule "${decision.rule}": ` : ''}${decision.reason}`;
      return `#${record.commandSeq} ${oneLine(record.text)}  → ${decision.effect.toUpperCase()} (${record.classification.action}${record.classification.objects.length ? ` ${record.classification.objects.join(', ')}` : ''})${why}`;
    }
    case 'result': {
      const { summary } = record;
      const masked = summary.masked && Object.keys(summary.masked).length ? `, masked ${Object.entries(summary.masked).map(([kind, count]) => `${kind}×${count}`).join(' ')}` : '';
      const outcome = summary.error ? `error ${summary.error.code}: ${summary.error.message}` : (summary.status ?? 'ok');
      return `   #${record.commandSeq} result: ${outcome}, ${summary.rows} rows, ${summary.durationMs} ms${masked}`;
    }
    case 'session.event': {
      if (record.name === 'recording') return `recording ${String(record.detail?.['file'])} (sha256 ${String(record.detail?.['sha256']).slice(0, 16)}…, ${String(record.detail?.['bytes'] ?? '?')} bytes)`;
      return `event: ${record.name}${record.detail ? ` ${JSON.stringify(record.detail)}` : ''}`;
    }
    case 'approval.requested':
      return `approval ${record.requestId} requested (rule "${record.rule}", approvers ${record.approvers.join(', ')})`;
    case 'approval.decided':
      return `approval ${record.requestId} ${record.outcome} by ${record.by}${record.reason ? `: ${record.reason}` : ''}`;
    case 'approval.used':
      return `approval ${record.requestId} used`;
    case 'session.end':
      return `session end: ${record.reason} (${record.totals.commands} commands, ${record.totals.blocked} blocked, ${record.totals.rows} rows)${record.error ? ` — ${record.error}` : ''}`;
    default:
      return undefined;
  }
}

function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 199)}…` : flat;
}

export async function replayCommand(args: readonly string[], io: Io, sleep: (ms: number) => Promise<void> = defaultSleep): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: { ...CONTEXT_OPTIONS, ...READER_OPTIONS, speed: { type: 'string', default: '1' }, 'no-wait': { type: 'boolean', default: false } },
    allowPositionals: true,
    strict: true,
  });
  const [id] = positionals;
  if (!id) throw usageError('warden replay ID: the session id is required');
  const speed = Number(values.speed);
  if (!(speed > 0)) throw usageError('--speed must be a positive number');
  const wait = values['no-wait'] ? () => Promise.resolve() : (seconds: number) => (seconds > 0 ? sleep((seconds * 1000) / speed) : Promise.resolve());
  const context = evidenceContext(values);
  await recordEvidenceRead(context, 'replay', { session: id }, values);
  const detail = await sessionDetail(context.logPath, id);
  if (!detail) {
    io.err(`warden replay: no session ${id} in ${context.logPath}\n`);
    return 1;
  }
  const timelines = detail.recordings.filter(isDatabaseTimeline);
  if (timelines.length > 0) {
    // A database session: its recorded commands, with the rows the client received, at their original spacing.
    for (const recording of timelines) {
      const file = await vouchedRecording(context.recordingsDir, recording, 'warden replay', io);
      if (file === undefined) return 1;
      let previous: number | undefined;
      const rowsShown = new Map<number, number>();
      for await (const line of readDatabaseTimeline(file)) {
        if (line.type === 'rows') {
          for (const row of line.rows) io.out(`${rowLine(row)}\n`);
          rowsShown.set(line.seq, (rowsShown.get(line.seq) ?? 0) + line.rows.length);
          continue;
        }
        if (line.type === 'command' || line.type === 'end') {
          if (previous !== undefined) await wait((line.t - previous) / 1000);
          previous = line.t;
        }
        const text = recordedLine(line, rowsShown.get('seq' in line ? line.seq : -1) ?? 0);
        if (text !== undefined) io.out(`${text}\n`);
      }
    }
    return 0;
  }
  if (detail.recordings.length > 0) {
    for (const recording of detail.recordings) {
      const file = path.join(context.recordingsDir, path.basename(recording.file));
      // Play only what the audit log vouches for.
      const actual = await sha256OfFile(file);
      if (actual !== recording.sha256) {
        io.err(`warden replay: recording ${recording.file} ${actual === undefined ? 'is missing' : 'does not match the SHA-256 in the audit log (altered)'}\n`);
        return 1;
      }
      let previous = 0;
      for (const [seconds, type, data] of parseCast(await readFile(file, 'utf8'))) {
        if (type !== 'o') continue;
        await wait(seconds - previous);
        previous = seconds;
        io.out(data);
      }
    }
    return 0;
  }
  // A database session: step through the commands with their original spacing.
  let previous: number | undefined;
  for (const record of detail.records) {
    const line = timelineLine(record);
    if (!line) continue;
    const at = Date.parse(record.time) / 1000;
    if (previous !== undefined) await wait(at - previous);
    previous = at;
    io.out(`${line}\n`);
  }
  return 0;
}

function parseCast(text: string): [number, string, string][] {
  const [, ...events] = text.split('\n').filter((line) => line !== '');
  return events.map((line) => JSON.parse(line) as [number, string, string]);
}

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function definedOnly(values: Readonly<Record<string, string | undefined>>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).filter((entry): entry is [string, string] => entry[1] !== undefined));
}
