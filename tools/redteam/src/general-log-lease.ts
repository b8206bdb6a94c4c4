/**
 * The general log is a server-wide setting, and several runs of the suite may share one server
 * (a developer and CI, or two test runs at once). Each run takes a lease: the first turns the log
 * on (to the table) and remembers how the server was; the last to leave puts it back (and empties
 * the table, when the server was not logging to it before). Leases live
 * in a small table of their own, changed under a named lock; a lease older than 15 minutes belongs
 * to a run that died and is dropped.
 */
import type mysql from 'mysql2/promise';

const LOCK = 'warden-redteam-general-log';
const RUNS = 'warden_redteam_runs.general_log_leases';

export interface GeneralLogLease {
  release(): Promise<void>;
}

async function locked<T>(root: mysql.Connection, work: () => Promise<T>): Promise<T> {
  const [[{ got }]] = (await root.query('SELECT GET_LOCK(?, 30) AS got', [LOCK])) as unknown as [[{ got: number | null }]];
  if (got !== 1) throw new Error('the general-log lease lock was not granted within 30 s');
  try {
    return await work();
  } finally {
    await root.query('SELECT RELEASE_LOCK(?)', [LOCK]);
  }
}

/** Turns the general log on (to mysql.general_log) for as long as the lease is held. */
export async function leaseGeneralLog(root: mysql.Connection, run: string): Promise<GeneralLogLease> {
  await locked(root, async () => {
    await root.query('CREATE DATABASE IF NOT EXISTS warden_redteam_runs');
    await root.query(`CREATE TABLE IF NOT EXISTS ${RUNS} (run VARCHAR(64) PRIMARY KEY, started TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, general_log TINYINT NOT NULL, log_output VARCHAR(64) NOT NULL)`);
    await root.query(`DELETE FROM ${RUNS} WHERE started < NOW() - INTERVAL 15 MINUTE`);
    const [rows] = (await root.query(`SELECT general_log AS generalLog, log_output AS logOutput FROM ${RUNS} ORDER BY started LIMIT 1`)) as unknown as [{ generalLog: number; logOutput: string }[]];
    // The server's own settings are those before the first lease still held.
    const [[current]] = (await root.query('SELECT @@GLOBAL.general_log AS generalLog, @@GLOBAL.log_output AS logOutput')) as unknown as [[{ generalLog: number; logOutput: string }]];
    const original = rows[0] ?? current;
    await root.query(`INSERT INTO ${RUNS} (run, general_log, log_output) VALUES (?, ?, ?)`, [run, original.generalLog, original.logOutput]);
    await root.query("SET GLOBAL log_output = 'TABLE', GLOBAL general_log = ON");
  });
  return {
    release: () =>
      locked(root, async () => {
        const [[mine]] = (await root.query(`SELECT general_log AS generalLog, log_output AS logOutput FROM ${RUNS} WHERE run = ?`, [run])) as unknown as [[{ generalLog: number; logOutput: string } | undefined]];
        await root.query(`DELETE FROM ${RUNS} WHERE run = ?`, [run]);
        const [[{ others }]] = (await root.query(`SELECT COUNT(*) AS others FROM ${RUNS}`)) as unknown as [[{ others: number }]];
        if (Number(others) > 0 || !mine) return;
        await root.query(`SET GLOBAL general_log = ${mine.generalLog ? 'ON' : 'OFF'}, GLOBAL log_output = ?`, [mine.logOutput]);
        // The server did not log to the table before the first lease: its rows are the runs' own.
        if (!mine.generalLog || !/TABLE/i.test(mine.logOutput)) await root.query('TRUNCATE TABLE mysql.general_log');
        await root.query('DROP DATABASE warden_redteam_runs');
      }),
  };
}
