/**
 * Warden reads statements the way the target session does: with the session's real sql_mode
 * (NO_BACKSLASH_ESCAPES, ANSI_QUOTES) as the target reports it, and only in character sets it can
 * analyse. Each bypass is shown against the real MariaDB, with its effect checked on the target.
 */
import mysql from 'mysql2/promise';
import { mariadbCli, mysqlGatewayFixture } from './mysql-harness';

const fixture = mysqlGatewayFixture();

async function tableExists(name: string): Promise<boolean> {
  const rows = await fixture.queryAsRoot<unknown[]>(`SELECT 1 FROM information_schema.tables WHERE table_schema = '${fixture.database.name}' AND table_name = '${name}'`);
  return rows.length === 1;
}

async function clinician(): Promise<mysql.Connection> {
  return fixture.connectAs('clinician-1', ['clinicians'], { multipleStatements: true });
}

describe('sql_mode as the target reports it', () => {
  it('refuses a DROP hidden behind a backslash under NO_BACKSLASH_ESCAPES (no-backslash-escapes bypass)', async () => {
    const connection = await clinician();
    try {
      await connection.query("SET sql_mode = 'NO_BACKSLASH_ESCAPES'");
      await expect(connection.query("SELECT 'a\\'; DROP TABLE notes; -- '")).rejects.toMatchObject({ errno: 1142, message: expect.stringContaining('schema changes are reserved') });
      // The session goes on, reading backslashes as the target does.
      const [rows] = await connection.query("SELECT 'a\\' AS v");
      expect(rows).toEqual([{ v: 'a\\' }]);
    } finally {
      await connection.end();
    }
    expect(await tableExists('notes')).toBe(true);
  });

  it.each(["SET @@sql_mode = 'NO_BACKSLASH_ESCAPES'", "SET @@sql_mode := 'NO_BACKSLASH_ESCAPES'", "SET @x = 1, @@SQL_MODE = 'NO_BACKSLASH_ESCAPES'"])(
    'follows %j, which MariaDB does not report (untracked-sql-mode bypass)',
    async (statement) => {
      const connection = await clinician();
      try {
        await connection.query(statement);
        await expect(connection.query("SELECT 'a\\'; DROP TABLE notes; -- '")).rejects.toMatchObject({ errno: 1142, message: expect.stringContaining('schema changes are reserved') });
      } finally {
        await connection.end();
      }
      expect(await tableExists('notes')).toBe(true);
    },
  );

  it('refuses a DROP hidden in a "…" name under ANSI_QUOTES (ansi-quotes bypass)', async () => {
    const connection = await clinician();
    try {
      await connection.query("SET sql_mode = 'ANSI_QUOTES'");
      await expect(connection.query('SELECT "a\\"; DROP TABLE notes; -- "')).rejects.toMatchObject({ errno: 1142, message: expect.stringContaining('schema changes are reserved') });
      const [rows] = await connection.query('SELECT "full_name" FROM "patients" WHERE "id" = 1');
      expect(rows).toEqual([{ full_name: 'Patient 1' }]);
    } finally {
      await connection.end();
    }
    expect(await tableExists('notes')).toBe(true);
  });

  it('follows a mode restored from a variable, as dump tools do, and reads the default way again after it', async () => {
    const connection = await clinician();
    try {
      await connection.query("SET @saved = @@sql_mode, @nbe = 'NO_BACKSLASH_ESCAPES'");
      await connection.query('SET sql_mode = @nbe');
      await expect(connection.query("SELECT 'a\\'; DROP TABLE notes; -- '")).rejects.toMatchObject({ errno: 1142 });
      await connection.query('SET sql_mode = @saved');
      const [rows] = await connection.query("SELECT 'it\\'s; DROP TABLE notes' AS v");
      expect(rows).toEqual([{ v: "it's; DROP TABLE notes" }]);
    } finally {
      await connection.end();
    }
    expect(await tableExists('notes')).toBe(true);
  });

  it('reads the default way again after COM_RESET_CONNECTION restores the server default mode', async () => {
    const connection = await clinician();
    try {
      await connection.query("SET sql_mode = 'NO_BACKSLASH_ESCAPES'");
      await connection.reset();
      const [rows] = await connection.query("SELECT 'a\\'; DROP TABLE notes; -- ' AS v");
      expect(rows).toEqual([{ v: "a'; DROP TABLE notes; -- " }]);
    } finally {
      await connection.end();
    }
    expect(await tableExists('notes')).toBe(true);
  });

  it('ends the session when the target reports a mode Warden cannot analyse, set through a variable (unanalysable-sql-mode bypass)', async () => {
    const connection = await clinician();
    try {
      await connection.query("SET @m = 'ORACLE'");
      await expect(connection.query('SET sql_mode = @m')).rejects.toMatchObject({ message: expect.stringContaining('sql_mode became ORACLE, under which Warden cannot analyse statements') });
      await expect(connection.query('SELECT 1')).rejects.toThrow();
    } finally {
      connection.destroy();
    }
    const records = (await fixture.gateway.auditRecords()) as unknown as Array<Record<string, unknown>>;
    expect(records.some((record) => record['type'] === 'session.end' && JSON.stringify(record).includes('sql_mode became ORACLE'))).toBe(true);
  });
});

describe('character sets', () => {
  const charsetChanges = [
    'SET NAMES gbk',
    'SET character_set_client = 28',
    "SET character_set_client = 'gbk'",
    'SET @@session.character_set_client = gbk',
    '/*!40101 SET character_set_client = 28 */',
    'SET CHARACTER SET gbk',
    'SET CHARSET big5',
    'SET character_set_connection = sjis',
    'SET collation_connection = gbk_chinese_ci',
  ];

  it.each(charsetChanges)('refuses %j below a full grant (charset-setting bypass)', async (statement) => {
    const connection = await fixture.connectAs('agent-1', ['coding-agents']);
    try {
      await expect(connection.query(statement)).rejects.toMatchObject({ errno: 1142, message: expect.stringContaining('does not allow admin statements') });
      const [rows] = await connection.query('SELECT @@character_set_client AS cs, @@character_set_connection AS cc');
      expect(rows).toEqual([{ cs: 'utf8mb4', cc: 'utf8mb4' }]);
    } finally {
      await connection.end();
    }
  });

  it('ends even a full session once the target reports a character set Warden cannot analyse (gbk-after-set bypass)', async () => {
    const connection = await fixture.connectAs('dba-1', ['dba']);
    try {
      await expect(connection.query('SET character_set_client = 28')).rejects.toMatchObject({ message: expect.stringContaining('character_set_client became gbk, a character set Warden cannot analyse') });
      await expect(connection.query('SELECT 1')).rejects.toThrow();
    } finally {
      connection.destroy();
    }
  });

  it('ends a full session whose character set changed in a spelling MariaDB does not report (untracked-charset bypass)', async () => {
    const connection = await fixture.connectAs('dba-1', ['dba']);
    connection.on('error', () => undefined);
    try {
      // The statement has run by the time Warden asks; the session ends before the next command is read.
      await connection.query('SET @@character_set_client = 28');
      await expect(connection.query('SELECT 1')).rejects.toThrow();
    } finally {
      connection.destroy();
    }
    const records = (await fixture.gateway.auditRecords()) as unknown as Array<Record<string, unknown>>;
    expect(records.some((record) => record['type'] === 'session.end' && JSON.stringify(record).includes('character_set_client became gbk'))).toBe(true);
  });

  it('refuses switching session tracking off, even to a full grant, so a later change is still seen (tracking-off bypass)', async () => {
    const connection = await fixture.connectAs('dba-1', ['dba']);
    try {
      await expect(connection.query("SET session_track_system_variables = ''")).rejects.toMatchObject({ errno: 1142, message: expect.stringContaining('session_track_system_variables is how Warden follows the session') });
      await expect(connection.query('SET character_set_client = 28')).rejects.toMatchObject({ message: expect.stringContaining('character_set_client became gbk') });
    } finally {
      connection.destroy();
    }
  });

  it('refuses a login whose handshake character set Warden cannot analyse (handshake-charset bypass)', async () => {
    const token = await fixture.gateway.token('agent-1', ['coding-agents']);
    await expect(
      mysql.createConnection({ host: '127.0.0.1', port: fixture.gateway.mysqlPort, user: 'agent-1', password: token, database: 'clinic-my', charset: 'GBK_CHINESE_CI', ssl: { rejectUnauthorized: false } }),
    ).rejects.toMatchObject({ message: expect.stringContaining('is not one Warden can analyse statements in') });
  });

  it('refuses the mariadb client asking for gbk at login, and lets it in with utf8mb4 (handshake-charset bypass)', async () => {
    const token = await fixture.gateway.token('agent-1', ['coding-agents']);
    const refused = await mariadbCli(fixture.gateway, token, ['--default-character-set=gbk', '-e', 'SELECT 1']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('is not one Warden can analyse statements in');
    const admitted = await mariadbCli(fixture.gateway, token, ['--default-character-set=utf8mb4', '-N', '-e', 'SELECT @@character_set_client']);
    expect(admitted.stdout.trim()).toBe('utf8mb4');
  });

  it('lets a client switch between character sets it can analyse', async () => {
    const connection = await fixture.connectAs('agent-1', ['coding-agents']);
    try {
      await connection.query('SET NAMES latin1');
      await connection.query('SET NAMES utf8mb4');
      const [rows] = await connection.query('SELECT COUNT(*) AS n FROM patients');
      expect(rows).toEqual([{ n: 50 }]);
    } finally {
      await connection.end();
    }
  });
});
