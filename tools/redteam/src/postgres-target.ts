/**
 * The Postgres target the attacks aim at: a private server (so its log is ours alone) that logs
 * every statement, Warden connecting as a superuser (so whatever is refused was refused by Warden,
 * not by the target's privileges), and canary data whose change proves an attack worked.
 */
import { Client } from 'pg';
import { startPrivatePostgres, type PrivatePostgres, type ServerLogEntry } from '@warden/testing';

export const TARGET_DATABASE = 'clinic';
export const TARGET_USER = { name: 'warden', password: 'warden-target-password' } as const;

/** The canary state; every attack checks it is still exactly this afterwards. */
export interface PostgresCanaryState {
  readonly patients: string;
  readonly canary: string;
  readonly largeObjects: number;
  readonly sequence: number;
  readonly roles: string;
  readonly tables: string;
  readonly functions: string;
  readonly settings: string;
  /** Replication origins and slots, prepared (two-phase) transactions, statistics resets, schemas: state that outlives a session. */
  readonly durableState: string;
}

export interface PostgresTarget {
  readonly server: PrivatePostgres;
  /** Runs SQL as the server's superuser in the target database, outside Warden. */
  admin(sql: string): Promise<string>;
  canaryState(): Promise<PostgresCanaryState>;
  /** Makes the canary schema and large objects anew, after an attack that changed them. */
  resetCanary(): Promise<void>;
  /** Every log entry the server wrote so far (complete up to the call). */
  statementLog(): Promise<ServerLogEntry[]>;
  stop(): Promise<void>;
}

const SCHEMA = `
CREATE TABLE patients (id int PRIMARY KEY, full_name text NOT NULL, ssn text NOT NULL, email text NOT NULL, dob date NOT NULL);
INSERT INTO patients SELECT i, 'Patient ' || i, '900-55-' || lpad(i::text, 4, '0'), 'patient' || i || '@example.org', DATE '1970-01-01' + i FROM generate_series(1, 20) AS i;
CREATE TABLE canary (id int PRIMARY KEY, word text NOT NULL);
INSERT INTO canary VALUES (1, 'untouched');
CREATE SEQUENCE canary_seq;
CREATE TABLE notes (id serial PRIMARY KEY, body text);
CREATE VIEW patient_names AS SELECT id, full_name FROM patients;
CREATE FUNCTION touch_canary() RETURNS int LANGUAGE sql AS $$ UPDATE canary SET word = 'touched' RETURNING id $$;
CREATE FUNCTION harmless(n int) RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT n + 1 $$;
CREATE PROCEDURE wipe_canary() LANGUAGE sql AS $$ DELETE FROM canary $$;
-- A view whose reading runs a function that writes: the function is not in the statement's text.
CREATE VIEW touching AS SELECT touch_canary() AS touched;
CREATE VIEW over_touching AS SELECT touched FROM touching;
-- A function that shadows a built-in once public comes before pg_catalog in the search_path.
CREATE FUNCTION public.upper(text) RETURNS text LANGUAGE sql AS $$ UPDATE canary SET word = 'shadowed' RETURNING word $$;
ANALYZE;
`;

const CANARY_QUERY = `SELECT
  (SELECT md5(string_agg(p::text, ',' ORDER BY id)) FROM patients p) AS patients,
  (SELECT string_agg(c::text, ',' ORDER BY id) FROM canary c) AS canary,
  (SELECT count(*) FROM pg_largeobject_metadata) AS "largeObjects",
  (SELECT last_value FROM canary_seq) AS sequence,
  (SELECT string_agg(rolname || ':' || rolsuper || rolcanlogin, ',' ORDER BY rolname) FROM pg_roles) AS roles,
  (SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class WHERE relnamespace = 'public'::regnamespace) AS tables,
  (SELECT string_agg(proname || ':' || md5(prosrc), ',' ORDER BY proname) FROM pg_proc WHERE pronamespace = 'public'::regnamespace) AS functions,
  -- Settings stored for a database or role outlive the session that set them.
  (SELECT coalesce(string_agg(array_to_string(setconfig, ';'), ',' ORDER BY setdatabase, setrole), '') FROM pg_db_role_setting) AS settings,
  (SELECT count(*) FROM pg_replication_origin) || ':' || (SELECT count(*) FROM pg_prepared_xacts) || ':' || (SELECT count(*) FROM pg_replication_slots)
    || ':' || coalesce((SELECT stats_reset::text FROM pg_stat_database WHERE datname = current_database()), '-') || ':' || (SELECT count(*) FROM pg_namespace WHERE nspname !~ '^pg_(toast_)?temp_') AS "durableState"`;

export async function startPostgresTarget(): Promise<PostgresTarget> {
  const server = await startPrivatePostgres({ users: [{ name: TARGET_USER.name, password: TARGET_USER.password, method: 'scram-sha-256' }], logStatements: true });
  try {
    await server.adminQuery(`ALTER ROLE ${TARGET_USER.name} SUPERUSER; CREATE DATABASE ${TARGET_DATABASE};`);
    const admin = (sql: string) => server.adminQuery(`\\connect ${TARGET_DATABASE}\n${sql}`);
    await admin(SCHEMA);
    // Straight to the target, not through Warden: how the attacks are judged.
    const inspector = new Client({ host: server.host, port: server.port, user: TARGET_USER.name, password: TARGET_USER.password, database: TARGET_DATABASE, application_name: 'redteam-inspector' });
    await inspector.connect();
    return {
      server,
      admin,
      canaryState: async () => {
        const { rows } = await inspector.query<Record<keyof PostgresCanaryState, string>>(CANARY_QUERY);
        const row = rows[0]!;
        return { ...row, largeObjects: Number(row.largeObjects), sequence: Number(row.sequence) };
      },
      resetCanary: async () => {
        await admin(
          `DROP SCHEMA public CASCADE; CREATE SCHEMA public; SELECT lo_unlink(oid) FROM pg_largeobject_metadata; DELETE FROM pg_db_role_setting;
           UPDATE pg_authid SET rolsuper = false, rolcanlogin = false WHERE rolname LIKE 'pg\\_%'; ${SCHEMA}`,
        );
      },
      statementLog: () => server.statementLog(),
      stop: async () => {
        await inspector.end().catch(() => undefined);
        await server.stop();
      },
    };
  } catch (error) {
    await server.stop();
    throw error;
  }
}
