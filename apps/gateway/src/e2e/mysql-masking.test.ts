/**
 * PHI masking through the MySQL adapter end to end: mysql2 (text protocol with `query`, binary
 * protocol with `execute`) and the `mariadb` CLI through a real gateway to the machine's MariaDB,
 * seeded with synthetic PHI. Column rules, free-text detection, an exempt group, a derived table,
 * and fail-closed refusal of a column Warden cannot mask.
 */
import mysql from 'mysql2/promise';
import { MARIADB, createMysqlTestDatabase, mariadbCli, startMysqlGateway, type MysqlTestDatabase, type MysqlTestGateway } from './mysql-harness';

/** Synthetic patients: every value below is PHI that must never leave Warden unmasked. */
const PATIENTS = [
  { id: 1, name: 'Marisol Quintero', ssn: '219-47-8831', dob: '1958-07-23', email: 'marisol.quintero@mailbox.example', phone: '(617) 555-0187', visits: 41, level: 7, admitted: '2024-01-11 08:30:00' },
  { id: 2, name: 'Desmond Achterberg', ssn: '412-63-9054', dob: '1971-11-02', email: 'd.achterberg@post.example', phone: '(508) 555-0143', visits: 12, level: 3, admitted: '2024-02-12 09:45:10' },
  { id: 3, name: 'Oluwaseun Hartigan', ssn: '538-29-1176', dob: '1989-02-14', email: 'seun.h@inbox.example', phone: '(781) 555-0129', visits: 5, level: 1, admitted: '2024-03-13 10:00:00' },
];
const RAW = PATIENTS.flatMap((p) => [p.name, p.ssn, p.dob, p.email, p.phone]);

const MASKING = `
masking:
  - connection: clinic-my
    columns:
      phi_patients.ssn: redact
      phi_patients.dob: year-only
      phi_patients.email: partial
      phi_patients.full_name: hash
      phi_patients.visits: hash
      phi_patients.level: hash
      phi_patients.admitted: year-only
      phi_patients.photo: redact
    detect: [ssn, email, phone]
    exempt:
      - { groups: [clinicians], columns: [phi_patients.dob] }
`;

let database: MysqlTestDatabase;
let gateway: MysqlTestGateway;

beforeAll(async () => {
  database = await createMysqlTestDatabase();
  const root = await mysql.createConnection({ ...MARIADB, database: database.name });
  await root.query(`CREATE TABLE phi_patients (
    id INT PRIMARY KEY, full_name VARCHAR(100), ssn CHAR(11), dob DATE, email VARCHAR(100), visits INT, level TINYINT,
    admitted DATETIME, notes TEXT, photo BLOB, code VARCHAR(20))`);
  for (const p of PATIENTS) {
    await root.execute('INSERT INTO phi_patients VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)', [
      p.id,
      p.name,
      p.ssn,
      p.dob,
      p.email,
      p.visits,
      p.level,
      p.admitted,
      `Called from ${p.phone}; SSN ${p.ssn}; mail ${p.email}. BP 120/80, dose 500 mg.`,
      Buffer.from(`photo of ${p.name}`),
      `C-${p.id}`,
    ]);
  }
  await root.end();
  gateway = await startMysqlGateway(database.name, { extraTopLevel: MASKING });
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  await database?.drop();
});

type Row = Record<string, unknown>;

function connect(subject: string, groups: string[]): Promise<mysql.Connection> {
  return gateway.token(subject, groups).then((password) =>
    mysql.createConnection({ host: '127.0.0.1', port: gateway.mysqlPort, user: subject, password, database: 'clinic-my', dateStrings: true, ssl: { rejectUnauthorized: false } }),
  );
}

const SELECT = 'SELECT id, full_name, ssn, dob, email, visits, level, admitted, notes, code FROM phi_patients WHERE id <= ? ORDER BY id';

function expectMasked(rows: Row[]): void {
  expect(rows).toHaveLength(3);
  const text = JSON.stringify(rows);
  for (const raw of RAW) expect(text).not.toContain(raw);
  rows.forEach((row, i) => {
    const p = PATIENTS[i]!;
    expect(row['id']).toBe(p.id);
    expect(row['ssn']).toBe('[REDACTED]');
    expect(row['dob']).toBe(`${p.dob.slice(0, 4)}-01-01`);
    expect(row['email']).toBe(`***${p.email.slice(p.email.indexOf('@'))}`);
    expect(row['full_name']).toMatch(/^[0-9a-f]+$/);
    // Integers stay integers that fit their column (TINYINT: -128..127).
    expect(Number.isInteger(row['visits'])).toBe(true);
    expect(row['visits']).not.toBe(p.visits);
    expect(row['level']).toEqual(expect.any(Number));
    expect(row['level'] as number).toBeGreaterThanOrEqual(0);
    expect(row['level'] as number).toBeLessThanOrEqual(127);
    expect(row['admitted']).toBe('2024-01-01 00:00:00');
    expect(row['notes']).toBe('Called from [PHONE]; SSN [SSN]; mail [EMAIL]. BP 120/80, dose 500 mg.');
    expect(row['code']).toBe(`C-${p.id}`);
  });
}

describe('masking through the MySQL adapter', () => {
  it('masks text-protocol rows (mysql2 query) and binary-protocol rows (mysql2 execute) alike', async () => {
    const connection = await connect('agent-1', ['coding-agents']);
    try {
      const [text] = await connection.query(SELECT, [3]);
      expectMasked(text as Row[]);
      const [binary] = await connection.execute(SELECT, [3]);
      expectMasked(binary as Row[]);
      // Stable per deployment: both protocols give the same masked values.
      expect(binary).toEqual(text);
      // NULLs stay NULL; unmasked columns are untouched.
      const [nulls] = await connection.execute('SELECT ssn, dob, id FROM phi_patients WHERE id = ? AND ssn IS NULL UNION ALL SELECT NULL, NULL, 9', [1]);
      expect(nulls).toEqual([{ ssn: null, dob: null, id: 9 }]);
    } finally {
      await connection.end();
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    const records = (await gateway.auditRecords()) as unknown as Row[];
    const log = JSON.stringify(records);
    for (const raw of RAW) expect(log).not.toContain(raw);
    const results = records.filter((record) => record['type'] === 'result' && (record['summary'] as Row)['masked'] !== undefined);
    expect(results.length).toBeGreaterThanOrEqual(2);
    expect((results[0]!['summary'] as Row)['masked']).toMatchObject({ redact: 3, 'year-only': 6, partial: 3, hash: 9, ssn: 3, email: 3, phone: 3 });
  });

  it('masks what the mariadb command-line client shows', async () => {
    const token = await gateway.token('agent-2', ['coding-agents']);
    const result = await mariadbCli(gateway, token, ['-N', '-B', '-e', 'SELECT ssn, dob, notes FROM phi_patients ORDER BY id'], { user: 'agent-2' });
    expect(result.stderr).toBe('');
    expect(result.stdout.trim().split('\n')).toEqual(PATIENTS.map((p) => `[REDACTED]\t${p.dob.slice(0, 4)}-01-01\tCalled from [PHONE]; SSN [SSN]; mail [EMAIL]. BP 120/80, dose 500 mg.`));
  });

  it('lets an exempt group see its exempt column, recorded as unmasked access, and masks the rest', async () => {
    const connection = await connect('nurse-1', ['clinicians']);
    try {
      const [rows] = await connection.query('SELECT ssn, dob FROM phi_patients ORDER BY id');
      expect(rows).toEqual(PATIENTS.map((p) => ({ ssn: '[REDACTED]', dob: p.dob })));
    } finally {
      await connection.end();
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    const records = (await gateway.auditRecords()) as unknown as Row[];
    expect(records.some((record) => record['type'] === 'result' && JSON.stringify((record['summary'] as Row)['unmasked']) === JSON.stringify({ [`${database.name}.phi_patients.dob`]: 3 }))).toBe(true);
  });

  it('applies the table\'s rules to columns read through a derived table', async () => {
    const connection = await connect('agent-3', ['coding-agents']);
    try {
      const [rows] = await connection.query('SELECT ssn FROM (SELECT ssn FROM phi_patients) AS t ORDER BY ssn');
      expect(rows).toEqual([{ ssn: '[REDACTED]' }, { ssn: '[REDACTED]' }, { ssn: '[REDACTED]' }]);
    } finally {
      await connection.end();
    }
  });

  it('withholds a result with a column it cannot mask, and the session stays usable', async () => {
    const connection = await connect('agent-4', ['coding-agents']);
    try {
      await expect(connection.query('SELECT id, photo FROM phi_patients')).rejects.toMatchObject({ errno: 1105, message: expect.stringContaining('Warden: the result was withheld because') });
      await expect(connection.execute('SELECT id, photo FROM phi_patients WHERE id = ?', [1])).rejects.toMatchObject({ errno: 1105 });
      const [rows] = await connection.query('SELECT COUNT(*) AS n FROM phi_patients');
      expect(rows).toEqual([{ n: 3 }]);
    } finally {
      await connection.end();
    }
  });
});
