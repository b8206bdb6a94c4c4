import { classifyMysql, loadMysqlParser } from './index';

beforeAll(() => loadMysqlParser());

/**
 * Settings that turn off the schema's integrity checks (foreign keys, unique indexes, CHECK
 * constraints) are `admin`: a read-write grant writes within the schema's rules, only `full` may
 * write around them (a restore of a dump does, and needs `full` anyway).
 */
describe('classifyMysql: turning integrity checks off (integrity-checks-off bypass)', () => {
  it.each([
    'SET foreign_key_checks = 0',
    'SET @@foreign_key_checks = 0',
    'SET SESSION foreign_key_checks = 0',
    'SET LOCAL foreign_key_checks = OFF',
    'SET @@session.foreign_key_checks=0',
    'SET `foreign_key_checks` = 0',
    'SET foreign_key_checks := 0',
    'SET foreign_key_checks = FALSE',
    "SET foreign_key_checks = 'OFF'",
    'SET foreign_key_checks = 1 - 1',
    'SET foreign_key_checks = @off',
    'SET foreign_key_checks = DEFAULT',
    'SET @@SESSION.FOREIGN_KEY_CHECKS = @OLD_FOREIGN_KEY_CHECKS',
    '/*!40014 SET FOREIGN_KEY_CHECKS=0 */',
    '/*!40014 SET @OLD_FOREIGN_KEY_CHECKS=@@FOREIGN_KEY_CHECKS, FOREIGN_KEY_CHECKS=0 */',
    'SET unique_checks = 0',
    'SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, UNIQUE_CHECKS=0',
    'SET autocommit = 1, unique_checks = 0',
    'SET check_constraint_checks = 0',
    'SET foreign_key_checks = 1, check_constraint_checks = OFF',
  ])('%s is admin, with a note that says why', (sql) => {
    const classification = classifyMysql(sql);
    expect(classification.action).toBe('admin');
    expect(classification.statements[0]!.note).toMatch(/can turn off integrity checks the schema enforces$/);
  });

  it('refuses SET STATEMENT … FOR as a statement Warden cannot analyse', () => {
    expect(classifyMysql('SET STATEMENT foreign_key_checks=0 FOR INSERT INTO child VALUES (1, 99)').action).toBe('unknown');
  });

  it.each(['SET foreign_key_checks = 1', 'SET foreign_key_checks = ON', 'SET @@session.foreign_key_checks = TRUE', "SET unique_checks = 'ON'", 'SET check_constraint_checks = 1', 'SET @fk = 0'])(
    '%s (checks on, or a user variable) stays a session setting',
    (sql) => {
      expect(classifyMysql(sql).action).toBe('session');
    },
  );
});
