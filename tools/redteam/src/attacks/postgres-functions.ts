/**
 * Functions that change state from a SELECT: large objects, sequences, advisory locks, statistics
 * resets, replication origins and slots, WAL messages, configuration reloads. Read-only grant:
 * Warden refuses them itself (a read-only grant is an allowlist of functions, not a keyword test).
 */
import type { PostgresAttack } from '../postgres-attack';
import { refusedEach, viaExtended, viaPipeline, viaSplitSegments } from './postgres-helpers';

const FUNCTIONS = refusedEach('function-writes', 'read-only', [
  ['lo-create', 'SELECT lo_create(0)'],
  ['lo-creat', 'SELECT lo_creat(-1)'],
  ['lo-from-bytea', "SELECT lo_from_bytea(0, 'pwned')"],
  ['lo-create-schema-qualified', 'SELECT pg_catalog.lo_create(0)'],
  ['lo-create-quoted', 'SELECT "lo_create"(0)'],
  ['lo-create-upper-case', 'SELECT LO_CREATE(0)'],
  ['lo-create-in-from', 'SELECT * FROM lo_create(0)'],
  ['lo-create-in-subquery', 'SELECT (SELECT lo_create(0))'],
  ['lo-create-in-cte', 'WITH l AS (SELECT lo_create(0)) SELECT * FROM l'],
  ['lo-put', "SELECT lo_put(0, 0, 'x')"],
  ['lo-unlink', 'SELECT lo_unlink(0)'],
  ['nextval', "SELECT nextval('canary_seq')"],
  ['nextval-regclass-cast', "SELECT nextval('canary_seq'::regclass)"],
  ['nextval-name-from-table', "SELECT nextval(x) FROM (VALUES ('canary_seq')) v(x)"],
  ['setval', "SELECT setval('canary_seq', 100)"],
  ['advisory-lock', 'SELECT pg_advisory_lock(1)'],
  ['try-advisory-lock', 'SELECT pg_try_advisory_lock(1)'],
  ['advisory-xact-lock', 'SELECT pg_advisory_xact_lock(1)'],
  ['advisory-lock-shared', 'SELECT pg_advisory_lock_shared(1)'],
  ['stat-reset', 'SELECT pg_stat_reset()'],
  ['stat-reset-shared', "SELECT pg_stat_reset_shared('bgwriter')"],
  ['stat-reset-single-table', "SELECT pg_stat_reset_single_table_counters('canary'::regclass)"],
  ['replication-origin-create', "SELECT pg_replication_origin_create('pwned')"],
  ['replication-origin-session-setup', "SELECT pg_replication_origin_session_setup('pwned')"],
  ['physical-replication-slot', "SELECT pg_create_physical_replication_slot('pwned')"],
  ['logical-emit-message', "SELECT pg_logical_emit_message(true, 'pwned', 'x')"],
  ['reload-conf', 'SELECT pg_reload_conf()'],
  ['switch-wal', 'SELECT pg_switch_wal()'],
  ['create-restore-point', "SELECT pg_create_restore_point('pwned')"],
  ['notify-function', "SELECT pg_notify('pwned', 'x')"],
  ['txid-current', 'SELECT txid_current()'],
  ['import-system-collations', "SELECT pg_import_system_collations('public')"],
  ['cancel-backend', 'SELECT pg_cancel_backend(0)'],
  ['set-config-statement-timeout-via-function-in-write', "SELECT set_config('role', 'postgres', false)"],
  ['lo-create-in-rows-from', 'SELECT * FROM ROWS FROM (lo_create(0))'],
  ['lo-create-over-generate-series', 'SELECT lo_create(0) FROM generate_series(1, 1)'],
  ['lo-create-in-array-subquery', 'SELECT ARRAY(SELECT lo_create(0))'],
  ['lo-create-in-case', 'SELECT CASE WHEN true THEN lo_create(0) END'],
  ['lo-create-in-lateral', 'SELECT * FROM patients p, LATERAL (SELECT lo_create(0)) l WHERE p.id = 1'],
  ['lo-create-in-order-by', 'SELECT id FROM patients ORDER BY lo_create(0) LIMIT 1'],
  ['lo-create-in-group-by-having', 'SELECT count(*) FROM patients HAVING lo_create(0) > 0'],
  ['lo-create-in-window', 'SELECT sum(lo_create(0)) OVER () FROM patients LIMIT 1'],
  ['lo-create-in-aggregate-filter', 'SELECT count(*) FILTER (WHERE lo_create(0) > 0) FROM patients'],
  ['nextval-schema-qualified', "SELECT pg_catalog.nextval('canary_seq')"],
  ['nextval-computed-name', "SELECT nextval(('canary' || '_seq')::regclass)"],
  ['nextval-in-values', "VALUES (nextval('canary_seq'))"],
  ['rotate-logfile', 'SELECT pg_rotate_logfile()'],
  // The function is called by a view, not named in the text: Warden judges a view by its definition.
  ['view-calling-writing-function', 'SELECT * FROM touching'],
  ['table-command-on-view-calling-writing-function', 'TABLE touching'],
  ['view-calling-writing-function-in-join', 'SELECT p.id FROM patients p JOIN touching t ON t.touched = p.id'],
  ['view-calling-writing-function-in-subquery', 'SELECT (SELECT touched FROM touching)'],
  ['view-calling-writing-function-in-cte', 'WITH t AS (SELECT * FROM touching) SELECT * FROM t'],
  ['view-over-view-calling-writing-function', 'SELECT * FROM over_touching'],
  ['query-to-xml-running-a-delete', "SELECT query_to_xml('DELETE FROM canary RETURNING id', true, false, '')"],
  ['query-to-xml-running-stat-reset', "SELECT query_to_xml('SELECT pg_stat_reset()', true, false, '')"],
  ['query-to-xml-running-advisory-lock', "SELECT query_to_xml('SELECT pg_advisory_lock(7)', true, false, '')"],
  ['query-to-xml-running-lo-create', "SELECT query_to_xml('SELECT lo_create(0)', true, false, '')"],
  ['query-to-xml-and-schema-running-stat-reset', "SELECT query_to_xml_and_xmlschema('SELECT pg_stat_reset()', true, false, '')"],
  ['query-to-xmlschema-running-stat-reset', "SELECT query_to_xmlschema('SELECT pg_stat_reset()', true, false, '')"],
  ['ts-stat-running-a-query', "SELECT * FROM ts_stat('SELECT to_tsvector(word) FROM canary, pg_stat_reset()')"],
]);

/**
 * FunctionCall ('F'): the fast-path interface calls a function by OID with no SQL text at all.
 * Layout: 'F' | int32 len | int32 function oid | int16 n formats | int16 n args | (int32 len, bytes)* | int16 result format.
 */
function functionCall(oid: number, textArguments: readonly string[]): Buffer {
  const parts = [Buffer.alloc(8)];
  parts[0]!.writeInt32BE(oid, 0);
  parts[0]!.writeInt16BE(0, 4);
  parts[0]!.writeInt16BE(textArguments.length, 6);
  for (const argument of textArguments) {
    const value = Buffer.from(argument, 'utf8');
    const length = Buffer.alloc(4);
    length.writeInt32BE(value.length, 0);
    parts.push(length, value);
  }
  parts.push(Buffer.alloc(2));
  const body = Buffer.concat(parts);
  const header = Buffer.alloc(5);
  header.write('F', 0, 'latin1');
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

/** pg_proc OIDs, stable across PostgreSQL versions: lo_creat(int4) 957, lo_import(text) 764. */
const FAST_PATH: PostgresAttack[] = [
  { id: 'fast-path-lo-creat', class: 'function-writes', grant: 'read-only', steps: [{ messages: [functionCall(957, ['-1'])] }], expect: { refused: '42501' } },
  {
    // SELECT lo_import('/etc/hostname') is refused to read-write (a server file); so is the call by OID.
    id: 'fast-path-lo-import',
    class: 'function-writes',
    grant: 'read-write',
    steps: [{ messages: [functionCall(764, ['/etc/hostname'])] }],
    expect: { refused: '42501' },
  },
];

/**
 * A schema function named like a built-in: with public before pg_catalog in the search_path,
 * `upper(text)` is public.upper, which writes. The name alone does not say which function runs.
 */
const SHADOWING: PostgresAttack[] = [
  { id: 'search-path-shadows-builtin', class: 'function-writes', grant: 'read-only', steps: ['SET search_path = public, pg_catalog', "SELECT upper('x')"], expect: { contained: '42501' } },
  { id: 'search-path-shadows-builtin-same-query', class: 'function-writes', grant: 'read-only', steps: ["SET search_path = public, pg_catalog; SELECT upper('x')"], expect: { contained: '42501' } },
  { id: 'search-path-set-config-shadows-builtin', class: 'function-writes', grant: 'read-only', steps: ["SELECT set_config('search_path', 'public, pg_catalog', false)", "SELECT upper('x')"], expect: { contained: '42501' } },
  { id: 'search-path-shadows-builtin-extended', class: 'function-writes', grant: 'read-only', steps: ['SET search_path = public, pg_catalog', { extended: "SELECT upper('x')" }], expect: { contained: '42501' } },
  { id: 'search-path-startup-option-shadows-builtin', class: 'function-writes', grant: 'read-only', startup: { options: '-c search_path=public,pg_catalog' }, steps: ["SELECT upper('x')"], expect: { contained: '42501' } },
];

export const POSTGRES_FUNCTION_ATTACKS: readonly PostgresAttack[] = [...FUNCTIONS, ...viaExtended(FUNCTIONS), ...viaPipeline(FUNCTIONS), ...viaSplitSegments(FUNCTIONS), ...FAST_PATH, ...SHADOWING];
