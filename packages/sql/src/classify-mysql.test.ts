import type { Action } from '@warden/core';
import { classifyMysql, loadMysqlParser } from './index';
import { lexMysql } from './mysql-lexer';

beforeAll(() => loadMysqlParser());

type Row = readonly [sql: string, action: Action, objects: readonly string[], bulk: boolean, count: number];

describe('classifyMysql', () => {
  const rows: readonly Row[] = [
    // Parse failures are never guessed.
    ['DEL/**/ETE FROM patients', 'unknown', [], false, 1],
    ['SELEC * FROM patients', 'unknown', [], false, 1],
    ['SELECT 1\0; DROP TABLE patients', 'unknown', [], false, 1],
    ["SELECT 'unterminated", 'unknown', [], false, 1],
    ['SELECT 1 /* unterminated', 'unknown', [], false, 1],
    // Comments, case and quoting.
    ['/* x */ DELETE FROM patients WHERE id=1', 'write', ['patients'], false, 1],
    ['delete from PATIENTS', 'write', ['PATIENTS'], true, 1],
    ['DELETE FROM `Patients`', 'write', ['Patients'], true, 1],
    ['DELETE FROM `clinic`.`patients` WHERE id = 1', 'write', ['clinic.patients'], false, 1],
    ['SELECT * FROM `a;b`', 'read', ['a;b'], false, 1],
    ['select 1 -- comment; DROP TABLE patients', 'read', [], false, 1],
    // Temporary tables are the session's own: creating and dropping them is a write.
    ['CREATE TEMPORARY TABLE t (a int)', 'write', ['t'], false, 1],
    ['CREATE TEMPORARY TABLE t AS SELECT * FROM patients', 'write', ['t', 'patients'], false, 1],
    ['DROP TEMPORARY TABLE IF EXISTS t, u', 'write', ['t', 'u'], false, 1],
    ['CREATE TABLE t (a int)', 'ddl', ['t'], false, 1],
    ['DROP TABLE t', 'ddl', ['t'], false, 1],
    ['select 1 # comment; DROP TABLE patients', 'read', [], false, 1],
    ['select 1 # comment\n; DROP TABLE patients', 'ddl', ['patients'], false, 2],
    // `--` without a space is two minus signs, not a comment.
    ['SELECT 1 --1; DROP TABLE patients', 'ddl', ['patients'], false, 2],
    ["SELECT '; DROP TABLE patients; --' FROM x", 'read', ['x'], false, 1],
    ["SELECT 'it\\'s; DROP TABLE patients' FROM x", 'read', ['x'], false, 1],
    ["SELECT 'it''s; DROP TABLE patients' FROM x", 'read', ['x'], false, 1],
    ['SELECT "a; DROP TABLE patients" FROM x', 'read', ['x'], false, 1],
    ['', 'read', [], false, 0],
    ['   ', 'read', [], false, 0],
    ['-- only a comment', 'read', [], false, 0],
    [';', 'read', [], false, 0],
    // Executable comments are code, or refused when their meaning depends on the server version.
    ['/*!40101 DROP TABLE patients */', 'ddl', ['patients'], false, 1],
    ['SELECT 1 /*! ; DROP TABLE patients */', 'ddl', ['patients'], false, 2],
    ['SELECT 1 /*!50000 ; DELETE FROM patients */', 'write', ['patients'], true, 2],
    ["SELECT 1 /*! , '*/' */ FROM x", 'read', ['x'], false, 1],
    ['DELETE FROM patients /*!99999 WHERE 1 = 0 */', 'unknown', [], false, 1],
    ['DELETE FROM patients /*!800001 WHERE 1 = 0 */', 'unknown', [], false, 1],
    ['SELECT 1 /*M!100000 ; DROP TABLE patients */', 'unknown', [], false, 1],
    ['SELECT 1 /*! unterminated', 'unknown', [], false, 1],
    ['SELECT /*+ MAX_EXECUTION_TIME(1000) */ * FROM x', 'read', ['x'], false, 1],
    // Several statements: the strongest wins.
    ['SELECT 1; DROP TABLE patients', 'ddl', ['patients'], false, 2],
    ['SELECT * FROM a; DELETE FROM b WHERE x = 1; SELECT * FROM a', 'write', ['a', 'b'], false, 3],
    ['BEGIN; UPDATE patients SET x = 1; COMMIT', 'write', ['patients'], true, 3],
    ['SELECT 1; SELEC 2', 'unknown', [], false, 2],
    // Reads.
    ['SELECT a FROM p JOIN e ON e.pid = p.id WHERE p.id IN (SELECT id FROM c)', 'read', ['p', 'e', 'c'], false, 1],
    ['SELECT @@version_comment LIMIT 1', 'read', [], false, 1],
    ['SHOW TABLES', 'read', [], false, 1],
    ['SHOW CREATE TABLE patients', 'read', [], false, 1],
    ['DESCRIBE patients', 'read', ['patients'], false, 1],
    ['EXPLAIN SELECT * FROM patients', 'read', ['patients'], false, 1],
    ['EXPLAIN DELETE FROM patients', 'read', ['patients'], false, 1],
    ['EXPLAIN ANALYZE DELETE FROM patients', 'write', ['patients'], true, 1],
    ['SELECT * INTO @x FROM patients LIMIT 1', 'read', ['patients'], false, 1],
    ['HANDLER patients OPEN', 'read', ['patients'], false, 1],
    ['HANDLER `patients` READ FIRST', 'read', ['patients'], false, 1],
    ['HANDLER patients READ `PRIMARY` NEXT LIMIT 5', 'read', ['patients'], false, 1],
    ['HANDLER patients CLOSE', 'read', ['patients'], false, 1],
    // HANDLER expressions are not analysed (handler-where-function-call bypass), nor aliases (rules decide on table names).
    ["HANDLER patients READ FIRST WHERE GET_LOCK('x', 0) = 1", 'unknown', [], false, 1],
    ['HANDLER patients READ `PRIMARY` = (touch_canary())', 'unknown', [], false, 1],
    ['HANDLER patients OPEN AS p', 'unknown', [], false, 1],
    ['HANDLER patients OPEN p', 'unknown', [], false, 1],
    ['DO SLEEP(0)', 'read', [], false, 1],
    ['DO (SELECT COUNT(*) FROM patients)', 'read', ['patients'], false, 1],
    // Writes.
    ['WITH x AS (SELECT 1) DELETE FROM patients', 'write', ['patients'], true, 1],
    ['WITH x AS (SELECT 1) DELETE FROM patients WHERE id = 1', 'write', ['patients'], false, 1],
    ['INSERT INTO a SELECT * FROM patients', 'write', ['a', 'patients'], true, 1],
    ['REPLACE INTO a SELECT * FROM patients', 'write', ['a', 'patients'], true, 1],
    ['INSERT INTO a VALUES (1), (2)', 'write', ['a'], false, 1],
    ['INSERT INTO a SET x = 1', 'write', ['a'], false, 1],
    ['REPLACE INTO a VALUES (1)', 'write', ['a'], false, 1],
    ['INSERT INTO a VALUES (1) ON DUPLICATE KEY UPDATE x = 1', 'write', ['a'], false, 1],
    ['UPDATE patients SET x = 1', 'write', ['patients'], true, 1],
    ['UPDATE patients SET x = 1 WHERE id = 2', 'write', ['patients'], false, 1],
    ['UPDATE a JOIN b ON a.id = b.id SET a.x = 1 WHERE b.y = 2', 'write', ['a', 'b'], false, 1],
    ['DELETE a FROM a JOIN b ON a.id = b.id WHERE b.y = 2', 'write', ['a', 'b'], false, 1],
    ['DELETE FROM patients', 'write', ['patients'], true, 1],
    ['TRUNCATE TABLE patients', 'write', ['patients'], true, 1],
    ['SELECT * FROM patients FOR UPDATE', 'write', ['patients'], false, 1],
    ['SELECT * FROM patients LOCK IN SHARE MODE', 'write', ['patients'], false, 1],
    ['LOCK TABLES patients WRITE', 'write', ['patients'], false, 1],
    ["LOAD DATA LOCAL INFILE '/etc/passwd' INTO TABLE patients", 'write', ['patients'], true, 1],
    // Schema changes.
    ['CREATE TABLE t (a INT)', 'ddl', ['t'], false, 1],
    ['CREATE TABLE t AS SELECT * FROM patients', 'ddl', ['t', 'patients'], false, 1],
    ['ALTER TABLE patients ADD c INT', 'ddl', ['patients'], false, 1],
    ['DROP TABLE a, `b`', 'ddl', ['a', 'b'], false, 1],
    ['RENAME TABLE a TO b', 'ddl', ['a', 'b'], false, 1],
    ['CREATE INDEX i ON patients (a)', 'ddl', ['patients'], false, 1],
    // Administration, files on the server, code.
    ["SELECT * FROM patients INTO OUTFILE '/tmp/p.csv'", 'admin', [], false, 1],
    ["SELECT * INTO DUMPFILE '/tmp/p' FROM patients", 'admin', [], false, 1],
    ["LOAD DATA INFILE '/var/lib/mysql-files/x' INTO TABLE patients", 'admin', ['patients'], true, 1],
    ["SELECT LOAD_FILE('/etc/passwd')", 'admin', [], false, 1],
    ['CALL purge_patients()', 'admin', [], false, 1],
    ['GRANT ALL ON *.* TO x', 'admin', [], false, 1],
    ['CREATE USER u', 'admin', [], false, 1],
    ['DROP DATABASE clinic', 'admin', [], false, 1],
    ['CREATE DATABASE d', 'admin', [], false, 1],
    ['FLUSH PRIVILEGES', 'admin', [], false, 1],
    ['KILL QUERY 5', 'admin', [], false, 1],
    ["XA START 'x'", 'admin', [], false, 1],
    ['OPTIMIZE TABLE patients', 'admin', ['patients'], false, 1],
    ['SET GLOBAL max_connections = 10', 'admin', [], false, 1],
    ['SET @@global.max_connections = 10', 'admin', [], false, 1],
    // Modes Warden follows (NO_BACKSLASH_ESCAPES, ANSI_QUOTES) are session settings: classify-mysql-lexer-settings.test.ts.
    ["SET sql_mode = 'ORACLE'", 'admin', [], false, 1],
    ["SET SESSION sql_mode = 'MSSQL'", 'admin', [], false, 1],
    ['SET sql_log_bin = 0', 'admin', [], false, 1],
    ['SET ROLE r', 'admin', [], false, 1],
    ['SET NAMES gbk', 'admin', [], false, 1],
    ['SET CHARACTER SET sjis', 'admin', [], false, 1],
    ['SET character_set_client = big5', 'admin', [], false, 1],
    // Read-only enforcement cannot be undone (the disablesReadOnly flag: classify-mysql-read-only.test.ts).
    ['SET GLOBAL TRANSACTION READ WRITE', 'admin', [], false, 1],
    ['SET GLOBAL tx_read_only = 0', 'admin', [], false, 1],
    ['SET SESSION TRANSACTION READ ONLY', 'session', [], false, 1],
    ['SET SESSION transaction_read_only = ON', 'session', [], false, 1],
    ['SET @@transaction_read_only = 1', 'session', [], false, 1],
    // Session state and transactions.
    ['SET autocommit = 0', 'session', [], false, 1],
    ['SET NAMES utf8mb4', 'session', [], false, 1],
    ['SET CHARACTER SET utf8mb4', 'session', [], false, 1],
    ['SET @x = 1', 'session', [], false, 1],
    ['SET TRANSACTION ISOLATION LEVEL READ COMMITTED', 'session', [], false, 1],
    ['USE clinic', 'session', [], false, 1],
    ['DEALLOCATE PREPARE s', 'session', [], false, 1],
    ['BEGIN', 'transaction', [], false, 1],
    ['START TRANSACTION READ ONLY', 'transaction', [], false, 1],
    ['COMMIT', 'transaction', [], false, 1],
    ['ROLLBACK', 'transaction', [], false, 1],
    ['SAVEPOINT a', 'transaction', [], false, 1],
    ['RELEASE SAVEPOINT a', 'transaction', [], false, 1],
    ['UNLOCK TABLES', 'transaction', [], false, 1],
    // Server-side prepared statements: judged at PREPARE, since EXECUTE carries no text.
    ["PREPARE s FROM 'DELETE FROM patients'", 'write', ['patients'], true, 1],
    ["PREPARE s FROM 'SELECT * FROM patients WHERE id = ?'", 'read', ['patients'], false, 1],
    ["PREPARE s FROM 'SELECT 1; DROP TABLE patients'", 'unknown', [], false, 1],
    ['PREPARE s FROM @sql', 'unknown', [], false, 1],
    ['EXECUTE s', 'unknown', [], false, 1],
  ];

  it.each(rows)('%j → %s', (sql, action, objects, bulk, count) => {
    const result = classifyMysql(sql);
    expect({ action: result.action, objects: result.objects, bulk: result.bulk, count: result.statementCount }).toEqual({ action, objects, bulk, count });
  });

  it('says why a statement is unknown', () => {
    expect(classifyMysql('DELETE FROM patients /*!99999 WHERE 1 = 0 */').statements[0]?.note).toMatch(/runs only on some server versions/);
    expect(classifyMysql('SELEC 1').statements[0]?.note).toMatch(/^parse error/);
    expect(classifyMysql("SELECT * FROM p INTO OUTFILE '/tmp/x'").statements[0]?.note).toMatch(/writes a file on the database server/);
  });

  it('returns frozen, cached results', () => {
    const first = classifyMysql('SELECT * FROM patients');
    expect(classifyMysql('SELECT * FROM patients')).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(Object.isFrozen(first.statements[0]?.objects)).toBe(true);
  });
});

describe('lexMysql', () => {
  it('splits at top-level semicolons only and unwraps executable comments', () => {
    const result = lexMysql("SELECT ';' , `;` /* ; */; /*!40101 SET NAMES utf8 */ ; ");
    expect(result.ok && result.statements.map((statement) => statement.code)).toEqual(["SELECT ';' , `;`", 'SET NAMES utf8']);
  });

  it('keeps words as written and strings unquoted in its tokens', () => {
    const result = lexMysql("load data infile 'a\\'b' into table `T`");
    expect(result.ok && result.statements[0]?.tokens.map((token) => [token.kind, token.text])).toEqual([
      ['word', 'LOAD'],
      ['word', 'DATA'],
      ['word', 'INFILE'],
      ['string', "a'b"],
      ['word', 'INTO'],
      ['word', 'TABLE'],
      ['identifier', 'T'],
    ]);
  });
});
