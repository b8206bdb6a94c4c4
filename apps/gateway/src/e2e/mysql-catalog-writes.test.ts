/**
 * Warden's own account on the target may be allowed everything, and then a plain data write of a
 * system database succeeds: `INSERT INTO mysql.global_priv …` makes an account, `UPDATE
 * mysql.global_priv …` raises one's privileges, `DELETE FROM mysql.proc …` drops a routine. A
 * statement that writes a system database's table is `admin`, so only a full grant may run it, and
 * so is making a system database the default one (USE, COM_INIT_DB, the database asked for at
 * login), after which unqualified names would be its tables. Here Warden's target account may
 * write the `mysql` database, so only Warden stands between a read-write grant and the accounts:
 * each spelling is refused with the accounts and routines unchanged on the target, reads of the
 * system databases still work on read-only, and full access still writes, audited as admin.
 */
import { randomBytes } from 'node:crypto';
import type { AuditRecord } from '@warden/core';
import mysql from 'mysql2/promise';
import { databaseGatewayFixture, type DatabaseGatewayFixture } from './file-fixture';
import { startTestGateway } from './harness';
import { MARIADB, MYSQL_GRANTS, MYSQL_RULES, connectThroughWarden, createMysqlTestDatabase, mariadbCli, queryAsRoot, type MysqlTestDatabase, type MysqlTestGateway } from './mysql-harness';

const SUFFIX = randomBytes(4).toString('hex');
/** Warden's target account for this file: its own database, and the `mysql` database's tables. */
const TARGET = { user: `warden_catalog_${SUFFIX}`, password: `Catalog-Secret-${SUFFIX}` } as const;
/** An account whose privileges a refused write must leave as they are. */
const PROBE_USER = `catalog_probe_${SUFFIX}`;
/** The name of an account a refused write must not create. */
const PWNED_USER = `pwned_${SUFFIX}`;

async function asRoot<T = unknown>(sql: string): Promise<T> {
  const root = await mysql.createConnection(MARIADB);
  try {
    const [rows] = await root.query(sql);
    return rows as T;
  } finally {
    await root.end();
  }
}

async function startGateway(database: string): Promise<MysqlTestGateway> {
  await asRoot(`CREATE USER '${TARGET.user}'@'127.0.0.1' IDENTIFIED BY '${TARGET.password}'`);
  await asRoot(`GRANT ALL ON ${database}.* TO '${TARGET.user}'@'127.0.0.1'`);
  await asRoot(`GRANT SELECT, INSERT, UPDATE, DELETE ON mysql.* TO '${TARGET.user}'@'127.0.0.1'`);
  await asRoot(`CREATE USER '${PROBE_USER}'@'localhost' IDENTIFIED BY 'probe-Secret-1'`);
  const gateway = await startTestGateway({
    database: 'postgres',
    grants: MYSQL_GRANTS,
    rules: MYSQL_RULES,
    extraConnections: `
  - name: clinic-my
    protocol: mysql
    listen: 127.0.0.1:0
    tls: self-signed
    target: { host: ${MARIADB.host}, port: ${MARIADB.port}, database: ${database}, user: ${TARGET.user}, password: ${TARGET.password}, connectTimeoutMs: 3000 }
`,
  });
  return { ...gateway, mysqlPort: gateway.gateway.addresses.get('clinic-my')!.port };
}

const fixture: DatabaseGatewayFixture<MysqlTestDatabase, MysqlTestGateway> = databaseGatewayFixture({
  createDatabase: createMysqlTestDatabase,
  prepare: async (): Promise<void> => {
    await queryAsRoot(fixture.database.name, 'CREATE FUNCTION catalog_probe_fn() RETURNS INT DETERMINISTIC RETURN 1');
  },
  startGateway,
});

afterAll(async () => {
  await asRoot(`DROP USER IF EXISTS '${TARGET.user}'@'127.0.0.1', '${PROBE_USER}'@'localhost', '${PWNED_USER}'@'%'`);
});

const GROUPS = { 'read-only': ['coding-agents'], 'read-write': ['clinicians'], full: ['dba'] } as const;
type Access = keyof typeof GROUPS;

async function withConnection(access: Access, use: (connection: mysql.Connection) => Promise<void>): Promise<void> {
  const subject = `user-${access}`;
  const connection = await connectThroughWarden(fixture.gateway, await fixture.gateway.token(subject, [...GROUPS[access]]), { user: subject, multipleStatements: true });
  try {
    await use(connection);
  } finally {
    await connection.end();
  }
}

/** The accounts and routines, read as root behind Warden's back. */
async function catalogState(): Promise<Record<string, unknown>> {
  const probe = await asRoot<Array<{ Priv: string }>>(`SELECT Priv FROM mysql.global_priv WHERE User = '${PROBE_USER}'`);
  const pwned = await asRoot<Array<{ count: number }>>(`SELECT COUNT(*) AS count FROM mysql.global_priv WHERE User = '${PWNED_USER}'`);
  const routines = await asRoot<Array<{ count: number }>>(`SELECT COUNT(*) AS count FROM mysql.proc WHERE db = '${fixture.database.name}' AND name = 'catalog_probe_fn'`);
  return { probe: probe.map((row) => row.Priv), pwned: pwned[0]?.count, routines: routines[0]?.count };
}

const WRITES: readonly string[] = [
  `INSERT INTO mysql.global_priv (Host, User, Priv) VALUES ('%', '${PWNED_USER}', '{}')`,
  `UPDATE mysql.global_priv SET Priv = JSON_SET(Priv, '$.access', 1073741823) WHERE User = '${PROBE_USER}'`,
  `UPDATE \`mysql\`.\`global_priv\` SET Priv = '{"access": 1073741823}' WHERE User = '${PROBE_USER}'`,
  `UPDATE MYSQL.GLOBAL_PRIV SET Priv = '{"access": 1073741823}' WHERE User = '${PROBE_USER}'`,
  `REPLACE INTO mysql.global_priv (Host, User, Priv) VALUES ('localhost', '${PROBE_USER}', '{"access": 1073741823}')`,
  `INSERT INTO mysql.global_priv (Host, User, Priv) VALUES ('localhost', '${PROBE_USER}', '{}') ON DUPLICATE KEY UPDATE Priv = '{"access": 1073741823}'`,
  `DELETE FROM mysql.proc WHERE db = DATABASE() AND name = 'catalog_probe_fn'`,
  `DELETE FROM mysql.global_priv WHERE User = '${PROBE_USER}'`,
  `SELECT 1; UPDATE mysql.global_priv SET Priv = '{}' WHERE User = '${PROBE_USER}'`,
  `USE mysql; INSERT INTO global_priv (Host, User, Priv) VALUES ('%', '${PWNED_USER}', '{}')`,
  'USE mysql',
  'USE `MySQL`',
];

describe('read-write access: writes of the system databases (MySQL)', () => {
  it.each(WRITES)('refuses %j with 1142, and the accounts and routines are unchanged on the target (catalog-write bypass)', async (sql) => {
    const before = await catalogState();
    expect(before).toMatchObject({ probe: [expect.objectContaining({ access: 0 })], pwned: 0, routines: 1 });
    await withConnection('read-write', async (connection) => {
      await expect(connection.query(sql)).rejects.toMatchObject({ errno: 1142, message: expect.stringContaining('read-write access does not allow admin statements') });
      const [rows] = await connection.query('SELECT DATABASE() AS db');
      expect(rows).toEqual([{ db: fixture.database.name }]);
    });
    expect(await catalogState()).toEqual(before);
  });

  it('refuses a row lock of a system table (catalog-write bypass)', async () => {
    await withConnection('read-write', async (connection) => {
      await connection.query('START TRANSACTION');
      await expect(connection.query('SELECT * FROM mysql.global_priv FOR UPDATE')).rejects.toMatchObject({ errno: 1142 });
      await connection.query('ROLLBACK');
    });
  });

  it('refuses the system database asked for at login (catalog-write bypass)', async () => {
    const token = await fixture.gateway.token('user-login-db', [...GROUPS['read-write']]);
    await expect(connectThroughWarden(fixture.gateway, token, { user: 'user-login-db', database: 'mysql' })).rejects.toMatchObject({ errno: 1142, message: expect.stringContaining('read-write access does not allow admin statements') });
  });

  it('refuses the mariadb client’s use command (COM_INIT_DB), and the write after it runs in the user database (catalog-write bypass)', async () => {
    const before = await catalogState();
    const token = await fixture.gateway.token('user-cli', [...GROUPS['read-write']]);
    const result = await mariadbCli(fixture.gateway, token, ['--force', '-e', `use mysql; INSERT INTO global_priv (Host, User, Priv) VALUES ('%', '${PWNED_USER}', '{}'); SELECT DATABASE()`], { user: 'user-cli' });
    expect(result.stderr).toContain('read-write access does not allow admin statements');
    expect(await catalogState()).toEqual(before);
  });

  it('names the system table in the audit record of the refusal', async () => {
    const sql = `DELETE FROM mysql.global_priv WHERE User = '${PROBE_USER}' AND 'audit' = 'audit'`;
    await withConnection('read-write', (connection) => connection.query(sql).then(() => undefined, () => undefined));
    const records = await fixture.gateway.auditRecords();
    const refused = records.findLast((r): r is Extract<AuditRecord, { type: 'command' }> => r.type === 'command' && r.text === sql);
    expect(refused).toMatchObject({ decision: { effect: 'block' } });
    expect(refused?.classification.statements[0]).toMatchObject({ action: 'admin', note: 'writes mysql.global_priv, a table of a system database, which only full access may' });
  });

  it('still writes the user database', async () => {
    await withConnection('read-write', async (connection) => {
      await connection.query("INSERT INTO notes (body) VALUES ('catalog test')");
    });
    expect(await queryAsRoot(fixture.database.name, "SELECT body FROM notes WHERE body = 'catalog test'")).toEqual([{ body: 'catalog test' }]);
  });
});

describe('read-only access: reads of the system databases (MySQL)', () => {
  it('reads information_schema and mysql tables, qualified', async () => {
    await withConnection('read-only', async (connection) => {
      const [tables] = await connection.query('SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() ORDER BY 1');
      expect(tables).toEqual([{ name: 'notes' }, { name: 'patients' }]);
      const [accounts] = await connection.query(`SELECT User AS user FROM mysql.global_priv WHERE User = '${PROBE_USER}'`);
      expect(accounts).toEqual([{ user: PROBE_USER }]);
    });
  });
});

describe('full access: writes of the system databases (MySQL)', () => {
  it('allows a write of a system table (an account set to its own value) and audits it as admin', async () => {
    const before = await catalogState();
    const sql = `UPDATE mysql.global_priv SET Priv = Priv WHERE User = '${PROBE_USER}'`;
    await withConnection('full', async (connection) => {
      const [result] = await connection.query<mysql.ResultSetHeader>(sql);
      expect(result.affectedRows).toBe(1);
    });
    expect(await catalogState()).toEqual(before);
    const allowed = (await fixture.gateway.auditRecords()).findLast((r): r is Extract<AuditRecord, { type: 'command' }> => r.type === 'command' && r.text === sql);
    expect(allowed).toMatchObject({ classification: { action: 'admin' }, decision: { effect: 'allow' } });
  });
});
