/**
 * Warden's own account on the target may be a superuser (here it is: `postgres`), so the target
 * lets a Warden session change settings only a superuser may change: `SET log_statement = 'none'`
 * silences the target's statement log, `allow_system_table_mods` opens the system catalogs to
 * writes. Below `full` access a client may change only settings whose context in the target's
 * own pg_settings is `user`. These tests, against the machine's PostgreSQL through the real
 * gateway, show each spelling refused with the setting unchanged on the same target session, the
 * settings real clients send still working, and full access still allowed.
 */
import { Client } from 'pg';
import { psql } from './harness';
import { ACCESS_GROUPS, type Access, withClientAt } from './postgres-access-levels';
import { postgresGatewayFixture } from './postgres-gateway-fixture';

const fixture = postgresGatewayFixture({
  prepare: async () => {
    // Its first call in a session loads PL/pgSQL, whose settings then take over placeholders set before.
    await fixture.queryAsSuperuser(`CREATE FUNCTION plpgsql_probe() RETURNS int LANGUAGE plpgsql VOLATILE AS $$ BEGIN RETURN 1; END $$`);
  },
});

function withClient(access: Access, use: (client: Client) => Promise<void>): Promise<void> {
  return withClientAt(fixture.gateway, access, use);
}

async function show(client: Client, setting: string): Promise<string> {
  return (await client.query<{ value: string }>('SELECT current_setting($1) AS value', [setting])).rows[0]!.value;
}

/** What the target says of `setting` to a session of its own, not through Warden. */
async function targetDefault(setting: string): Promise<string> {
  return (await fixture.queryAsSuperuser<{ value: string }>(`SELECT current_setting('${setting}') AS value`))[0]!.value;
}

// [statement, the setting it would change]
const SUPERUSER_ONLY: ReadonlyArray<readonly [sql: string, setting: string]> = [
  ["SET log_statement = 'none'", 'log_statement'],
  ["SET SESSION Log_Statement TO 'none'", 'log_statement'],
  ["SELECT set_config('log_statement', 'none', false)", 'log_statement'],
  ["SELECT pg_catalog.set_config('log_min_error_statement', 'panic', false)", 'log_min_error_statement'],
  ['SET log_min_duration_statement = -1', 'log_min_duration_statement'],
  ['SET log_parameter_max_length = 0', 'log_parameter_max_length'],
  ['SET allow_system_table_mods = on', 'allow_system_table_mods'],
  ['SET zero_damaged_pages = on', 'zero_damaged_pages'],
  ['SET lo_compat_privileges = on', 'lo_compat_privileges'],
  ["SET dynamic_library_path = '/tmp'", 'dynamic_library_path'],
  ["SET session_preload_libraries = 'auto_explain'", 'session_preload_libraries'],
  ['SET session_replication_role = replica', 'session_replication_role'],
  ['RESET log_statement', 'log_statement'],
  ["SELECT 1; SET log_statement = 'none'", 'log_statement'],
];

describe.each(['read-only', 'read-write'] as const)('%s access: settings only a superuser may change', (access) => {
  it.each(SUPERUSER_ONLY)('refuses %j with 42501, and the target session keeps its setting (superuser-setting bypass)', async (sql, setting) => {
    const before = await targetDefault(setting);
    await withClient(access, async (client) => {
      await expect(client.query(sql)).rejects.toMatchObject({ code: '42501', message: expect.stringContaining(`${access} access does not allow admin statements`) });
      expect(await show(client, setting)).toBe(before);
    });
  });

  it('refuses SET LOCAL inside a transaction, and the setting stays as it was there too (superuser-setting bypass)', async () => {
    const before = await targetDefault('log_statement');
    await withClient(access, async (client) => {
      await client.query('BEGIN');
      await expect(client.query("SET LOCAL log_statement = 'none'")).rejects.toMatchObject({ code: '42501' });
      await client.query('ROLLBACK');
      await client.query('BEGIN');
      expect(await show(client, 'log_statement')).toBe(before);
      await client.query('COMMIT');
    });
  });

  it('refuses set_config of a superuser-only setting with its value as a parameter of the extended protocol (superuser-setting bypass)', async () => {
    const before = await targetDefault('log_statement');
    await withClient(access, async (client) => {
      await expect(client.query("SELECT set_config('log_statement', $1, false)", ['none'])).rejects.toMatchObject({ code: '42501' });
      expect(await show(client, 'log_statement')).toBe(before);
    });
  });

  it('refuses a setting the target does not have, as a statement it cannot classify (unknown-setting bypass)', async () => {
    await withClient(access, async (client) => {
      await expect(client.query("SET no_such_setting = 'x'")).rejects.toMatchObject({
        code: '42501',
        message: "Warden: Warden could not classify the statement (changes no_such_setting, which is not a setting of the target); it is refused",
      });
      expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    });
  });

  it('refuses a placeholder under the name of a module the session may load later, which would take it over with Warden’s rights (placeholder takeover bypass)', async () => {
    await withClient(access, async (client) => {
      await expect(client.query("SET plpgsql.variable_conflict = 'use_column'")).rejects.toMatchObject({
        code: '42501',
        message: "Warden: Warden could not classify the statement (changes plpgsql.variable_conflict, a setting of plpgsql, which is not loaded where Warden reads the target's settings: who may change it is unknown); it is refused",
      });
      if (access === 'read-write') {
        // Loads PL/pgSQL in the target session: its superuser-only setting keeps its default.
        await client.query('SELECT plpgsql_probe()');
        expect(await show(client, 'plpgsql.variable_conflict')).toBe('error');
      }
    });
  });

  it('lets through the user settings psql, pg_dump and node-postgres send, and custom settings', async () => {
    await withClient(access, async (client) => {
      await client.query('SET client_min_messages = warning');
      await client.query('SET statement_timeout = 0');
      await client.query("SET search_path = public, pg_catalog");
      await client.query("SET TIME ZONE 'UTC'");
      await client.query("SET application_name = 'settings-e2e'");
      await client.query('SET extra_float_digits = 3');
      await client.query('SET DateStyle = ISO');
      await client.query('SET intervalstyle = postgres');
      // pg_dump turns row-level security off so that a dump never silently misses rows.
      await client.query('SET row_security = off');
      await client.query("SELECT set_config(name, 'public', false) FROM pg_settings WHERE name = 'search_path'");
      await client.query("SET myapp.tenant = '42'");
      await client.query("SELECT set_config('myapp.region', 'eu', false)");
      const values = await client.query<Record<string, string>>(
        "SELECT current_setting('client_min_messages') AS a, current_setting('TimeZone') AS b, current_setting('DateStyle') AS c, current_setting('row_security') AS d, " +
          "current_setting('search_path') AS e, current_setting('myapp.tenant') AS f, current_setting('myapp.region') AS g",
      );
      expect(values.rows[0]).toEqual({ a: 'warning', b: 'UTC', c: 'ISO, MDY', d: 'off', e: 'public', f: '42', g: 'eu' });
    });
  });

  it('refuses it through psql, whose next command sees the original setting', async () => {
    const before = await targetDefault('log_statement');
    const token = await fixture.gateway.token(`psql-${access}`, [...ACCESS_GROUPS[access]]);
    const result = await psql(fixture.gateway, token, ['-At', '-c', "SET log_statement = 'none'", '-c', 'SHOW log_statement'], { user: `psql-${access}` });
    expect(result.stderr).toContain(`${access} access does not allow admin statements`);
    expect(result.stdout.trim()).toBe(before);
  });
});

describe('full access', () => {
  it('may change a superuser-only setting, audited as an admin statement', async () => {
    await withClient('full', async (client) => {
      await client.query("SET log_statement = 'none'");
      expect(await show(client, 'log_statement')).toBe('none');
      await client.query('SET allow_system_table_mods = on');
      expect(await show(client, 'allow_system_table_mods')).toBe('on');
    });
    const records = await fixture.gateway.auditRecords();
    const command = records.findLast((record) => record.type === 'command' && record.text === "SET log_statement = 'none'");
    expect(command).toMatchObject({ classification: { action: 'admin' }, decision: { effect: 'allow' } });
  });

  it('may set a placeholder of a module not loaded yet, which the module takes over when the session loads it', async () => {
    await withClient('full', async (client) => {
      await client.query("SET plpgsql.variable_conflict = 'use_column'");
      await client.query('SELECT plpgsql_probe()');
      expect(await show(client, 'plpgsql.variable_conflict')).toBe('use_column');
    });
  });
});
