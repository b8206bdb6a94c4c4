/**
 * Built-in MySQL/MariaDB functions a read-only statement may call: they compute a value from
 * their arguments (or read the session's own state) and change nothing, lock nothing and reach
 * nothing outside the database. Every other call (stored functions, sequences, locks,
 * BENCHMARK, functions Warden has not reviewed) makes the statement a write; LOAD_FILE and its
 * kind are admin (see `classify-mysql-statement.ts`).
 *
 * Reviewed against https://mariadb.com/kb/en/built-in-functions/ and
 * https://dev.mysql.com/doc/refman/8.0/en/built-in-function-reference.html. Deliberately absent:
 * NEXTVAL, SETVAL, LASTVAL (sequences), GET_LOCK, RELEASE_LOCK, RELEASE_ALL_LOCKS (locks other
 * sessions wait on), BENCHMARK (CPU for as long as the caller likes), MASTER_POS_WAIT,
 * MASTER_GTID_WAIT, WAIT_FOR_EXECUTED_GTID_SET (replication waits), LOAD_FILE (admin).
 * SLEEP stays: it holds only the caller's own connection, and row budgets and idle limits apply.
 */
const READ_FUNCTIONS: ReadonlySet<string> = new Set(
  [
    // Strings.
    'ascii bin bit_length char char_length character_length chr concat concat_ws elt export_set field find_in_set format from_base64 hex insert instr lcase left length',
    'lengthb locate lower lpad ltrim make_set mid natural_sort_key oct octet_length ord position quote regexp_instr regexp_replace regexp_substr repeat replace reverse right',
    'rpad rtrim sformat soundex space strcmp substr substring substring_index to_base64 to_char trim ucase unhex upper weight_string format_bytes format_pico_time',
    // Hashes, compression, encryption of values.
    'md5 sha sha1 sha2 crc32 crc32c compress uncompress uncompressed_length aes_encrypt aes_decrypt encode decode des_encrypt des_decrypt random_bytes kdf password old_password',
    // Numbers.
    'abs acos asin atan atan2 ceil ceiling conv cos cot degrees exp floor greatest least ln log log10 log2 mod pi pow power radians rand round sign sin sqrt tan truncate bit_count',
    // Dates and times.
    'adddate addtime add_months convert_tz curdate current_date current_time current_timestamp curtime date date_add date_format date_sub datediff day dayname dayofmonth',
    'dayofweek dayofyear extract from_days from_unixtime get_format hour last_day localtime localtimestamp makedate maketime microsecond minute month monthname months_between now',
    'period_add period_diff quarter sec_to_time second str_to_date subdate subtime sysdate time time_format time_to_sec timediff timestamp timestampadd timestampdiff to_days',
    'to_seconds unix_timestamp utc_date utc_time utc_timestamp week weekday weekofyear year yearweek',
    // Aggregates and windows.
    'avg bit_and bit_or bit_xor count group_concat max min std stddev stddev_pop stddev_samp sum var_pop var_samp variance any_value',
    'row_number rank dense_rank percent_rank cume_dist ntile lag lead first_value last_value nth_value median percentile_cont percentile_disc',
    // Conditions and conversions (CAST and CONVERT are not calls in the tree).
    'if ifnull nullif coalesce isnull nvl nvl2 interval decode_oracle binary',
    // The session's own state.
    'charset coercibility collation connection_id current_role current_user database schema found_rows last_insert_id row_count session_user system_user user version',
    // Network addresses, identifiers, dynamic columns, locks as facts (no lock taken).
    'inet_aton inet_ntoa inet6_aton inet6_ntoa is_ipv4 is_ipv4_compat is_ipv4_mapped is_ipv6 uuid uuid_short sys_guid uuid_to_bin bin_to_uuid is_uuid',
    'column_add column_check column_create column_delete column_exists column_get column_json column_list name_const is_free_lock is_used_lock sleep',
    // XML, row constructors, column defaults, row numbers, optimiser statistics.
    'extractvalue updatexml row rownum default decode_histogram encrypt',
    // Geometry (the ST_ and MBR families by prefix, below).
    'area asbinary astext aswkb aswkt boundary buffer centroid contains convexhull crosses dimension disjoint endpoint envelope equals exteriorring geomcollfromtext',
    'geomcollfromwkb geometrycollection geometrycollectionfromtext geometrycollectionfromwkb geometryfromtext geometryfromwkb geometryn geometrytype geomfromtext geomfromwkb',
    'glength interiorringn intersects isclosed isempty isring issimple linefromtext linefromwkb linestring linestringfromtext linestringfromwkb multilinestring',
    'mlinefromtext mlinefromwkb mpointfromtext mpointfromwkb mpolyfromtext mpolyfromwkb multilinestringfromtext multilinestringfromwkb multipointfromtext multipointfromwkb',
    'multipolygonfromtext multipolygonfromwkb polygonfromtext polygonfromwkb pointonsurface',
    'multipoint multipolygon numgeometries numinteriorrings numpoints overlaps point pointfromtext pointfromwkb pointn polyfromtext polyfromwkb polygon srid startpoint touches within x y',
  ]
    .join(' ')
    .split(' '),
);

/** Families of pure functions, by prefix: JSON, spatial (ST_…), minimum bounding rectangles (MBR…). */
const READ_FUNCTION_PREFIXES: readonly string[] = ['json_', 'st_', 'mbr'];

/** Whether a call of `name` (as the parser gives it; qualified names are stored functions) can appear in a read. */
export function isReadFunction(name: string): boolean {
  const lower = name.toLowerCase();
  if (lower.includes('.')) return false;
  return READ_FUNCTIONS.has(lower) || READ_FUNCTION_PREFIXES.some((prefix) => lower.startsWith(prefix));
}
