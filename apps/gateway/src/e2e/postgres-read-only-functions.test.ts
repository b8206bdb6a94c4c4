/**
 * Under a read-only grant a SELECT may call only functions the target's own catalog says cannot
 * write (IMMUTABLE or STABLE, or a short reviewed list of volatile reads). PostgreSQL's read-only
 * transactions let some writes through (advisory locks, statistics resets, replication origins,
 * logical messages), so without this a `SELECT` of them was a read. Real gateway, real PostgreSQL,
 * real psql and pg_dump; effects are checked on the target.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { psql, run } from './harness';
import { postgresGatewayFixture } from './postgres-gateway-fixture';
import { cstring, errorMessage, frontendMessage, int32, openRawSession } from './postgres-raw-session';

let largeObject: number;

const fixture = postgresGatewayFixture({
  prepare: async () => {
    const [created] = await fixture.queryAsSuperuser<{ oid: number }>(`SELECT lo_from_bytea(0, 'original') AS oid`);
    largeObject = created!.oid;
    await fixture.queryAsSuperuser(`
      CREATE FUNCTION stable_helper(x int) RETURNS int LANGUAGE sql STABLE AS $$ SELECT x + 1 $$;
      CREATE FUNCTION locking_helper() RETURNS int LANGUAGE sql VOLATILE AS $$ SELECT pg_advisory_lock(77); SELECT 1 $$;
      CREATE FUNCTION row_locker(r anyelement) RETURNS int LANGUAGE sql VOLATILE AS $$ SELECT pg_advisory_lock(78); SELECT 1 $$;
      CREATE FUNCTION locking_sum(int, int) RETURNS int LANGUAGE sql VOLATILE AS $$ SELECT pg_advisory_lock(79); SELECT coalesce($1, 0) + $2 $$;
      CREATE AGGREGATE locking_agg(int) (sfunc = locking_sum, stype = int);
      SELECT pg_stat_reset();
    `);
  },
});

async function connect(groups: string[], subject: string): Promise<Client> {
  const client = new Client({ host: '127.0.0.1', port: fixture.gateway.port, user: subject, database: 'clinic', password: await fixture.gateway.token(subject, groups) });
  await client.connect();
  return client;
}

async function readOnly<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const client = await connect(['coding-agents'], 'agent-functions');
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

async function targetState() {
  const [state] = await fixture.queryAsSuperuser<{ objects: number; content: string; origins: number; collations: number; advisory: number; statsReset: string | null; scans: string }>(`
    SELECT (SELECT count(*)::int FROM pg_largeobject_metadata) AS objects,
           convert_from(lo_get(${largeObject}), 'UTF8') AS content,
           (SELECT count(*)::int FROM pg_replication_origin) AS origins,
           (SELECT count(*)::int FROM pg_collation) AS collations,
           (SELECT count(*)::int FROM pg_locks WHERE locktype = 'advisory') AS advisory,
           (SELECT stats_reset::text FROM pg_stat_database WHERE datname = current_database()) AS "statsReset",
           (SELECT coalesce(seq_scan, 0)::text FROM pg_stat_user_tables WHERE relname = 'patients') AS scans`);
  return state!;
}

describe('read-only grant: functions that write are refused, the target is unchanged', () => {
  const writes: ReadonlyArray<readonly [sql: string, reason: RegExp]> = [
    ["SELECT lo_from_bytea(0, 'x')", /write statements/],
    ['SELECT lo_create(0)', /write statements/],
    ["SELECT lo_put(%LO%, 0, 'changed')", /write statements/],
    ["SELECT lowrite(lo_open(%LO%, 131072), 'changed')", /write statements/],
    ["SELECT lo_import('/etc/hostname')", /admin statements/],
    ['SELECT lo_unlink(%LO%)', /write statements/],
    ["SELECT pg_replication_origin_create('warden_e2e_origin')", /write statements/],
    ["SELECT pg_import_system_collations('pg_catalog')", /write statements/],
    ['SELECT pg_stat_reset()', /write statements/],
    ["SELECT pg_stat_reset_single_table_counters('patients'::regclass)", /write statements/],
    ['SELECT pg_advisory_lock(42)', /write statements/],
    ['SELECT pg_try_advisory_lock(42)', /write statements/],
    ['SELECT pg_catalog.pg_advisory_lock_shared(42)', /write statements/],
    ["SELECT pg_logical_emit_message(true, 'warden', 'x')", /write statements/],
    ['SELECT txid_current()', /write statements/],
    // Not on any list by name: the catalog says it is volatile.
    ['SELECT locking_helper()', /write statements/],
    ['SELECT * FROM patients WHERE id = (SELECT locking_helper())', /write statements/],
    ['WITH x AS (SELECT locking_helper()) SELECT * FROM x', /write statements/],
    // Functional notation: p.row_locker is row_locker(p), with no parentheses to see.
    ['SELECT p.row_locker FROM patients p WHERE p.id = 1', /write statements/],
    ['SELECT (p).row_locker FROM patients p WHERE id = 1', /write statements/],
    // An aggregate is marked immutable whatever its transition function does.
    ['SELECT locking_agg(id) FROM patients', /write statements/],
  ];

  it.each(writes)('refuses %j (volatile-function-read bypass)', async (template, reason) => {
    const before = await targetState();
    // The scan counter moves with any read of patients by anyone: compared apart.
    const sql = template.replace(/%LO%/g, String(largeObject));
    await readOnly(async (client) => {
      await expect(client.query(sql)).rejects.toMatchObject({ code: '42501', message: expect.stringMatching(reason) });
      // The session goes on: a read after the refusal works.
      expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    });
    const after = await targetState();
    expect({ ...after, scans: undefined }).toEqual({ ...before, scans: undefined });
    expect(after.content).toBe('original');
    expect(after.advisory).toBe(0);
  });

  it('names the volatile function in the audit record', async () => {
    await readOnly((client) => client.query('SELECT locking_helper()').catch(() => undefined));
    const records = await fixture.gateway.auditRecords();
    const command = records.findLast((record) => record.type === 'command' && record.text === 'SELECT locking_helper()');
    expect(command).toMatchObject({ classification: { action: 'write', statements: [{ action: 'write', note: 'calls volatile function public.locking_helper' }] }, decision: { effect: 'block' } });
  });

  it('judges fast-path calls by the function their OID names: \\lo_export reads, \\lo_import is refused (fast-path write bypass)', async () => {
    const token = await fixture.gateway.token('agent-fast-path', ['coding-agents']);
    const before = await targetState();
    const result = await psql(fixture.gateway, token, ['-c', '\\lo_import /etc/hostname'], { user: 'agent-fast-path' });
    expect(result.stderr).toMatch(/Warden: read-only access does not allow write statements/);
    expect((await targetState()).objects).toBe(before.objects);
    const directory = await mkdtemp(path.join(tmpdir(), 'warden-lo-'));
    try {
      const file = path.join(directory, 'exported');
      const exported = await psql(fixture.gateway, token, ['-c', `\\lo_export ${largeObject} ${file}`], { user: 'agent-fast-path' });
      expect(exported.stderr).toBe('');
      expect(await readFile(file, 'utf8')).toBe('original');
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});

/**
 * A minimal PostgreSQL client for the fast-path interface, which no client library here speaks:
 * StartupMessage, the token as PasswordMessage, then each step (a Query, or a FunctionCall with
 * binary arguments) after the previous ReadyForQuery. Returns, per step, the error message or
 * 'ok'. https://www.postgresql.org/docs/current/protocol-message-formats.html
 */
async function fastPath(user: string, token: string, steps: ReadonlyArray<{ query: string } | { oid: number; args: Buffer[] }>): Promise<string[]> {
  const int16 = (value: number): Buffer => Buffer.from([(value >> 8) & 0xff, value & 0xff]);
  const frame = (step: (typeof steps)[number]): Buffer =>
    'query' in step
      ? frontendMessage('Q', cstring(step.query))
      : frontendMessage('F', Buffer.concat([int32(step.oid), int16(1), int16(1), int16(step.args.length), ...step.args.flatMap((arg) => [int32(arg.length), arg]), int16(1)]));
  return new Promise((resolve, reject) => {
    const outcomes: string[] = [];
    let next = 0;
    let outcome = 'ok';
    const socket = openRawSession(fixture.gateway.port, { user, database: 'clinic' }, token, (code, body) => {
      if (code === 'E') outcome = errorMessage(body) ?? 'error';
      else if (code === 'Z') {
        if (next > 0) outcomes.push(outcome);
        outcome = 'ok';
        if (next === steps.length) {
          socket.end();
          resolve(outcomes);
          return;
        }
        socket.write(frame(steps[next++]!));
      }
    });
    socket.on('error', reject);
  });
}

describe('read-only grant: the fast-path interface', () => {
  it('opens and reads a large object, and refuses lowrite and lo_unlink by OID (fast-path write bypass)', async () => {
    const oids = Object.fromEntries(
      (await fixture.queryAsSuperuser<{ proname: string; oid: number }>(`SELECT proname, oid::int FROM pg_proc WHERE proname IN ('lo_open', 'loread', 'lowrite', 'lo_unlink') AND pronamespace = 'pg_catalog'::regnamespace`)).map((row) => [row.proname, row.oid]),
    );
    const oidArg = Buffer.alloc(4);
    oidArg.writeUInt32BE(largeObject, 0);
    const int4 = (value: number): Buffer => {
      const buffer = Buffer.alloc(4);
      buffer.writeInt32BE(value, 0);
      return buffer;
    };
    const INV_READ_WRITE = 0x20000 | 0x40000;
    const token = await fixture.gateway.token('agent-fast-path-raw', ['coding-agents']);
    const outcomes = await fastPath('agent-fast-path-raw', token, [
      { query: 'BEGIN' },
      { oid: oids['lo_open']!, args: [oidArg, int4(INV_READ_WRITE)] },
      { oid: oids['loread']!, args: [int4(0), int4(8)] },
      { oid: oids['lowrite']!, args: [int4(0), Buffer.from('changed')] },
      { query: 'ROLLBACK' },
      { oid: oids['lo_unlink']!, args: [oidArg] },
    ]);
    expect(outcomes).toEqual([
      'ok',
      'ok',
      'ok',
      'Warden: read-only access does not allow write statements',
      'ok',
      'Warden: read-only access does not allow write statements',
    ]);
    const state = await targetState();
    expect(state.content).toBe('original');
  });
});

describe('read-write grant: the fast-path interface', () => {
  it('refuses lo_import by OID, as the same call in SQL (fast-path server-file bypass)', async () => {
    const [row] = await fixture.queryAsSuperuser<{ oid: number }>(`SELECT 'pg_catalog.lo_import(text)'::regprocedure::oid::int AS oid`);
    const before = await targetState();
    const token = await fixture.gateway.token('nurse-fast-path', ['clinicians']);
    const outcomes = await fastPath('nurse-fast-path', token, [{ oid: row!.oid, args: [Buffer.from('/etc/hostname')] }]);
    expect(outcomes).toEqual(['Warden: read-write access does not allow admin statements']);
    expect((await targetState()).objects).toBe(before.objects);
  });
});

describe('read-only grant: reads that call functions still work', () => {
  it.each([
    ['SELECT now() IS NOT NULL AS ok', [{ ok: true }]],
    ["SELECT lower('ABC') AS v", [{ v: 'abc' }]],
    ['SELECT count(*)::int AS n FROM patients', [{ n: 50 }]],
    ["SELECT jsonb_build_object('a', 1) -> 'a' AS v", [{ v: 1 }]],
    ["SELECT jsonb_agg(id ORDER BY id) -> 0 AS v FROM patients WHERE id < 3", [{ v: 1 }]],
    ["SELECT to_char(date '2024-01-02', 'YYYY') AS v", [{ v: '2024' }]],
    ["SELECT upper(full_name) AS v FROM patients WHERE id BETWEEN 1 AND 1 AND full_name LIKE 'Patient%'", [{ v: 'PATIENT 1' }]],
    ['SELECT stable_helper(1) AS v', [{ v: 2 }]],
    ['SELECT p.full_name AS v, (p).id FROM patients p WHERE p.id = 1', [{ v: 'Patient 1', id: 1 }]],
    ['SELECT random() < 2 AS ok, clock_timestamp() IS NOT NULL AS t, gen_random_uuid() IS NOT NULL AS u', [{ ok: true, t: true, u: true }]],
    ["SELECT pg_relation_size('patients') > 0 AS ok, pg_is_in_recovery() AS recovery", [{ ok: true, recovery: false }]],
    ["SELECT current_setting('search_path') IS NOT NULL AS ok", [{ ok: true }]],
    ["SELECT pg_catalog.set_config('search_path', 'public', false) AS v", [{ v: 'public' }]],
    ['SELECT 1 OPERATOR(pg_catalog.+) 2 AS v', [{ v: 3 }]],
  ])('allows %j', async (sql, rows) => {
    await readOnly(async (client) => expect((await client.query(sql)).rows).toEqual(rows));
  });

  it("lets psql's catalog queries through (\\d, \\dt+, \\df, \\dn, \\l+)", async () => {
    const token = await fixture.gateway.token('agent-psql', ['coding-agents']);
    const result = await psql(fixture.gateway, token, ['-c', '\\d patients', '-c', '\\dt+', '-c', '\\df', '-c', '\\dn', '-c', '\\l+'], { user: 'agent-psql' });
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('Table "public.patients"');
    expect(result.stdout).toContain('stable_helper');
  });

  it('pg_dump works through Warden on a read-only grant (schema, data, custom format)', async () => {
    const token = await fixture.gateway.token('agent-dump', ['coding-agents']);
    const conninfo = `host=127.0.0.1 port=${fixture.gateway.port} user=agent-dump dbname=clinic sslmode=disable`;
    const env = { PGPASSWORD: token, PGCONNECT_TIMEOUT: '10' };
    const schema = await run('pg_dump', ['--schema-only', '-d', conninfo], { env });
    expect(schema.stderr).toBe('');
    expect(schema.code).toBe(0);
    expect(schema.stdout).toContain('CREATE TABLE public.patients');
    expect(schema.stdout).toContain('CREATE FUNCTION public.stable_helper');
    const data = await run('pg_dump', ['--data-only', '-t', 'patients', '-d', conninfo], { env });
    expect(data.code).toBe(0);
    expect(data.stdout).toContain('COPY public.patients');
    // With the large object: pg_dump reads it through the fast-path interface (lo_open, loread, lo_close by OID).
    const directory = await mkdtemp(path.join(tmpdir(), 'warden-dump-'));
    try {
      const file = path.join(directory, 'clinic.dump');
      const custom = await run('pg_dump', ['-Fc', '-f', file, '-d', conninfo], { env });
      expect(custom.stderr).toBe('');
      expect(custom.code).toBe(0);
      const listing = await run('pg_restore', ['--list', file]);
      expect(listing.stdout).toMatch(/TABLE DATA public patients/);
      expect(listing.stdout).toMatch(/BLOB(S| DATA)/);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});

describe('the catalog follows changes to functions', () => {
  it('knows a function created directly on the target after it was loaded (one reload)', async () => {
    await readOnly((client) => client.query('SELECT stable_helper(1)'));
    await fixture.queryAsSuperuser(`CREATE FUNCTION created_later() RETURNS int LANGUAGE sql STABLE AS $$ SELECT 7 $$`);
    await readOnly(async (client) => expect((await client.query('SELECT created_later() AS v')).rows).toEqual([{ v: 7 }]));
  });

  it('refuses a function the target does not have, saying so (fail closed)', async () => {
    await readOnly(async (client) => {
      await expect(client.query('SELECT no_such_function_anywhere(1)')).rejects.toMatchObject({
        code: '42501',
        message: expect.stringContaining("function no_such_function_anywhere, which the target's catalog does not hold"),
      });
    });
  });

  it('sees a function replaced through Warden at once (CREATE OR REPLACE … VOLATILE by a full grant)', async () => {
    const dba = await connect(['dba'], 'dba-functions');
    try {
      await dba.query(`CREATE FUNCTION replaced_later() RETURNS int LANGUAGE sql STABLE AS $$ SELECT 1 $$`);
      await readOnly(async (client) => expect((await client.query('SELECT replaced_later() AS v')).rows).toEqual([{ v: 1 }]));
      await dba.query(`CREATE OR REPLACE FUNCTION replaced_later() RETURNS int LANGUAGE sql VOLATILE AS $$ SELECT 2 $$`);
      await readOnly(async (client) => {
        await expect(client.query('SELECT replaced_later()')).rejects.toMatchObject({ code: '42501', message: expect.stringMatching(/write statements/) });
      });
      // Inside a transaction: visible to the catalog after COMMIT, and forgotten then.
      await dba.query('BEGIN');
      await dba.query(`CREATE OR REPLACE FUNCTION replaced_later() RETURNS int LANGUAGE sql STABLE AS $$ SELECT 3 $$`);
      await dba.query('COMMIT');
      await readOnly(async (client) => expect((await client.query('SELECT replaced_later() AS v')).rows).toEqual([{ v: 3 }]));
    } finally {
      await dba.end();
    }
  });
});
