import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { parseConfig, type LoadedConfig } from './config/load-config';

/**
 * The embedded default: an in-process Postgres (PGlite, served on the wire by pglite-socket) holding
 * a synthetic "clinic" database, and a gateway configuration in front of it that trusts the local
 * development token issuer. Nothing external is needed; nothing here is real patient data.
 */
export interface EmbeddedClinic {
  readonly host: string;
  readonly port: number;
  stop(): Promise<void>;
}

export async function startEmbeddedClinic(): Promise<EmbeddedClinic> {
  const db = await PGlite.create();
  await db.exec(CLINIC_SCHEMA);
  await db.exec(syntheticPatients(200));
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 32 });
  await server.start();
  const [host, port] = server.getServerConn().split(':');
  return {
    host: host ?? '127.0.0.1',
    port: Number(port),
    stop: async () => {
      await server.stop();
      await db.close();
    },
  };
}

/** The demo's gateway configuration, as YAML so it reads like the file a user would write. */
export function embeddedConfig(clinic: EmbeddedClinic, listenPort: number, dataDir: string, adminPort = listenPort + 48): LoadedConfig {
  const yaml = `
dataDir: ${JSON.stringify(dataDir)}
identity:
  devIssuer: true
admin:
  listen: 127.0.0.1:${adminPort}
approvals:
  defaults: { mode: retry, ttlSeconds: 3600 }
connections:
  - name: clinic
    protocol: postgres
    listen: 127.0.0.1:${listenPort}
    tls: self-signed
    target: { host: ${clinic.host}, port: ${clinic.port}, database: postgres, user: postgres }
grants:
  - connection: clinic
    groups: [coding-agents]
    access: read-only
    budget: { statementsPerMinute: 300, rowsPerStatement: 1000 }
  - { connection: clinic, groups: [clinicians], access: read-write }
  - { connection: clinic, groups: [dba], access: full }
rules:
  - name: no-ddl-outside-dba
    match: { connection: clinic, action: ddl, groups: [coding-agents, clinicians] }
    effect: block
    reason: schema changes are reserved for the dba group
  - name: no-bulk-writes
    match: { connection: clinic, action: write, bulk: true }
    effect: block
    reason: writes without a WHERE clause are not allowed
  - name: patient-deletes-need-review
    match: { connection: clinic, action: write, objects: [patients], text: '^\\s*delete' }
    effect: review
    approvers: [clinical-leads]
    reason: deleting a patient record needs a clinical lead
masking:
  - connection: clinic
    columns: { patients.full_name: partial, patients.ssn: redact, patients.dob: year-only, patients.email: partial, patients.phone: partial }
    detect: [ssn, email, phone, date, mrn]
    exempt:
      - { groups: [clinicians], columns: [patients.full_name, patients.dob, patients.phone] }
`;
  return parseConfig(yaml, '(embedded default configuration)');
}

const CLINIC_SCHEMA = `
CREATE TABLE patients (
  id serial PRIMARY KEY,
  mrn text NOT NULL UNIQUE,
  full_name text NOT NULL,
  dob date NOT NULL,
  ssn text NOT NULL,
  email text,
  phone text,
  notes text
);
CREATE TABLE encounters (
  id serial PRIMARY KEY,
  patient_id int NOT NULL REFERENCES patients(id) ON DELETE CASCADE,
  admitted_at timestamptz NOT NULL,
  reason text NOT NULL
);
`;

/** Deterministic synthetic rows: same data at every start, obviously fake values. */
function syntheticPatients(count: number): string {
  const first = ['Ada', 'Ben', 'Cleo', 'Dev', 'Eli', 'Fay', 'Gus', 'Hana', 'Ivo', 'June'];
  const last = ['Ames', 'Brook', 'Cole', 'Dunn', 'Eck', 'Ford', 'Gale', 'Hart', 'Ives', 'Jett'];
  const reasons = ['annual check-up', 'follow-up', 'flu symptoms', 'lab work', 'sprained ankle'];
  const patients: string[] = [];
  const encounters: string[] = [];
  for (let i = 1; i <= count; i++) {
    const name = `${first[i % 10]} ${last[Math.floor(i / 10) % 10]}`;
    const dob = `19${50 + (i % 50)}-${String((i % 12) + 1).padStart(2, '0')}-${String((i % 28) + 1).padStart(2, '0')}`;
    const ssn = `9${String(i % 100).padStart(2, '0')}-${String(10 + (i % 90)).padStart(2, '0')}-${String(1000 + i).padStart(4, '0')}`;
    const email = `${name.toLowerCase().replace(' ', '.')}${i}@example.test`;
    const phone = `555-01${String(i % 100).padStart(2, '0')}`;
    patients.push(`('MRN-${String(100000 + i)}', '${name}', '${dob}', '${ssn}', '${email}', '${phone}', 'Synthetic patient ${i}; DOB ${dob}.')`);
    encounters.push(`(${i}, TIMESTAMPTZ '2026-01-01' + interval '${i} hours', '${reasons[i % reasons.length]}')`);
  }
  return `INSERT INTO patients (mrn, full_name, dob, ssn, email, phone, notes) VALUES ${patients.join(',\n')};
INSERT INTO encounters (patient_id, admitted_at, reason) VALUES ${encounters.join(',\n')};`;
}
