/**
 * Database session recordings through the MySQL adapter: mysql2 through Warden to the machine's
 * MariaDB, on a table with masked columns. The recording holds the masked rows the client received
 * in the text protocol (`query`) and the binary protocol (`execute`), never the raw values, and
 * `warden audit verify` vouches for it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseDatabaseTimeline, type AuditRecord, type DatabaseTimelineLine } from '@warden/core';
import mysql from 'mysql2/promise';
import { runCli, type CliIo } from '../cli';
import { MARIADB, connectThroughWarden, createMysqlTestDatabase, startMysqlGateway, type MysqlTestDatabase, type MysqlTestGateway } from './mysql-harness';

const PATIENTS = [
  { id: 1, name: 'Marisol Quintero', ssn: '219-47-8831', dob: '1958-07-23', email: 'marisol.quintero@mailbox.example', visits: 41 },
  { id: 2, name: 'Desmond Achterberg', ssn: '412-63-9054', dob: '1971-11-02', email: 'd.achterberg@post.example', visits: 12 },
];
const RAW = PATIENTS.flatMap((p) => [p.name, p.ssn, p.dob, p.email]);

const MASKING = `
masking:
  - connection: clinic-my
    columns:
      phi_patients.ssn: redact
      phi_patients.dob: year-only
      phi_patients.email: partial
      phi_patients.full_name: hash
      phi_patients.visits: hash
    detect: [ssn, email]
`;

let database: MysqlTestDatabase;
let gateway: MysqlTestGateway;

beforeAll(async () => {
  database = await createMysqlTestDatabase();
  const root = await mysql.createConnection({ ...MARIADB, database: database.name });
  await root.query('CREATE TABLE phi_patients (id INT PRIMARY KEY, full_name VARCHAR(100), ssn CHAR(11), dob DATE, email VARCHAR(100), visits INT)');
  for (const p of PATIENTS) await root.execute('INSERT INTO phi_patients VALUES (?, ?, ?, ?, ?, ?)', [p.id, p.name, p.ssn, p.dob, p.email, p.visits]);
  await root.end();
  gateway = await startMysqlGateway(database.name, { extraTopLevel: MASKING });
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  await database?.drop();
});

const SELECT = 'SELECT id, full_name, ssn, dob, email, visits FROM phi_patients WHERE id <= ? ORDER BY id';

it('records the masked rows mysql2 received in the text and the binary protocol, never the raw values', async () => {
  const connection = await connectThroughWarden(gateway, await gateway.token('recorded-agent', ['coding-agents']), { user: 'recorded-agent' });
  const options = { sql: SELECT, dateStrings: true } as const;
  const [text] = await connection.query<mysql.RowDataPacket[]>(options, [2]);
  const [binary] = await connection.execute<mysql.RowDataPacket[]>(options, [2]);
  await connection.end();
  expect(text.map((row) => row['ssn'])).toEqual(['[REDACTED]', '[REDACTED]']);
  expect(binary).toEqual(text);

  let event: Extract<AuditRecord, { type: 'session.event' }> | undefined;
  let sessionId: string | undefined;
  for (let attempt = 0; attempt < 200 && !event; attempt++) {
    const records = await gateway.auditRecords();
    sessionId = records.find((r): r is Extract<AuditRecord, { type: 'session.start' }> => r.type === 'session.start' && r.identity.subject === 'recorded-agent')?.sessionId;
    event = records.find((r): r is Extract<AuditRecord, { type: 'session.event' }> => r.type === 'session.event' && r.sessionId === sessionId && r.name === 'recording');
    if (!event) await new Promise((resolve) => setTimeout(resolve, 25));
  }
  const file = path.join(gateway.dataDir, 'recordings', String(event!.detail?.['file']));
  const recording = readFileSync(file, 'utf8');
  const lines = parseDatabaseTimeline(recording);
  const commands = lines.filter((line): line is Extract<DatabaseTimelineLine, { type: 'command' }> => line.type === 'command');
  // mysql2's `query` puts the parameter into the text itself; `execute` prepares the statement.
  expect(commands.map((command) => [command.text, command.decision.effect])).toEqual([
    [SELECT.replace('?', '2'), 'allow'],
    [SELECT, 'allow'],
  ]);
  const asText = (rows: mysql.RowDataPacket[]) => rows.map((row) => Object.values(row).map((value) => (value === null ? null : String(value))));
  for (const [command, received] of [
    [commands[0]!, text],
    [commands[1]!, binary],
  ] as const) {
    const rows = lines.flatMap((line) => (line.type === 'rows' && line.seq === command.seq ? line.rows : []));
    expect(rows).toEqual(asText(received));
    expect(lines.find((line) => line.type === 'columns' && line.seq === command.seq)).toMatchObject({ names: ['id', 'full_name', 'ssn', 'dob', 'email', 'visits'] });
    expect(lines.find((line) => line.type === 'result' && line.seq === command.seq)).toMatchObject({ rows: 2, recordedRows: 2, truncated: false });
  }
  for (const raw of RAW) expect(recording).not.toContain(raw);

  // The audit log vouches for it: an edited recording fails verification.
  await gateway.gateway.stop();
  const cli = async (args: readonly string[]) => {
    let out = '';
    const io: CliIo = { out: (chunk) => void (out += chunk), err: () => undefined, stopSignal: () => new Promise(() => undefined) };
    return { code: await runCli(args, io), out };
  };
  expect((await cli(['audit', 'verify', '--data-dir', gateway.dataDir])).code).toBe(0);
  writeFileSync(file, recording.replace('[REDACTED]', '[REDACTEX]'));
  const verified = await cli(['audit', 'verify', '--data-dir', gateway.dataDir]);
  expect(verified.code).toBe(1);
  expect(verified.out).toContain(`recording ${path.basename(file)} (record ${event!.seq}, session ${sessionId}) was altered`);
});
