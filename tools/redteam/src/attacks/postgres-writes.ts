/**
 * Writes that do not start with a write keyword: data-modifying CTEs, EXPLAIN ANALYZE (which runs
 * the statement), procedural code (DO, CALL, functions that write), under read-only and, for what
 * is beyond writes, read-write.
 */
import type { PostgresAttack } from '../postgres-attack';
import { refusedEach, viaExtended, viaPipeline, viaSplitSegments } from './postgres-helpers';

const CTES = refusedEach('data-modifying-cte', 'read-only', [
  ['delete-in-cte', 'WITH d AS (DELETE FROM canary RETURNING *) SELECT * FROM d'],
  ['update-in-cte', "WITH u AS (UPDATE canary SET word = 'x' RETURNING 1) SELECT count(*) FROM u"],
  ['insert-in-cte', "WITH i AS (INSERT INTO canary VALUES (3, 'x') RETURNING 1) SELECT 1"],
  ['insert-in-unreferenced-cte', "WITH i AS (INSERT INTO canary VALUES (3, 'x')) SELECT 1"],
  ['delete-in-second-cte', 'WITH r AS (SELECT 1), d AS (DELETE FROM canary RETURNING 1) SELECT * FROM r'],
  ['delete-in-recursive-cte-list', 'WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3), d AS (DELETE FROM canary RETURNING 1) SELECT * FROM r'],
  ['delete-in-cte-of-insert', "WITH d AS (DELETE FROM canary RETURNING id, word) INSERT INTO notes (body) SELECT word FROM d"],
  ['merge-in-cte-body', 'WITH d AS (DELETE FROM canary RETURNING id) SELECT * FROM patients WHERE id IN (SELECT id FROM d)'],
  ['materialized-cte-delete', 'WITH d AS MATERIALIZED (DELETE FROM canary RETURNING 1) SELECT 1'],
  ['copy-of-delete-returning-to-stdout', 'COPY (DELETE FROM canary RETURNING *) TO STDOUT'],
  ['copy-of-update-returning-to-stdout', "COPY (UPDATE canary SET word = 'x' RETURNING *) TO STDOUT"],
  ['copy-of-insert-returning-to-stdout', "COPY (INSERT INTO canary VALUES (8, 'x') RETURNING *) TO STDOUT"],
]);

const EXPLAIN = refusedEach('explain-analyze', 'read-only', [
  ['explain-analyze-delete', 'EXPLAIN ANALYZE DELETE FROM canary'],
  ['explain-analyse-british-spelling', 'explain analyse delete from canary'],
  ['explain-analyze-option-list', "EXPLAIN (ANALYZE) UPDATE canary SET word = 'x'"],
  ['explain-analyze-true-json', "EXPLAIN (ANALYZE true, FORMAT json) INSERT INTO canary VALUES (5, 'x')"],
  ['explain-analyze-on-buffers', 'EXPLAIN (BUFFERS, ANALYZE on) DELETE FROM canary'],
  ['explain-analyze-quoted-option', 'EXPLAIN ("analyze") DELETE FROM canary'],
  ['explain-analyze-1', 'EXPLAIN (ANALYZE 1) DELETE FROM canary'],
  ['explain-analyze-cte-delete', 'EXPLAIN (ANALYZE, BUFFERS) WITH d AS (DELETE FROM canary RETURNING 1) SELECT 1'],
  ['explain-analyze-verbose-delete', 'EXPLAIN ANALYZE VERBOSE DELETE FROM canary'],
  ['explain-analyze-create-table-as', 'EXPLAIN ANALYZE CREATE TABLE pwned_explain AS SELECT 1'],
  ['explain-analyze-writing-function', 'EXPLAIN ANALYZE SELECT touch_canary()'],
  ['explain-analyze-lo-create', 'EXPLAIN ANALYZE SELECT lo_create(0)'],
]);

const PROCEDURAL = refusedEach('procedural-code', 'read-only', [
  ['do-block-delete', 'DO $$ BEGIN DELETE FROM canary; END $$'],
  ['do-block-language-first', "DO LANGUAGE plpgsql $x$ BEGIN EXECUTE 'DELETE FROM canary'; END $x$"],
  ['do-block-dynamic-sql', "DO $$ BEGIN EXECUTE 'DELE' || 'TE FROM canary'; END $$"],
  ['do-block-set-read-only-off', "DO $$ BEGIN PERFORM set_config('transaction_read_only', 'off', true); DELETE FROM canary; END $$"],
  ['do-block-in-string-looking-select', "SELECT 'DO'; DO $$ BEGIN DELETE FROM canary; END $$"],
  ['call-writing-procedure', 'CALL wipe_canary()'],
  ['call-schema-qualified-procedure', 'CALL public.wipe_canary()'],
  ['select-writing-sql-function', 'SELECT touch_canary()'],
  ['select-from-writing-function', 'SELECT * FROM touch_canary()'],
  ['writing-function-in-where', 'SELECT 1 FROM patients WHERE id = touch_canary()'],
  ['writing-function-in-subquery', 'SELECT (SELECT touch_canary())'],
  ['writing-function-in-values', 'VALUES (touch_canary())'],
  ['writing-function-schema-qualified', 'SELECT public.touch_canary()'],
  ['writing-function-quoted-name', 'SELECT "touch_canary"()'],
  ['create-function', 'CREATE FUNCTION pwned() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$'],
  ['create-or-replace-existing-function', 'CREATE OR REPLACE FUNCTION harmless(n int) RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT n + 2 $$'],
  ['create-trigger', 'CREATE TRIGGER pwned BEFORE INSERT ON notes FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()'],
  ['create-rule', 'CREATE RULE pwned AS ON SELECT TO notes DO INSTEAD SELECT * FROM notes'],
]);

/** Beyond writes: a read-write grant may change data, not run code or reach the server's files. */
const READ_WRITE_LIMITS = refusedEach('procedural-code', 'read-write', [
  ['read-write-commit-prepared', "COMMIT PREPARED 'pwned'"],
  ['read-write-alter-default-privileges', 'ALTER DEFAULT PRIVILEGES GRANT ALL ON TABLES TO PUBLIC'],
  ['read-write-security-definer-function', 'CREATE FUNCTION pwned() RETURNS int LANGUAGE sql SECURITY DEFINER AS $$ SELECT 1 $$'],
  ['read-write-create-extension', 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements'],
  ['read-write-vacuum-full', 'VACUUM FULL canary'],
  ['read-write-truncate-is-a-write-but-drop-owned-is-not', 'DROP OWNED BY warden'],
  ['read-write-do-block', 'DO $$ BEGIN DELETE FROM canary; END $$'],
  ['read-write-create-function', 'CREATE FUNCTION pwned() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$'],
  ['read-write-drop-table', 'DROP TABLE canary'],
  ['read-write-alter-table', 'ALTER TABLE canary ADD COLUMN pwned int'],
  ['read-write-create-table-as', 'CREATE TABLE pwned_rw AS SELECT 1 AS x'],
  ['read-write-create-role', 'CREATE ROLE pwned SUPERUSER LOGIN'],
  ['read-write-alter-own-role', 'ALTER ROLE warden NOSUPERUSER'],
  ['read-write-grant-role', 'GRANT pg_write_server_files TO PUBLIC'],
  ['read-write-alter-system', "ALTER SYSTEM SET log_statement = 'none'"],
  ['read-write-create-schema', 'CREATE SCHEMA pwned'],
]);

/** PostgreSQL itself rejects a data-modifying WITH below the top level (0A000), in either protocol. */
const NESTED_CTE: PostgresAttack[] = [
  { id: 'delete-in-nested-cte', class: 'data-modifying-cte', grant: 'read-only', steps: ['WITH a AS (WITH b AS (DELETE FROM canary RETURNING 1) SELECT * FROM b) SELECT * FROM a'], expect: { refused: ['42501', '0A000'] } },
  { id: 'delete-in-nested-cte-extended', class: 'data-modifying-cte', grant: 'read-only', steps: [{ extended: 'WITH a AS (WITH b AS (DELETE FROM canary RETURNING 1) SELECT * FROM b) SELECT * FROM a' }], expect: { refused: ['42501', '0A000'] } },
];

export const POSTGRES_WRITE_ATTACKS: readonly PostgresAttack[] = [...CTES, ...viaExtended(CTES), ...viaPipeline(CTES), ...viaSplitSegments(CTES), ...NESTED_CTE, ...EXPLAIN, ...viaExtended(EXPLAIN), ...PROCEDURAL, ...viaExtended(PROCEDURAL), ...READ_WRITE_LIMITS];
