/**
 * A read-write grant writes within the schema's rules: every spelling of turning the schema's
 * integrity checks off (foreign_key_checks, unique_checks, check_constraint_checks) is refused
 * below `full`, and the target proves it: a write that breaks a foreign key or a CHECK constraint
 * afterwards still fails there, and leaves no orphan row. A `full` grant may turn them off (what a
 * restore of a dump does).
 */
import type { AuditRecord } from '@warden/core';
import type mysql from 'mysql2/promise';
import { connectThroughWarden, mysqlGatewayFixture } from './mysql-harness';

const fixture = mysqlGatewayFixture({
  prepare: async () => {
    await fixture.queryAsRoot('CREATE TABLE wards (id INT PRIMARY KEY) ENGINE=InnoDB');
    await fixture.queryAsRoot('INSERT INTO wards VALUES (1)');
    await fixture.queryAsRoot('CREATE TABLE beds (id INT PRIMARY KEY, ward_id INT NOT NULL, level INT NOT NULL CHECK (level BETWEEN 0 AND 3), FOREIGN KEY (ward_id) REFERENCES wards (id)) ENGINE=InnoDB');
  },
});

/** Turning a check off, as clients and dump files spell it. */
const TURNING_OFF = [
  'SET foreign_key_checks = 0',
  'SET @@foreign_key_checks = 0',
  'SET SESSION foreign_key_checks = OFF',
  'SET @@session.foreign_key_checks := 0',
  'SET foreign_key_checks = @off',
  '/*!40014 SET FOREIGN_KEY_CHECKS=0 */',
  '/*!40014 SET @OLD_FOREIGN_KEY_CHECKS=@@FOREIGN_KEY_CHECKS, FOREIGN_KEY_CHECKS=0 */',
  'SET autocommit = 1, foreign_key_checks = 0',
  'SET STATEMENT foreign_key_checks = 0 FOR INSERT INTO beds VALUES (90, 999, 1)',
  'SET unique_checks = 0',
  'SET check_constraint_checks = 0',
];

async function connect(subject: string, groups: string[]): Promise<mysql.Connection> {
  return connectThroughWarden(fixture.gateway, await fixture.gateway.token(subject, groups), { user: subject, multipleStatements: true });
}

/** Rows of `beds` on the target, read as root: what a refused statement must not have changed. */
async function beds(): Promise<Array<{ id: number; ward_id: number; level: number }>> {
  return fixture.queryAsRoot('SELECT id, ward_id, level FROM beds ORDER BY id');
}

describe('integrity checks under a read-write grant (MySQL)', () => {
  it.each(TURNING_OFF)('refuses %j, and a write that breaks the schema still fails on the target (integrity-checks-off bypass)', async (statement) => {
    const connection = await connect('nurse-1', ['clinicians']);
    try {
      await expect(connection.query(statement)).rejects.toMatchObject({ errno: 1142 });
      // Pipelined with the orphan write in one text: refused as a whole, nothing runs.
      await expect(connection.query(`${statement}; INSERT INTO beds VALUES (91, 999, 1)`)).rejects.toMatchObject({ errno: 1142 });
      // The session goes on with its checks on, on the target.
      const [settings] = await connection.query('SELECT @@foreign_key_checks AS fk, @@unique_checks AS uq, @@check_constraint_checks AS ck');
      expect(settings).toEqual([{ fk: 1, uq: 1, ck: 1 }]);
      await expect(connection.query('INSERT INTO beds VALUES (92, 999, 1)')).rejects.toMatchObject({ errno: 1452 });
      await expect(connection.query('INSERT INTO beds VALUES (93, 1, 9)')).rejects.toMatchObject({ errno: 4025 });
    } finally {
      await connection.end();
    }
    expect(await beds()).toEqual([]);
  });

  it('audits the refusal as an admin statement that turns off integrity checks', async () => {
    const connection = await connect('nurse-2', ['clinicians']);
    try {
      await expect(connection.query('SET foreign_key_checks = 0')).rejects.toMatchObject({ errno: 1142, message: expect.stringContaining('read-write access does not allow admin statements') });
    } finally {
      await connection.end();
    }
    const records = await fixture.gateway.auditRecords();
    const refused = records.find((r): r is Extract<AuditRecord, { type: 'command' }> => r.type === 'command' && r.text === 'SET foreign_key_checks = 0' && r.decision.effect === 'block');
    expect(refused?.classification.statements[0]).toMatchObject({ action: 'admin', note: 'changing foreign_key_checks can turn off integrity checks the schema enforces' });
  });

  it('lets a read-write grant turn the checks on, and write rows that keep the rules', async () => {
    const connection = await connect('nurse-3', ['clinicians']);
    try {
      await connection.query('SET foreign_key_checks = 1, unique_checks = ON, check_constraint_checks = 1');
      await connection.query('INSERT INTO beds VALUES (10, 1, 2)');
      expect(await beds()).toEqual([{ id: 10, ward_id: 1, level: 2 }]);
    } finally {
      await connection.query('DELETE FROM beds WHERE id = 10');
      await connection.end();
    }
  });

  it('lets a full grant turn foreign key checks off (as a restore of a dump does)', async () => {
    const connection = await connect('dba-1', ['dba']);
    try {
      await connection.query('/*!40014 SET @OLD_FOREIGN_KEY_CHECKS=@@FOREIGN_KEY_CHECKS, FOREIGN_KEY_CHECKS=0 */');
      await connection.query('INSERT INTO beds VALUES (20, 999, 1)');
      expect(await beds()).toEqual([{ id: 20, ward_id: 999, level: 1 }]);
      await connection.query('SET FOREIGN_KEY_CHECKS=@OLD_FOREIGN_KEY_CHECKS');
    } finally {
      await fixture.queryAsRoot('DELETE FROM beds WHERE id = 20');
      await connection.end();
    }
  });
});
