/**
 * Read-only is an allowlist of functions: sequences, locks, BENCHMARK and stored functions are not
 * reads. Shown through a real gateway against MariaDB, with the sequence, the lock and the table a
 * stored function writes to checked on the target afterwards.
 */
import { mysqlGatewayFixture } from './mysql-harness';

const fixture = mysqlGatewayFixture({
  prepare: async () => {
    await fixture.queryAsRoot('CREATE SEQUENCE patient_ids START WITH 100');
    await fixture.queryAsRoot("CREATE FUNCTION add_note() RETURNS INT MODIFIES SQL DATA BEGIN INSERT INTO notes (body) VALUES ('written by a function'); RETURN 1; END");
    // Views that call what a read may not: reading them calls it, although the text names no function.
    await fixture.queryAsRoot("CREATE VIEW locking AS SELECT GET_LOCK('warden-e2e-view-lock', 0) AS l");
    await fixture.queryAsRoot('CREATE VIEW over_locking AS SELECT l FROM locking');
    await fixture.queryAsRoot("CREATE FUNCTION take_lock() RETURNS INT NO SQL RETURN GET_LOCK('warden-e2e-view-lock', 0)");
    await fixture.queryAsRoot('CREATE VIEW locking_by_function AS SELECT take_lock() AS l');
    await fixture.queryAsRoot('CREATE VIEW adults AS SELECT id, full_name FROM patients WHERE dob < DATE(\'1970-02-01\')');
  },
});

async function sequenceState(): Promise<number> {
  const rows = await fixture.queryAsRoot<Array<{ next: number }>>('SELECT next_not_cached_value AS next FROM patient_ids');
  return Number(rows[0]!.next);
}

async function noteCount(): Promise<number> {
  const rows = await fixture.queryAsRoot<Array<{ n: number }>>('SELECT COUNT(*) AS n FROM notes');
  return Number(rows[0]!.n);
}

describe('function calls under a read-only grant (MySQL)', () => {
  it.each(['SELECT NEXTVAL(patient_ids)', 'SELECT NEXT VALUE FOR patient_ids', 'SELECT SETVAL(patient_ids, 5000)', 'SELECT id, NEXTVAL(patient_ids) FROM patients'])(
    'refuses %j and the sequence does not move (sequence bypass)',
    async (statement) => {
      const before = await sequenceState();
      const connection = await fixture.connectAs('agent-1', ['coding-agents']);
      try {
        await expect(connection.query(statement)).rejects.toMatchObject({ errno: 1142 });
      } finally {
        await connection.end();
      }
      expect(await sequenceState()).toBe(before);
    },
  );

  it('refuses a stored function that writes, and the table is unchanged (stored-function bypass)', async () => {
    const before = await noteCount();
    const connection = await fixture.connectAs('agent-1', ['coding-agents']);
    try {
      await expect(connection.query('SELECT add_note()')).rejects.toMatchObject({ errno: 1142, message: expect.stringContaining('read-only access does not allow write statements') });
      await expect(connection.query('SELECT id FROM patients WHERE id = add_note()')).rejects.toMatchObject({ errno: 1142 });
    } finally {
      await connection.end();
    }
    expect(await noteCount()).toBe(before);
  });

  it('refuses GET_LOCK, and the lock stays free for other sessions (lock bypass)', async () => {
    const connection = await fixture.connectAs('agent-1', ['coding-agents']);
    try {
      await expect(connection.query("SELECT GET_LOCK('warden-e2e-lock', 0)")).rejects.toMatchObject({ errno: 1142 });
      const rows = await fixture.queryAsRoot<Array<{ free: number }>>("SELECT IS_FREE_LOCK('warden-e2e-lock') AS free");
      expect(rows).toEqual([{ free: 1 }]);
      // Reads with built-in functions still work.
      const [result] = await connection.query("SELECT COUNT(*) AS n, MAX(CHAR_LENGTH(full_name)) AS longest, DATE_FORMAT(MIN(dob), '%Y') AS first FROM patients");
      expect(result).toEqual([{ n: 50, longest: 10, first: '1970' }]);
    } finally {
      await connection.end();
    }
  });

  it.each(['SELECT * FROM locking', 'SELECT * FROM over_locking', 'SELECT l FROM locking_by_function', 'SELECT p.id FROM patients p JOIN locking ON locking.l = p.id'])(
    'refuses %j: the view takes a lock although the text names no function (view-calling-function bypass)',
    async (statement) => {
      const connection = await fixture.connectAs('agent-1', ['coding-agents']);
      try {
        await expect(connection.query(statement)).rejects.toMatchObject({ errno: 1142, message: expect.stringContaining('read-only access does not allow write statements') });
        await expect(connection.execute(statement)).rejects.toMatchObject({ errno: 1142 });
      } finally {
        await connection.end();
      }
      const rows = await fixture.queryAsRoot<Array<{ free: number }>>("SELECT IS_FREE_LOCK('warden-e2e-view-lock') AS free");
      expect(rows).toEqual([{ free: 1 }]);
    },
  );

  it('reads a view that calls only built-in read functions', async () => {
    const connection = await fixture.connectAs('agent-1', ['coding-agents']);
    try {
      const [rows] = await connection.query('SELECT COUNT(*) AS n FROM adults');
      expect(rows).toEqual([{ n: 30 }]);
    } finally {
      await connection.end();
    }
  });

  it('lets a read-write grant call the stored function', async () => {
    const before = await noteCount();
    const connection = await fixture.connectAs('clinician-1', ['clinicians']);
    try {
      await connection.query('SELECT add_note()');
    } finally {
      await connection.end();
    }
    expect(await noteCount()).toBe(before + 1);
  });
});
