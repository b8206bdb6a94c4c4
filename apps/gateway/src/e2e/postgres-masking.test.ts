/**
 * PHI masking end to end: psql and node-postgres through Warden to the machine's PostgreSQL, seeded
 * with synthetic PHI. Column rules, content detection in free text and JSON, an exempt group,
 * binary-format results, COPY TO STDOUT, fail-closed refusal, and no raw PHI on disk or in logs.
 */
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import { createJsonLogger, type AuditRecord } from '@warden/core';
import { Client, type ClientConfig } from 'pg';
import { serialize } from 'pg-protocol';
import { connectAs, createTestDatabase, PG, psql, startTestGateway, type TestGateway } from './harness';
import { listFiles } from './raw-value-sweep';

/** Synthetic patients: every value below is PHI that must never leave Warden unmasked. */
const PATIENTS = [
  { id: 1, name: 'Marisol Quintero', ssn: '219-47-8831', dob: '1958-07-23', email: 'marisol.quintero@mailbox.example', phone: '(617) 555-0187', mrn: 'MRN-00482913', card: '4556 7375 8689 9855' },
  { id: 2, name: 'Desmond Achterberg', ssn: '412-63-9054', dob: '1971-11-02', email: 'd.achterberg@post.example', phone: '(508) 555-0143', mrn: 'MRN-00573302', card: '5425 2334 3010 9903' },
  { id: 3, name: 'Oluwaseun Hartigan', ssn: '538-29-1176', dob: '1989-02-14', email: 'seun.h@inbox.example', phone: '(781) 555-0129', mrn: 'MRN-00691155', card: '4716 1089 9971 6531' },
];

const RAW_VALUES = PATIENTS.flatMap((p) => [p.name, p.ssn, p.ssn.replace(/-/g, ''), p.dob, p.email, p.phone, p.mrn, p.mrn.slice(4), p.card, p.name.split(' ')[1]!]);

const MASKING = `
masking:
  - connection: clinic
    columns:
      phi_patients.ssn: redact
      phi_patients.dob: year-only
      phi_patients.email: partial
      phi_patients.full_name: hash
      phi_patients.phone: fake
      phi_patients.admitted: year-only
      phi_patients.location: redact
      "*.mrn": redact
    detect: [ssn, email, phone, mrn, date, name, credit-card]
    exempt:
      - { groups: [clinicians], columns: [phi_patients.dob] }
`;

let database: { name: string; drop(): Promise<void> };
let gateway: TestGateway;
const logLines: string[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  const seed = new Client({ ...PG, database: database.name });
  await seed.connect();
  await seed.query(`
    CREATE TABLE phi_patients (
      id int PRIMARY KEY, full_name text, ssn text, dob date, email text, phone text, mrn varchar(20),
      admitted timestamptz, visits int4, balance numeric(10,2), notes text, profile jsonb, location point
    )`);
  for (const p of PATIENTS) {
    await seed.query(
      `INSERT INTO phi_patients VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, point(1, 2))`,
      [
        p.id,
        p.name,
        p.ssn,
        p.dob,
        p.email,
        p.phone,
        p.mrn,
        `2024-0${p.id}-1${p.id} 08:30:00+00`,
        p.id * 3,
        `${p.id}23.45`,
        `Patient ${p.name} (DOB ${p.dob}) called from ${p.phone}; SSN ${p.ssn}; card ${p.card}. BP 120/80, dose 500 mg.`,
        JSON.stringify({ contact: { email: p.email, note: `MRN: ${p.mrn.slice(4)}` }, visits: [p.id], vip: false }),
      ],
    );
  }
  await seed.end();
  gateway = await startTestGateway({
    database: database.name,
    extraTopLevel: MASKING,
    log: createJsonLogger((line) => logLines.push(line)),
  });
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  await database?.drop();
});

async function connect(subject: string, groups: string[], extra: ClientConfig = {}): Promise<Client> {
  return connectAs(gateway, subject, groups, extra);
}

function expectNoRawValue(text: string): void {
  for (const raw of RAW_VALUES) expect(text).not.toContain(raw);
}

describe('masking with psql', () => {
  it('masks columns by rule, keeping each type', async () => {
    const token = await gateway.token('agent-1', ['coding-agents']);
    const result = await psql(gateway, token, ['-At', '-F', '|', '-c', 'SELECT id, full_name, ssn, dob, email, phone, mrn, admitted, visits FROM phi_patients ORDER BY id']);
    expect(result.stderr).toBe('');
    const rows = result.stdout.trim().split('\n').map((line) => line.split('|'));
    expect(rows).toHaveLength(3);
    for (const [index, row] of rows.entries()) {
      const p = PATIENTS[index]!;
      const [id, name, ssn, dob, email, phone, mrn, admitted, visits] = row;
      expect(id).toBe(String(p.id));
      expect(name).toMatch(/^[0-9a-f]{16}$/);
      expect(ssn).toBe('[REDACTED]');
      expect(dob).toBe(`${p.dob.slice(0, 4)}-01-01`);
      expect(email).toBe(`***@${p.email.split('@')[1]}`);
      expect(phone).toMatch(/^\(\d{3}\) \d{3}-\d{4}$/);
      expect(phone).not.toBe(p.phone);
      expect(mrn).toBe('[REDACTED]');
      expect(admitted).toMatch(/^2024-01-01 00:00:00\+00$/);
      expect(visits).toBe(String(p.id * 3));
    }
    expectNoRawValue(result.stdout);
  });

  it('masks through aliases and joins, because columns are resolved by table and attribute', async () => {
    const token = await gateway.token('agent-1', ['coding-agents']);
    const result = await psql(gateway, token, ['-At', '-c', 'SELECT p.ssn AS x, q.full_name AS y FROM phi_patients p JOIN phi_patients q ON q.id = p.id WHERE p.id = 1']);
    expect(result.stdout.trim()).toMatch(/^\[REDACTED\]\|[0-9a-f]{16}$/);
    // The keyed hash is stable, so the same name hashes alike in every query (joins still work).
    const again = await psql(gateway, token, ['-At', '-c', 'SELECT full_name FROM phi_patients WHERE id = 1']);
    expect(again.stdout.trim()).toBe(result.stdout.trim().split('|')[1]);
  });

  it('detects PHI in free text and inside JSON, and leaves the rest of the text alone', async () => {
    const token = await gateway.token('agent-1', ['coding-agents']);
    const result = await psql(gateway, token, ['-At', '-c', 'SELECT notes, profile FROM phi_patients WHERE id = 2']);
    expect(result.stderr).toBe('');
    const [notes, profile] = result.stdout.trim().split('|');
    expect(notes).toBe('Patient [NAME] (DOB [DATE]) called from [PHONE]; SSN [SSN]; card [CREDIT-CARD]. BP 120/80, dose 500 mg.');
    expect(JSON.parse(profile!)).toEqual({ contact: { email: '[EMAIL]', note: 'MRN: [MRN]' }, visits: [2], vip: false });
    // Computed columns have no table; detectors still see their text (profile has no column rule).
    const computed = await psql(gateway, token, ['-At', '-c', "SELECT 'reach me at ' || (profile->'contact'->>'email') FROM phi_patients WHERE id = 2"]);
    expect(computed.stdout.trim()).toBe('reach me at [EMAIL]');
    // Computed from a column under a rule (email): masked as a whole, whatever detectors would find.
    const derived = await psql(gateway, token, ['-At', '-c', "SELECT 'reach me at ' || email FROM phi_patients WHERE id = 2"]);
    expect(derived.stdout.trim()).toBe('[REDACTED]');
  });

  it('masks COPY … TO STDOUT in text and CSV format', async () => {
    const token = await gateway.token('agent-1', ['coding-agents']);
    const text = await psql(gateway, token, ['-c', 'COPY phi_patients (id, ssn, dob, notes) TO STDOUT']);
    expect(text.stderr).toBe('');
    const lines = text.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]!.split('\t').slice(0, 3)).toEqual(['1', '[REDACTED]', '1958-01-01']);
    expect(lines[0]).toContain('SSN [SSN]');
    expectNoRawValue(text.stdout);

    const csv = await psql(gateway, token, ['-c', "COPY (SELECT id, email, phone FROM phi_patients ORDER BY id) TO STDOUT WITH (FORMAT csv, HEADER)"]);
    const csvLines = csv.stdout.trim().split('\n');
    expect(csvLines[0]).toBe('id,email,phone');
    expect(csvLines[1]).toMatch(/^1,"\*\*\*@mailbox\.example","\(\d{3}\) \d{3}-\d{4}"$/);
    expectNoRawValue(csv.stdout);
  });

  it('masks COPY … TO STDOUT in binary format', async () => {
    const token = await gateway.token('agent-1', ['coding-agents']);
    const binary = await psql(gateway, token, ['-c', 'COPY phi_patients (id, ssn, notes, full_name) TO STDOUT (FORMAT binary)']);
    expect(binary.stderr).toBe('');
    expect(binary.stdout.startsWith('PGCOPY')).toBe(true);
    expect(binary.stdout.match(/\[REDACTED\]/g)).toHaveLength(3);
    expect(binary.stdout).toContain('SSN [SSN]');
    expectNoRawValue(binary.stdout);
  });

  it('withholds a result it cannot mask with an error, and the session stays usable', async () => {
    const token = await gateway.token('agent-1', ['coding-agents']);
    const result = await psql(gateway, token, ['-At', '-c', 'SELECT location FROM phi_patients', '-c', 'SELECT count(*) FROM phi_patients']);
    expect(result.stderr).toContain('Warden: the result was withheld because');
    expect(result.stdout.trim()).toBe('3');
  });

  it('refuses masked results after the client switches client_encoding away from UTF8, and masks again after it switches back', async () => {
    // A full grant: below full, changing client_encoding is refused outright (postgres-lexer-settings.test.ts).
    const token = await gateway.token('dba-1', ['dba']);
    const result = await psql(gateway, token, ['-At', '-c', "SET client_encoding TO 'LATIN1'", '-c', 'SELECT ssn FROM phi_patients WHERE id = 1', '-c', "SET client_encoding TO 'UTF8'", '-c', 'SELECT ssn FROM phi_patients WHERE id = 1'], { user: 'dba-1' });
    expect(result.stderr).toContain("client_encoding is LATIN1 and Warden masks results in UTF8 only (SET client_encoding TO 'UTF8')");
    expect(result.stdout.trim().split('\n')).toEqual(['SET', 'SET', '[REDACTED]']);
    expectNoRawValue(result.stdout + result.stderr);
  });

  it('shows an exempt group raw values for its exempt columns only, and audits that access', async () => {
    const token = await gateway.token('doctor-1', ['clinicians']);
    const result = await psql(gateway, token, ['-At', '-c', 'SELECT dob, ssn FROM phi_patients WHERE id = 3'], { user: 'doctor-1' });
    expect(result.stdout.trim()).toBe(`${PATIENTS[2]!.dob}|[REDACTED]`);
    const records = await gateway.auditRecords();
    const command = records.find((r): r is Extract<AuditRecord, { type: 'command' }> => r.type === 'command' && r.text.includes('WHERE id = 3') && r.decision.effect === 'allow' && (r.decision.masking?.exempt?.length ?? 0) > 0);
    expect(command?.decision.effect === 'allow' && command.decision.masking?.exempt).toEqual(['phi_patients.dob']);
    const summary = records.find((r) => r.type === 'result' && r.sessionId === command!.sessionId && r.commandSeq === command!.commandSeq);
    expect(summary?.type === 'result' && summary.summary).toMatchObject({ masked: { redact: 1 }, unmasked: { 'public.phi_patients.dob': 1 } });
  });
});

describe('masking with node-postgres', () => {
  it('masks extended-protocol results in text format', async () => {
    const client = await connect('agent-1', ['coding-agents']);
    try {
      const result = await client.query('SELECT ssn, email, dob FROM phi_patients WHERE id = $1', [1]);
      expect(result.rows[0]).toEqual({ ssn: '[REDACTED]', email: '***@mailbox.example', dob: expect.any(Date) });
      expect((result.rows[0] as { dob: Date }).dob.getFullYear()).toBe(1958);
      expect((result.rows[0] as { dob: Date }).dob.getMonth()).toBe(0);
    } finally {
      await client.end();
    }
  });

  it('masks binary-format results, type by type', async () => {
    // node-postgres decodes every DataRow field as UTF-8 text, which mangles binary values; read the
    // exact bytes with a minimal extended-protocol client instead.
    const token = await gateway.token('agent-1', ['coding-agents']);
    const row = await binaryRow(gateway.port, token, 'SELECT ssn, dob, admitted, visits, notes, profile, full_name, balance FROM phi_patients WHERE id = 2');
    const [ssn, dob, admitted, visits, notes, profile, fullName, balance] = row as Buffer[];
    const epoch = Date.UTC(2000, 0, 1);
    expect(ssn!.toString()).toBe('[REDACTED]');
    // date: int32 days since 2000-01-01
    expect(new Date(epoch + dob!.readInt32BE(0) * 86_400_000).toISOString().slice(0, 10)).toBe('1971-01-01');
    // timestamptz: int64 microseconds since 2000-01-01 UTC
    expect(new Date(epoch + Number(admitted!.readBigInt64BE(0) / 1000n)).toISOString()).toBe('2024-01-01T00:00:00.000Z');
    expect(visits!.readInt32BE(0)).toBe(6);
    expect(notes!.toString()).toContain('SSN [SSN]');
    // jsonb: version byte 1, then the JSON text
    expect(profile![0]).toBe(1);
    expect(JSON.parse(profile!.subarray(1).toString())).toEqual({ contact: { email: '[EMAIL]', note: 'MRN: [MRN]' }, visits: [2], vip: false });
    expect(fullName!.toString()).toMatch(/^[0-9a-f]{16}$/);
    // An unmasked column keeps the target's own bytes: numeric 223.45 (ndigits 2, weight 0, dscale 2).
    expect(balance!.toString('hex')).toBe('0002000000000002' + '00df' + '1194');
    expectNoRawValue(row.map((value) => value?.toString('latin1') ?? '').join('\n'));
  });

  it('keeps NULL as NULL and unmasked columns byte-identical', async () => {
    const client = await connect('agent-1', ['coding-agents']);
    try {
      const result = await client.query('SELECT NULL::text AS ssn, balance, id FROM phi_patients WHERE id = 3');
      expect(result.rows[0]).toEqual({ ssn: null, balance: '323.45', id: 3 });
    } finally {
      await client.end();
    }
  });
});

describe('what Warden keeps', () => {
  it('redacts PHI literals from statement text in the audit log, with stable placeholders', async () => {
    const token = await gateway.token('agent-1', ['coding-agents']);
    const ssn = PATIENTS[0]!.ssn;
    const result = await psql(gateway, token, ['-At', '-c', `SELECT id FROM phi_patients WHERE ssn = '${ssn}'`, '-c', `SELECT id FROM phi_patients WHERE ssn = '${ssn}' OR id = 2`]);
    expect(result.stdout.trim().split('\n')).toEqual(['1', '1', '2']);
    const texts = (await gateway.auditRecords()).flatMap((r) => (r.type === 'command' && r.text.includes('phi_patients WHERE ssn') ? [r.text] : []));
    expect(texts).toHaveLength(2);
    const placeholder = /ssn = '(\[phi:[0-9a-f]{12}\])'/.exec(texts[0]!)?.[1];
    expect(placeholder).toBeDefined();
    expect(texts[1]).toContain(`ssn = '${placeholder}' OR id = 2`);
  });

  it('leaves no raw PHI value anywhere under the data directory or in the log output', async () => {
    // Every value above went through Warden at least once; none may have been written down.
    const files = await listFiles(gateway.dataDir);
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) expectNoRawValue(await readFile(file, 'latin1'));
    expect(logLines.length).toBeGreaterThan(0);
    expectNoRawValue(logLines.join('\n'));
  });
});

/** Startup, cleartext password, then Parse/Bind (all results binary)/Execute/Sync; the first row's raw values. */
async function binaryRow(port: number, password: string, text: string): Promise<Array<Buffer | null>> {
  const socket = net.connect({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  socket.write(serialize.startup({ user: 'agent-1', database: 'clinic' }));
  let buffered = Buffer.alloc(0);
  let row: Array<Buffer | null> | undefined;
  let queried = false;
  return new Promise((resolve, reject) => {
    socket.on('error', reject);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 5 && buffered.length >= 1 + buffered.readInt32BE(1)) {
        const code = String.fromCharCode(buffered[0]!);
        const body = buffered.subarray(5, 1 + buffered.readInt32BE(1));
        buffered = buffered.subarray(1 + buffered.readInt32BE(1));
        if (code === 'R' && body.readInt32BE(0) === 3) socket.write(serialize.password(password));
        else if (code === 'E') reject(new Error(body.toString()));
        else if (code === 'D') {
          const values: Array<Buffer | null> = [];
          let offset = 2;
          for (let i = 0; i < body.readInt16BE(0); i++) {
            const length = body.readInt32BE(offset);
            values.push(length === -1 ? null : Buffer.from(body.subarray(offset + 4, offset + 4 + length)));
            offset += 4 + (length === -1 ? 0 : length);
          }
          row ??= values;
        } else if (code === 'Z') {
          if (!queried) {
            queried = true;
            socket.write(Buffer.concat([serialize.parse({ text }), serialize.bind({ binary: true }), serialize.execute(), serialize.sync()]));
          } else {
            socket.end(serialize.end());
            if (row) resolve(row);
            else reject(new Error('no row'));
          }
        }
      }
    });
  });
}

