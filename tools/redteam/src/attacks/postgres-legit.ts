/**
 * What must keep working under read-only: reading, SQL PREPARE/EXECUTE of a read, cursors,
 * harmless settings, catalog functions; and the real tools (psql's \d, pg_dump in every format).
 */
import type { Grant } from '../grant';
import type { PgStep, PostgresAttack } from '../postgres-attack';
import { frontend } from '../postgres-wire';
import type { ToolUse } from '../tool-use';

function allowed(id: string, steps: readonly PgStep[], grant: Grant = 'read-only'): PostgresAttack {
  return { id, class: 'legit-use', grant, steps, expect: { allowed: true } };
}

export const POSTGRES_LEGIT_USES: readonly PostgresAttack[] = [
  allowed('select-patients', ['SELECT * FROM patients']),
  allowed('select-with-join-and-aggregate', ['SELECT c.word, count(p.id) FROM canary c LEFT JOIN patients p ON p.id = c.id GROUP BY c.word']),
  allowed('select-view', ['TABLE patient_names']),
  allowed('select-with-string-containing-write-keywords', ["SELECT 'DELETE FROM canary; DROP TABLE patients' AS text"]),
  allowed('select-with-comment-containing-write', ['SELECT 1 /* ; DELETE FROM canary */']),
  allowed('extended-select-with-parameters', [{ extended: 'SELECT full_name FROM patients WHERE id = $1', params: ['3'] }]),
  allowed('named-statement-executed-twice', [
    { messages: [frontend.parse({ name: 'ok', text: 'SELECT count(*) FROM patients' }), frontend.bind({ statement: 'ok' }), frontend.execute({}), frontend.sync()] },
    { messages: [frontend.bind({ statement: 'ok' }), frontend.execute({}), frontend.sync()] },
  ]),
  allowed('sql-prepare-execute-of-read', ['PREPARE q(int) AS SELECT * FROM patients WHERE id = $1', 'EXECUTE q(1)', 'EXECUTE q(2)', 'DEALLOCATE q']),
  allowed('cursor-fetch-of-read', ['BEGIN', 'DECLARE c CURSOR FOR SELECT * FROM patients ORDER BY id', 'FETCH 5 FROM c', 'MOVE 2 IN c', 'FETCH NEXT FROM c', 'CLOSE c', 'COMMIT']),
  allowed('read-only-transaction', ['BEGIN READ ONLY', 'SELECT count(*) FROM patients', 'COMMIT']),
  allowed('show-read-only', ['SHOW default_transaction_read_only']),
  allowed('harmless-settings', ["SET statement_timeout = '5s'", 'SET search_path TO public', "SET application_name = 'reporting'", 'RESET statement_timeout']),
  allowed('current-setting', ["SELECT current_setting('default_transaction_read_only')"]),
  allowed('catalog-functions', ["SELECT pg_get_viewdef('patient_names'::regclass), pg_size_pretty(pg_total_relation_size('patients')), format_type(23, -1)"]),
  allowed('builtin-functions', ["SELECT now(), current_user, version(), md5('x'), lower('X'), coalesce(NULL, 1), generate_series(1, 3)"]),
  allowed('immutable-user-function', ['SELECT harmless(1)']),
  allowed('explain-without-analyze', ['EXPLAIN SELECT * FROM patients WHERE id = 1']),
  allowed('explain-analyze-of-read', ['EXPLAIN ANALYZE SELECT * FROM patients WHERE id = 1']),
  // pg_dump sends it; it widens nothing (a query row security would filter fails instead).
  allowed('row-security-off-as-pg-dump-sends-it', ['SET row_security = off', 'SELECT count(*) FROM canary']),
  allowed('lock-table-access-share', ['BEGIN', 'LOCK TABLE patients IN ACCESS SHARE MODE', 'SELECT count(*) FROM patients', 'COMMIT']),
  {
    ...allowed('builtin-upper-with-default-search-path', ["SELECT upper('x')"]),
    pending: 'function-allowlist',
    note: 'pg_catalog.upper runs here (pg_catalog comes first); refused because a public.upper that writes exists: functions are judged by name, not by the one the search_path picks',
  },
  allowed('copy-to-stdout', ['COPY (SELECT id, full_name FROM patients ORDER BY id LIMIT 3) TO STDOUT']),
  allowed('read-write-insert-note', ["INSERT INTO notes (body) VALUES ('legit')"], 'read-write'),
  allowed('full-create-temp-table', ['CREATE TEMP TABLE scratch (x int)', 'INSERT INTO scratch VALUES (1)', 'DROP TABLE scratch'], 'full'),
];


const conninfo = ({ port, database }: { port: number; database: string }) => `host=127.0.0.1 port=${port} user=redteam dbname=${database} sslmode=disable`;
const psql = (id: string, meta: string, output: RegExp): ToolUse => ({ id, grant: 'read-only', command: 'psql', args: (c) => [conninfo(c), '-X', '-v', 'ON_ERROR_STOP=1', '-c', meta], output });

export const POSTGRES_TOOL_USES: readonly ToolUse[] = [
  psql('psql-describe-relations', '\\d', /patients/),
  psql('psql-describe-table', '\\d patients', /ssn/),
  psql('psql-describe-table-verbose', '\\d+ canary', /word/),
  psql('psql-list-functions', '\\df public.*', /touch_canary/),
  psql('psql-list-databases', '\\l', /clinic/),
  psql('psql-list-roles', '\\du', /warden/),
  psql('psql-list-schemas', '\\dn', /public/),
  psql('psql-list-views', '\\dv', /patient_names/),
  psql('psql-list-sequences', '\\ds', /canary_seq/),
  psql('psql-conninfo-and-settings', '\\dconfig default_transaction_read_only', /on/),
  { id: 'pg-dump-schema-only', grant: 'read-only', command: 'pg_dump', args: (c) => ['--schema-only', '-d', conninfo(c)], output: /CREATE TABLE public\.patients/ },
  { id: 'pg-dump-data', grant: 'read-only', command: 'pg_dump', args: (c) => ['-d', conninfo(c)], output: /COPY public\.canary \(id, word\) FROM stdin;\n1\tuntouched/ },
  { id: 'pg-dump-custom-format', grant: 'read-only', command: 'pg_dump', args: (c) => ['-Fc', '-d', conninfo(c)], output: /^PGDMP/ },
  { id: 'pg-dump-single-table-inserts', grant: 'read-only', command: 'pg_dump', args: (c) => ['--inserts', '-t', 'canary', '-d', conninfo(c)], output: /INSERT INTO public\.canary VALUES \(1, 'untouched'\)/ },
];
