/**
 * User variables on a MySQL connection with masking: a value copied from a table into `@v` comes
 * back later from `SELECT @v` as a value without a table, which column rules cannot follow (so does a
 * session system variable that holds text, read back as `@@name`). Such a
 * copy is refused for an identity masking applies to, and the variable stays empty on the target.
 */
import { mysqlGatewayFixture } from './mysql-harness';

const SSN = '412-63-9054';
const MRN = 4126390;

describe('user variables on a connection with masking', () => {
  const fixture = mysqlGatewayFixture({
    extraTopLevel: `
masking:
  - connection: clinic-my
    columns:
      var_patients.ssn: redact
      var_patients.mrn: redact
`,
    prepare: async () => {
      await fixture.queryAsRoot('CREATE TABLE var_patients (id INT PRIMARY KEY, ssn CHAR(11), mrn INT)');
      await fixture.queryAsRoot(`INSERT INTO var_patients VALUES (1, '${SSN}', ${MRN})`);
    },
  });

  it.each([
    ['SELECT ssn INTO @copied FROM var_patients LIMIT 1'],
    ['SET @copied = (SELECT ssn FROM var_patients LIMIT 1)'],
    ['SELECT @copied := ssn FROM var_patients'],
  ])('refuses %s and the variable stays empty (user-variable copy leak)', async (sql) => {
    const agent = await fixture.connectAs('agent-variables', ['coding-agents']);
    try {
      await expect(agent.query(sql)).rejects.toMatchObject({ errno: 1142, message: expect.stringMatching(/copy table data into a session variable/) });
      const [rows] = await agent.query('SELECT @copied AS copied');
      expect(rows).toEqual([{ copied: null }]);
    } finally {
      await agent.end();
    }
  });

  it.each([
    ['SET SESSION default_master_connection = (SELECT ssn FROM var_patients LIMIT 1)', 'default_master_connection'],
    ['SET @@session.default_master_connection = (SELECT ssn FROM var_patients LIMIT 1)', 'default_master_connection'],
    ['SET @a = 1, default_master_connection = (SELECT ssn FROM var_patients LIMIT 1)', 'default_master_connection'],
  ])('refuses %s and the system variable keeps its value (system-variable copy leak)', async (sql, variable) => {
    // A session system variable that holds any text reads back as @@name, as a value without a table.
    const agent = await fixture.connectAs('agent-system-variables', ['coding-agents']);
    try {
      const [before] = await agent.query(`SELECT @@${variable} AS value`);
      await expect(agent.query(sql)).rejects.toMatchObject({ errno: 1142, message: expect.stringMatching(/copy table data into a session variable/) });
      const [after] = await agent.query(`SELECT @@${variable} AS value`);
      expect(after).toEqual(before);
      expect(JSON.stringify(after)).not.toContain(SSN);
    } finally {
      await agent.end();
    }
  });

  it.each([['SELECT COUNT(*) FROM var_patients WHERE LAST_INSERT_ID(mrn)'], ['SELECT LAST_INSERT_ID(mrn) FROM var_patients']])(
    'refuses %s and LAST_INSERT_ID() does not return the value (last-insert-id copy leak)',
    async (sql) => {
      // LAST_INSERT_ID(expr) keeps expr for the session: LAST_INSERT_ID() returns it later, without a table.
      const agent = await fixture.connectAs('agent-last-insert-id', ['coding-agents']);
      try {
        await expect(agent.query(sql)).rejects.toMatchObject({ errno: 1142, message: expect.stringMatching(/copy table data into a session variable/) });
        const [rows] = await agent.query('SELECT LAST_INSERT_ID() AS last');
        expect(rows).toEqual([{ last: 0 }]);
      } finally {
        await agent.end();
      }
    },
  );

  it('still lets user variables hold values the client supplies', async () => {
    const agent = await fixture.connectAs('agent-variables-plain', ['coding-agents']);
    try {
      await agent.query('SET @id = 1');
      const [rows] = await agent.query('SELECT id, ssn FROM var_patients WHERE id = @id');
      expect(rows).toEqual([{ id: 1, ssn: expect.not.stringContaining('412') as unknown }]);
    } finally {
      await agent.end();
    }
  });
});
