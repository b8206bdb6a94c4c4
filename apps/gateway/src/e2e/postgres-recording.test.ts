/**
 * Database session recordings end to end: psql and node-postgres through Warden to the machine's
 * PostgreSQL, on a table with masked columns. The recording holds the masked rows the client
 * received (simple and extended protocol, COPY TO STDOUT), never the raw values; the per-command
 * cap truncates values while the row count stays exact; `warden audit verify` catches an edited
 * recording; `warden sessions show` and `warden replay` print it.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseDatabaseTimeline, type AuditRecord, type DatabaseTimelineLine } from '@warden/core';
import { Client } from 'pg';
import { runCli, type CliIo } from '../cli';
import { createTestDatabase, PG, psql, startTestGateway, type TestGateway } from './harness';

/** Synthetic patients: every value below is PHI that must never be written down unmasked. */
const PATIENTS = [
  { id: 1, name: 'Marisol Quintero', ssn: '219-47-8831', dob: '1958-07-23', email: 'marisol.quintero@mailbox.example' },
  { id: 2, name: 'Desmond Achterberg', ssn: '412-63-9054', dob: '1971-11-02', email: 'd.achterberg@post.example' },
  { id: 3, name: 'Oluwaseun Hartigan', ssn: '538-29-1176', dob: '1989-02-14', email: 'seun.h@inbox.example' },
];
const RAW_VALUES = PATIENTS.flatMap((p) => [p.name, p.ssn, p.dob, p.email]);

/** Values of one command are kept up to this many bytes. */
const CAP = 4096;

const CONFIG = `
masking:
  - connection: clinic
    columns:
      phi_patients.ssn: redact
      phi_patients.dob: year-only
      phi_patients.email: partial
      phi_patients.full_name: hash
    detect: [ssn, email]
    exempt:
      - { groups: [clinicians], columns: [phi_patients.dob] }
recording:
  resultBytesPerCommand: ${CAP}
`;

let database: { name: string; drop(): Promise<void> };
let gateway: TestGateway;

beforeAll(async () => {
  database = await createTestDatabase();
  const seed = new Client({ ...PG, database: database.name });
  await seed.connect();
  await seed.query('CREATE TABLE phi_patients (id int PRIMARY KEY, full_name text, ssn text, dob date, email text)');
  for (const p of PATIENTS) await seed.query('INSERT INTO phi_patients VALUES ($1, $2, $3, $4, $5)', [p.id, p.name, p.ssn, p.dob, p.email]);
  await seed.end();
  gateway = await startTestGateway({ database: database.name, extraTopLevel: CONFIG });
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  await database?.drop();
});

interface Recorded {
  readonly sessionId: string;
  readonly file: string;
  readonly text: string;
  readonly lines: DatabaseTimelineLine[];
}

/** The recording of the last session `subject` opened, once the session has ended and the log names it. */
async function lastRecording(subject: string): Promise<Recorded> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const records = await gateway.auditRecords();
    const start = records.filter((r): r is Extract<AuditRecord, { type: 'session.start' }> => r.type === 'session.start' && r.identity.subject === subject).at(-1);
    const event = start && records.find((r): r is Extract<AuditRecord, { type: 'session.event' }> => r.type === 'session.event' && r.sessionId === start.sessionId && r.name === 'recording');
    if (start && event) {
      const file = path.join(gateway.dataDir, 'recordings', String(event.detail?.['file']));
      const text = readFileSync(file, 'utf8');
      return { sessionId: start.sessionId, file, text, lines: parseDatabaseTimeline(text) };
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`no recording for a session of ${subject}`);
}

function linesOf<T extends DatabaseTimelineLine['type']>(recorded: Recorded, type: T, seq?: number): Extract<DatabaseTimelineLine, { type: T }>[] {
  return recorded.lines.filter((line): line is Extract<DatabaseTimelineLine, { type: T }> => line.type === type && (seq === undefined || ('seq' in line && line.seq === seq)));
}

function rowsOf(recorded: Recorded, seq: number): (string | null)[][] {
  return linesOf(recorded, 'rows', seq).flatMap((line) => line.rows.map((row) => [...row]));
}

function expectNoRawValue(text: string): void {
  for (const raw of RAW_VALUES) expect(text).not.toContain(raw);
}

async function cli(args: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = { out: (text) => void (out += text), err: (text) => void (err += text), stopSignal: () => new Promise(() => undefined) };
  return { code: await runCli(args, io), out, err };
}

describe('while the gateway runs', () => {
  it('records the masked rows psql received, never the raw values, with the statement as audited', async () => {
    const token = await gateway.token('recorded-agent', ['coding-agents']);
    const select = `SELECT id, full_name, ssn, email, dob FROM phi_patients WHERE ssn <> '${PATIENTS[0]!.ssn}' OR id = 1 ORDER BY id`;
    const result = await psql(gateway, token, ['-At', '-c', select, '-c', 'DROP TABLE phi_patients'], { user: 'recorded-agent' });
    const received = result.stdout.trim().split('\n').map((line) => line.split('|'));
    expect(received).toHaveLength(3);
    expect(received[0]!.slice(2)).toEqual(['[REDACTED]', '***@mailbox.example', '1958-01-01']);
    expect(result.stderr).toContain('schema changes are reserved for the dba group');

    const recorded = await lastRecording('recorded-agent');
    expect(recorded.lines[0]).toMatchObject({ type: 'header', session: recorded.sessionId, connection: 'clinic', protocol: 'postgres', identity: { subject: 'recorded-agent' }, resultBytesPerCommand: CAP });
    const [command, blocked] = linesOf(recorded, 'command');
    // The statement as the audit log has it: its PHI literal replaced by a placeholder.
    expect(command!.text).toMatch(/WHERE ssn <> '\[phi:[0-9a-f]{12}\]' OR id = 1/);
    expect(command!.decision).toEqual({ effect: 'allow' });
    expect(blocked).toMatchObject({ seq: 2, text: 'DROP TABLE phi_patients', decision: { effect: 'block', rule: 'no-ddl', reason: 'schema changes are reserved for the dba group' } });
    expect(linesOf(recorded, 'columns', 1)[0]!.names).toEqual(['id', 'full_name', 'ssn', 'email', 'dob']);
    // Exactly what psql printed, row by row.
    expect(rowsOf(recorded, 1)).toEqual(received);
    const [summary] = linesOf(recorded, 'result', 1);
    expect(summary).toMatchObject({ rows: 3, recordedRows: 3, truncated: false, status: 'SELECT 3', masked: { redact: 3 } });
    expect(summary!.timings.firstRow).toBeGreaterThanOrEqual(summary!.timings.start);
    expect(summary!.timings.end).toBeGreaterThanOrEqual(summary!.timings.firstRow!);
    expect(linesOf(recorded, 'result', 2)).toEqual([]);
    // psql's Terminate closes both sides at once: either one may be seen first.
    expect(recorded.lines.at(-1)).toMatchObject({ type: 'end', reason: expect.stringMatching(/^(client|target)-closed$/) });
    expectNoRawValue(recorded.text);
  });

  it('records extended-protocol rows (node-postgres) and COPY … TO STDOUT output as the client got them', async () => {
    const token = await gateway.token('extended-agent', ['coding-agents']);
    const client = new Client({ host: '127.0.0.1', port: gateway.port, user: 'extended-agent', password: token, database: 'clinic' });
    await client.connect();
    const result = await client.query<{ id: number; ssn: string; email: string }>('SELECT id, ssn, email FROM phi_patients WHERE id = $1', [2]);
    await client.end();
    expect(result.rows).toEqual([{ id: 2, ssn: '[REDACTED]', email: '***@post.example' }]);
    const extended = await lastRecording('extended-agent');
    expect(linesOf(extended, 'columns', 1)[0]!.names).toEqual(['id', 'ssn', 'email']);
    expect(rowsOf(extended, 1)).toEqual([['2', '[REDACTED]', '***@post.example']]);
    expectNoRawValue(extended.text);

    const copied = await psql(gateway, await gateway.token('copy-agent', ['coding-agents']), ['-c', 'COPY (SELECT id, ssn, email FROM phi_patients ORDER BY id) TO STDOUT'], { user: 'copy-agent' });
    const lines = copied.stdout.trim().split('\n');
    expect(lines[1]).toBe('2\t[REDACTED]\t***@post.example');
    const copy = await lastRecording('copy-agent');
    expect(rowsOf(copy, 1)).toEqual(lines.map((line) => [line]));
    expect(linesOf(copy, 'result', 1)[0]).toMatchObject({ status: 'COPY 3', recordedRows: 3 });
    expectNoRawValue(copy.text);
  });

  it('leaves out what an exempt identity sees unmasked', async () => {
    const token = await gateway.token('doctor-1', ['clinicians']);
    const result = await psql(gateway, token, ['-At', '-c', 'SELECT dob, ssn FROM phi_patients WHERE id = 3'], { user: 'doctor-1' });
    expect(result.stdout.trim()).toBe(`${PATIENTS[2]!.dob}|[REDACTED]`);
    const recorded = await lastRecording('doctor-1');
    expect(rowsOf(recorded, 1)).toEqual([['<exempt, not recorded>', '[REDACTED]']]);
    expectNoRawValue(recorded.text);
  });

  it('stops recording values at the cap, and keeps the row count exact', async () => {
    const token = await gateway.token('bulk-agent', ['coding-agents']);
    const result = await psql(gateway, token, ['-At', '-c', "SELECT g, repeat('x', 40) FROM generate_series(1, 2000) AS g"], { user: 'bulk-agent' });
    const received = result.stdout.trim().split('\n').map((line) => line.split('|'));
    expect(received).toHaveLength(2000);
    const recorded = await lastRecording('bulk-agent');
    const [summary] = linesOf(recorded, 'result', 1);
    expect(summary).toMatchObject({ rows: 2000, truncated: true, status: 'SELECT 2000' });
    const rows = rowsOf(recorded, 1);
    expect(rows.length).toBe(summary!.recordedRows);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.length).toBeLessThan(2000);
    // The first rows, exactly, within the cap.
    expect(rows).toEqual(received.slice(0, rows.length));
    expect(Buffer.byteLength(rows.map((row) => JSON.stringify(row)).join(''))).toBeLessThanOrEqual(CAP);
  });
});

describe('when the recording cannot be written', () => {
  it('refuses the session with a native error (fail closed) and audits why', async () => {
    const dir = path.join(gateway.dataDir, 'recordings');
    const aside = `${dir}.aside`;
    mkdirSync(dir, { recursive: true });
    renameSync(dir, aside);
    writeFileSync(dir, 'not a directory');
    try {
      const token = await gateway.token('unrecordable-agent', ['coding-agents']);
      const result = await psql(gateway, token, ['-At', '-c', 'SELECT ssn FROM phi_patients'], { user: 'unrecordable-agent' });
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(/FATAL: {2}Warden: the session recording cannot be written/);
      let end: AuditRecord | undefined;
      for (let attempt = 0; attempt < 200 && !end; attempt++) {
        const records = await gateway.auditRecords();
        const start = records.find((r): r is Extract<AuditRecord, { type: 'session.start' }> => r.type === 'session.start' && r.identity.subject === 'unrecordable-agent');
        end = records.find((r) => r.type === 'session.end' && r.sessionId === start?.sessionId);
        if (!end) await new Promise((resolve) => setTimeout(resolve, 25));
      }
      expect(end).toMatchObject({ reason: 'error', totals: { commands: 0 }, error: expect.stringMatching(/the session recording cannot be written/) });
    } finally {
      rmSync(dir);
      renameSync(aside, dir);
    }
  });
});

describe('after the gateway stopped', () => {
  let recorded: Recorded;

  beforeAll(async () => {
    recorded = await lastRecording('recorded-agent');
    await gateway.gateway.stop();
  });

  it('sessions show prints the recorded timeline: commands, decisions, a few rows, row counts, timings', async () => {
    const shown = await cli(['sessions', 'show', recorded.sessionId, '--data-dir', gateway.dataDir, '--as', 'jane.auditor']);
    expect(shown.code).toBe(0);
    expect(shown.out).toContain(`recorded timeline ${path.basename(recorded.file)}`);
    expect(shown.out).toMatch(/\+[\d.]+ m?s {2}#1 SELECT id, full_name, ssn, email, dob FROM phi_patients WHERE ssn <> '\[phi:[0-9a-f]{12}\]' OR id = 1 ORDER BY id {2}→ ALLOW\n/);
    expect(shown.out).toMatch(/#1 columns: id \| full_name \| ssn \| email \| dob\n/);
    expect(shown.out).toMatch(/│ 1 │ [0-9a-f]+ │ \[REDACTED\] │ \*\*\*@mailbox\.example │ 1958-01-01\n/);
    expect(shown.out).toMatch(/#1 result: SELECT 3, 3 rows; [\d.]+ ms, first row at \+[\d.]+ m?s\n/);
    expect(shown.out).toMatch(/#2 DROP TABLE phi_patients {2}→ BLOCK — rule "no-ddl": schema changes are reserved for the dba group\n/);
    expectNoRawValue(shown.out);
  });

  it('sessions show prints a few rows per command and says how many more were recorded', async () => {
    const bulk = await lastRecording('bulk-agent');
    const shown = await cli(['sessions', 'show', bulk.sessionId, '--data-dir', gateway.dataDir, '--as', 'jane.auditor']);
    expect(shown.code).toBe(0);
    expect(shown.out.split('\n').filter((line) => line.includes('│'))).toHaveLength(3);
    const recordedRows = linesOf(bulk, 'result', 1)[0]!.recordedRows;
    expect(shown.out).toContain(`#1 result: SELECT 2000, 2000 rows, values recorded for ${recordedRows} (truncated at the recording's cap), ${recordedRows - 3} more recorded rows not shown`);
  });

  it('replay steps through the commands with every recorded row', async () => {
    const replayed = await cli(['replay', recorded.sessionId, '--no-wait', '--data-dir', gateway.dataDir, '--as', 'jane.auditor']);
    expect(replayed.code).toBe(0);
    const rowLines = replayed.out.split('\n').filter((line) => line.includes('│'));
    expect(rowLines).toHaveLength(3);
    expect(rowLines[2]).toMatch(/│ 3 │ [0-9a-f]+ │ \[REDACTED\] │ \*\*\*@inbox\.example │ 1989-01-01$/);
    expect(replayed.out.indexOf('#1 SELECT')).toBeLessThan(replayed.out.indexOf('│ 1 │'));
    expect(replayed.out.indexOf('│ 3 │')).toBeLessThan(replayed.out.indexOf('#2 DROP TABLE'));
    expectNoRawValue(replayed.out);
  });

  it('audit verify fails, naming the recording, once it was edited; replay refuses it', async () => {
    expect((await cli(['audit', 'verify', '--data-dir', gateway.dataDir])).code).toBe(0);
    const original = readFileSync(recorded.file, 'utf8');
    try {
      writeFileSync(recorded.file, original.replace('***@mailbox.example', '***@forged.example'));
      const verified = await cli(['audit', 'verify', '--data-dir', gateway.dataDir]);
      expect(verified.code).toBe(1);
      expect(verified.out).toContain(`recording ${path.basename(recorded.file)} (record `);
      expect(verified.out).toContain(`session ${recorded.sessionId}) was altered`);
      const replayed = await cli(['replay', recorded.sessionId, '--no-wait', '--data-dir', gateway.dataDir, '--as', 'jane.auditor']);
      expect(replayed).toMatchObject({ code: 1, out: '', err: expect.stringMatching(/does not match the SHA-256 in the audit log/) });
    } finally {
      writeFileSync(recorded.file, original);
    }
    expect((await cli(['audit', 'verify', '--data-dir', gateway.dataDir])).code).toBe(0);
  });
});
