/**
 * MariaDB runs "the statement prepared last" when COM_STMT_EXECUTE names statement id 0xFFFFFFFF
 * (meant for pipelining PREPARE and EXECUTE). Warden decides an EXECUTE on the text it saw prepared
 * under that id; an id it has not seen prepared must not reach the target undecided.
 */
import type { PreparedStatementInfo } from 'mysql2/promise';
import { mysqlGatewayFixture } from './mysql-harness';

const SSN = '518-27-3390';
const LAST_PREPARED = 0xffffffff;

/** Executes `statement` under another id, as a client that speaks the protocol itself can. */
async function executeAs(statement: PreparedStatementInfo, id: number): Promise<unknown> {
  (statement as unknown as { statement: { id: number } }).statement.id = id;
  const [rows] = await statement.execute([]);
  return rows;
}

describe('COM_STMT_EXECUTE of the last prepared statement (statement id 0xFFFFFFFF)', () => {
  const fixture = mysqlGatewayFixture({
    extraTopLevel: `
masking:
  - connection: clinic-my
    columns:
      last_patients.ssn: redact
`,
    prepare: async () => {
      await fixture.queryAsRoot('CREATE TABLE last_patients (id INT PRIMARY KEY, ssn CHAR(11))');
      await fixture.queryAsRoot(`INSERT INTO last_patients VALUES (1, '${SSN}')`);
    },
  });

  it('refuses it, and the masked column never reaches the client (last-prepared-statement bypass)', async () => {
    const agent = await fixture.connectAs('agent-last-prepared', ['coding-agents']);
    try {
      const other = await agent.prepare('SELECT 1 AS one');
      await agent.prepare('SELECT ssn FROM last_patients');
      const outcome = await executeAs(other, LAST_PREPARED).then(
        (rows) => ({ rows }),
        (error: { errno?: number; message?: string }) => ({ errno: error.errno, message: error.message }),
      );
      expect(JSON.stringify(outcome)).not.toContain(SSN);
      expect(outcome).toMatchObject({ errno: 1243 });
      // The session goes on, and a statement executed under its own id is masked as usual.
      const [rows] = await agent.execute('SELECT ssn FROM last_patients');
      expect(rows).toEqual([{ ssn: expect.not.stringContaining('518') as unknown }]);
    } finally {
      await agent.end();
    }
  });
});
