/**
 * Turning the target session's read-only mode off (every spelling), and changing roles or session
 * authorisation. Read-only grant: each attempt is refused, and a DELETE after it finds the session
 * still read-only (the canary is unchanged).
 */
import type { PostgresAttack } from '../postgres-attack';
import { refusedEach, viaExtended, viaPipeline, viaSplitSegments } from './postgres-helpers';

const OFF = refusedEach('read-only-off', 'read-only', [
  ['set-default-transaction-read-only-off', 'SET default_transaction_read_only = off'],
  ['set-transaction-read-only-off', 'SET transaction_read_only TO off'],
  ['set-read-only-false-quoted', "SET \"default_transaction_read_only\" = 'false'"],
  ['set-read-only-zero', 'SET default_transaction_read_only = 0'],
  ['set-read-only-no', "SET default_transaction_read_only = 'no'"],
  ['set-read-only-default', 'SET default_transaction_read_only TO DEFAULT'],
  ['set-session-read-only-off', 'SET SESSION default_transaction_read_only = off'],
  ['set-local-read-only-off', 'BEGIN; SET LOCAL transaction_read_only = off; DELETE FROM canary; COMMIT'],
  ['set-with-comments', 'SET/**/"default_transaction_read_only"/* on */=/**/0'],
  ['reset-read-only', 'RESET default_transaction_read_only'],
  ['reset-all', 'RESET ALL'],
  ['discard-all', 'DISCARD ALL'],
  ['session-characteristics-read-write', 'SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE'],
  ['begin-read-write', 'BEGIN READ WRITE'],
  ['begin-isolation-read-write', 'begin transaction isolation level serializable, read write'],
  ['start-transaction-read-write', 'START TRANSACTION READ WRITE'],
  ['set-transaction-read-write', 'BEGIN; SET TRANSACTION READ WRITE'],
  ['set-transaction-snapshot-read-write', "BEGIN ISOLATION LEVEL REPEATABLE READ; SET TRANSACTION READ WRITE, ISOLATION LEVEL SERIALIZABLE"],
  ['set-config-read-only-off', "SELECT set_config('default_transaction_read_only', 'off', false)"],
  ['set-config-schema-qualified-upper', "SELECT pg_catalog.SET_CONFIG('transaction_read_only', 'off', true)"],
  ['set-config-quoted-name', "SELECT \"set_config\"('default_transaction_read_only', 'off', false)"],
  ['set-config-e-string-name', "SELECT set_config(E'default_transaction_read_only', 'off', false)"],
  ['set-config-dollar-quoted-name', 'SELECT set_config($$default_transaction_read_only$$, $$off$$, false)'],
  ['set-config-concatenated-name', "SELECT set_config('default_transaction_' || 'read_only', 'off', false)"],
  ['set-config-name-from-table', "SELECT set_config(x, 'off', false) FROM (VALUES ('transaction_read_only')) v(x)"],
  ['set-config-name-from-pg-settings', "SELECT set_config(name, 'off', false) FROM pg_settings WHERE name = 'default_transaction_read_only'"],
  ['set-config-upper-case-setting', "SELECT set_config('DEFAULT_TRANSACTION_READ_ONLY', 'off', false)"],
  ['set-config-in-cte', "WITH s AS (SELECT set_config('default_transaction_read_only', 'off', false)) SELECT * FROM s"],
  ['set-config-in-where', "SELECT 1 WHERE set_config('default_transaction_read_only', 'off', false) = 'off'"],
  ['update-pg-settings', "UPDATE pg_settings SET setting = 'off' WHERE name = 'default_transaction_read_only'"],
  ['alter-role-set-read-only-off', 'ALTER ROLE current_user SET default_transaction_read_only = off'],
  ['alter-database-set-read-only-off', 'ALTER DATABASE clinic SET default_transaction_read_only = off'],
  ['alter-system-set-read-only-off', 'ALTER SYSTEM SET default_transaction_read_only = off'],
]);

const ROLES = refusedEach('role-change', 'read-only', [
  ['set-role', 'SET ROLE postgres'],
  ['set-local-role', 'BEGIN; SET LOCAL ROLE postgres'],
  ['set-session-authorization', 'SET SESSION AUTHORIZATION postgres'],
  ['set-config-role', "SELECT set_config('role', 'postgres', false)"],
  ['set-config-session-authorization', "SELECT set_config('session_authorization', 'postgres', false)"],
  ['create-role', 'CREATE ROLE pwned SUPERUSER LOGIN'],
  ['alter-role-password', "ALTER ROLE warden PASSWORD 'pwned'"],
  ['grant-role', 'GRANT pg_write_server_files TO warden'],
  ['reassign-owned', 'REASSIGN OWNED BY warden TO postgres'],
]);

/**
 * Data writes into the system catalogs, on a superuser target account: privileges, function bodies
 * and stored settings changed with UPDATE/INSERT. A read-write grant may write data, not the catalog.
 */
const CATALOG_WRITES = refusedEach('role-change', 'read-write', [
  ['read-write-update-pg-authid-superuser', "UPDATE pg_authid SET rolsuper = true WHERE rolname = 'pg_monitor'"],
  ['read-write-update-pg-catalog-qualified', "UPDATE pg_catalog.pg_authid SET rolcanlogin = true WHERE rolname = 'pg_monitor'"],
  ['read-write-update-pg-proc-body', "UPDATE pg_proc SET prosrc = 'SELECT n + 2' WHERE proname = 'harmless'"],
  ['read-write-insert-pg-db-role-setting', "INSERT INTO pg_db_role_setting VALUES (0, 0, '{default_transaction_read_only=off}')"],
  ['read-write-delete-from-pg-largeobject-metadata', 'DELETE FROM pg_largeobject_metadata'],
  ['read-write-update-pg-class-via-cte', "WITH u AS (UPDATE pg_class SET relname = relname WHERE relname = 'canary' RETURNING 1) SELECT count(*) FROM u"],
]);

/**
 * `set_config(name, …) FROM pg_settings WHERE name = 'x'` is judged as a set_config of x; a
 * temporary table named pg_settings shadows the view, and a char(n) `name` matches `'role '` to
 * `role`, which set_config then gets without the padding.
 */
const PADDED_SETTING_NAMES = refusedEach('role-change', 'read-write', [
  [
    'read-write-padded-setting-name-from-temp-pg-settings',
    ["CREATE TEMP TABLE pg_settings AS SELECT 'role'::char(10) AS name", "SELECT set_config(name, 'postgres', false) FROM pg_settings WHERE name = 'role '"],
  ],
]);

/** Read-only mode cannot be turned off with startup parameters either. */
const STARTUP: PostgresAttack[] = [
  {
    id: 'startup-options-read-only-off',
    class: 'read-only-off',
    grant: 'read-only',
    startup: { options: '-c default_transaction_read_only=off -c transaction_read_only=off' },
    steps: ['DELETE FROM canary'],
    expect: { refused: '42501' },
  },
  {
    id: 'startup-parameter-read-only-off',
    class: 'read-only-off',
    grant: 'read-only',
    startup: { default_transaction_read_only: 'off' },
    steps: ['DELETE FROM canary'],
    expect: { refused: '42501' },
  },
];

/**
 * Settings only a superuser may change (Warden's target account may be one): switching the
 * target's own statement logging off, triggers and foreign keys (session_replication_role). Below
 * full access they are Warden's to refuse. (`row_security = off` is a user setting that widens
 * nothing — a query row security would filter fails instead — and pg_dump sends it: a legit use.)
 */
const TARGET_SETTINGS = [
  ...refusedEach('target-settings', 'read-only', [
    ['log-statement-none', "SET log_statement = 'none'"],
    ['log-statement-none-set-config', "SELECT set_config('log_statement', 'none', false)"],
    ['log-min-error-statement-panic', "SET log_min_error_statement = 'panic'"],
  ]),
  ...refusedEach('target-settings', 'read-write', [
    ['read-write-log-statement-none', "SET log_statement = 'none'"],
    ['read-write-session-replication-role-replica', 'SET session_replication_role = replica'],
    ['read-write-session-replication-role-set-config', "SELECT set_config('session_replication_role', 'replica', false)"],
    ['read-write-allow-system-table-mods', 'SET allow_system_table_mods = on'],
    ['read-write-zero-damaged-pages', 'SET zero_damaged_pages = on'],
    ['read-write-ignore-system-indexes', 'SET ignore_system_indexes = on'],
  ]),
  // A setting set to a column's value is read back (SHOW, current_setting, ParameterStatus) unmasked.
  ...refusedEach('target-settings', 'read-only', [
    ['setting-from-column-application-name', 'SELECT set_config(\'application_name\', ssn, false) FROM patients LIMIT 1'],
    ['setting-from-column-custom', 'SELECT set_config(\'my.x\', ssn, false) FROM patients LIMIT 1'],
    ['setting-from-subquery', "SELECT set_config('my.x', (SELECT ssn FROM patients LIMIT 1), false)"],
  ]),
  ...refusedEach('target-settings', 'read-write', [['read-write-setting-from-column', "SELECT set_config('my.x', ssn || '', true) FROM patients LIMIT 1"]]),
];

export const POSTGRES_READ_ONLY_OFF_ATTACKS: readonly PostgresAttack[] = [...OFF, ...viaExtended(OFF), ...viaPipeline(OFF), ...viaSplitSegments(OFF), ...ROLES, ...viaExtended(ROLES), ...STARTUP, ...TARGET_SETTINGS, ...CATALOG_WRITES, ...PADDED_SETTING_NAMES];
