/**
 * Copying a masked column into a table launders it: the copy is read back from a table the
 * column's rules do not cover. On a connection with column masking, a read-write identity may not
 * write values computed from a masked column into a table (temporary or not); writes of constants
 * and copies of unmasked columns still work, and a group exempt from every column may copy.
 */
import { connectAs } from './harness';
import { postgresGatewayFixture } from './postgres-gateway-fixture';

const SSN = '219-47-8831';

describe('copies of a masked column into a table', () => {
  const fixture = postgresGatewayFixture({
    extraTopLevel: `
masking:
  - connection: clinic
    columns:
      copy_patients.ssn: redact
    exempt:
      - { groups: [dba], columns: ['*.*'] }
`,
    prepare: async () => {
      await fixture.queryAsSuperuser('CREATE TABLE copy_patients (id int PRIMARY KEY, ssn text, visits int)');
      await fixture.queryAsSuperuser(`INSERT INTO copy_patients VALUES (1, '${SSN}', 3)`);
      await fixture.queryAsSuperuser('CREATE TABLE copy_notes (body text)');
    },
  });

  it.each([
    ['CREATE TEMP TABLE laundered AS SELECT replace(ssn, \'-\', \' x \') AS s FROM copy_patients'],
    ['SELECT ssn INTO TEMP laundered FROM copy_patients'],
    ['INSERT INTO copy_notes SELECT reverse(ssn) FROM copy_patients'],
    ['INSERT INTO copy_notes VALUES ((SELECT ssn FROM copy_patients LIMIT 1))'],
    ['UPDATE copy_notes SET body = (SELECT ssn FROM copy_patients LIMIT 1)'],
    ['WITH moved AS (INSERT INTO copy_notes SELECT ssn FROM copy_patients RETURNING 1) SELECT count(*) FROM moved'],
    ['INSERT INTO copy_notes SELECT p::text FROM copy_patients p'],
  ])('refuses %s, and nothing was copied (masked-column copy leak)', async (sql) => {
    const nurse = await connectAs(fixture.gateway, 'nurse-copies', ['clinicians']);
    try {
      await expect(nurse.query(sql)).rejects.toMatchObject({ code: '42501', message: expect.stringMatching(/may not copy a masked column into a table/) });
    } finally {
      await nurse.end();
    }
    const notes = await fixture.queryAsSuperuser<{ body: string }>('SELECT body FROM copy_notes');
    expect(notes.filter((note) => note.body.includes('8831') || note.body.includes('1388'))).toEqual([]);
  });

  it('still lets a read-write identity write constants and copy unmasked columns', async () => {
    const nurse = await connectAs(fixture.gateway, 'nurse-writes', ['clinicians']);
    try {
      await nurse.query("INSERT INTO copy_notes VALUES ('seen patient 1')");
      await nurse.query('INSERT INTO copy_notes SELECT visits::text FROM copy_patients');
      await nurse.query("CREATE TEMP TABLE scratch AS SELECT id, visits FROM copy_patients");
      expect((await nurse.query('SELECT count(*)::int AS n FROM scratch')).rows).toEqual([{ n: 1 }]);
    } finally {
      await nurse.end();
    }
  });

  it('lets a group exempt from every column copy', async () => {
    const dba = await connectAs(fixture.gateway, 'dba-copies', ['dba']);
    try {
      await dba.query('CREATE TEMP TABLE kept AS SELECT ssn FROM copy_patients');
      expect((await dba.query('SELECT ssn FROM kept')).rows).toEqual([{ ssn: SSN }]);
    } finally {
      await dba.end();
    }
  });
});
