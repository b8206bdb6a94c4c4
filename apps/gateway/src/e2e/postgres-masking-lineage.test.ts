/**
 * Masking of computed result columns by lineage, end to end: psql and node-postgres (text and
 * binary results) through Warden to the machine's PostgreSQL. An expression, function, cast,
 * aggregate, subquery, set operation or whole-row reference over a masked column goes out masked
 * as a whole. No content detector is configured, so nothing but lineage can catch these.
 */
import { createHash } from 'node:crypto';
import { Client } from 'pg';
import { connectAs, PG, psql } from './harness';
import { postgresGatewayFixture } from './postgres-gateway-fixture';

const SSN = '219-47-8831';
const EMAIL = 'marisol.quintero@mailbox.example';
const DOB = '1958-07-23';

/** Every form of the seeded PHI a transform could print: none may reach the client. */
const RAW_FORMS = [
  SSN,
  SSN.replace(/-/g, ''),
  [...SSN].reverse().join(''),
  Buffer.from(SSN).toString('base64'),
  Buffer.from(SSN).toString('hex'),
  createHash('md5').update(SSN).digest('hex'),
  '219',
  EMAIL,
  EMAIL.toUpperCase(),
  'marisol.quintero',
  DOB,
  DOB.replace(/-/g, ''),
  '07-23',
  '1958',
];

const MASKING = `
masking:
  - connection: clinic
    columns:
      lin_patients.ssn: redact
      lin_patients.email: partial
      lin_patients.dob: year-only
    exempt:
      - { groups: [clinicians], columns: [lin_patients.*] }
      - { groups: [dba], columns: ["*.*"] }
`;

/** Statements over lin_patients row 1, each reading a masked column through something that is not a plain reference. */
const TRANSFORMS = [
  "SELECT replace(ssn, '-', '') FROM lin_patients WHERE id = 1",
  "SELECT ssn || '' FROM lin_patients WHERE id = 1",
  'SELECT substr(ssn, 1, 11) FROM lin_patients WHERE id = 1',
  'SELECT ssn::text FROM lin_patients WHERE id = 1',
  'SELECT ssn::varchar(20) FROM lin_patients WHERE id = 1',
  'SELECT upper(ssn) FROM lin_patients WHERE id = 1',
  'SELECT lower(email) FROM lin_patients WHERE id = 1',
  'SELECT reverse(ssn) FROM lin_patients WHERE id = 1',
  'SELECT md5(ssn) FROM lin_patients WHERE id = 1',
  "SELECT encode(ssn::bytea, 'base64') FROM lin_patients WHERE id = 1",
  "SELECT encode(convert_to(ssn, 'UTF8'), 'hex') FROM lin_patients WHERE id = 1",
  "SELECT format('%s', ssn) FROM lin_patients WHERE id = 1",
  "SELECT concat_ws(',', name, ssn) FROM lin_patients WHERE id = 1",
  'SELECT concat(ssn) FROM lin_patients WHERE id = 1',
  'SELECT CASE WHEN id = 1 THEN ssn ELSE name END FROM lin_patients WHERE id = 1',
  "SELECT coalesce(ssn, 'x') FROM lin_patients WHERE id = 1",
  "SELECT nullif(email, 'x') FROM lin_patients WHERE id = 1",
  'SELECT (SELECT ssn FROM lin_patients WHERE id = 1)',
  "SELECT ssn FROM lin_patients WHERE id = 1 UNION SELECT 'x' ORDER BY 1",
  'SELECT ssn FROM lin_patients WHERE id = 1 INTERSECT SELECT ssn FROM lin_patients',
  "SELECT x FROM (SELECT ssn || '' AS x FROM lin_patients WHERE id = 1) s",
  "WITH c AS (SELECT email || '' AS e FROM lin_patients WHERE id = 1) SELECT e FROM c",
  'SELECT row_to_json(p) FROM lin_patients p WHERE id = 1',
  'SELECT p FROM lin_patients p WHERE id = 1',
  'SELECT (p).ssn FROM lin_patients p WHERE id = 1',
  'SELECT ROW(ssn, 1) FROM lin_patients WHERE id = 1',
  'SELECT ARRAY[ssn] FROM lin_patients WHERE id = 1',
  'SELECT array_agg(ssn) FROM lin_patients WHERE id = 1',
  "SELECT string_agg(email, ',') FROM lin_patients WHERE id = 1",
  'SELECT to_jsonb(p) FROM lin_patients p WHERE id = 1',
  'SELECT json_agg(p) FROM lin_patients p WHERE id = 1',
  'SELECT to_json(ssn) FROM lin_patients WHERE id = 1',
  "SELECT json_build_object('s', ssn) FROM lin_patients WHERE id = 1",
  'SELECT jsonb_build_array(email) FROM lin_patients WHERE id = 1',
  "SELECT to_tsvector('simple', ssn) FROM lin_patients WHERE id = 1",
  'SELECT dob + 0 FROM lin_patients WHERE id = 1',
  'SELECT dob::text FROM lin_patients WHERE id = 1',
  "SELECT to_char(dob, 'YYYY-MM-DD') FROM lin_patients WHERE id = 1",
  'SELECT extract(day FROM dob) FROM lin_patients WHERE id = 1',
  "SELECT date_trunc('day', dob) FROM lin_patients WHERE id = 1",
  'SELECT max(ssn) FROM lin_patients WHERE id = 1',
  'SELECT min(dob) FROM lin_patients WHERE id = 1',
  'SELECT first_value(ssn) OVER () FROM lin_patients WHERE id = 1',
  'SELECT lead(email, 0) OVER (ORDER BY id) FROM lin_patients WHERE id = 1',
  "SELECT split_part(email, '@', 1) FROM lin_patients WHERE id = 1",
  'SELECT trim(ssn) FROM lin_patients WHERE id = 1',
  'SELECT quote_literal(ssn) FROM lin_patients WHERE id = 1',
  'SELECT ssn::bytea FROM lin_patients WHERE id = 1',
  "SELECT regexp_replace(ssn, '-', '', 'g') FROM lin_patients WHERE id = 1",
  'SELECT ARRAY(SELECT ssn FROM lin_patients)',
  "SELECT * FROM (SELECT ssn || '' AS x, 1 AS y FROM lin_patients WHERE id = 1) s",
  "SELECT l.v FROM lin_patients p, LATERAL (SELECT p.ssn || '' AS v) l WHERE p.id = 1",
  'SELECT xmlelement(name x, ssn) FROM lin_patients WHERE id = 1',
  'SELECT ssn COLLATE "C" FROM lin_patients WHERE id = 1',
  "SELECT 'born ' || dob FROM lin_patients WHERE id = 1",
];

const fixture = postgresGatewayFixture({
  extraTopLevel: MASKING,
  prepare: async () => {
    const seed = new Client({ ...PG, database: fixture.database.name });
    await seed.connect();
    await seed.query('CREATE TABLE lin_patients (id int PRIMARY KEY, name text, ssn text, email text, dob date, visits int)');
    await seed.query('INSERT INTO lin_patients VALUES (1, $1, $2, $3, $4, 7), (2, $5, $6, $7, $8, 2)', [
      'Marisol Quintero',
      SSN,
      EMAIL,
      DOB,
      'Desmond Achterberg',
      '412-63-9054',
      'd.achterberg@post.example',
      '1971-11-02',
    ]);
    await seed.query("CREATE FUNCTION lin_ssn(int) RETURNS text LANGUAGE sql STABLE AS 'SELECT ssn FROM lin_patients WHERE id = $1'");
    await seed.query("CREATE FUNCTION lin_leak(lin_patients) RETURNS text LANGUAGE sql STABLE AS 'SELECT $1.ssn'");
    await seed.query('CREATE VIEW lin_view AS SELECT id, ssn, name FROM lin_patients');
    await seed.end();
  },
});

async function connect(subject: string, groups: string[]): Promise<Client> {
  return connectAs(fixture.gateway, subject, groups);
}

/** Raw strings of every value (binary results decoded as latin1 text), so a leak shows however it is encoded. */
const raw = { getTypeParser: () => (value: unknown) => (Buffer.isBuffer(value) ? value.toString('latin1') : value) };

function rawFormsIn(text: string): string[] {
  return RAW_FORMS.filter((form) => text.includes(form));
}

describe('masking of computed columns by lineage', () => {
  it(`holds ${TRANSFORMS.length} transforms of masked columns in text and binary results (node-postgres)`, async () => {
    expect(TRANSFORMS.length).toBeGreaterThanOrEqual(40);
    const client = await connect('agent-1', ['coding-agents']);
    const leaks: string[] = [];
    const refused: string[] = [];
    try {
      for (const text of TRANSFORMS) {
        for (const binary of [false, true]) {
          try {
            const result = await client.query({ text, rowMode: 'array', binary, types: raw, queryMode: 'extended' } as never);
            const out = JSON.stringify((result as { rows: unknown[] }).rows);
            if (rawFormsIn(out).length > 0) leaks.push(`${binary ? 'binary' : 'text'}: ${text} → ${rawFormsIn(out).join(', ')}`);
          } catch (error) {
            refused.push(text);
            if (rawFormsIn(String(error)).length > 0) leaks.push(`error of ${text}`);
          }
        }
        // The simple protocol (text results) too.
        const simple = await (client.query({ text, rowMode: 'array', types: raw } as never) as Promise<{ rows: unknown[] }>).catch((error: unknown) => ({ rows: [String(error)] }));
        const out = JSON.stringify(simple.rows);
        if (rawFormsIn(out).length > 0) leaks.push(`simple: ${text} → ${rawFormsIn(out).join(', ')}`);
      }
    } finally {
      await client.end();
    }
    expect(leaks).toEqual([]);
    // Every transform is masked, none refused: their lineage is known.
    expect(refused).toEqual([]);
  });

  it('holds the same transforms through psql', async () => {
    const token = await fixture.gateway.token('agent-1', ['coding-agents']);
    const result = await psql(fixture.gateway, token, ['-At', ...TRANSFORMS.flatMap((text) => ['-c', text])]);
    expect(rawFormsIn(result.stdout + result.stderr)).toEqual([]);
    expect(result.stderr).toBe('');
    expect(result.stdout.split('\n').filter((line) => line === '[REDACTED]').length).toBeGreaterThanOrEqual(30);
  });

  it('masks a text result with the redaction text and any other type with NULL, so clients still parse it', async () => {
    const client = await connect('agent-1', ['coding-agents']);
    try {
      const result = await client.query("SELECT upper(ssn) AS s, dob + 1 AS d, row_to_json(p) AS j, ARRAY[ssn] AS a, length(ssn) AS n FROM lin_patients p WHERE id = 1");
      expect(result.rows[0]).toEqual({ s: '[REDACTED]', d: null, j: null, a: null, n: null });
    } finally {
      await client.end();
    }
  });

  it('leaves plain selects and computed columns over unmasked columns unchanged', async () => {
    const client = await connect('agent-1', ['coding-agents']);
    try {
      const plain = await client.query('SELECT id, name, ssn, visits FROM lin_patients WHERE id = 1');
      expect(plain.rows[0]).toEqual({ id: 1, name: 'Marisol Quintero', ssn: '[REDACTED]', visits: 7 });
      const computed = await client.query("SELECT upper(name) AS u, visits * 2 AS v, count(*) AS c, count(ssn) AS cs, 'x' || id AS l FROM lin_patients WHERE id = 1 GROUP BY name, visits, id");
      expect(computed.rows[0]).toEqual({ u: 'MARISOL QUINTERO', v: 14, c: '1', cs: '1', l: 'x1' });
    } finally {
      await client.end();
    }
  });

  it('shows an exempt group the raw values of computed columns', async () => {
    const client = await connect('doctor-1', ['clinicians']);
    try {
      const result = await client.query("SELECT replace(ssn, '-', '') AS s, row_to_json(p) AS j, dob::text AS d FROM lin_patients p WHERE id = 1");
      expect(result.rows[0]).toEqual({ s: SSN.replace(/-/g, ''), j: expect.objectContaining({ ssn: SSN, email: EMAIL, dob: DOB }), d: DOB });
    } finally {
      await client.end();
    }
  });

  it('masks a whole row, which RowDescription gives its table with attribute 0 (whole-row bypass)', async () => {
    const client = await connect('agent-1', ['coding-agents']);
    try {
      const result = await client.query({ text: 'SELECT p, p.ssn FROM lin_patients p WHERE id = 1', rowMode: 'array', types: raw } as never);
      expect((result as { rows: unknown[] }).rows).toEqual([[null, '[REDACTED]']]);
    } finally {
      await client.end();
    }
  });

  it('masks what FETCH returns from a cursor over a masked column (cursor bypass)', async () => {
    const client = await connect('agent-1', ['coding-agents']);
    try {
      await client.query('BEGIN');
      await client.query('DECLARE c CURSOR FOR SELECT upper(ssn) AS leaked, row_to_json(p) AS j FROM lin_patients p ORDER BY id');
      const fetched = await client.query({ text: 'FETCH ALL FROM c', types: raw } as never);
      expect((fetched as { rows: unknown[] }).rows).toEqual([
        { leaked: '[REDACTED]', j: null },
        { leaked: '[REDACTED]', j: null },
      ]);
    } finally {
      await client.query('ROLLBACK').catch(() => undefined);
      await client.end();
    }
  });

  it('refuses a computed column whose lineage cannot be traced, naming it (xmltable bypass)', async () => {
    const client = await connect('agent-1', ['coding-agents']);
    try {
      const text = "SELECT upper(x.s) AS leaked FROM lin_patients p, XMLTABLE('/r' PASSING xmlelement(name r, p.ssn) COLUMNS s text PATH '.') x";
      const error = await client.query(text).then(
        (result) => new Error(`returned ${JSON.stringify(result.rows)}`),
        (failure: Error) => failure,
      );
      expect(error.message).toContain('result column "leaked" is computed from something Warden cannot trace');
      expect(rawFormsIn(String(error))).toEqual([]);
      // The session goes on.
      expect((await client.query('SELECT visits FROM lin_patients WHERE id = 1')).rows).toEqual([{ visits: 7 }]);
    } finally {
      await client.end();
    }
  });

  it('refuses columns of a view, which Warden does not trace to its tables yet (view bypass)', async () => {
    const client = await connect('agent-1', ['coding-agents']);
    try {
      const error = await client.query("SELECT replace(ssn, '-', '') AS leaked FROM lin_view WHERE id = 1").then(
        (result) => new Error(`returned ${JSON.stringify(result.rows)}`),
        (failure: Error) => failure,
      );
      expect(error.message).toContain('result column "leaked" is computed from relation "lin_view", which is not a table Warden knows');
      expect(rawFormsIn(String(error))).toEqual([]);
      // PostgreSQL attributes even a plain column of a view to the view, not to lin_patients: refused too.
      const plain = await client.query('SELECT ssn, name FROM lin_view WHERE id = 1').then(
        (result) => new Error(`returned ${JSON.stringify(result.rows)}`),
        (failure: Error) => failure,
      );
      expect(plain.message).toContain('result column "ssn" is computed from relation "lin_view", which is not a table Warden knows');
      expect(rawFormsIn(String(plain))).toEqual([]);
      // The table itself still answers.
      expect((await client.query('SELECT ssn, name FROM lin_patients WHERE id = 1')).rows).toEqual([{ ssn: '[REDACTED]', name: 'Marisol Quintero' }]);
    } finally {
      await client.end();
    }
  });

  it('refuses the pg_stats views, whose columns quote sampled values of masked columns (pg-stats bypass)', async () => {
    const seed = new Client({ ...PG, database: fixture.database.name });
    await seed.connect();
    await seed.query('ANALYZE lin_patients');
    await seed.end();
    const client = await connect('agent-1', ['coding-agents']);
    try {
      const error = await client.query("SELECT histogram_bounds::text AS bounds FROM pg_stats WHERE tablename = 'lin_patients' AND attname = 'ssn'").then(
        (result) => new Error(`returned ${JSON.stringify(result.rows)}`),
        (failure: Error) => failure,
      );
      expect(error.message).toContain('which is not a table Warden knows');
      expect(rawFormsIn(String(error))).toEqual([]);
      const plain = await client.query("SELECT most_common_vals FROM pg_stats WHERE tablename = 'lin_patients'").then(
        (result) => new Error(`returned ${JSON.stringify(result.rows)}`),
        (failure: Error) => failure,
      );
      expect(plain.message).toContain('result column "most_common_vals" is computed from relation "pg_stats"');
      expect(rawFormsIn(String(plain))).toEqual([]);
      // Other system views still answer (drivers and psql read them).
      const catalog = await client.query("SELECT column_name FROM information_schema.columns WHERE table_name = 'lin_patients' ORDER BY ordinal_position");
      expect(catalog.rows.map((row: { column_name: string }) => row.column_name)).toEqual(['id', 'name', 'ssn', 'email', 'dob', 'visits']);
    } finally {
      await client.end();
    }
  });

  it('lets an identity exempt from every column read what Warden cannot trace, raw', async () => {
    const client = await connect('dba-1', ['dba']);
    try {
      const result = await client.query("SELECT replace(ssn, '-', '') AS s, ssn FROM lin_view WHERE id = 1");
      expect(result.rows[0]).toEqual({ s: SSN.replace(/-/g, ''), ssn: SSN });
    } finally {
      await client.end();
    }
  });

  it('masks computed columns of COPY (query) TO STDOUT, and refuses one whose type cannot carry the redaction text', async () => {
    const token = await fixture.gateway.token('agent-1', ['coding-agents']);
    const copied = await psql(fixture.gateway, token, ['-At', '-c', "COPY (SELECT id, upper(ssn), dob::text, name FROM lin_patients ORDER BY id) TO STDOUT WITH (FORMAT csv)"]);
    expect(copied.stderr).toBe('');
    expect(copied.stdout.trim().split('\n')).toEqual(['1,"[REDACTED]","[REDACTED]",Marisol Quintero', '2,"[REDACTED]","[REDACTED]",Desmond Achterberg']);
    const refused = await psql(fixture.gateway, token, ['-At', '-c', 'COPY (SELECT dob + 1 FROM lin_patients) TO STDOUT']);
    expect(refused.stderr).toContain('derives from a masked column and its type cannot carry the redaction text');
    expect(rawFormsIn(refused.stdout + refused.stderr)).toEqual([]);
  });

  it('refuses a computed column that calls a function outside pg_catalog, whose body may read masked columns (user-function bypass)', async () => {
    const client = await connect('agent-1', ['coding-agents']);
    try {
      const error = await client.query('SELECT lin_ssn(1) AS leaked').then(
        (result) => new Error(`returned ${JSON.stringify(result.rows)}`),
        (failure: Error) => failure,
      );
      expect(error.message).toContain('result column "leaked" calls function "lin_ssn", which is not a PostgreSQL built-in');
      expect(rawFormsIn(String(error))).toEqual([]);
      // The same through functional notation: p.lin_leak is lin_leak(p).
      const notation = await client.query('SELECT p.lin_leak AS leaked FROM lin_patients p WHERE id = 1').then(
        (result) => new Error(`returned ${JSON.stringify(result.rows)}`),
        (failure: Error) => failure,
      );
      expect(notation.message).toContain('result column "leaked" calls function "lin_leak"');
      expect(rawFormsIn(String(notation))).toEqual([]);
      // A column that also derives from a masked column is replaced whole: nothing the function reads can show.
      expect((await client.query('SELECT lin_ssn(id) || ssn AS both FROM lin_patients WHERE id = 1')).rows).toEqual([{ both: '[REDACTED]' }]);
      // Built-in functions (and pg_catalog-qualified ones) still answer.
      expect((await client.query("SELECT upper(name) AS u, pg_catalog.lower('X') AS l FROM lin_patients WHERE id = 1")).rows).toEqual([{ u: 'MARISOL QUINTERO', l: 'x' }]);
    } finally {
      await client.end();
    }
  });
});
