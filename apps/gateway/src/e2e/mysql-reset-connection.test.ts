/**
 * COM_RESET_CONNECTION resets the target session to the server's defaults, which undoes the
 * `SET SESSION TRANSACTION READ ONLY` Warden runs for a read-only grant. Warden makes the session
 * read-only again before the client's next command. A stored function that writes, called from a
 * SELECT, is refused by Warden (not a reviewed read function); the target session's own read-only
 * flag is checked after every reset.
 */
import { mysqlGatewayFixture } from './mysql-harness';

/** Warden's refusal of a call of a function that is not a reviewed read. */
const READ_ONLY_REFUSAL = { errno: 1142, message: expect.stringContaining('read-only access does not allow write statements') };

const fixture = mysqlGatewayFixture({
  prepare: async () => {
    // A write hidden in a function.
    await fixture.queryAsRoot("CREATE FUNCTION add_note() RETURNS INT MODIFIES SQL DATA BEGIN INSERT INTO notes (body) VALUES ('written'); RETURN 1; END");
  },
});

async function noteCount(): Promise<number> {
  const rows = await fixture.queryAsRoot<Array<{ n: number }>>('SELECT COUNT(*) AS n FROM notes');
  return Number(rows[0]!.n);
}

describe('COM_RESET_CONNECTION through Warden', () => {
  it('keeps a read-only session read-only on the target after a reset', async () => {
    const connection = await fixture.connectAs('agent-1', ['coding-agents']);
    try {
      await expect(connection.query('SELECT add_note()')).rejects.toMatchObject(READ_ONLY_REFUSAL);
      await connection.reset();
      // mysql2 sends this right after the reset's OK: Warden holds it until the session is read-only again.
      const [flags] = await connection.query('SELECT @@session.tx_read_only AS ro');
      expect(flags).toEqual([{ ro: 1 }]);
      await expect(connection.query('SELECT add_note()')).rejects.toMatchObject(READ_ONLY_REFUSAL);
      const [rows] = await connection.query('SELECT COUNT(*) AS n FROM patients');
      expect(rows).toEqual([{ n: 50 }]);
      await connection.reset();
      await connection.reset();
      const [again] = await connection.query('SELECT @@session.tx_read_only AS ro');
      expect(again).toEqual([{ ro: 1 }]);
      await expect(connection.query('SELECT add_note()')).rejects.toMatchObject(READ_ONLY_REFUSAL);
    } finally {
      await connection.end();
    }
    expect(await noteCount()).toBe(0);
    const records = await fixture.gateway.auditRecords();
    expect(records.filter((record) => record.type === 'session.event' && record['name'] === 'reset-connection')).toHaveLength(3);
  });

  it('resets a read-write session without making it read-only', async () => {
    const connection = await fixture.connectAs('clinician-1', ['clinicians'], { user: 'clinician-1' });
    try {
      await connection.query('SET @kept = 1');
      await connection.reset();
      const [rows] = await connection.query('SELECT @kept AS kept, @@session.tx_read_only AS ro');
      expect(rows).toEqual([{ kept: null, ro: 0 }]);
      await connection.query('SELECT add_note()');
    } finally {
      await connection.end();
    }
    expect(await noteCount()).toBe(1);
  });
});
