/**
 * The MariaDB target the attacks aim at: the machine's server (root over TCP), a database of the
 * run's own with canary data, Warden connecting with an account that may do everything (ALL on
 * *.*, FILE included), and the general log written to `mysql.general_log` so that what the target
 * ran can be read by thread id (under a lease shared with other runs: see general-log-lease.ts). The
 * server's logging settings are restored by the last run out, and the database and account dropped,
 * by `stop()`.
 */
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { leaseGeneralLog, type GeneralLogLease } from './general-log-lease';

export const MARIADB = { host: '127.0.0.1', port: 3306, user: 'root', password: '' } as const;

/** One row of mysql.general_log. */
export interface GeneralLogRow {
  readonly command_type: string;
  readonly argument: string;
}

export interface MysqlCanaryState {
  readonly patients: string;
  readonly canary: string;
  readonly sequence: string;
  readonly tables: string;
  readonly routines: string;
  readonly accounts: string;
  readonly globals: string;
}

export interface MysqlTarget {
  readonly database: string;
  readonly user: string;
  readonly password: string;
  canaryState(): Promise<MysqlCanaryState>;
  /** Makes the database anew, after an attack that changed it (so that the next ones start clean). */
  resetCanary(): Promise<void>;
  /** What the target logged for one connection (thread), in the order it logged it. */
  generalLog(threadId: number): Promise<GeneralLogRow[]>;
  /** What the target logged for each of these connections (threads), in the order it logged it. */
  generalLogs(threadIds: readonly number[]): Promise<Map<number, GeneralLogRow[]>>;
  stop(): Promise<void>;
}

/** What an attack that worked leaves on the shared server, outside the run's database: removed. */
const ATTACK_LEFTOVERS = "DROP USER IF EXISTS 'pwned'@'%'; DROP DATABASE IF EXISTS pwned_db; DROP SERVER IF EXISTS pwned";

export async function startMysqlTarget(): Promise<MysqlTarget> {
  const suffix = `${process.pid}_${randomBytes(3).toString('hex')}`;
  const database = `warden_redteam_${suffix}`;
  const user = `redteam_${suffix}`;
  const password = `Redteam-${randomBytes(9).toString('hex')}`;
  const root = await mysql.createConnection({ ...MARIADB, multipleStatements: true });
  let lease: GeneralLogLease | undefined;
  const schema = `
      USE ${database};
      CREATE TABLE patients (id INT PRIMARY KEY, full_name VARCHAR(100) NOT NULL, ssn CHAR(11) NOT NULL, email VARCHAR(100) NOT NULL, dob DATE NOT NULL);
      INSERT INTO patients SELECT seq, CONCAT('Patient ', seq), CONCAT('900-55-', LPAD(seq, 4, '0')), CONCAT('patient', seq, '@example.org'), DATE('1970-01-01') + INTERVAL seq DAY FROM seq_1_to_20;
      CREATE TABLE canary (id INT PRIMARY KEY, word VARCHAR(50) NOT NULL);
      INSERT INTO canary VALUES (1, 'untouched');
      CREATE TABLE notes (id INT AUTO_INCREMENT PRIMARY KEY, body TEXT);
      CREATE SEQUENCE canary_seq;
      CREATE VIEW patient_names AS SELECT id, full_name FROM patients;
      CREATE FUNCTION touch_canary() RETURNS INT MODIFIES SQL DATA BEGIN UPDATE canary SET word = 'touched'; RETURN 1; END;
      CREATE FUNCTION harmless(n INT) RETURNS INT DETERMINISTIC NO SQL RETURN n + 1;
      CREATE PROCEDURE wipe_canary() MODIFIES SQL DATA DELETE FROM canary;
      CREATE VIEW touching AS SELECT touch_canary() AS touched;
  `;
  try {
    await root.query(`
      CREATE DATABASE ${database};
      CREATE USER '${user}'@'127.0.0.1' IDENTIFIED BY '${password}';
      GRANT ALL PRIVILEGES ON *.* TO '${user}'@'127.0.0.1' WITH GRANT OPTION;
      ${schema}`);
    lease = await leaseGeneralLog(root, database);
  } catch (error) {
    await root.query(`DROP DATABASE IF EXISTS ${database}; DROP USER IF EXISTS '${user}'@'127.0.0.1'`).catch(() => undefined);
    await lease?.release().catch(() => undefined);
    await root.end();
    throw error;
  }
  return {
    database,
    user,
    password,
    canaryState: async () => {
      const [[row]] = (await root.query(`SELECT
        (SELECT MD5(GROUP_CONCAT(CONCAT_WS('|', id, full_name, ssn, email, dob) ORDER BY id)) FROM ${database}.patients) AS patients,
        (SELECT GROUP_CONCAT(CONCAT(id, ':', word) ORDER BY id) FROM ${database}.canary) AS canary,
        (SELECT next_not_cached_value FROM ${database}.canary_seq) AS sequence,
        (SELECT GROUP_CONCAT(table_name ORDER BY table_name) FROM information_schema.tables WHERE table_schema = '${database}') AS tables,
        (SELECT GROUP_CONCAT(CONCAT(routine_name, ':', MD5(routine_definition)) ORDER BY routine_name) FROM information_schema.routines WHERE routine_schema = '${database}') AS routines,
        -- The server is shared with other tests, which make accounts of their own: only the attacks' names count.
        (SELECT COUNT(*) FROM mysql.user WHERE user LIKE 'pwned%' OR user LIKE 'redteam_nobody%') AS accounts,
        CONCAT_WS(',', @@GLOBAL.read_only, @@GLOBAL.sql_mode, @@GLOBAL.general_log, @@GLOBAL.log_output, @@GLOBAL.max_connections) AS globals`)) as unknown as [[Record<keyof MysqlCanaryState, string | number | null>]];
      return Object.fromEntries(Object.entries(row).map(([key, value]) => [key, String(value)])) as unknown as MysqlCanaryState;
    },
    resetCanary: async () => {
      await root.query(`DROP DATABASE ${database}; CREATE DATABASE ${database}; ${schema}`);
      await root.query(ATTACK_LEFTOVERS);
    },
    generalLog: async (threadId) => {
      // A CSV table keeps rows in the order they were written.
      const [rows] = await root.query('SELECT command_type, CONVERT(argument USING utf8mb4) AS argument FROM mysql.general_log WHERE thread_id = ?', [threadId]);
      return rows as GeneralLogRow[];
    },
    generalLogs: async (threadIds) => {
      const logs = new Map<number, GeneralLogRow[]>(threadIds.map((id) => [id, []]));
      if (threadIds.length === 0) return logs;
      const [rows] = await root.query('SELECT thread_id AS threadId, command_type, CONVERT(argument USING utf8mb4) AS argument FROM mysql.general_log WHERE thread_id IN (?)', [threadIds]);
      for (const row of rows as (GeneralLogRow & { threadId: number })[]) logs.get(Number(row.threadId))?.push({ command_type: row.command_type, argument: row.argument });
      return logs;
    },
    stop: async () => {
      try {
        // Other runs may be reading the general log: its rows stay, and the last run out restores the setting.
        await lease?.release();
        await root.query(`DROP DATABASE IF EXISTS ${database}; DROP USER IF EXISTS '${user}'@'127.0.0.1'`);
        await root.query(ATTACK_LEFTOVERS);
      } finally {
        await root.end();
      }
    },
  };
}
