/**
 * SQL-level prepared statements on MySQL (`PREPARE s FROM '…'`, `EXECUTE s USING @a`,
 * `DEALLOCATE PREPARE s`): Warden follows each name from the target's answers, decides EXECUTE on
 * the text the name runs and audits it as that text. A name the session does not have gets
 * MySQL's own error; a text Warden cannot see (PREPARE FROM @var) is refused.
 */
import type { AuditRecord } from '@warden/core';
import { mysqlGatewayFixture } from './mysql-harness';

type CommandRecord = Extract<AuditRecord, { type: 'command' }>;

const fixture = mysqlGatewayFixture({
  prepare: async () => {
    await fixture.queryAsRoot("INSERT INTO notes (body) VALUES ('canary')");
  },
});

async function noteBodies(): Promise<string[]> {
  const rows = await fixture.queryAsRoot<Array<{ body: string }>>('SELECT body FROM notes ORDER BY id');
  return rows.map((row) => row.body);
}

async function commands(): Promise<CommandRecord[]> {
  const records = await fixture.gateway.auditRecords();
  return records.filter((record): record is CommandRecord => record.type === 'command');
}

describe('SQL PREPARE and EXECUTE through Warden (MySQL)', () => {
  it('runs PREPARE and EXECUTE of a read under read-only, audited as the prepared text', async () => {
    const connection = await fixture.connectAs('agent-1', ['coding-agents']);
    try {
      await connection.query("PREPARE Find_Patient FROM 'SELECT full_name FROM patients WHERE id = ?'");
      await connection.query('SET @id = 3');
      const [rows] = await connection.query('EXECUTE find_patient USING @id');
      expect(rows).toEqual([{ full_name: expect.any(String) }]);
      await connection.query('DEALLOCATE PREPARE FIND_PATIENT');
      // Forgotten once the target deallocated it.
      await expect(connection.query('EXECUTE find_patient USING @id')).rejects.toMatchObject({ errno: 1243, sqlState: 'HY000', message: 'Unknown prepared statement handler (find_patient) given to EXECUTE' });
    } finally {
      await connection.end();
    }
    const executed = (await commands()).find((record) => record.detail?.['execute'] === 'find_patient' && record.decision.effect === 'allow');
    expect(executed).toMatchObject({ text: 'SELECT full_name FROM patients WHERE id = ?', classification: { action: 'read', objects: ['patients'] }, detail: { command: 'COM_QUERY', execute: 'find_patient' } });
  });

  it('refuses PREPARE of a write under read-only, and EXECUTE of that name then runs nothing', async () => {
    const connection = await fixture.connectAs('agent-1', ['coding-agents']);
    try {
      await expect(connection.query("PREPARE wipe FROM 'DELETE FROM notes'")).rejects.toMatchObject({ errno: 1142 });
      await expect(connection.query('EXECUTE wipe')).rejects.toMatchObject({ errno: 1243 });
    } finally {
      await connection.end();
    }
    expect(await noteBodies()).toEqual(['canary']);
  });

  it('refuses EXECUTE of a name the session does not have with ERR 1243, audited', async () => {
    const connection = await fixture.connectAs('agent-1', ['coding-agents']);
    try {
      await expect(connection.query('EXECUTE never_prepared')).rejects.toMatchObject({ errno: 1243, sqlState: 'HY000', message: 'Unknown prepared statement handler (never_prepared) given to EXECUTE' });
      // The session goes on.
      const [rows] = await connection.query('SELECT COUNT(*) AS n FROM patients');
      expect(rows).toEqual([{ n: 50 }]);
    } finally {
      await connection.end();
    }
    const refused = (await commands()).find((record) => record.text === 'EXECUTE never_prepared');
    expect(refused).toMatchObject({ decision: { effect: 'block', rule: 'protocol', reason: 'prepared statement "never_prepared" does not exist' } });
  });

  it('does not run the old text of a name whose new PREPARE failed on the target (failed-reprepare bypass)', async () => {
    const connection = await fixture.connectAs('clinician-1', ['clinicians'], { user: 'clinician-1' });
    try {
      await connection.query("PREPARE s FROM 'SELECT 1 AS one'");
      // Warden allows it (a read); the target fails it (no such table), which drops the old s.
      await expect(connection.query("PREPARE s FROM 'SELECT * FROM no_such_table'")).rejects.toMatchObject({ errno: 1146 });
      await expect(connection.query('EXECUTE s')).rejects.toMatchObject({ errno: 1243 });
    } finally {
      await connection.end();
    }
    const records = await commands();
    expect(records.some((record) => record.detail?.['execute'] === 's' && record.decision.effect === 'allow')).toBe(false);
  });

  it('refuses PREPARE FROM a user variable, whose text Warden cannot see', async () => {
    const connection = await fixture.connectAs('agent-1', ['coding-agents']);
    try {
      await connection.query("SET @q = 'DELETE FROM notes'");
      await expect(connection.query('PREPARE s FROM @q')).rejects.toMatchObject({ errno: 1142, message: expect.stringContaining('PREPARE from a variable: the text cannot be judged') });
      await expect(connection.query('EXECUTE s')).rejects.toMatchObject({ errno: 1243 });
    } finally {
      await connection.end();
    }
    expect(await noteBodies()).toEqual(['canary']);
  });

  it('refuses EXECUTE whose USING calls a function (execute-using-function bypass)', async () => {
    const connection = await fixture.connectAs('agent-1', ['coding-agents']);
    try {
      await connection.query("PREPARE s FROM 'SELECT ? AS v'");
      await expect(connection.query('EXECUTE s USING LAST_INSERT_ID(5)')).rejects.toMatchObject({ errno: 1142, message: expect.stringContaining('USING takes only user variables and literals') });
    } finally {
      await connection.end();
    }
  });

  it('forgets every name on COM_RESET_CONNECTION', async () => {
    const connection = await fixture.connectAs('agent-1', ['coding-agents']);
    try {
      await connection.query("PREPARE s FROM 'SELECT 1 AS one'");
      await connection.reset();
      await expect(connection.query('EXECUTE s')).rejects.toMatchObject({ errno: 1243 });
    } finally {
      await connection.end();
    }
  });
});
