/**
 * Relations of the target's system catalogs. Warden's own account on the target may be a superuser,
 * and then a plain `UPDATE pg_authid SET rolsuper = true …` or `INSERT INTO mysql.global_priv …`
 * succeeds: writing them changes who may do what, function bodies and stored settings. A statement
 * that writes one (or locks its rows, or changes its definition) is therefore `admin`, whatever
 * its kind would be on a user table.
 *
 * Names are compared case-insensitively although PostgreSQL tells `"PG_AUTHID"` from `pg_authid`
 * (and MySQL on Linux tells `MYSQL` from `mysql`): refusing a user relation with such a name below
 * `full` costs little, guessing wrong the other way would hand out the catalog.
 */

/**
 * PostgreSQL reserves schema names starting with `pg_` for itself (CREATE SCHEMA refuses them):
 * pg_catalog, pg_toast, and the per-backend temporary schemas pg_temp_N / pg_toast_temp_N.
 * `pg_temp` is the session's own temporary schema, and so is the pg_temp_N it stands for: a
 * read-write grant may write its own temp tables. Naming another session's pg_temp_N gains
 * nothing, PostgreSQL itself refuses that ("cannot access temporary tables of other sessions",
 * "cannot create relations in temporary schemas of other sessions"). pg_toast_temp_N holds TOAST
 * internals and is refused with pg_toast.
 */
const POSTGRES_OWN_TEMP_SCHEMA = /^pg_temp(_\d+)?$/i;

/** Whether a schema name (any case) is the session's own temporary schema, `pg_temp` or `pg_temp_N`. */
export function isPostgresOwnTemporarySchema(schema: string): boolean {
  return POSTGRES_OWN_TEMP_SCHEMA.test(schema);
}

/**
 * information_schema's real tables (the rest are views). With information_schema in the
 * search_path their names resolve to them unqualified; they are refused unqualified too, which may
 * refuse a user table of that name below `full`.
 */
const POSTGRES_INFORMATION_SCHEMA_TABLES: ReadonlySet<string> = new Set(['sql_features', 'sql_implementation_info', 'sql_parts', 'sql_sizing', 'sql_sizing_profiles', 'sql_languages', 'sql_packages']);

/**
 * Whether a PostgreSQL relation, as a statement names it, may be a system catalog relation.
 *
 * Unqualified, any name starting with `pg_` counts: pg_catalog is searched first when the
 * search_path does not name it, so an unqualified `pg_authid` is the catalog. A user table named
 * `pg_something` is then refused below `full` too, an over-refusal accepted for the rare table
 * named so.
 */
export function isPostgresSystemRelation(schema: string | undefined, relname: string): boolean {
  if (schema === undefined) {
    const name = relname.toLowerCase();
    return name.startsWith('pg_') || POSTGRES_INFORMATION_SCHEMA_TABLES.has(name);
  }
  const namespace = schema.toLowerCase();
  if (namespace === 'information_schema') return true;
  return namespace.startsWith('pg_') && !isPostgresOwnTemporarySchema(namespace);
}

/** MySQL and MariaDB's system databases (MySQL's schemas are databases). */
const MYSQL_SYSTEM_DATABASES: ReadonlySet<string> = new Set(['mysql', 'information_schema', 'performance_schema', 'sys']);

/** Whether a database name is one of MySQL/MariaDB's system databases. */
export function isMysqlSystemDatabase(database: string): boolean {
  return MYSQL_SYSTEM_DATABASES.has(database.toLowerCase());
}
