/**
 * `mariadb-dump` through Warden under a read-only grant: every statement the dump tool sends
 * (version comments, SET NAMES, sql_mode save and restore, SHOW CREATE …, SELECT /*!40001
 * SQL_NO_CACHE *\/, LOCK TABLES … READ) is understood, and the dump restores to the same rows.
 */
import mysql from 'mysql2/promise';
import { MARIADB, TARGET_USER, mysqlGatewayFixture } from './mysql-harness';
import { run } from './harness';

const fixture = mysqlGatewayFixture({
  prepare: async () => {
    await fixture.queryAsRoot("INSERT INTO notes (body) VALUES ('it''s a \\\\ backslash'), ('plain')");
    await fixture.queryAsRoot('CREATE VIEW adults AS SELECT id, full_name FROM patients WHERE dob < DATE(\'1970-02-01\')');
    await fixture.queryAsRoot("CREATE TRIGGER notes_stamp BEFORE INSERT ON notes FOR EACH ROW SET NEW.body = CONCAT(NEW.body, '')");
    // Owned by Warden's account, which may then show its definition.
    await fixture.queryAsRoot(`CREATE DEFINER = '${TARGET_USER.user}'@'127.0.0.1' FUNCTION note_count() RETURNS INT READS SQL DATA RETURN (SELECT COUNT(*) FROM notes)`);
  },
});

function dump(token: string, args: readonly string[]): ReturnType<typeof run> {
  return run('mariadb-dump', ['--no-defaults', '-h', '127.0.0.1', '-P', String(fixture.gateway.mysqlPort), '-u', 'agent-1', '--ssl', '--skip-ssl-verify-server-cert', ...args, fixture.database.name], {
    env: { MYSQL_PWD: token },
    timeoutMs: 30_000,
  });
}

describe('mariadb-dump through Warden (read-only grant)', () => {
  it.each([[[]], [['--single-transaction']], [['--lock-tables']], [['--skip-lock-tables', '--no-create-info']], [['--single-transaction', '--routines', '--triggers', '--events']]] as const)('dumps the database with %j', async (options) => {
    const token = await fixture.gateway.token('agent-1', ['coding-agents']);
    const result = await dump(token, options);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Dump completed');
    expect(result.stdout).toContain("(1,'Patient 1','901-55-0001','1970-01-02')");
    expect(result.stdout).toContain("'it\\'s a \\\\ backslash'");
    if (!(options as readonly string[]).includes('--no-create-info')) expect(result.stdout).toMatch(/CREATE TABLE `patients`/);
    if ((options as readonly string[]).includes('--routines')) expect(result.stdout).toMatch(/FUNCTION `note_count`/);
  }, 60_000);

  it('makes a dump that restores to the same rows', async () => {
    const token = await fixture.gateway.token('agent-1', ['coding-agents']);
    const result = await dump(token, ['--single-transaction']);
    expect(result.code).toBe(0);
    const copy = `${fixture.database.name}_copy`;
    const root = await mysql.createConnection(MARIADB);
    try {
      await root.query(`CREATE DATABASE ${copy}`);
      const restored = await run('mariadb', ['--no-defaults', '-h', MARIADB.host, '-P', String(MARIADB.port), '-u', MARIADB.user, copy], { input: result.stdout, timeoutMs: 30_000 });
      expect(restored.stderr).toBe('');
      const checksum = async (schema: string): Promise<unknown> => {
        const [rows] = await root.query(`CHECKSUM TABLE ${schema}.patients, ${schema}.notes`);
        return (rows as Array<{ Checksum: number }>).map((row) => row.Checksum);
      };
      expect(await checksum(copy)).toEqual(await checksum(fixture.database.name));
    } finally {
      await root.query(`DROP DATABASE IF EXISTS ${copy}`);
      await root.end();
    }
  }, 60_000);
});
