/**
 * Warden asks the target for session-state reports (CLIENT_SESSION_TRACK) that clients never
 * negotiated with Warden: the OK packets they receive must read exactly as without tracking,
 * info line included, whatever the statement changed in the session.
 */
import { mariadbCli, mysqlGatewayFixture } from './mysql-harness';

const fixture = mysqlGatewayFixture();

describe('OK packets without session-state reports', () => {
  it('gives mysql2 the info line and status of each OK, also when the statement changed tracked settings', async () => {
    const connection = await fixture.connectAs('clinician-1', ['clinicians'], { multipleStatements: true });
    try {
      const [update] = await connection.query("UPDATE patients SET full_name = full_name WHERE id <= 3");
      // mysql2 asks for CLIENT_FOUND_ROWS: affected rows are the rows matched. Without session
      // tracking it reads the info to the end of the packet, so the length byte servers put in
      // front of it shows (as it does from any server that did not negotiate tracking).
      expect(update).toMatchObject({ affectedRows: 3, changedRows: 0, info: '(Rows matched: 3  Changed: 0  Warnings: 0' });
      const [names] = await connection.query('SET NAMES latin1');
      expect(names).toMatchObject({ affectedRows: 0, info: '' });
      const [mode] = await connection.query("SET sql_mode = 'ANSI_QUOTES'");
      expect(mode).toMatchObject({ affectedRows: 0, info: '' });
      // A result set and then an OK that carries a report, in one response.
      const [results] = await connection.query("SELECT 1 AS one; SET sql_mode = ''");
      expect((results as unknown[])[0]).toEqual([{ one: 1 }]);
      expect((results as unknown[])[1]).toMatchObject({ affectedRows: 0, info: '' });
      await connection.query('SET NAMES utf8mb4');
      const [rows] = await connection.query('SELECT @@sql_mode AS mode, @@character_set_client AS cs');
      expect(rows).toEqual([{ mode: '', cs: 'utf8mb4' }]);
    } finally {
      await connection.end();
    }
  });

  it('gives the mariadb client its info line', async () => {
    const result = await mariadbCli(fixture.gateway, await fixture.gateway.token('clinician-1', ['clinicians']), ['-vvv', '-e', 'UPDATE patients SET full_name = full_name WHERE id <= 2; SET NAMES utf8mb4'], { user: 'clinician-1' });
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('Rows matched: 2  Changed: 0  Warnings: 0');
  });
});
