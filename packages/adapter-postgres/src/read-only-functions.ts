/**
 * Which functions a `read` may call, by the volatility the target's own catalog gives them
 * (`pg_proc.provolatile`, https://www.postgresql.org/docs/current/xfunc-volatility.html): an
 * IMMUTABLE or STABLE function cannot modify the database, a VOLATILE one can, and PostgreSQL's
 * read-only transactions do not stop all of them (advisory locks, statistics resets, replication
 * origins, logical messages). Reviewed against PostgreSQL 15's catalog.
 */

/**
 * STABLE functions that still change something: they assign the transaction an ID (WAL, and the
 * XID counter moves). Any schema: a function of that name elsewhere is refused too.
 */
export const STABLE_WITH_SIDE_EFFECTS: ReadonlySet<string> = new Set(['txid_current', 'pg_current_xact_id']);

/**
 * VOLATILE functions of `pg_catalog` that only read (or, for the first group, are volatile only
 * because their answer changes from call to call). Any other volatile function makes a statement
 * a `write`. A function of the same name in another schema is not covered.
 */
export const VOLATILE_READS: ReadonlySet<string> = new Set([
  // Different answer each call, nothing written.
  'random',
  'random_normal',
  'clock_timestamp',
  'timeofday',
  'gen_random_uuid',
  'uuidv4',
  'uuidv7',
  // Waits and changes nothing; the row and time limits of the grant still apply.
  'pg_sleep',
  'pg_sleep_for',
  'pg_sleep_until',
  // Judged by the classifier as the SET it performs (search_path, …: pg_dump calls it).
  'set_config',
  // The session's own sequence state, read.
  'currval',
  'lastval',
  // Server and replication state (pg_dump calls pg_is_in_recovery).
  'pg_is_in_recovery',
  'pg_is_wal_replay_paused',
  'pg_get_wal_replay_pause_state',
  'pg_last_wal_receive_lsn',
  'pg_last_wal_replay_lsn',
  'pg_last_xact_replay_timestamp',
  'pg_current_wal_lsn',
  'pg_current_wal_insert_lsn',
  'pg_current_wal_flush_lsn',
  'pg_last_committed_xact',
  'pg_xact_commit_timestamp',
  'pg_xact_commit_timestamp_origin',
  'pg_xact_status',
  'txid_status',
  'pg_jit_available',
  'pg_notification_queue_usage',
  'pg_sequence_last_value',
  'current_query',
  // Sizes (psql's \d+, \l+, \db+).
  'pg_relation_size',
  'pg_table_size',
  'pg_indexes_size',
  'pg_total_relation_size',
  'pg_database_size',
  'pg_tablespace_size',
  // Partitions (psql's \d+ of a partitioned table).
  'pg_partition_tree',
  'pg_partition_ancestors',
  // Locks and statistics, read (pg_locks, pg_stat_* views).
  'pg_lock_status',
  'pg_blocking_pids',
  'pg_safe_snapshot_blocking_pids',
  'pg_stat_have_stats',
  'pg_stat_get_xact_blocks_fetched',
  'pg_stat_get_xact_blocks_hit',
  'pg_stat_get_xact_function_calls',
  'pg_stat_get_xact_function_self_time',
  'pg_stat_get_xact_function_total_time',
  'pg_stat_get_xact_numscans',
  'pg_stat_get_xact_tuples_deleted',
  'pg_stat_get_xact_tuples_fetched',
  'pg_stat_get_xact_tuples_hot_updated',
  'pg_stat_get_xact_tuples_inserted',
  'pg_stat_get_xact_tuples_returned',
  'pg_stat_get_xact_tuples_updated',
  'pg_collation_actual_version',
  // What system views run (reading a view runs its definition): server files, shared memory,
  // replication origins, prepared transactions, recovery prefetch, all read (pg_file_settings,
  // pg_hba_file_rules, pg_ident_file_mappings, pg_shmem_allocations, pg_backend_memory_contexts,
  // pg_replication_origin_status, pg_prepared_xacts, pg_stat_recovery_prefetch).
  'pg_show_all_file_settings',
  'pg_hba_file_rules',
  'pg_ident_file_mappings',
  'pg_get_shmem_allocations',
  'pg_get_backend_memory_contexts',
  'pg_show_replication_origin_status',
  'pg_prepared_xact',
  'pg_stat_get_recovery_prefetch',
  'pg_database_collation_actual_version',
  // A snapshot for other sessions to share, gone at the end of the transaction (pg_dump --jobs).
  'pg_export_snapshot',
  // Read a large object's contents (pg_dump reads them through the fast-path interface with
  // lo_open, loread, lo_close). Writes go through lowrite, lo_put, lo_truncate: not on this list.
  'lo_get',
  'lo_open',
  'loread',
  'lo_lseek',
  'lo_lseek64',
  'lo_tell',
  'lo_tell64',
  'lo_close',
]);

export type Volatility = 'i' | 's' | 'v';

/**
 * Whether a `read` may call the function `schema.name` of volatility `volatility` (`i`, `s`, `v`
 * as in `pg_proc.provolatile`); the reason it may not otherwise.
 */
export function functionRefusal(schema: string, name: string, volatility: string): string | undefined {
  if (STABLE_WITH_SIDE_EFFECTS.has(name)) return `calls ${name}, which assigns a transaction ID`;
  if (volatility === 'i' || volatility === 's') return undefined;
  if (volatility === 'v' && schema === 'pg_catalog' && VOLATILE_READS.has(name)) return undefined;
  return `calls volatile function ${schema}.${name}`;
}
