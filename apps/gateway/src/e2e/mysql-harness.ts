/**
 * End-to-end fixtures for MySQL: a fresh database and a password account on the machine's MariaDB
 * (127.0.0.1:3306, root without a password), and a real gateway with a `mysql` connection in
 * front of it. Built on the Postgres harness (`startTestGateway`), which the gateway config shares.
 */
import mysql from 'mysql2/promise';
import type { Logger } from '@warden/core';
import { databaseGatewayFixture, type DatabaseGatewayFixture } from './file-fixture';
import { run, startTestGateway, type ProcessResult, type TestGateway } from './harness';

export const MARIADB = { host: '127.0.0.1', port: 3306, user: 'root', password: '' } as const;
/** The account Warden uses towards the target (mysql_native_password on MariaDB). */
export const TARGET_USER = { user: 'warden_test', password: 'warden-test-Secret-1' } as const;

export interface MysqlTestDatabase {
  readonly name: string;
  drop(): Promise<void>;
}

/** A fresh database with synthetic `patients` (50 rows) and `notes`; Warden's account may use it. */
export async function createMysqlTestDatabase(): Promise<MysqlTestDatabase> {
  const name = `warden_test_${process.pid}_${Math.floor(Math.random() * 1e6)}`;
  const root = await mysql.createConnection({ ...MARIADB, multipleStatements: true });
  try {
    await root.query(`
      CREATE USER IF NOT EXISTS '${TARGET_USER.user}'@'127.0.0.1' IDENTIFIED BY '${TARGET_USER.password}';
      ALTER USER '${TARGET_USER.user}'@'127.0.0.1' IDENTIFIED BY '${TARGET_USER.password}';
      CREATE DATABASE ${name};
      GRANT ALL ON ${name}.* TO '${TARGET_USER.user}'@'127.0.0.1';
      CREATE TABLE ${name}.patients (id INT AUTO_INCREMENT PRIMARY KEY, full_name VARCHAR(100) NOT NULL, ssn CHAR(11) NOT NULL, dob DATE NOT NULL);
      INSERT INTO ${name}.patients (full_name, ssn, dob)
        SELECT CONCAT('Patient ', seq), CONCAT('9', LPAD(seq % 100, 2, '0'), '-55-', LPAD(seq, 4, '0')), DATE('1970-01-01') + INTERVAL seq DAY FROM ${name}.seq_1_to_50;
      CREATE TABLE ${name}.notes (id INT AUTO_INCREMENT PRIMARY KEY, body TEXT);
    `);
  } finally {
    await root.end();
  }
  return {
    name,
    drop: async () => {
      const again = await mysql.createConnection(MARIADB);
      await again.query(`DROP DATABASE IF EXISTS ${name}`);
      await again.end();
    },
  };
}

export const MYSQL_GRANTS = `
  - { connection: clinic-my, groups: [coding-agents], access: read-only }
  - { connection: clinic-my, groups: [clinicians], access: read-write }
  - { connection: clinic-my, groups: [dba], access: full }`;

export const MYSQL_RULES = `
  - name: no-ddl
    match: { connection: clinic-my, action: ddl, groups: [clinicians, coding-agents] }
    effect: block
    reason: schema changes are reserved for the dba group`;

export interface MysqlTestGateway extends TestGateway {
  readonly mysqlPort: number;
}

export interface MysqlGatewayOptions {
  readonly rules?: string;
  readonly grants?: string;
  readonly allowInsecureAuth?: boolean;
  readonly extraTopLevel?: string;
  readonly listenHost?: string;
  readonly targetExtra?: string;
  readonly issuers?: string;
  /** The gateway's logger (default: silent), e.g. to capture its output. */
  readonly log?: Logger;
}

/** A gateway with connection `clinic-my` (protocol mysql, self-signed TLS) in front of `database`. */
export async function startMysqlGateway(database: string, options: MysqlGatewayOptions = {}): Promise<MysqlTestGateway> {
  const gateway = await startTestGateway({
    database: 'postgres',
    ...(options.issuers === undefined ? {} : { issuers: options.issuers }),
    ...(options.extraTopLevel === undefined ? {} : { extraTopLevel: options.extraTopLevel }),
    ...(options.log === undefined ? {} : { log: options.log }),
    grants: options.grants ?? MYSQL_GRANTS,
    rules: options.rules ?? MYSQL_RULES,
    extraConnections: `
  - name: clinic-my
    protocol: mysql
    listen: ${options.listenHost ?? '127.0.0.1'}:0
    tls: self-signed
    allowInsecureAuth: ${options.allowInsecureAuth ?? false}
    target: { host: ${MARIADB.host}, port: ${MARIADB.port}, database: ${database}, user: ${TARGET_USER.user}, password: ${TARGET_USER.password}, connectTimeoutMs: 3000${options.targetExtra === undefined ? '' : `, ${options.targetExtra}`} }
`,
  });
  return { ...gateway, mysqlPort: gateway.gateway.addresses.get('clinic-my')!.port };
}

/** Runs `sql` on `database` straight on MariaDB as root, not through Warden: to set it up, or to see what a statement did to it. */
export async function queryAsRoot<T = unknown>(database: string, sql: string): Promise<T> {
  const root = await mysql.createConnection({ ...MARIADB, database });
  try {
    const [rows] = await root.query(sql);
    return rows as T;
  } finally {
    await root.end();
  }
}

export interface MysqlGatewayFixture extends DatabaseGatewayFixture<MysqlTestDatabase, MysqlTestGateway> {
  /** `queryAsRoot` on the file's database. */
  queryAsRoot<T = unknown>(sql: string): Promise<T>;
  /** `connectThroughWarden` with a fresh token for `subject` in `groups`. */
  connectAs(subject: string, groups: string[], options?: MysqlConnectOptions): Promise<mysql.Connection>;
}

/**
 * A fresh database and a gateway in front of it for the tests of one file (`databaseGatewayFixture`);
 * `prepare` runs as root on the database before the gateway starts.
 *
 *   const fixture = mysqlGatewayFixture({ prepare: () => fixture.queryAsRoot('CREATE VIEW …') });
 *   it('…', async () => { const token = await fixture.gateway.token('agent-1', ['coding-agents']); … });
 */
export function mysqlGatewayFixture(options: MysqlGatewayOptions & { readonly prepare?: () => Promise<void> } = {}): MysqlGatewayFixture {
  const { prepare, ...gatewayOptions } = options;
  const fixture = databaseGatewayFixture({ createDatabase: createMysqlTestDatabase, ...(prepare ? { prepare } : {}), startGateway: (database) => startMysqlGateway(database, gatewayOptions) });
  return Object.assign(fixture, {
    queryAsRoot: <T>(sql: string) => queryAsRoot<T>(fixture.database.name, sql),
    connectAs: async (subject: string, groups: string[], connectOptions?: MysqlConnectOptions) => connectThroughWarden(fixture.gateway, await fixture.gateway.token(subject, groups), connectOptions),
  });
}

export interface MysqlConnectOptions {
  readonly tls?: boolean;
  /** The MySQL user name (default `agent-1`: the token, not the name, says who connects). */
  readonly user?: string;
  readonly database?: string;
  readonly multipleStatements?: boolean;
}

/** A mysql2 connection through the gateway with `token` as the password (TLS unless told otherwise). */
export function connectThroughWarden(gateway: MysqlTestGateway, token: string, options: MysqlConnectOptions = {}): Promise<mysql.Connection> {
  return mysql.createConnection({
    host: '127.0.0.1',
    port: gateway.mysqlPort,
    user: options.user ?? 'agent-1',
    password: token,
    database: options.database ?? 'clinic-my',
    multipleStatements: options.multipleStatements ?? false,
    ...(options.tls === false ? {} : { ssl: { rejectUnauthorized: false } }),
  });
}

/** The real `mariadb` command-line client through the gateway. */
export function mariadbCli(gateway: MysqlTestGateway, token: string, args: readonly string[], options: { tls?: boolean; input?: string; user?: string } = {}): Promise<ProcessResult> {
  const tlsArgs = options.tls === false ? ['--skip-ssl'] : ['--ssl', '--skip-ssl-verify-server-cert'];
  return run('mariadb', ['--no-defaults', '-h', '127.0.0.1', '-P', String(gateway.mysqlPort), '-u', options.user ?? 'agent-1', ...tlsArgs, '-D', 'clinic-my', ...args], {
    env: { MYSQL_PWD: token },
    ...(options.input === undefined ? {} : { input: options.input }),
  });
}
