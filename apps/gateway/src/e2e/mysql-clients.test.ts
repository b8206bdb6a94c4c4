import type { AuditRecord } from '@warden/core';
import mysql from 'mysql2/promise';
import { MARIADB, connectThroughWarden, createMysqlTestDatabase, mariadbCli, startMysqlGateway, type MysqlTestDatabase, type MysqlTestGateway } from './mysql-harness';

let database: MysqlTestDatabase;
let gateway: MysqlTestGateway;

beforeAll(async () => {
  database = await createMysqlTestDatabase();
  gateway = await startMysqlGateway(database.name, {
    rules: `
  - name: no-ddl
    match: { connection: clinic-my, action: ddl, groups: [clinicians, coding-agents] }
    effect: block
    reason: schema changes are reserved for the dba group
  - name: no-notes-for-agents
    match: { connection: clinic-my, objects: [notes], groups: [coding-agents] }
    effect: block
    reason: agents may not read notes`,
  });
});

afterAll(async () => {
  await gateway?.stop();
  await database?.drop();
});

type Row = Record<string, unknown>;

async function commandRecords(): Promise<Array<AuditRecord & Record<string, unknown>>> {
  // Result records are written after the reply; give the group commit a moment.
  await new Promise((resolve) => setTimeout(resolve, 50));
  return (await gateway.auditRecords()) as Array<AuditRecord & Record<string, unknown>>;
}

describe('mysql2 through Warden', () => {
  it('runs simple queries over TLS and records each command and its result', async () => {
    const token = await gateway.token('agent-1', ['coding-agents']);
    const connection = await connectThroughWarden(gateway, token);
    const marker = `simple-${Date.now()}`;
    const [rows] = await connection.query(`SELECT id, full_name, '${marker}' AS m FROM patients ORDER BY id LIMIT 2`);
    expect(rows).toEqual([
      { id: 1, full_name: 'Patient 1', m: marker },
      { id: 2, full_name: 'Patient 2', m: marker },
    ]);
    await connection.end();

    const records = await commandRecords();
    const command = records.find((record) => record.type === 'command' && JSON.stringify(record).includes(marker));
    expect(command).toMatchObject({ text: expect.stringContaining(marker), classification: { action: 'read', objects: ['patients'] }, decision: { effect: 'allow' }, detail: { command: 'COM_QUERY' } });
    const result = records.find((record) => record.type === 'result' && record['sessionId'] === command!['sessionId'] && record['commandSeq'] === command!['commandSeq']);
    expect(result).toMatchObject({ summary: { rows: 2 } });
    const start = records.find((record) => record.type === 'session.start' && record['sessionId'] === command!['sessionId']);
    expect(start).toMatchObject({ protocol: 'mysql', connection: 'clinic-my', access: 'read-only' });
  });

  it('runs prepared statements (binary protocol), decided at each execution', async () => {
    const token = await gateway.token('clinician-1', ['clinicians']);
    const connection = await connectThroughWarden(gateway, token, { user: 'clinician-1' });
    const [first] = await connection.execute('SELECT id, full_name, dob FROM patients WHERE id = ?', [7]);
    const [second] = await connection.execute('SELECT id, full_name, dob FROM patients WHERE id = ?', [8]);
    expect((first as Row[])[0]).toMatchObject({ id: 7, full_name: 'Patient 7' });
    expect((first as Row[])[0]!['dob']).toBeInstanceOf(Date);
    expect((second as Row[])[0]).toMatchObject({ id: 8, full_name: 'Patient 8' });
    const [inserted] = await connection.execute('INSERT INTO notes (body) VALUES (?)', ['prepared note']);
    expect((inserted as mysql.ResultSetHeader).affectedRows).toBe(1);
    // A prepared DDL is refused when it is executed; the connection stays usable.
    await expect(connection.execute('DROP TABLE notes')).rejects.toMatchObject({ errno: 1142, sqlState: '42000', message: expect.stringContaining('rule "no-ddl"') });
    const [[count]] = (await connection.execute('SELECT COUNT(*) AS n FROM notes')) as unknown as [[Row]];
    expect(Number(count!['n'])).toBeGreaterThanOrEqual(1);
    await connection.end();

    const records = await commandRecords();
    const executions = records.filter((record) => record.type === 'command' && (record['detail'] as Row | undefined)?.['command'] === 'COM_STMT_EXECUTE');
    expect(executions.map((record) => record['text'])).toEqual(
      expect.arrayContaining(['SELECT id, full_name, dob FROM patients WHERE id = ?', 'INSERT INTO notes (body) VALUES (?)', 'DROP TABLE notes']),
    );
  });

  it('runs multi-statement queries when the client enables them, and refuses them whole when one is refused', async () => {
    const token = await gateway.token('clinician-2', ['clinicians']);
    const connection = await connectThroughWarden(gateway, token, { user: 'clinician-2', multipleStatements: true });
    const [results] = await connection.query('SELECT 1 AS a; SELECT COUNT(*) AS n FROM patients; UPDATE notes SET body = body WHERE id = 0');
    const list = results as unknown as [Row[], Row[], mysql.ResultSetHeader];
    expect(list[0]).toEqual([{ a: 1 }]);
    expect(list[1]).toEqual([{ n: 50 }]);
    expect(list[2].affectedRows).toBe(0);
    await expect(connection.query('SELECT 1; DROP TABLE patients')).rejects.toMatchObject({ errno: 1142, message: expect.stringContaining('schema changes are reserved for the dba group') });
    const [[still]] = (await connection.query('SELECT COUNT(*) AS n FROM patients')) as unknown as [[Row]];
    expect(still!['n']).toBe(50);
    await connection.end();
  });

  it('streams a 100,000-row result through', async () => {
    const token = await gateway.token('agent-1', ['coding-agents']);
    const connection = await connectThroughWarden(gateway, token);
    const [rows] = await connection.query("SELECT seq, REPEAT('x', 100) AS pad FROM seq_1_to_100000");
    const list = rows as Row[];
    expect(list).toHaveLength(100_000);
    expect(list[99_999]).toEqual({ seq: 100_000, pad: 'x'.repeat(100) });
    await connection.end();
    const records = await commandRecords();
    expect(records.some((record) => record.type === 'result' && (record['summary'] as { rows?: number } | undefined)?.rows === 100_000)).toBe(true);
  });

  it('blocks a statement with ERR 1142 naming the rule, and the session stays usable', async () => {
    const token = await gateway.token('agent-1', ['coding-agents']);
    const connection = await connectThroughWarden(gateway, token);
    await expect(connection.query('SELECT * FROM notes')).rejects.toMatchObject({
      errno: 1142,
      sqlState: '42000',
      message: 'Warden: agents may not read notes (rule "no-notes-for-agents")',
    });
    const [rows] = await connection.query('SELECT COUNT(*) AS n FROM patients');
    expect(rows).toEqual([{ n: 50 }]);
    await connection.end();
  });

  it('enforces read-only grants by policy and on the target session', async () => {
    const token = await gateway.token('agent-1', ['coding-agents']);
    const connection = await connectThroughWarden(gateway, token);
    await expect(connection.query('DELETE FROM patients WHERE id = 1')).rejects.toMatchObject({ errno: 1142, message: expect.stringContaining('read-only') });
    await expect(connection.query('SET SESSION TRANSACTION READ WRITE')).rejects.toMatchObject({ errno: 1142 });
    await expect(connection.query('SET @@session.tx_read_only = 0')).rejects.toMatchObject({ errno: 1142 });
    await expect(connection.query('/*!40000 DELETE FROM patients */')).rejects.toMatchObject({ errno: 1142 });
    const [rows] = await connection.query('SELECT @@tx_read_only AS ro');
    expect(rows).toEqual([{ ro: 1 }]);
    await connection.end();

    // A read-write session is not read-only on the target.
    const writer = await connectThroughWarden(gateway, await gateway.token('clinician-3', ['clinicians']), { user: 'clinician-3' });
    const [writable] = await writer.query('SELECT @@tx_read_only AS ro');
    expect(writable).toEqual([{ ro: 0 }]);
    await writer.end();
  });

  it('refuses a bad token with ERR 1045 saying why', async () => {
    const expired = await gateway.token('agent-1', ['coding-agents'], { ttlSeconds: 60, now: new Date(Date.now() - 3_600_000) });
    await expect(connectThroughWarden(gateway, expired)).rejects.toMatchObject({ errno: 1045, message: expect.stringMatching(/^Warden: .*expired/) });
    await expect(connectThroughWarden(gateway, 'not-a-token')).rejects.toMatchObject({ errno: 1045 });
    const noGrant = await gateway.token('nobody', ['visitors']);
    await expect(connectThroughWarden(gateway, noGrant)).rejects.toMatchObject({ errno: 1045, message: expect.stringContaining('Warden:') });
  });

  it('refuses COM_CHANGE_USER and keeps the identity', async () => {
    const token = await gateway.token('agent-1', ['coding-agents']);
    const connection = await connectThroughWarden(gateway, token);
    await expect(connection.changeUser({ user: 'root', password: '' })).rejects.toMatchObject({ errno: 1045, message: expect.stringContaining('changing user is not supported') });
    await connection.end().catch(() => undefined);
  });

  it('answers COM_PING', async () => {
    const connection = await connectThroughWarden(gateway, await gateway.token('agent-1', ['coding-agents']));
    await expect(connection.ping()).resolves.toBe(true);
    await connection.end();
  });
});

describe('the mariadb command-line client through Warden', () => {
  it('runs queries over TLS', async () => {
    const token = await gateway.token('agent-1', ['coding-agents']);
    const result = await mariadbCli(gateway, token, ['-N', '-e', 'SELECT full_name FROM patients WHERE id = 3']);
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('Patient 3');
  });

  it('logs in without TLS from loopback through mysql_clear_password', async () => {
    const token = await gateway.token('agent-1', ['coding-agents']);
    const result = await mariadbCli(gateway, token, ['-N', '-e', 'SELECT COUNT(*) FROM patients'], { tls: false });
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('50');
  });

  it('shows a refusal and goes on with the next statement (--force)', async () => {
    const token = await gateway.token('clinician-4', ['clinicians']);
    const result = await mariadbCli(gateway, token, ['-N', '--force'], { user: 'clinician-4', input: 'DROP TABLE notes;\nSELECT COUNT(*) FROM patients;\n' });
    expect(result.stderr).toContain('ERROR 1142 (42000) at line 1: Warden: schema changes are reserved for the dba group (rule "no-ddl")');
    expect(result.stdout.trim()).toBe('50');
  });

  it('switches database with COM_INIT_DB as a decided command', async () => {
    const token = await gateway.token('clinician-5', ['clinicians']);
    const result = await mariadbCli(gateway, token, ['-N', '-e', `use ${database.name}\nSELECT DATABASE()`], { user: 'clinician-5' });
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe(database.name);
    const records = await commandRecords();
    expect(records.some((record) => record.type === 'command' && (record['detail'] as Row | undefined)?.['command'] === 'COM_INIT_DB' && record['text'] === `USE \`${database.name}\``)).toBe(true);
  });

  it('refuses a bad token with ERROR 1045', async () => {
    const result = await mariadbCli(gateway, 'garbage', ['-e', 'SELECT 1']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/ERROR 1045 \(28000\): Warden: /);
  });

  it('never lets LOAD DATA LOCAL INFILE read the client\'s files', async () => {
    const token = await gateway.token('clinician-6', ['clinicians']);
    const result = await mariadbCli(gateway, token, ['--local-infile=1', '-e', "LOAD DATA LOCAL INFILE '/etc/hostname' INTO TABLE notes (body)"], { user: 'clinician-6' });
    expect(result.code).not.toBe(0);
    const root = await mysql.createConnection({ ...MARIADB, database: database.name });
    const [rows] = await root.query("SELECT COUNT(*) AS n FROM notes WHERE body <> 'prepared note'");
    await root.end();
    expect(rows).toEqual([{ n: 0 }]);
  });
});
