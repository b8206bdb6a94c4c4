/**
 * Target errors and warnings never carry values on a MySQL connection with masking: mysql2 (text
 * and binary protocol) through Warden to the machine's MariaDB, seeded with synthetic PHI. Each
 * statement below makes MariaDB quote a masked value in an ERR packet (XPath errors, duplicate keys,
 * strict-mode conversions) or in a `SHOW WARNINGS` / `SHOW ERRORS` row (casts); the client sees the
 * error code, SQLSTATE and the message's shape with the values redacted, and no raw value reaches
 * the audit log, a recording or the gateway's log. An identity exempt from every column still sees
 * the full text.
 */
import { createJsonLogger } from '@warden/core';
import mysql from 'mysql2/promise';
import { MARIADB, createMysqlTestDatabase, queryAsRoot, startMysqlGateway, type MysqlTestDatabase, type MysqlTestGateway } from './mysql-harness';
import { errorRedactionGrants, errorRedactionMasking, PATIENTS } from './error-redaction-policy';
import { expectNoRawValueAtRest } from './raw-value-sweep';

const RAW_VALUES = PATIENTS.flatMap((p) => [p.ssn, p.ssn.slice(3), p.dob, p.email, p.email.split('@')[0]!]);

const MASKING = errorRedactionMasking('clinic-my');
const GRANTS = errorRedactionGrants('clinic-my');

let database: MysqlTestDatabase;
let gateway: MysqlTestGateway;
const logLines: string[] = [];

beforeAll(async () => {
  database = await createMysqlTestDatabase();
  const root = await mysql.createConnection({ ...MARIADB, database: database.name });
  await root.query('CREATE TABLE phi_patients (id INT PRIMARY KEY, ssn CHAR(11) UNIQUE, dob DATE, email VARCHAR(100), visits INT)');
  for (const p of PATIENTS) await root.execute('INSERT INTO phi_patients VALUES (?, ?, ?, ?, 0)', [p.id, p.ssn, p.dob, p.email]);
  await root.end();
  gateway = await startMysqlGateway(database.name, { extraTopLevel: MASKING, grants: GRANTS, log: createJsonLogger((line) => logLines.push(line)) });
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  await database?.drop();
});

async function connect(subject: string, groups: string[]): Promise<mysql.Connection> {
  const password = await gateway.token(subject, groups);
  return mysql.createConnection({ host: '127.0.0.1', port: gateway.mysqlPort, user: subject, password, database: 'clinic-my', dateStrings: true, ssl: { rejectUnauthorized: false } });
}

function expectNoRawValue(text: string): void {
  for (const raw of RAW_VALUES) expect(text).not.toContain(raw);
}

interface MysqlError {
  readonly errno: number;
  readonly sqlState: string;
  readonly sqlMessage: string;
}

async function failure(run: () => Promise<unknown>): Promise<MysqlError> {
  const error = (await run().then(
    () => undefined,
    (e: unknown) => e,
  )) as MysqlError | undefined;
  if (!error) throw new Error('expected the statement to fail');
  return error;
}

/** Statements whose warnings quote a masked value: [leak name, statement, warning shape]. */
const WARNING_LEAKS: ReadonlyArray<readonly [string, string, RegExp]> = [
  ['ssn-to-signed cast', 'SELECT CAST(ssn AS SIGNED) AS v FROM phi_patients WHERE id = 1', /^Truncated incorrect INTEGER value: '\[REDACTED\]'$/],
  ['ssn-to-decimal cast', 'SELECT CAST(ssn AS DECIMAL) AS v FROM phi_patients WHERE id = 1', /^Truncated incorrect DECIMAL value: '\[REDACTED\]'$/],
  ['ssn-plus-zero arithmetic', 'SELECT ssn + 0 AS v FROM phi_patients WHERE id = 1', /^Truncated incorrect DOUBLE value: '\[REDACTED\]'$/],
  ['email-to-date cast', 'SELECT CAST(email AS DATE) AS v FROM phi_patients WHERE id = 1', /^Incorrect datetime value: '\[REDACTED\]'/],
  ['ssn-to-time cast', 'SELECT CAST(ssn AS TIME) AS v FROM phi_patients WHERE id = 1', /^Incorrect time value: '\[REDACTED\]'/],
  ['ssn STR_TO_DATE', "SELECT STR_TO_DATE(ssn, '%Y-%m') AS v FROM phi_patients WHERE id = 1", /^Incorrect datetime value: '\[REDACTED\]'/],
  ['ssn DATE_ADD', 'SELECT DATE_ADD(ssn, INTERVAL 1 DAY) AS v FROM phi_patients WHERE id = 1', /^Incorrect datetime value: '\[REDACTED\]'/],
  ['ssn compared with a number', 'SELECT ssn = 1 AS v FROM phi_patients WHERE id = 1', /^Truncated incorrect DECIMAL value: '\[REDACTED\]'$/],
  ['email-to-decimal cast', 'SELECT CAST(email AS DECIMAL(5,2)) AS v FROM phi_patients WHERE id = 1', /^Truncated incorrect DECIMAL value: '\[REDACTED\]'$/],
  ['dob-text WEEKDAY', "SELECT WEEKDAY(CONCAT(dob, 'x')) AS v FROM phi_patients WHERE id = 1", /^Truncated incorrect date value: '\[REDACTED\]'$/],
  ['dob-text-to-signed cast', "SELECT CAST(DATE_FORMAT(dob, '%Y-%m-%d') AS SIGNED) AS v FROM phi_patients WHERE id = 1", /^Truncated incorrect INTEGER value: '\[REDACTED\]'$/],
];

describe('target errors and warnings on a MySQL connection with masking', () => {
  it.each(WARNING_LEAKS)('redacts the value SHOW WARNINGS quotes after a %s', async (_leak, sql, shape) => {
    const connection = await connect('agent-1', ['coding-agents']);
    try {
      await connection.query(sql);
      const [warnings] = await connection.query<mysql.RowDataPacket[]>('SHOW WARNINGS');
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject({ Level: 'Warning', Code: expect.any(Number) });
      expect(warnings[0]!['Message']).toMatch(shape);
      expectNoRawValue(JSON.stringify(warnings));
    } finally {
      await connection.end();
    }
  });

  it('redacts the value SHOW WARNINGS quotes after a cast in the binary protocol, and SHOW WARNINGS prepared itself (prepared-statement warning leak)', async () => {
    const connection = await connect('agent-1', ['coding-agents']);
    try {
      await connection.execute('SELECT CAST(ssn AS SIGNED) AS v FROM phi_patients WHERE id = ?', [2]);
      const [warnings] = await connection.query<mysql.RowDataPacket[]>('SHOW WARNINGS');
      expect(warnings.map((warning) => warning['Message'])).toEqual(["Truncated incorrect INTEGER value: '[REDACTED]'"]);
      await connection.execute('SELECT CAST(ssn AS SIGNED) AS v FROM phi_patients WHERE id = ?', [1]);
      const [binary] = await connection.execute<mysql.RowDataPacket[]>('SHOW WARNINGS');
      expect(binary.map((warning) => warning['Message'])).toEqual(["Truncated incorrect INTEGER value: '[REDACTED]'"]);
    } finally {
      await connection.end();
    }
  });

  it('redacts the value SHOW WARNINGS quotes behind an executable comment (hidden-show-warnings leak)', async () => {
    const connection = await connect('agent-1', ['coding-agents']);
    try {
      await connection.query('SELECT CAST(ssn AS SIGNED) AS v FROM phi_patients WHERE id = 1');
      const [warnings] = await connection.query<mysql.RowDataPacket[]>('/*!SHOW*/ /**/ WARNINGS');
      expect(warnings.map((warning) => warning['Message'])).toEqual(["Truncated incorrect INTEGER value: '[REDACTED]'"]);
    } finally {
      await connection.end();
    }
  });

  it('redacts the value SHOW WARNINGS quotes as the second statement of a batch (batched-show-warnings leak)', async () => {
    const password = await gateway.token('agent-1', ['coding-agents']);
    const connection = await mysql.createConnection({ host: '127.0.0.1', port: gateway.mysqlPort, user: 'agent-1', password, database: 'clinic-my', multipleStatements: true, ssl: { rejectUnauthorized: false } });
    try {
      const [results] = await connection.query<mysql.RowDataPacket[][]>('SELECT CAST(ssn AS SIGNED) AS v FROM phi_patients WHERE id = 2; SHOW WARNINGS');
      expect(results[1]!.map((warning) => warning['Message'])).toEqual(["Truncated incorrect INTEGER value: '[REDACTED]'"]);
    } finally {
      await connection.end();
    }
  });

  /** Statements a read-only identity runs that fail with the value in the ERR: [leak name, statement, errno, message shape]. */
  const ERROR_LEAKS: ReadonlyArray<readonly [string, string, number, RegExp]> = [
    ['UPDATEXML XPath error', "SELECT UPDATEXML('<a/>', (SELECT CONCAT('/', ssn) FROM phi_patients WHERE id = 1), '1') AS v", 1105, /^XPATH syntax error: '\[REDACTED\]'$/],
    ['EXTRACTVALUE XPath error', "SELECT EXTRACTVALUE('<a/>', CONCAT('/', (SELECT email FROM phi_patients WHERE id = 1))) AS v", 1105, /^XPATH syntax error: '\[REDACTED\]'$/],
    // With a constant: a SET from table data is refused before the target where masking applies (mysql-session-variables.test.ts).
    ['time-zone setting error', `SET time_zone = '${PATIENTS[0]!.ssn}'`, 1298, /^Unknown or incorrect time zone: '\[REDACTED\]'$/],
    ['EXTRACTVALUE XPath error on a date', "SELECT EXTRACTVALUE('<a/>', CONCAT('/', (SELECT dob FROM phi_patients WHERE id = 2))) AS v", 1105, /^XPATH syntax error: '\[REDACTED\]'$/],
  ];

  it.each(ERROR_LEAKS)('redacts the value an %s quotes, in the ERR and in SHOW ERRORS', async (_leak, sql, errno, shape) => {
    const connection = await connect('agent-1', ['coding-agents']);
    try {
      const error = await failure(() => connection.query(sql));
      expect(error.errno).toBe(errno);
      expect(error.sqlState).toBe('HY000');
      expect(error.sqlMessage).toMatch(shape);
      const [errors] = await connection.query<mysql.RowDataPacket[]>('SHOW ERRORS');
      expect(errors.map((row) => row['Message'])).toEqual([error.sqlMessage]);
      expectNoRawValue(`${error.sqlMessage}\n${JSON.stringify(errors)}`);
    } finally {
      await connection.end();
    }
  });

  /** Writes by a read-write identity exempt from one column only: [leak name, statement, errno, message shape]. */
  const WRITE_LEAKS: ReadonlyArray<readonly [string, string, number, RegExp]> = [
    ['duplicate-entry error', 'INSERT INTO phi_patients (id, ssn) SELECT 100, ssn FROM phi_patients WHERE id = 1', 1062, /^Duplicate entry '\[REDACTED\]'$/],
    ['strict-mode integer conversion error', 'UPDATE phi_patients SET visits = email WHERE id = 1', 1366, /^Incorrect integer value: '\[REDACTED\]'/],
  ];

  it.each(WRITE_LEAKS)('redacts the value a %s quotes', async (_leak, sql, errno, shape) => {
    const connection = await connect('nurse-1', ['clinicians']);
    try {
      const error = await failure(() => connection.query(sql));
      expect(error.errno).toBe(errno);
      expect(error.sqlMessage).toMatch(shape);
      expectNoRawValue(error.sqlMessage);
    } finally {
      await connection.end();
    }
    // The statement failed on the target: nothing changed.
    expect(await queryAsRoot(database.name, 'SELECT COUNT(*) AS n, SUM(visits) AS visits FROM phi_patients')).toEqual([{ n: 2, visits: '0' }]);
  });

  it('refuses GET DIAGNOSTICS, which would copy error text into a variable (diagnostics-variable leak)', async () => {
    const connection = await connect('agent-1', ['coding-agents']);
    try {
      await failure(() => connection.query("SELECT UPDATEXML('<a/>', (SELECT CONCAT('/', ssn) FROM phi_patients WHERE id = 1), '1')"));
      const error = await failure(() => connection.query('GET DIAGNOSTICS CONDITION 1 @m = MESSAGE_TEXT'));
      expect(error.sqlMessage).toMatch(/^Warden: /);
      const [rows] = await connection.query<mysql.RowDataPacket[]>('SELECT @m AS m');
      expect(rows).toEqual([{ m: null }]);
    } finally {
      await connection.end();
    }
  });

  it('gives an identity exempt from every column the full error and warnings (exempt identity)', async () => {
    const connection = await connect('admin-1', ['phi-admins']);
    try {
      const error = await failure(() => connection.query("SELECT UPDATEXML('<a/>', (SELECT CONCAT('/', ssn) FROM phi_patients WHERE id = 1), '1')"));
      expect(error.sqlMessage).toBe(`XPATH syntax error: '${PATIENTS[0]!.ssn}'`);
      await connection.query('SELECT CAST(ssn AS SIGNED) AS v FROM phi_patients WHERE id = 2');
      const [warnings] = await connection.query<mysql.RowDataPacket[]>('SHOW WARNINGS');
      expect(warnings.map((warning) => warning['Message'])).toEqual([`Truncated incorrect INTEGER value: '${PATIENTS[1]!.ssn}'`]);
    } finally {
      await connection.end();
    }
  });

  it('keeps the values target errors and warnings quote out of the audit log, the recordings and the gateway log', async () => {
    const records = await gateway.auditRecords();
    expect(JSON.stringify(records)).toContain("XPATH syntax error: '[REDACTED]'");
    await expectNoRawValueAtRest(gateway.dataDir, logLines, RAW_VALUES);
  });
});
