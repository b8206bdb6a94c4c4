/**
 * Target errors and notices never carry values on a connection with masking: node-postgres and psql
 * through Warden to the machine's PostgreSQL, seeded with synthetic PHI. Each statement below makes
 * the target quote a masked value in an error (casts, constraint violations, JSON and XML input,
 * RAISE in a function); the client sees the SQLSTATE and the message's shape with the values
 * redacted, and no raw value reaches the audit log, a recording or the gateway's log. An identity
 * exempt from every column still sees the full error.
 */
import { createJsonLogger } from '@warden/core';
import { Client, type DatabaseError } from 'pg';
import { connectAs, PG, psql } from './harness';
import { errorMessage, frontendMessage, int32, openRawSession } from './postgres-raw-session';
import { postgresGatewayFixture } from './postgres-gateway-fixture';
import { errorRedactionGrants, errorRedactionMasking, PATIENTS } from './error-redaction-policy';
import { expectNoRawValueAtRest } from './raw-value-sweep';

const RAW_VALUES = PATIENTS.flatMap((p) => [p.ssn, p.ssn.replace(/-/g, ''), p.ssn.slice(3), p.dob, p.email, p.email.split('@')[0]!]);

const MASKING = errorRedactionMasking('clinic');
const GRANTS = errorRedactionGrants('clinic');

const logLines: string[] = [];

const fixture = postgresGatewayFixture({
  extraTopLevel: MASKING,
  grants: GRANTS,
  log: createJsonLogger((line) => logLines.push(line)),
  prepare: async () => {
    const seed = new Client({ ...PG, database: fixture.database.name });
    await seed.connect();
    await seed.query(`
    CREATE TABLE phi_patients (
      id int PRIMARY KEY, ssn text UNIQUE, dob date, email text NOT NULL,
      note text CHECK (note IS NULL OR note NOT LIKE '%@%')
    );
    CREATE TABLE visits (patient_ssn text REFERENCES phi_patients (ssn));
    CREATE FUNCTION say(value text) RETURNS text LANGUAGE plpgsql STABLE AS $$
      BEGIN RAISE NOTICE 'looked at %', value; RETURN 'ok'; END $$;
    CREATE FUNCTION complain(value text) RETURNS text LANGUAGE plpgsql STABLE AS $$
      BEGIN RAISE EXCEPTION 'bad value %', value USING DETAIL = 'it was ' || value, HINT = value; END $$;
    CREATE FUNCTION first_ssn() RETURNS text LANGUAGE sql STABLE AS $$ SELECT ssn FROM phi_patients WHERE id = 1 $$;
    CREATE FUNCTION "pg_catalog.first_ssn"() RETURNS text LANGUAGE sql STABLE AS $$ SELECT ssn FROM phi_patients WHERE id = 1 $$;
    CREATE FUNCTION tag_ssn() RETURNS bool LANGUAGE sql STABLE AS $$ SELECT set_config('application_name', ssn, false) IS NOT NULL FROM phi_patients WHERE id = 1 $$;`);
    for (const p of PATIENTS) await seed.query('INSERT INTO phi_patients (id, ssn, dob, email) VALUES ($1, $2, $3, $4)', [p.id, p.ssn, p.dob, p.email]);
    await seed.end();
  },
});

async function connect(subject: string, groups: string[]): Promise<Client> {
  return connectAs(fixture.gateway, subject, groups);
}

/** Every free-text field of an error as node-postgres exposes it. */
function errorText(error: DatabaseError): string {
  return [error.message, error.detail, error.hint, error.where, error.internalQuery, error.position, error.code].filter((part) => part !== undefined).join('\n');
}

function expectNoRawValue(text: string): void {
  for (const raw of RAW_VALUES) expect(text).not.toContain(raw);
}

async function failure(client: Client, sql: string): Promise<DatabaseError> {
  const error = (await client.query(sql).then(
    () => undefined,
    (e: unknown) => e,
  )) as DatabaseError | undefined;
  if (!error) throw new Error(`expected "${sql}" to fail`);
  return error;
}

/** Reads by a read-only identity: [leak name, statement, SQLSTATE, what the redacted message looks like]. */
const READ_LEAKS: ReadonlyArray<readonly [string, string, string, RegExp]> = [
  ['ssn-to-int cast', 'SELECT ssn::int FROM phi_patients WHERE id = 1', '22P02', /^invalid input syntax for type integer: "\[REDACTED\]"$/],
  ['ssn-to-numeric cast', 'SELECT ssn::numeric FROM phi_patients WHERE id = 1', '22P02', /^invalid input syntax for type numeric: "\[REDACTED\]"$/],
  ['ssn-to-uuid cast', 'SELECT ssn::uuid FROM phi_patients WHERE id = 1', '22P02', /^invalid input syntax for type uuid: "\[REDACTED\]"$/],
  ['ssn-to-bool cast', 'SELECT ssn::bool FROM phi_patients WHERE id = 1', '22P02', /^invalid input syntax for type boolean: "\[REDACTED\]"$/],
  ['ssn-to-json cast', `SELECT ('["' || ssn || '"')::json FROM phi_patients WHERE id = 1`, '22P02', /^invalid input syntax for type json$/],
  ['email-to-jsonb cast', `SELECT ('{"a":"' || email || '" x}')::jsonb FROM phi_patients WHERE id = 1`, '22P02', /^invalid input syntax for type json$/],
  ['email-to-date cast', 'SELECT email::date FROM phi_patients WHERE id = 1', '22007', /^invalid input syntax for type date: "\[REDACTED\]"$/],
  ['dob-text-to-int cast', 'SELECT dob::text::int FROM phi_patients WHERE id = 1', '22P02', /^invalid input syntax for type integer: "\[REDACTED\]"$/],
  ['dob-digits-to-smallint cast', "SELECT replace(dob::text, '-', '')::smallint FROM phi_patients WHERE id = 1", '22003', /^value "\[REDACTED\]" is out of range for type smallint$/],
  ['ssn-in-array-literal cast', "SELECT ('{' || ssn || '}')::int[] FROM phi_patients WHERE id = 1", '22P02', /^invalid input syntax for type integer: "\[REDACTED\]"$/],
  ['quote-splitting cast', `SELECT ('"' || ssn || '" x "')::int FROM phi_patients WHERE id = 1`, '22P02', /^invalid input syntax for type integer: "\[REDACTED\]"$/],
  ['ssn-digits-to-chr', "SELECT chr(replace(ssn, '-', '')::int) FROM phi_patients WHERE id = 1", '54000', /^requested character too large for encoding: \[REDACTED\]$/],
  ['ssn-to-xml', "SELECT ('<a>' || ssn)::xml FROM phi_patients WHERE id = 1", '2200N', /^invalid XML content$/],
  ['ssn-to-date by to_date', "SELECT to_date(ssn, 'YYYY-MM-DD') FROM phi_patients WHERE id = 1", '22008', /REDACTED/],
  ['ssn-to-regclass cast', 'SELECT ssn::regclass FROM phi_patients WHERE id = 1', '42P01', /^relation "\[REDACTED\]" does not exist$/],
  ['ssn-to-inet cast', 'SELECT ssn::inet FROM phi_patients WHERE id = 1', '22P02', /^invalid input syntax for type inet: "\[REDACTED\]"$/],
  ['ssn-to-interval cast', 'SELECT ssn::interval FROM phi_patients WHERE id = 1', '22015', /^interval field value out of range: "\[REDACTED\]"$/],
  ['ssn-to-money cast', 'SELECT ssn::money FROM phi_patients WHERE id = 1', '22P02', /^invalid input syntax for type money: "\[REDACTED\]"$/],
  ['ssn-to-point cast', 'SELECT ssn::point FROM phi_patients WHERE id = 1', '22P02', /^invalid input syntax for type point: "\[REDACTED\]"$/],
  ['ssn-to-timestamptz cast', 'SELECT ssn::timestamptz FROM phi_patients WHERE id = 1', '22008', /^date\/time field value out of range: "\[REDACTED\]"$/],
  ['ssn-to-varbit first digit', "SELECT ('b' || ssn)::varbit FROM phi_patients WHERE id = 1", '22P02', /^"\[REDACTED\]" is not a valid binary digit$/],
  ['ssn-in-range literal', "SELECT ('[' || ssn || ',)')::int4range FROM phi_patients WHERE id = 1", '22P02', /^invalid input syntax for type integer: "\[REDACTED\]"$/],
  ['ssn-to-tsquery', "SELECT to_tsquery(ssn || ' !!') FROM phi_patients WHERE id = 1", '42601', /^syntax error in tsquery: "\[REDACTED\]"$/],
  ['ssn-to-jsonpath', "SELECT (ssn || 'x')::jsonpath FROM phi_patients WHERE id = 1", '42601', /REDACTED/],
  ['email-as-setting-name', 'SELECT current_setting(email) FROM phi_patients WHERE id = 1', '42704', /^unrecognized configuration parameter "\[REDACTED\]"$/],
  ['cast in a COPY TO STDOUT', 'COPY (SELECT ssn::int FROM phi_patients WHERE id = 1) TO STDOUT', '22P02', /^invalid input syntax for type integer: "\[REDACTED\]"$/],
  ['division by a value', "SELECT 1 / (replace(ssn, '-', '')::int * 0) FROM phi_patients WHERE id = 1", '22012', /^division by zero$/],
  ['raise-exception text', 'SELECT complain(ssn) FROM phi_patients WHERE id = 1', 'P0001', /^\[REDACTED\]$/],
];

describe('target errors on a connection with masking', () => {
  it.each(READ_LEAKS)('redacts the value a %s error quotes', async (_leak, sql, code, shape) => {
    const client = await connect('agent-1', ['coding-agents']);
    try {
      const error = await failure(client, sql);
      expect(error.code).toBe(code);
      expect(error.message).toMatch(shape);
      expectNoRawValue(errorText(error));
    } finally {
      await client.end();
    }
  });

  it('redacts the value a cast error quotes in the extended protocol and at a cursor FETCH (prepared and cursor cast leaks)', async () => {
    const client = await connect('agent-1', ['coding-agents']);
    try {
      const prepared = await client.query('SELECT ssn::int FROM phi_patients WHERE id = $1', [2]).then(
        () => undefined,
        (e: unknown) => e as DatabaseError,
      );
      expect(prepared?.message).toBe('invalid input syntax for type integer: "[REDACTED]"');
      await client.query('BEGIN');
      await client.query('DECLARE leak CURSOR FOR SELECT dob::text::int FROM phi_patients');
      const fetched = await failure(client, 'FETCH 1 FROM leak');
      expect(fetched.message).toBe('invalid input syntax for type integer: "[REDACTED]"');
      await client.query('ROLLBACK');
      expectNoRawValue(`${errorText(prepared!)}\n${errorText(fetched)}`);
    } finally {
      await client.end();
    }
  });

  it('redacts the value in a RAISE NOTICE of a function (raise-notice leak)', async () => {
    const client = await connect('agent-1', ['coding-agents']);
    const notices: string[] = [];
    client.on('notice', (notice) => notices.push(errorText(notice as DatabaseError)));
    try {
      const result = await client.query('SELECT say(ssn) FROM phi_patients WHERE id = 1');
      expect(result.rows).toHaveLength(1);
      expect(notices).toHaveLength(1);
      expect(notices[0]).toContain('[REDACTED]');
      expectNoRawValue(notices.join('\n'));
    } finally {
      await client.end();
    }
  });

  it('redacts the value psql prints for a cast error (psql cast leak)', async () => {
    const result = await psql(fixture.gateway, await fixture.gateway.token('agent-1', ['coding-agents']), ['-v', 'VERBOSITY=verbose', '-c', 'SELECT ssn::int FROM phi_patients WHERE id = 2']);
    expect(result.stderr).toContain('ERROR:  22P02: invalid input syntax for type integer: "[REDACTED]"');
    expectNoRawValue(result.stderr + result.stdout);
  });

  /** Writes by a read-write identity exempt from one column only: [leak name, statement, SQLSTATE, detail shape]. */
  const WRITE_LEAKS: ReadonlyArray<readonly [string, string, string, RegExp]> = [
    ['duplicate-key detail', `INSERT INTO phi_patients (id, ssn, email) VALUES (100, '${PATIENTS[0]!.ssn}', 'x')`, '23505', /^Key \(ssn\)=\(\[REDACTED\]\) already exists\.$/],
    ['check-constraint failing-row detail', "UPDATE phi_patients SET note = 'a@b' WHERE id = 1", '23514', /^Failing row contains \(\[REDACTED\]\)\.$/],
    ['not-null failing-row detail', 'UPDATE phi_patients SET email = NULL WHERE id = 2', '23502', /^Failing row contains \(\[REDACTED\]\)\.$/],
    ['foreign-key detail', `INSERT INTO visits VALUES ('${PATIENTS[0]!.ssn}x')`, '23503', /^Key \(patient_ssn\)=\(\[REDACTED\]\) is not present in table "\[REDACTED\]"\.$/],
  ];
  // Written with constants: copying a masked column into a table is refused before it reaches the
  // target (postgres-masking-copies.test.ts); the failing-row details still quote the stored row.

  it.each(WRITE_LEAKS)('redacts the values of a %s', async (_leak, sql, code, detail) => {
    const client = await connect('nurse-1', ['clinicians']);
    try {
      const error = await failure(client, sql);
      expect(error.code).toBe(code);
      expect(error.detail).toMatch(detail);
      expectNoRawValue(errorText(error));
    } finally {
      await client.end();
    }
    // The statement failed on the target: nothing changed.
    const direct = new Client({ ...PG, database: fixture.database.name });
    await direct.connect();
    try {
      expect((await direct.query('SELECT count(*)::int AS n, count(note)::int AS notes FROM phi_patients')).rows).toEqual([{ n: 2, notes: 0 }]);
      expect((await direct.query('SELECT count(*)::int AS n FROM visits')).rows).toEqual([{ n: 0 }]);
    } finally {
      await direct.end();
    }
  });

  it('redacts the payload of a notification a masked value was sent in (pg_notify payload leak)', async () => {
    const client = await connect('nurse-1', ['clinicians']);
    // A listener on the target itself: proof that the target did send the raw value.
    const direct = new Client({ ...PG, database: fixture.database.name });
    await direct.connect();
    const received: string[] = [];
    const seenOnTarget: string[] = [];
    client.on('notification', (n) => received.push(`${n.channel}:${n.payload ?? ''}`));
    direct.on('notification', (n) => seenOnTarget.push(n.payload ?? ''));
    try {
      await direct.query('LISTEN leak');
      await client.query('LISTEN leak');
      await client.query("SELECT pg_notify('leak', ssn) FROM phi_patients WHERE id = 1");
      await client.query("SELECT pg_notify('leak', '')");
      for (let i = 0; i < 100 && (received.length < 2 || seenOnTarget.length < 2); i++) await direct.query('SELECT 1');
      expect(seenOnTarget).toEqual([PATIENTS[0]!.ssn, '']);
      expect(received).toEqual(['leak:[REDACTED]', 'leak:']);
    } finally {
      await client.end();
      await direct.end();
    }
  });

  it('withholds the value of a fast-path call of a function that reads a masked column (fast-path function leak)', async () => {
    const oids = await fixture.queryAsSuperuser<{ own: number; builtin: number }>("SELECT 'first_ssn'::regproc::oid::int AS own, 'pg_catalog.version'::regproc::oid::int AS builtin");
    const token = await fixture.gateway.token('agent-1', ['coding-agents']);
    // FunctionCall: 'F' | int32 len | int32 OID | int16 0 argument formats | int16 0 arguments | int16 0 text result
    const call = (oid: number): Buffer => frontendMessage('F', Buffer.concat([int32(oid), Buffer.alloc(6)]));
    const answers: Array<{ value?: string; error?: string }> = [];
    const calls = [oids[0]!.own, oids[0]!.builtin];
    await new Promise<void>((resolve, reject) => {
      const socket = openRawSession(fixture.gateway.port, { user: 'agent-1', database: 'clinic' }, token, (code, body) => {
        if (code === 'V') answers.push({ value: body.subarray(4).toString('utf8') });
        else if (code === 'E') answers.push({ error: errorMessage(body) ?? '' });
        else if (code === 'Z') {
          const next = calls.shift();
          if (next === undefined) {
            socket.end();
            resolve();
          } else socket.write(call(next));
        }
      });
      socket.on('error', reject);
    });
    expect(answers).toHaveLength(2);
    expect(answers[0]!.error).toMatch(/^Warden: the result was withheld because the fast-path call of function "public\.first_ssn"/);
    expect(answers[1]!.value).toMatch(/^PostgreSQL /);
    expectNoRawValue(JSON.stringify(answers));
  });

  it('withholds a function whose quoted name reads as pg_catalog-qualified (dotted-function-name leak)', async () => {
    const client = await connect('agent-1', ['coding-agents']);
    try {
      for (const sql of ['SELECT "pg_catalog.first_ssn"()', 'SELECT x FROM "pg_catalog.first_ssn"() x']) {
        const error = await failure(client, sql);
        expect(error.message).toMatch(/^Warden: the result was withheld because result column "(pg_catalog\.first_ssn|x)" is computed from something Warden cannot trace/);
        expectNoRawValue(errorText(error));
      }
    } finally {
      await client.end();
    }
  });

  it('redacts a setting a function set from a masked column in the ParameterStatus the target reports (application_name ParameterStatus leak)', async () => {
    const client = await connect('agent-1', ['coding-agents']);
    const reported: string[] = [];
    // node-postgres keeps ParameterStatus to itself: its connection emits each one.
    const connection = (client as unknown as { connection: { on(event: 'parameterStatus', listener: (m: { parameterName: string; parameterValue: string }) => void): void } }).connection;
    connection.on('parameterStatus', (m) => reported.push(`${m.parameterName}=${m.parameterValue}`));
    try {
      expect((await client.query('SELECT 1 AS one WHERE tag_ssn()')).rows).toEqual([{ one: 1 }]);
      // The target did take the value: its session shows it.
      const onTarget = await fixture.queryAsSuperuser<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = '${PATIENTS[0]!.ssn}'`);
      expect(onTarget).toEqual([{ n: 1 }]);
      expect(reported).toEqual(['application_name=[REDACTED]']);
    } finally {
      await client.end();
    }
  });

  it('gives an identity exempt from every column the full error (exempt identity)', async () => {
    const client = await connect('admin-1', ['phi-admins']);
    try {
      const cast = await failure(client, 'SELECT ssn::int FROM phi_patients WHERE id = 1');
      expect(cast.message).toBe(`invalid input syntax for type integer: "${PATIENTS[0]!.ssn}"`);
      const duplicate = await failure(client, 'INSERT INTO phi_patients (id, ssn, email) SELECT 100, ssn, email FROM phi_patients WHERE id = 2');
      expect(duplicate.detail).toBe(`Key (ssn)=(${PATIENTS[1]!.ssn}) already exists.`);
      const notices: string[] = [];
      client.on('notice', (notice) => notices.push(notice.message ?? ''));
      await client.query('SELECT say(ssn) FROM phi_patients WHERE id = 1');
      expect(notices).toEqual([`looked at ${PATIENTS[0]!.ssn}`]);
    } finally {
      await client.end();
    }
  });

  it('keeps the values target errors quote out of the audit log, the recordings and the gateway log', async () => {
    const records = await fixture.gateway.auditRecords();
    const results = records.filter((record) => record.type === 'result' && JSON.stringify(record).includes('"error"'));
    expect(results.length).toBeGreaterThanOrEqual(READ_LEAKS.length);
    expect(JSON.stringify(results)).toContain('invalid input syntax for type integer: \\"[REDACTED]\\"');
    await expectNoRawValueAtRest(fixture.gateway.dataDir, logLines, RAW_VALUES);
  });
});
