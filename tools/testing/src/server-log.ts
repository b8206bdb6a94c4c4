/**
 * The private Postgres server's own log, as structured entries: what the target says it ran, to set
 * beside what Warden says it let through. The server writes `jsonlog` (one JSON object per line,
 * PostgreSQL 15+), so statements with newlines and quotes need no guessing at line prefixes.
 * https://www.postgresql.org/docs/current/runtime-config-logging.html#RUNTIME-CONFIG-LOGGING-JSONLOG
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** One jsonlog entry; only the fields tests read are named (the server writes more). */
export interface ServerLogEntry {
  readonly timestamp: string;
  readonly pid: number;
  /** The server's id of the session (start time and pid, in hex): unlike a pid, never reused. */
  readonly session_id?: string;
  /** The session's application_name when the line was written (absent before it is known). */
  readonly application_name?: string;
  readonly user?: string;
  readonly dbname?: string;
  readonly backend_type?: string;
  /** LOG, ERROR, FATAL, … */
  readonly error_severity: string;
  readonly state_code?: string;
  /** For log_statement lines: `statement: <text>`, `execute <name>: <text>`, `execute fetch from <name>/<portal>: <text>`. */
  readonly message: string;
  readonly detail?: string;
  /** For errors: the statement that failed (log_min_error_statement). */
  readonly statement?: string;
}

/** The settings that make the server write every statement to `<dataDir>/<directory>/postgresql.json`. */
export function statementLogSettings(directory: string): string[] {
  return [
    'logging_collector = on',
    "log_destination = 'jsonlog'",
    `log_directory = '${directory}'`,
    "log_filename = 'postgresql.log'",
    'log_rotation_age = 0',
    'log_rotation_size = 0',
    "log_statement = 'all'",
    // Also for stderr lines before the collector runs: whose line it is.
    "log_line_prefix = '%m [%p] app=%a '",
    'log_min_error_statement = error',
  ];
}

/** Every entry the server has written so far, in the order it wrote them. */
export async function readServerLog(logDirectory: string): Promise<ServerLogEntry[]> {
  const files = (await readdir(logDirectory).catch(() => [] as string[])).filter((name) => name.endsWith('.json')).sort();
  const entries: ServerLogEntry[] = [];
  for (const file of files) {
    const text = await readFile(join(logDirectory, file), 'utf8');
    for (const line of text.split('\n')) {
      // The collector writes whole lines; a line cut at the end of the file is still being written.
      if (!line.endsWith('}')) continue;
      try {
        entries.push(JSON.parse(line) as ServerLogEntry);
      } catch {
        // Not yet complete: read again later.
      }
    }
  }
  return entries;
}
