/**
 * A read-only grant's target session stays read-only: every spelling of "turn read-only off"
 * (START TRANSACTION READ WRITE, SET … TRANSACTION READ WRITE, tx_read_only/transaction_read_only,
 * inside executable comments) is refused, and the target proves that nothing changed.
 */
import { mysqlGatewayFixture } from './mysql-harness';

const fixture = mysqlGatewayFixture();

async function canary(): Promise<string> {
  const rows = await fixture.queryAsRoot<Array<{ full_name: string }>>('SELECT full_name FROM patients WHERE id = 1');
  return String(rows[0]!.full_name);
}

const UNDOING = [
  'START TRANSACTION READ WRITE',
  'BEGIN READ WRITE',
  'SET SESSION TRANSACTION READ WRITE',
  'SET TRANSACTION READ WRITE',
  'SET tx_read_only = 0',
  'SET @@session.tx_read_only = OFF',
  'SET SESSION transaction_read_only = 0',
  'SET @@tx_read_only = DEFAULT',
  '/*!40101 SET SESSION TRANSACTION READ WRITE */',
  '/*!40101 SET @@session.tx_read_only = 0 */',
];

describe('read-only target session (MySQL)', () => {
  it.each(UNDOING)('refuses %j to a read-only grant (read-write-session bypass)', async (statement) => {
    const before = await canary();
    const connection = await fixture.connectAs('agent-ro', ['coding-agents'], { multipleStatements: true });
    try {
      await expect(connection.query(`${statement}; UPDATE patients SET full_name = 'pwned' WHERE id = 1; COMMIT`)).rejects.toMatchObject({
        errno: 1142,
        message: expect.stringContaining('read-only access does not allow'),
      });
      await expect(connection.query(statement)).rejects.toMatchObject({ errno: 1142, message: expect.stringContaining('read-only access does not allow turning read-only mode off') });
      // The session goes on, still read-only on the target.
      const [rows] = await connection.query('SELECT @@tx_read_only AS ro');
      expect(rows).toEqual([{ ro: 1 }]);
    } finally {
      await connection.end();
    }
    expect(await canary()).toBe(before);
  });

  it('lets a read-write grant open a READ WRITE transaction and write', async () => {
    const connection = await fixture.connectAs('clinician-1', ['clinicians']);
    try {
      await connection.query('START TRANSACTION READ WRITE');
      await connection.query("UPDATE patients SET full_name = 'Renamed' WHERE id = 2");
      await connection.query('ROLLBACK');
      await connection.query('SET SESSION TRANSACTION READ WRITE');
    } finally {
      await connection.end();
    }
  });
});
