/**
 * A statement Warden cannot parse is checked by the target without running it (COM_STMT_PREPARE,
 * then COM_STMT_CLOSE): a syntax error reaches the client as the target's own ERR 1064 and the
 * session goes on; a statement the target accepts is refused, since Warden cannot analyse it.
 */
import mysql from 'mysql2/promise';
import { mysqlGatewayFixture } from './mysql-harness';

const fixture = mysqlGatewayFixture();

async function canary(): Promise<string> {
  const rows = await fixture.queryAsRoot<Array<{ full_name: string }>>('SELECT full_name FROM patients WHERE id = 1');
  return String(rows[0]!.full_name);
}

async function statementsClosed(connection: mysql.Connection): Promise<{ prepared: number; closed: number }> {
  const [rows] = await connection.query("SHOW SESSION STATUS WHERE Variable_name IN ('Com_stmt_prepare', 'Com_stmt_close')");
  const value = (name: string): number => Number((rows as Array<{ Variable_name: string; Value: string }>).find((row) => row.Variable_name === name)!.Value);
  return { prepared: value('Com_stmt_prepare'), closed: value('Com_stmt_close') };
}

describe('syntax errors in the client’s own terms (MySQL)', () => {
  it('answers a statement neither can parse with the target’s own ERR 1064, and the session goes on', async () => {
    const connection = await fixture.connectAs('agent-1', ['coding-agents']);
    try {
      await expect(connection.query('SELEC full_name FROM patients')).rejects.toMatchObject({
        errno: 1064,
        sqlState: '42000',
        message: expect.stringContaining("You have an error in your SQL syntax; check the manual that corresponds to your MariaDB server version for the right syntax to use near 'SELEC full_name FROM patients'"),
      });
      const [rows] = await connection.query('SELECT COUNT(*) AS n FROM patients');
      expect(rows).toEqual([{ n: 50 }]);
    } finally {
      await connection.end();
    }
  });

  it('refuses what the target accepts but Warden cannot analyse, without running it (unparsed-write bypass)', async () => {
    const before = await canary();
    const connection = await fixture.connectAs('clinician-1', ['clinicians']);
    try {
      const counts = await statementsClosed(connection);
      await expect(connection.query("UPDATE patients SET full_name = 'pwned' WHERE id = 1 AND dob < DATE_ADD(NOW(), INTERVAL '1:1' DAY_HOUR)")).rejects.toMatchObject({
        errno: 1142,
        message: expect.stringContaining('the target accepts it, but Warden cannot analyse it, so it is refused'),
      });
      // Prepared once and closed again on the target.
      expect(await statementsClosed(connection)).toEqual({ prepared: counts.prepared + 1, closed: counts.closed + 1 });
    } finally {
      await connection.end();
    }
    expect(await canary()).toBe(before);
  });

  it('still refuses without asking the target what is not a parse failure', async () => {
    const connection = await fixture.connectAs('agent-1', ['coding-agents']);
    try {
      await expect(connection.query('SELECT 1 /*!99999 , 2 */')).rejects.toMatchObject({ errno: 1142, message: expect.stringContaining('runs only on some server versions') });
    } finally {
      await connection.end();
    }
  });
});
