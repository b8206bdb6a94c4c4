/**
 * Built-in functions whose call changes what a statement is. A `SELECT` that calls one of them is
 * not a read: policy must see the action the function really performs.
 */

/**
 * Functions that reach outside the database's tables (server files, other backends, server
 * configuration, other servers) or run SQL text the gateway never sees. A statement calling one
 * anywhere (even in a subquery or a DEFAULT) is `admin`. (`set_config` is judged like the SET it
 * performs, in `statement-tree.ts`.)
 */
export const DANGEROUS_FUNCTIONS = [
  // Server file system.
  'pg_read_file',
  'pg_read_binary_file',
  'pg_ls_dir',
  'pg_stat_file',
  'pg_ls_logdir',
  'pg_ls_waldir',
  'pg_ls_tmpdir',
  'pg_ls_archive_statusdir',
  'pg_ls_logicalmapdir',
  'pg_ls_logicalsnapdir',
  'pg_ls_replslotdir',
  'lo_import',
  'lo_export',
  // adminpack
  'pg_file_write',
  'pg_file_rename',
  'pg_file_unlink',
  'pg_file_sync',
  'pg_logdir_ls',
  // Other backends and the server itself.
  'pg_terminate_backend',
  'pg_cancel_backend',
  'pg_reload_conf',
  'pg_rotate_logfile',
  'pg_promote',
  'pg_switch_wal',
  'pg_create_restore_point',
  'pg_backup_start',
  'pg_backup_stop',
  'pg_log_backend_memory_contexts',
  'pg_create_physical_replication_slot',
  'pg_create_logical_replication_slot',
  'pg_drop_replication_slot',
  // Run SQL text, or read a table, named only in a string argument: what they read is invisible
  // to classification.
  'query_to_xml',
  'query_to_xmlschema',
  'query_to_xml_and_xmlschema',
  'table_to_xml',
  'table_to_xmlschema',
  'table_to_xml_and_xmlschema',
  'schema_to_xml',
  'schema_to_xmlschema',
  'schema_to_xml_and_xmlschema',
  'database_to_xml',
  'database_to_xmlschema',
  'database_to_xml_and_xmlschema',
  'ts_stat',
] as const;

/** Name prefixes treated like `DANGEROUS_FUNCTIONS`: the dblink extension connects to other servers. */
export const DANGEROUS_FUNCTION_PREFIXES = ['dblink'] as const;

/**
 * Functions that change data although they are called from a `SELECT`; PostgreSQL itself refuses
 * them in a read-only transaction. A statement calling one is at least a `write`.
 */
export const WRITE_FUNCTIONS = [
  'nextval',
  'setval',
  'lo_create',
  'lo_creat',
  'lo_from_bytea',
  'lo_put',
  'lo_unlink',
  'lo_truncate',
  'lo_truncate64',
  'lowrite',
  'pg_notify',
  // Allowed in a read-only transaction, yet they change state other sessions or the server see.
  'pg_logical_emit_message',
  'pg_import_system_collations',
  'pg_replication_origin_create',
  'pg_replication_origin_drop',
  'pg_replication_origin_advance',
  'pg_replication_origin_session_setup',
  'pg_replication_origin_session_reset',
  'pg_replication_origin_xact_setup',
  'pg_replication_origin_xact_reset',
  // Assign the transaction an ID.
  'txid_current',
  'pg_current_xact_id',
] as const;

/**
 * Name prefixes treated like `WRITE_FUNCTIONS`: statistics resets, and advisory locks (held by the
 * session, they block other sessions).
 */
const WRITE_FUNCTION_PREFIXES = ['pg_stat_reset', 'pg_advisory_', 'pg_try_advisory_'] as const;

const dangerous: ReadonlySet<string> = new Set(DANGEROUS_FUNCTIONS);
const writing: ReadonlySet<string> = new Set(WRITE_FUNCTIONS);

/**
 * What calling `name` (the unqualified function name) makes of a statement, if anything.
 * Names are compared lower-cased: a quoted `"PG_READ_FILE"` is a different function in
 * PostgreSQL, but refusing it costs nothing and guessing wrong would.
 */
export function functionAction(name: string): 'admin' | 'write' | undefined {
  const lower = name.toLowerCase();
  if (dangerous.has(lower)) return 'admin';
  for (const prefix of DANGEROUS_FUNCTION_PREFIXES) if (lower.startsWith(prefix)) return 'admin';
  if (writing.has(lower)) return 'write';
  for (const prefix of WRITE_FUNCTION_PREFIXES) if (lower.startsWith(prefix)) return 'write';
  return undefined;
}
