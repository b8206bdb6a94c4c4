import { classifyMysql, loadMysqlParser } from './index';

beforeAll(() => loadMysqlParser());

/**
 * Warden's account on the target may do everything: a write of a system database (mysql,
 * information_schema, performance_schema, sys) changes accounts, routines and instrumentation.
 * Every statement that writes or redefines one of their tables is `admin`, and so is switching the
 * default database to one of them.
 */
describe('classifyMysql: writes of the system databases (catalog-write bypass)', () => {
  it.each([
    ["INSERT INTO mysql.global_priv (Host, User, Priv) VALUES ('%', 'pwned', '{}')", 'mysql.global_priv'],
    ["UPDATE mysql.global_priv SET Priv = Priv WHERE User = 'pwned'", 'mysql.global_priv'],
    ["INSERT INTO mysql.user (Host, User) VALUES ('%', 'pwned')", 'mysql.user'],
    ["DELETE FROM mysql.proc WHERE db = DATABASE() AND name = 'harmless'", 'mysql.proc'],
    ["INSERT INTO `mysql`.`user` (Host, User) VALUES ('%', 'pwned')", 'mysql.user'],
    ["INSERT INTO MySQL.Global_Priv (Host, User, Priv) VALUES ('%', 'pwned', '{}')", 'MySQL.Global_Priv'],
    ["REPLACE INTO mysql.global_priv (Host, User, Priv) VALUES ('%', 'pwned', '{}')", 'mysql.global_priv'],
    ["INSERT INTO mysql.global_priv (Host, User, Priv) VALUES ('%', 'x', '{}') ON DUPLICATE KEY UPDATE Priv = '{}'", 'mysql.global_priv'],
    ['DELETE u FROM mysql.user u JOIN canary c ON c.word = u.User', 'mysql.user'],
    ["UPDATE canary c JOIN mysql.global_priv g ON g.User = c.word SET g.Priv = '{}'", 'mysql.global_priv'],
    ['TRUNCATE mysql.general_log', 'mysql.general_log'],
    ["UPDATE performance_schema.setup_instruments SET ENABLED = 'NO'", 'performance_schema.setup_instruments'],
    ["UPDATE sys.sys_config SET value = '1'", 'sys.sys_config'],
    ["DELETE FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_NAME = 'x'", 'INFORMATION_SCHEMA.TABLES'],
    ['SELECT * FROM mysql.user FOR UPDATE', 'mysql.user'],
    ['SELECT * FROM mysql.global_priv LOCK IN SHARE MODE', 'mysql.global_priv'],
    ["WITH x AS (SELECT 1) DELETE FROM mysql.proc WHERE name = 'x'", 'mysql.proc'],
    ['ALTER TABLE mysql.user ADD COLUMN pwned INT', 'mysql.user'],
    ['DROP TABLE mysql.global_priv', 'mysql.global_priv'],
    ['CREATE TABLE mysql.pwned (x INT)', 'mysql.pwned'],
    ['INSERT INTO canary SELECT User FROM mysql.user', 'mysql.user'],
  ])('%s is admin', (sql, table) => {
    expect(classifyMysql(sql).statements[0]).toMatchObject({ action: 'admin', note: `writes ${table}, a table of a system database, which only full access may` });
  });

  it.each(['USE mysql', 'USE `mysql`', 'USE MYSQL', 'USE information_schema', 'USE performance_schema', 'USE sys'])('%s is admin: unqualified names would be system tables', (sql) => {
    expect(classifyMysql(sql).statements[0]).toMatchObject({ action: 'admin', note: expect.stringContaining('unqualified names would then be tables of a system database') });
  });

  it("judges USE mysql; INSERT INTO global_priv … by the USE", () => {
    expect(classifyMysql("USE mysql; INSERT INTO global_priv (Host, User, Priv) VALUES ('%', 'pwned', '{}')").action).toBe('admin');
  });

  it.each([
    ['SELECT User, Host FROM mysql.user', 'read'],
    ["SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'clinic'", 'read'],
    ['SELECT * FROM performance_schema.threads', 'read'],
    ['SHOW TABLES FROM mysql', 'read'],
    ['EXPLAIN UPDATE mysql.user SET Host = Host', 'read'],
    ['USE clinic', 'session'],
    ["UPDATE canary SET word = 'x' WHERE id = 1", 'write'],
    ["INSERT INTO `mysql.user` (word) VALUES ('x')", 'admin'],
  ])('%s stays %s', (sql, action) => {
    expect(classifyMysql(sql).action).toBe(action);
  });
});

it("judges LOAD DATA LOCAL … INTO TABLE mysql.user as a write of the system database (catalog-write bypass)", () => {
  expect(classifyMysql("LOAD DATA LOCAL INFILE 'users.csv' INTO TABLE mysql.user").statements[0]).toMatchObject({
    action: 'admin',
    note: 'writes mysql.user, a table of a system database, which only full access may',
  });
});
