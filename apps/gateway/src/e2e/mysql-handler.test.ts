/**
 * HANDLER through Warden to the real MariaDB under a read-only grant: a plain HANDLER read is a
 * read whose rows are masked like a SELECT's; what Warden cannot judge — a WHERE condition or key
 * values (expressions that can call functions), an alias — is refused, and the target shows no
 * effect (the lock a `WHERE GET_LOCK(…)` would take is not held).
 */
import { mysqlGatewayFixture } from './mysql-harness';

const SSN = '219-47-8831';

describe('HANDLER under a read-only grant', () => {
  const fixture = mysqlGatewayFixture({
    extraTopLevel: `
masking:
  - connection: clinic-my
    columns:
      held_patients.ssn: redact
`,
    prepare: async () => {
      await fixture.queryAsRoot('CREATE TABLE held_patients (id INT PRIMARY KEY, ssn CHAR(11), code VARCHAR(10))');
      await fixture.queryAsRoot(`INSERT INTO held_patients VALUES (1, '${SSN}', 'C-1')`);
    },
  });

  it('masks the rows of a plain HANDLER read as it masks a SELECT', async () => {
    const agent = await fixture.connectAs('agent-handler', ['coding-agents']);
    try {
      await agent.query('HANDLER held_patients OPEN');
      const [rows] = await agent.query('HANDLER held_patients READ FIRST');
      expect(rows).toEqual([{ id: 1, ssn: expect.not.stringContaining('219') as unknown, code: 'C-1' }]);
      expect(JSON.stringify(rows)).not.toContain(SSN);
      await agent.query('HANDLER held_patients CLOSE');
    } finally {
      await agent.end();
    }
  });

  it('refuses a HANDLER READ whose WHERE calls a function, and the lock is not taken (handler-where-function-call bypass)', async () => {
    const agent = await fixture.connectAs('agent-handler-lock', ['coding-agents']);
    const lock = `warden_handler_${process.pid}`;
    try {
      await agent.query('HANDLER held_patients OPEN');
      await expect(agent.query(`HANDLER held_patients READ FIRST WHERE GET_LOCK('${lock}', 0) = 1`)).rejects.toMatchObject({
        errno: 1142,
        message: expect.stringMatching(/cannot analyse its expressions; use SELECT/),
      });
      await expect(agent.query('HANDLER held_patients READ `PRIMARY` = (RELEASE_ALL_LOCKS())')).rejects.toMatchObject({ errno: 1142 });
      // The session is still open: a lock it had taken would still be held.
      const [used] = await fixture.queryAsRoot<Array<{ holder: number | null }>>(`SELECT IS_USED_LOCK('${lock}') AS holder`);
      expect(used).toEqual({ holder: null });
    } finally {
      await agent.end();
    }
  });

  it('refuses a handler opened under an alias: rules decide on table names (handler-alias bypass)', async () => {
    const agent = await fixture.connectAs('agent-handler-alias', ['coding-agents']);
    try {
      await expect(agent.query('HANDLER held_patients OPEN AS hp')).rejects.toMatchObject({ errno: 1142, message: expect.stringMatching(/under an alias/) });
      // Nothing was opened on the target under that alias.
      await expect(agent.query('HANDLER hp READ FIRST')).rejects.toMatchObject({ errno: expect.any(Number) as unknown });
    } finally {
      await agent.end();
    }
  });
});
