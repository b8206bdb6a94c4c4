/**
 * The MySQL corpus: writes hidden in splitting, comments and versioned comments; OUTFILE, DUMPFILE
 * and LOAD DATA; turning read-only off (START TRANSACTION READ WRITE, tx_read_only, SET STATEMENT);
 * character sets and sql_mode that change how text is read; HANDLER, stored functions, sequences,
 * locks; SQL-level PREPARE/EXECUTE; and the legitimate uses that must keep working.
 */
import type { MysqlAttack } from '../mysql-attack';
import { mysqlRefusedEach, mysqlViaPrepared } from './mysql-helpers';

const SPLITTING = mysqlRefusedEach('statement-splitting', 'read-only', [
  ['write-after-block-comment', "/* harmless */ INSERT INTO canary VALUES (2, 'x')"],
  ['write-after-hash-comment', "# SELECT 1\nDELETE FROM canary"],
  ['write-after-dash-comment', '-- SELECT 1\nDELETE FROM canary'],
  ['write-after-dash-without-space', 'SELECT 1 --1\n; DELETE FROM canary'],
  ['write-in-mixed-case', 'dElEtE FrOm canary'],
  ['write-with-backquoted-table', 'DELETE FROM `canary`'],
  ['write-with-qualified-column', 'DELETE FROM canary WHERE canary.id > 0'],
  ['write-after-string-with-semicolon', "SELECT ';'; DELETE FROM canary"],
  ['write-after-backslash-escaped-quote', "SELECT 'a\\''; DELETE FROM canary"],
  ['write-after-doubled-quote', "SELECT 'a'''; DELETE FROM canary"],
  ['write-after-double-quoted-string', 'SELECT "a;b"; DELETE FROM canary'],
  ['write-after-backquoted-identifier-semicolon', 'SELECT 1 AS `;`; DELETE FROM canary'],
  ['write-after-hex-literal', "SELECT x'3B'; DELETE FROM canary"],
  ['write-after-charset-introducer', "SELECT _latin1'x;'; DELETE FROM canary"],
  ['write-with-tab-whitespace', 'DELETE\tFROM\tcanary'],
  ['write-with-empty-comments-between-keywords', 'DELETE/**/FROM/**/canary'],
  ['write-with-empty-versioned-comment', 'DELETE/*!*/FROM canary'],
  ['write-after-dash-dash-tab-comment', 'SELECT 1 --\t;\nDELETE FROM canary', { refused: ['1142', '1064'], note: 'the semicolon is in the comment for the server too: one statement, a syntax error' }],
  ['write-after-empty-statements', 'SELECT 1;; DELETE FROM canary'],
  ['replace-into', "REPLACE INTO canary VALUES (1, 'replaced')"],
  ['insert-on-duplicate-update', "INSERT INTO canary VALUES (1, 'x') ON DUPLICATE KEY UPDATE word = 'dup'"],
  ['insert-ignore', "INSERT IGNORE INTO canary VALUES (5, 'x')"],
  ['multi-table-delete', 'DELETE c FROM canary c JOIN patients p ON p.id = c.id'],
  ['multi-table-update', "UPDATE canary c JOIN patients p ON p.id = c.id SET c.word = p.full_name"],
  ['truncate', 'TRUNCATE canary'],
  ['create-table-select', 'CREATE TABLE pwned_ctas SELECT 1 AS x'],
  ['create-temporary-table', 'CREATE TEMPORARY TABLE pwned_temp (x INT)'],
  ['select-for-update', 'SELECT * FROM canary FOR UPDATE'],
  ['select-lock-in-share-mode', 'SELECT * FROM canary LOCK IN SHARE MODE'],
  ['lock-tables', 'LOCK TABLES canary WRITE'],
  ['optimize-table', 'OPTIMIZE TABLE canary'],
  ['analyze-table', 'ANALYZE TABLE canary'],
  ['repair-table', 'REPAIR TABLE canary'],
  ['flush-tables', 'FLUSH TABLES'],
  ['rename-table', 'RENAME TABLE canary TO pwned_renamed'],
  ['drop-table', 'DROP TABLE canary'],
  ['create-view', 'CREATE VIEW pwned_view AS SELECT 1'],
  ['create-event', "CREATE EVENT pwned ON SCHEDULE AT CURRENT_TIMESTAMP + INTERVAL 1 DAY DO DELETE FROM canary"],
  ['create-trigger', 'CREATE TRIGGER pwned BEFORE INSERT ON notes FOR EACH ROW SET NEW.body = NULL'],
  ['install-plugin', "INSTALL SONAME 'ha_blackhole'"],
  ['do-with-writing-function', 'DO touch_canary()'],
  ['write-between-reads', 'SELECT 1; DELETE FROM canary; SELECT 2'],
  ['write-in-transaction', 'START TRANSACTION; DELETE FROM canary; COMMIT'],
  ['deep-nesting-before-write', `SELECT ${'('.repeat(5000)}1${')'.repeat(5000)}; DELETE FROM canary`, { refused: ['1142', '1436', '1064'] }],
  ['ten-thousand-statements-then-write', `${'SELECT 1;'.repeat(10_000)} DELETE FROM canary`],
]);

const VERSIONED_COMMENTS = mysqlRefusedEach('versioned-comments', 'read-only', [
  ['versioned-comment-write', '/*! DELETE FROM canary */'],
  ['versioned-comment-with-version', '/*!50000 DELETE FROM canary */'],
  ['mariadb-versioned-comment', '/*M! DELETE FROM canary */'],
  ['mariadb-versioned-comment-with-version', '/*M!100100 DELETE FROM canary */'],
  ['versioned-comment-after-select', 'SELECT 1 /*!; DELETE FROM canary */'],
  ['versioned-comment-hides-keyword', "/*!DELETE*/ FROM canary"],
  ['versioned-comment-inside-select', "SELECT 1 /*!50000 , touch_canary() */"],
  ['versioned-comment-into-outfile', "SELECT * FROM patients /*!50000 INTO OUTFILE '{{file}}' */"],
  ['optimizer-hint-then-write', 'SELECT /*+ NO_RANGE_OPTIMIZATION(canary) */ 1; DELETE FROM canary'],
]);

const FILES = mysqlRefusedEach('outfile-and-load-data', 'read-only', [
  ['into-outfile', "SELECT * FROM patients INTO OUTFILE '{{file}}'"],
  ['into-outfile-before-from', "SELECT * INTO OUTFILE '{{file}}' FROM patients"],
  ['into-dumpfile', "SELECT 'x' INTO DUMPFILE '{{file}}'"],
  ['into-outfile-with-options', "SELECT id FROM patients INTO OUTFILE '{{file}}' FIELDS TERMINATED BY ','"],
  ['into-outfile-in-union', "SELECT 1 UNION SELECT 2 INTO OUTFILE '{{file}}'"],
  ['load-data-infile', "LOAD DATA INFILE '/etc/hostname' INTO TABLE notes (body)"],
  ['load-data-local-infile', "LOAD DATA LOCAL INFILE '/etc/hostname' INTO TABLE notes (body)"],
  ['load-xml', "LOAD XML INFILE '/etc/hostname' INTO TABLE notes"],
  ['load-file-function', "SELECT LOAD_FILE('/etc/hostname')"],
]);
const FILES_READ_WRITE = mysqlRefusedEach('outfile-and-load-data', 'read-write', [
  ['read-write-into-outfile', "SELECT * FROM patients INTO OUTFILE '{{file}}'"],
  ['read-write-into-dumpfile', "SELECT 'x' INTO DUMPFILE '{{file}}'"],
  ['read-write-load-data-infile', "LOAD DATA INFILE '/etc/hostname' INTO TABLE notes (body)"],
  ['read-write-load-file-function', "SELECT LOAD_FILE('/etc/hostname')"],
  ['read-write-create-function-soname', "CREATE FUNCTION pwned RETURNS STRING SONAME 'pwned.so'"],
  ['read-write-set-global', 'SET GLOBAL max_connections = 1'],
  ['read-write-grant', "GRANT ALL ON *.* TO 'redteam_nobody'@'%'"],
  ['read-write-create-user', "CREATE USER 'pwned'@'%' IDENTIFIED BY 'x'"],
  ['read-write-drop-table', 'DROP TABLE canary'],
  ['read-write-create-procedure', 'CREATE PROCEDURE pwned() SELECT 1'],
  ['read-write-general-log-off', 'SET GLOBAL general_log = OFF'],
  ['read-write-sql-log-bin-off', 'SET sql_log_bin = 0'],
  ['read-write-sql-log-off', 'SET sql_log_off = 1'],
  ['read-write-flush-privileges', 'FLUSH PRIVILEGES'],
  ['read-write-reset-master', 'RESET MASTER'],
  ['read-write-purge-binary-logs', 'PURGE BINARY LOGS BEFORE NOW()'],
  ['read-write-binlog-event', "BINLOG 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'"],
  ['read-write-change-master', "CHANGE MASTER TO MASTER_HOST = '127.0.0.1'"],
  ['read-write-alter-user', "ALTER USER CURRENT_USER() IDENTIFIED BY 'pwned'"],
  ['read-write-rename-user', "RENAME USER 'nobody'@'%' TO 'pwned'@'%'"],
  ['read-write-create-server', "CREATE SERVER pwned FOREIGN DATA WRAPPER mysql OPTIONS (HOST '127.0.0.1')"],
  ['read-write-create-database', 'CREATE DATABASE pwned_db'],
  ['read-write-alter-table', 'ALTER TABLE canary ADD COLUMN pwned INT'],
  ['read-write-create-index', 'CREATE INDEX pwned ON canary (word)'],
  ['read-write-set-password-for', "SET PASSWORD FOR 'root'@'localhost' = PASSWORD('pwned')"],
]);

/**
 * Data writes into the system schema on an account that may do everything: accounts and stored
 * routines changed with INSERT/UPDATE/DELETE. A read-write grant may write data, not the catalog.
 */
const CATALOG_WRITES = mysqlRefusedEach('role-change', 'read-write', [
  ['read-write-insert-mysql-global-priv', "INSERT INTO mysql.global_priv (Host, User, Priv) VALUES ('%', 'pwned', '{}')"],
  ['read-write-update-mysql-global-priv', "UPDATE mysql.global_priv SET Priv = Priv WHERE User = 'pwned'"],
  ['read-write-insert-mysql-user-view', "INSERT INTO mysql.user (Host, User) VALUES ('%', 'pwned')"],
  ['read-write-delete-mysql-proc', "DELETE FROM mysql.proc WHERE db = DATABASE() AND name = 'harmless'"],
  ['read-write-use-mysql-then-insert', "USE mysql; INSERT INTO global_priv (Host, User, Priv) VALUES ('%', 'pwned', '{}')"],
]);

/**
 * Prepared, Warden decides at COM_STMT_EXECUTE. MariaDB's mysql.user is a view that takes no
 * INSERT: the target already refuses to prepare one (1356), so nothing is left to execute.
 */
const CATALOG_WRITES_PREPARED = mysqlViaPrepared(CATALOG_WRITES).map((attack) =>
  attack.id === 'mysql-read-write-insert-mysql-user-view-prepared' ? { ...attack, expect: { refused: ['1142', '1356'] } } : attack,
);

const READ_ONLY_OFF = mysqlRefusedEach('transaction-read-write', 'read-only', [
  ['start-transaction-read-write', 'START TRANSACTION READ WRITE'],
  ['start-transaction-snapshot-read-write', 'START TRANSACTION WITH CONSISTENT SNAPSHOT, READ WRITE'],
  ['set-session-transaction-read-write', 'SET SESSION TRANSACTION READ WRITE'],
  ['set-transaction-read-write', 'SET TRANSACTION READ WRITE'],
  ['set-tx-read-only-off', 'SET tx_read_only = 0'],
  ['set-session-tx-read-only-off', 'SET SESSION tx_read_only = OFF'],
  ['set-at-at-transaction-read-only', 'SET @@session.transaction_read_only = 0'],
  ['set-at-at-local-tx-read-only', 'SET @@local.tx_read_only = 0'],
  ['set-tx-read-only-default', 'SET tx_read_only = DEFAULT'],
  ['set-transaction-read-only-spaces', 'SET  SESSION   transaction_read_only=0'],
  ['set-statement-for-write', 'SET STATEMENT tx_read_only = 0 FOR DELETE FROM canary'],
  ['set-global-read-only-off', 'SET GLOBAL read_only = 0'],
  ['set-tx-read-only-in-multi-set', "SET @a = 1, tx_read_only = 0"],
  ['set-tx-read-only-from-variable', 'SET @z = 0; SET tx_read_only = @z'],
  ['set-role', 'SET ROLE NONE'],
  ['set-password', "SET PASSWORD = PASSWORD('pwned')"],
  ['set-default-role', 'SET DEFAULT ROLE NONE'],
]);

const CHARSET = mysqlRefusedEach('charset-and-sql-mode', 'read-write', [
  ['set-names-gbk', 'SET NAMES gbk'],
  ['set-names-sjis', 'SET NAMES sjis'],
  ['set-names-big5', 'SET NAMES big5'],
  ['set-character-set-client-gbk', 'SET character_set_client = gbk'],
  ['set-character-set-client-by-number', 'SET character_set_client = 28'],
  ['set-character-set-client-by-number-string', "SET character_set_client = '28'"],
  ['set-at-at-character-set-client', 'SET @@character_set_client = 13'],
  ['set-charset', 'SET CHARACTER SET cp932'],
  ['set-collation-connection-gbk', 'SET collation_connection = gbk_chinese_ci'],
  ['set-sql-mode-by-number', 'SET sql_mode = 2097152'],
  ['set-sql-mode-oracle', "SET sql_mode = 'ORACLE'"],
  ['set-statement-sql-mode', "SET STATEMENT sql_mode = 'NO_BACKSLASH_ESCAPES' FOR SELECT 'a\\\\'"],
]);

const FUNCTIONS = mysqlRefusedEach('function-writes', 'read-only', [
  ['stored-function-write', 'SELECT touch_canary()'],
  ['stored-function-in-where', 'SELECT 1 FROM patients WHERE id = touch_canary()'],
  ['stored-function-backquoted', 'SELECT `touch_canary`()'],
  ['stored-function-schema-qualified', 'SELECT canary.id FROM canary WHERE touch_canary() = 1'],
  ['call-procedure', 'CALL wipe_canary()'],
  ['call-procedure-without-parens', 'CALL wipe_canary'],
  ['nextval', 'SELECT NEXTVAL(canary_seq)'],
  ['next-value-for', 'SELECT NEXT VALUE FOR canary_seq'],
  ['setval', 'SELECT SETVAL(canary_seq, 100)'],
  ['lastval-after-nextval', 'SELECT NEXTVAL(canary_seq), LASTVAL(canary_seq)'],
  ['get-lock', "SELECT GET_LOCK('pwned', 0)"],
  ['release-all-locks', 'SELECT RELEASE_ALL_LOCKS()'],
  ['benchmark', "SELECT BENCHMARK(1000000, MD5('x'))"],
  ['master-pos-wait', "SELECT MASTER_POS_WAIT('x', 1, 1)"],
  ['uservar-assign-from-function', 'SELECT @x := touch_canary()'],
  ['view-calling-writing-function', 'SELECT * FROM touching'],
  ['view-calling-writing-function-in-join', 'SELECT p.id FROM patients p JOIN touching t ON t.touched = p.id'],
  ['do-get-lock', "DO GET_LOCK('pwned', 0)"],
  ['get-lock-in-where', "SELECT 1 FROM patients WHERE GET_LOCK('pwned', 0) = 1"],
  ['nextval-in-subquery', 'SELECT (SELECT NEXTVAL(canary_seq))'],
  ['stored-function-in-order-by', 'SELECT id FROM patients ORDER BY touch_canary() LIMIT 1'],
  ['stored-function-in-having', 'SELECT COUNT(*) FROM patients HAVING touch_canary() > 0'],
  ['stored-function-in-case', 'SELECT CASE WHEN 1 THEN touch_canary() END'],
]);

/**
 * Under sql_mode NO_BACKSLASH_ESCAPES `'a\'` is a whole string, and under ANSI_QUOTES `"a\"` is an
 * identifier: the text after it is code to the server, and only a string to a reader that does not
 * follow the session's sql_mode. Warden follows it (session state tracking), so it sees the DROP.
 */
/** Settings that switch the target's own logging or integrity checks off. */
const TARGET_SETTINGS = [
  ...mysqlRefusedEach('target-settings', 'read-only', [
    ['read-only-sql-log-off', 'SET sql_log_off = 1'],
    ['read-only-sql-log-bin-off', 'SET SESSION sql_log_bin = 0'],
    ['read-only-general-log-off', 'SET GLOBAL general_log = OFF'],
  ]),
  ...mysqlRefusedEach('target-settings', 'read-write', [
    ['read-write-foreign-key-checks-off', 'SET foreign_key_checks = 0'],
    ['read-write-unique-checks-off', 'SET SESSION unique_checks = 0'],
    ['read-write-check-constraint-checks-off', 'SET check_constraint_checks = 0'],
  ]),
];

const HIDDEN_BY_BACKSLASH = "SELECT 'a\\'; DROP TABLE canary; -- '";
const HIDDEN_BY_ANSI_QUOTES = 'SELECT 1 AS "a\\"; DROP TABLE canary; -- "';
const SQL_MODE: MysqlAttack[] = (
  [
    ['no-backslash-escapes-hides-drop', "SET sql_mode = 'NO_BACKSLASH_ESCAPES'", HIDDEN_BY_BACKSLASH],
    ['no-backslash-escapes-appended-hides-drop', "SET sql_mode = CONCAT(@@sql_mode, ',NO_BACKSLASH_ESCAPES')", HIDDEN_BY_BACKSLASH],
    ['no-backslash-escapes-session-hides-drop', "SET SESSION sql_mode = 'STRICT_TRANS_TABLES,NO_BACKSLASH_ESCAPES'", HIDDEN_BY_BACKSLASH],
    ['no-backslash-escapes-at-at-hides-drop', "SET @@sql_mode = 'NO_BACKSLASH_ESCAPES'", HIDDEN_BY_BACKSLASH],
    ['no-backslash-escapes-at-at-session-hides-drop', "SET @@session.sql_mode = 'NO_BACKSLASH_ESCAPES'", HIDDEN_BY_BACKSLASH],
    ['no-backslash-escapes-at-at-upper-session-hides-drop', "SET @@SESSION.SQL_MODE = 'NO_BACKSLASH_ESCAPES'", HIDDEN_BY_BACKSLASH],
    ['no-backslash-escapes-local-hides-drop', "SET LOCAL sql_mode = 'NO_BACKSLASH_ESCAPES'", HIDDEN_BY_BACKSLASH],
    ['no-backslash-escapes-from-variable-hides-drop', "SET @m = 'NO_BACKSLASH_ESCAPES'; SET sql_mode = @m", HIDDEN_BY_BACKSLASH],
    ['no-backslash-escapes-in-same-query-hides-drop', "SET sql_mode = 'NO_BACKSLASH_ESCAPES'; " + HIDDEN_BY_BACKSLASH, "SELECT 1"],
    ['ansi-quotes-hides-drop', "SET sql_mode = 'ANSI_QUOTES'", HIDDEN_BY_ANSI_QUOTES],
    ['ansi-mode-hides-drop', "SET sql_mode = 'ANSI'", HIDDEN_BY_ANSI_QUOTES],
    ['oracle-mode-hides-drop', "SET sql_mode = 'ORACLE'", HIDDEN_BY_ANSI_QUOTES],
    ['set-statement-no-backslash-escapes-hides-drop', "SET STATEMENT sql_mode = 'NO_BACKSLASH_ESCAPES' FOR " + HIDDEN_BY_BACKSLASH, 'SELECT 1'],
  ] as const
).map(([id, set, hidden]) => ({
  id: `mysql-${id}`,
  class: 'charset-and-sql-mode' as const,
  grant: 'read-write' as const,
  steps: [set, hidden],
  expect: { contained: '1142' },
}));

/**
 * HANDLER reads rows outside SELECT. A plain OPEN/READ/CLOSE is a read (its result carries the
 * table's column definitions, so masking applies); what Warden cannot judge is refused: key values
 * and WHERE conditions (expressions that can call functions) and aliases (rules decide on table names).
 */
const HANDLER: MysqlAttack[] = [
  { id: 'mysql-handler-read-where-get-lock', class: 'handler-and-locks', grant: 'read-only', steps: ['HANDLER canary OPEN', "HANDLER canary READ FIRST WHERE GET_LOCK('redteam', 0) = 1"], expect: { refused: '1142' } },
  { id: 'mysql-handler-read-where-stored-function', class: 'handler-and-locks', grant: 'read-only', steps: ['HANDLER canary OPEN', 'HANDLER canary READ FIRST WHERE touch_canary() = 1'], expect: { refused: '1142' } },
  { id: 'mysql-handler-read-key-value-function', class: 'handler-and-locks', grant: 'read-only', steps: ['HANDLER canary OPEN', 'HANDLER canary READ `PRIMARY` = (touch_canary())'], expect: { refused: '1142' } },
  { id: 'mysql-handler-open-as-alias', class: 'handler-and-locks', grant: 'read-only', steps: ['HANDLER canary OPEN AS c'], expect: { refused: '1142' } },
];

const PREPARED_SQL = mysqlRefusedEach('sql-prepare-execute', 'read-only', [
  ['prepare-from-string-then-execute', ["PREPARE s FROM 'DELETE FROM canary'", 'EXECUTE s']],
  ['prepare-from-variable', ["SET @q = 'DELETE FROM canary'", 'PREPARE s FROM @q', 'EXECUTE s']],
  ['prepare-from-concat-variable', ["SET @q = CONCAT('DELE', 'TE FROM canary')", 'PREPARE s FROM @q', 'EXECUTE s']],
  ['execute-immediate', "EXECUTE IMMEDIATE 'DELETE FROM canary'"],
  ['execute-immediate-variable', ["SET @q = 'DELETE FROM canary'", 'EXECUTE IMMEDIATE @q']],
  // The write's PREPARE is the payload: refused, it never reaches the target, so EXECUTE s runs the read s still is.
  ['prepare-read-then-reprepare-write', ["PREPARE s FROM 'SELECT 1'", "PREPARE s FROM 'DELETE FROM canary'", 'EXECUTE s'], { payload: 1 }],
]);

/**
 * COM_RESET_CONNECTION puts the target session back to the server's defaults (read-only off):
 * Warden makes it read-only again before the next command, and still decides every statement.
 * COM_CHANGE_USER would swap the identity the token gave: refused.
 */
const SESSION_COMMANDS: MysqlAttack[] = [
  { id: 'mysql-reset-connection-then-write', class: 'transaction-read-write', grant: 'read-only', steps: [{ reset: true }, 'DELETE FROM canary'], expect: { refused: '1142' } },
  { id: 'mysql-reset-connection-then-prepared-write', class: 'transaction-read-write', grant: 'read-only', steps: [{ execute: 'SELECT 1' }, { reset: true }, { execute: 'DELETE FROM canary' }], expect: { refused: ['1142', '1792'] } },
  { id: 'mysql-reset-connection-then-stored-function', class: 'transaction-read-write', grant: 'read-only', steps: [{ reset: true }, 'SELECT touch_canary()'], expect: { refused: '1142' } },
  // MariaDB runs the statement prepared last for statement id 0xFFFFFFFF: Warden never saw that id
  // prepared. (Read-only sessions are no test: the target itself refuses to prepare a write there.)
  {
    id: 'mysql-read-write-execute-last-prepared-statement-id',
    class: 'role-change',
    grant: 'read-write',
    steps: [{ executeLastPrepared: "DELETE FROM mysql.proc WHERE db = DATABASE() AND name = 'harmless'" }],
    expect: { refused: '1243' },
  },
  { id: 'mysql-reset-connection-then-tx-read-only-off', class: 'transaction-read-write', grant: 'read-only', steps: [{ reset: true }, 'SET tx_read_only = 0'], expect: { refused: '1142' } },
  { id: 'mysql-change-user-to-root', class: 'role-change', grant: 'read-only', steps: [{ changeUser: 'root' }], expect: { refused: ['1045'] } },
  { id: 'mysql-change-user-read-write', class: 'role-change', grant: 'read-write', steps: [{ changeUser: 'root' }, 'DROP TABLE canary'], payload: 0, expect: { refused: ['1045'] } },
];

function allowed(id: string, steps: MysqlAttack['steps'], grant: MysqlAttack['grant'] = 'read-only'): MysqlAttack {
  return { id: `mysql-${id}`, class: 'legit-use', grant, steps, expect: { allowed: true } };
}

const LEGIT: MysqlAttack[] = [
  allowed('select-patients', ['SELECT * FROM patients']),
  allowed('select-join', ['SELECT c.word, COUNT(p.id) FROM canary c LEFT JOIN patients p ON p.id = c.id GROUP BY c.word']),
  allowed('select-view', ['SELECT * FROM patient_names']),
  allowed('select-string-with-write-keywords', ["SELECT 'DELETE FROM canary; DROP TABLE patients' AS text"]),
  allowed('prepared-select-with-parameter', [{ execute: 'SELECT full_name FROM patients WHERE id = ?', params: [3] }]),
  allowed('sql-prepare-execute-of-read', ["PREPARE q FROM 'SELECT * FROM patients WHERE id = ?'", 'SET @id = 1', 'EXECUTE q USING @id', 'DEALLOCATE PREPARE q']),
  allowed('read-only-transaction', ['START TRANSACTION READ ONLY', 'SELECT COUNT(*) FROM patients', 'COMMIT']),
  allowed('show-and-describe', ['SHOW TABLES', 'DESCRIBE patients', 'SHOW CREATE TABLE canary', 'SHOW VARIABLES LIKE "tx_read_only"']),
  allowed('information-schema', ["SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()"]),
  allowed('builtin-functions', ["SELECT NOW(), CURRENT_USER(), VERSION(), MD5('x'), LOWER('X'), COALESCE(NULL, 1), CONCAT('a', 'b')"]),
  allowed('harmless-settings', ['SET SESSION max_statement_time = 5', "SET @report = 'x'", 'SET NAMES utf8mb4']),
  allowed('lock-tables-read', ['LOCK TABLES patients READ', 'SELECT COUNT(*) FROM patients', 'UNLOCK TABLES']),
  allowed('explain-select', ['EXPLAIN SELECT * FROM patients WHERE id = 1']),
  allowed('handler-plain-read', ['HANDLER canary OPEN', 'HANDLER canary READ FIRST', 'HANDLER canary CLOSE']),
  allowed('read-write-insert-note', ["INSERT INTO notes (body) VALUES ('legit')"], 'read-write'),
];

export const MYSQL_ATTACKS: readonly MysqlAttack[] = [
  ...SPLITTING,
  ...mysqlViaPrepared(SPLITTING),
  ...VERSIONED_COMMENTS,
  ...FILES,
  ...mysqlViaPrepared(FILES),
  ...FILES_READ_WRITE,
  ...mysqlViaPrepared(FILES_READ_WRITE),
  ...CATALOG_WRITES,
  ...CATALOG_WRITES_PREPARED,
  ...READ_ONLY_OFF,
  ...CHARSET,
  ...SQL_MODE,
  ...TARGET_SETTINGS,
  ...FUNCTIONS,
  ...mysqlViaPrepared(FUNCTIONS),
  ...HANDLER,
  ...PREPARED_SQL,
  ...SESSION_COMMANDS,
  ...LEGIT,
];
