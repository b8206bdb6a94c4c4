/**
 * `warden evidence export` and its report.html, from the log of a real gateway: node-postgres
 * sessions through Warden to the machine's PostgreSQL with column masking, a PHI literal in a
 * statement, a blocked DDL, and a just-in-time approval decided through the admin API. The session
 * identity is a hostile name (`<script>…`): the report must escape it. The gateway writes 4 KiB
 * audit segments, so the export verifies the log across segments.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { listSegments, readAuditLines, type AuditRecord } from '@warden/core';
import { Client } from 'pg';
import { runCli, type CliIo } from '../cli';
import { createTestDatabase, PG, startTestGateway, type TestGateway } from '../e2e/harness';

const HOSTILE = '<script>alert("owned")</script>&';
const PHI_LITERAL = '901-55-0001';

let database: { name: string; drop(): Promise<void> };
let gateway: TestGateway;
let dataDir: string;
let bundle: string;
let config: string;
let report: string;
let exported: { code: number; out: string; err: string };
let log: AuditRecord[];
/** The SSNs the masked SELECT returned (masked) to the client, read directly from the database. */
let rawSsns: string[];

async function cli(args: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = { out: (text) => void (out += text), err: (text) => void (err += text), stopSignal: () => new Promise(() => undefined) };
  return { code: await runCli(args, io), out, err };
}

const GRANTS = `
  - { connection: clinic, groups: [clinicians], access: read-write }`;
const RULES = `
  - name: no-ddl
    match: { connection: clinic, action: ddl }
    effect: block
    reason: schema changes are reserved for the dba group
  - name: review-note-deletes
    match: { connection: clinic, action: write, objects: [notes], text: '^\\s*delete' }
    effect: review
    approvers: [clinical-leads]
    reason: deleting clinical notes needs a clinical lead
    approval: { mode: wait, waitSeconds: 30 }`;
const MASKING = `
masking:
  - connection: clinic
    columns: { patients.ssn: redact, patients.dob: year-only }
    detect: [ssn]`;

beforeAll(async () => {
  database = await createTestDatabase();
  const direct = new Client({ ...PG, database: database.name });
  await direct.connect();
  rawSsns = (await direct.query<{ ssn: string }>('SELECT ssn FROM patients WHERE id <= 3 ORDER BY id')).rows.map((row) => row.ssn);
  await direct.query(`INSERT INTO notes (body) VALUES ('first'), ('second')`);
  await direct.end();
  gateway = await startTestGateway({ database: database.name, grants: GRANTS, rules: RULES, extraTopLevel: `admin: { listen: 127.0.0.1:0 }\naudit: { segmentBytes: 4096 }\n${MASKING}` });
  dataDir = gateway.dataDir;

  const client = new Client({ host: '127.0.0.1', port: gateway.port, user: 'nurse', password: await gateway.token(HOSTILE, ['clinicians']), database: 'clinic' });
  await client.connect();
  const selected = await client.query<{ ssn: string }>('SELECT id, full_name, ssn, dob FROM patients WHERE id <= 3 ORDER BY id');
  expect(selected.rows.map((row) => row.ssn)).not.toContain(rawSsns[0]);
  await client.query(`SELECT id FROM patients WHERE ssn = '${PHI_LITERAL}'`);
  await expect(client.query('DROP TABLE patients')).rejects.toThrow(/schema changes are reserved for the dba group/);

  // A held DELETE, approved by a clinical lead through the admin API.
  const held = client.query('DELETE FROM notes WHERE id = 1');
  const lead = await gateway.token('dr-lee', ['clinical-leads']);
  let requests: { id: string }[] = [];
  for (let attempt = 0; attempt < 100 && requests.length === 0; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const response = await fetch(`${gateway.gateway.admin!.url}/v1/approvals?status=pending`, { headers: { authorization: `Bearer ${lead}` } });
    requests = ((await response.json()) as { requests: { id: string }[] }).requests;
  }
  const approved = await fetch(`${gateway.gateway.admin!.url}/v1/approvals/${requests[0]!.id}/approve`, {
    method: 'POST',
    headers: { authorization: `Bearer ${lead}`, 'content-type': 'application/json' },
    body: JSON.stringify({ reason: 'duplicate <note>' }),
  });
  expect(approved.status).toBe(200);
  await held;
  await client.end();
  await gateway.gateway.stop(); // keeps the data directory; a clean stop checkpoints everything

  // The CLI's view: the same data directory and grants (the report names the grant behind each session).
  config = path.join(dataDir, 'cli.yaml');
  writeFileSync(
    config,
    `dataDir: ${JSON.stringify(dataDir)}
identity: { devIssuer: true }
connections: [{ name: clinic, protocol: postgres, listen: 127.0.0.1:0, target: { host: 127.0.0.1, port: 5432, database: x, user: postgres } }]
audit: { segmentBytes: 4096 }
grants: ${GRANTS}
`,
  );
  bundle = path.join(dataDir, 'bundle');
  const since = new Date(Date.now() - 3600_000).toISOString();
  const until = new Date(Date.now() + 3600_000).toISOString();
  exported = await cli(['evidence', 'export', '--config', config, '--since', since, '--until', until, '--out', bundle, '--as', 'jane.auditor']);
  report = readFileSync(path.join(bundle, 'report.html'), 'utf8');
  log = [];
  await readAuditLines(path.join(dataDir, 'audit.log'), (line) => void log.push(JSON.parse(line.toString('utf8')) as AuditRecord));
}, 90_000);

afterAll(async () => {
  await gateway?.gateway.stop().catch(() => undefined);
  await rm(dataDir, { recursive: true, force: true });
  await database?.drop();
});

/** The rows of one table of the report, as text with tags removed and entities left as they are. */
function rowsOf(id: string): string[] {
  const table = new RegExp(`<table id="${id}">([\\s\\S]*?)</table>`).exec(report)?.[1] ?? '';
  return [...table.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].slice(1).map((match) => match[1]!.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim());
}

describe('warden evidence export', () => {
  it('writes a bundle with report.html whose hash check-bundle covers', async () => {
    expect(exported).toMatchObject({ code: 0, err: '' });
    expect(exported.out).toMatch(/evidence bundle .*: \d+ records \(seq 1\.\.\d+\) under the checkpoint of \d+ records/);
    expect(exported.out).toContain(`report: ${path.join(bundle, 'report.html')}; the whole log verified at export`);
    const manifest = JSON.parse(readFileSync(path.join(bundle, 'manifest.json'), 'utf8')) as { files: Record<string, string> };
    expect(manifest.files['report.html']).toBe(createHash('sha256').update(report).digest('hex'));
    expect(await cli(['evidence', 'check-bundle', bundle])).toMatchObject({ code: 0, out: expect.stringMatching(/OK, \d+ records proven/) });
    // The raw data stays in the bundle as JSON lines.
    expect(readFileSync(path.join(bundle, 'records.jsonl'), 'utf8').split('\n').filter(Boolean).map((line) => (JSON.parse(line) as AuditRecord).seq).at(-1)).toBeGreaterThan(5);
  });

  it('organises the report by HIPAA control, self-contained', () => {
    expect(report).toMatch(/^<!DOCTYPE html>/);
    for (const [id, title] of [
      ['audit-controls', 'Audit controls — 45 CFR 164.312(b)'],
      ['integrity', 'Integrity — 45 CFR 164.312(c)(1)'],
      ['activity-review', 'Information-system activity review — 45 CFR 164.308(a)(1)(ii)(D)'],
    ]) {
      expect(report).toContain(`<section id="${id}">\n<h2>${title}</h2>`);
    }
    // No script, no external asset.
    expect(report).not.toMatch(/<script|<link|<img|src=|href=|@import|url\(/i);
    expect(report).toMatch(/@media print/);
  });

  it('reports verification across segments, checkpoints, counts and integrity checks', async () => {
    const commands = log.filter((record) => record.type === 'command').length;
    // The gateway ran with 4 KiB segments (`audit.segmentBytes`): the log was verified across them.
    const segments = await listSegments(path.join(dataDir, 'audit.log'));
    expect(segments.length).toBeGreaterThan(1);
    expect(report).toContain(`<p class="ok" id="log-verification">VERIFIED: ${log.length} records in ${segments.length} segment(s), head <code>${log.at(-1)!.hash}</code>;`);
    expect(rowsOf('record-types')).toContain(`command a command with its classification and policy decision ${commands}`);
    expect(rowsOf('record-counts')).toContain(`Commands ${commands}`);
    expect(rowsOf('integrity-checks')).toEqual(expect.arrayContaining(['Checkpoint signature (Ed25519) valid', expect.stringMatching(/^Inclusion proofs of the records in the signed Merkle tree valid (\d+) of \1$/)]));
    expect(rowsOf('files').some((row) => /^records\.jsonl [0-9a-f]{64}$/.test(row))).toBe(true);
  });

  it('lists access by identity × connection × time with the grant that allowed it, escaping a hostile identity', () => {
    const start = log.find((record): record is Extract<AuditRecord, { type: 'session.start' }> => record.type === 'session.start' && record.identity.subject === HOSTILE)!;
    const escaped = '&lt;script&gt;alert(&quot;owned&quot;)&lt;/script&gt;&amp;';
    expect(rowsOf('access-report')).toContainEqual(expect.stringContaining(`${escaped} (human) clinicians clinic (postgres) ${start.time}`));
    expect(rowsOf('access-report')[0]).toMatch(/ read-write read-write to clinic for group clinicians 4 1$/);
    expect(report).not.toContain(HOSTILE);
    expect(report).not.toContain('<script');
  });

  it('lists every PHI-touching command with its decision, approvals, refusals, masking counts and evidence reads', () => {
    const phi = rowsOf('phi-commands');
    expect(phi).toContainEqual(expect.stringContaining('SELECT id, full_name, ssn, dob FROM patients WHERE id &lt;= 3 ORDER BY id patients allow (the grant)'));
    // The statement whose literal was an SSN: logged (and reported) with a placeholder.
    expect(phi.some((row) => /SELECT id FROM patients WHERE ssn = &#39;\[phi:[0-9a-f]+\]&#39; patients allow \(the grant\)/.test(row))).toBe(true);
    expect(phi).toContainEqual(expect.stringContaining('DROP TABLE patients patients block rule &quot;no-ddl&quot;'));

    const request = log.find((record): record is Extract<AuditRecord, { type: 'approval.requested' }> => record.type === 'approval.requested')!;
    expect(rowsOf('approvals')).toEqual([expect.stringMatching(new RegExp(`^${request.requestId} ${request.time} .* review-note-deletes clinical-leads approved dr-lee duplicate &lt;note&gt; yes$`))]);
    expect(rowsOf('refusals')).toEqual([expect.stringMatching(/ clinic DROP TABLE patients block: rule &quot;no-ddl&quot; — schema changes are reserved for the dba group$/)]);

    // Masking counts by kind, as the log's result records add them up (never values).
    const masked = new Map<string, number>();
    for (const record of log) if (record.type === 'result') for (const [kind, count] of Object.entries(record.summary.masked ?? {})) masked.set(kind, (masked.get(kind) ?? 0) + count);
    expect(masked.size).toBeGreaterThan(0);
    expect(rowsOf('masking')).toEqual([...masked.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([kind, count]) => `${kind} ${count}`));

    expect(rowsOf('evidence-reads')).toEqual([expect.stringMatching(/ jane\.auditor stated \(--as\) export out=\S+bundle since=\S+ until=\S+$/)]);
  });

  it('holds no raw PHI value that was masked', () => {
    expect(rawSsns).toHaveLength(3);
    for (const value of [...rawSsns, PHI_LITERAL, PHI_LITERAL.replace(/-/g, '')]) expect(report).not.toContain(value);
  });

  it('catches an edited report, with or without its hash updated in the manifest', async () => {
    const file = path.join(bundle, 'report.html');
    const manifestFile = path.join(bundle, 'manifest.json');
    const original = readFileSync(file, 'utf8');
    const originalManifest = readFileSync(manifestFile, 'utf8');
    try {
      const edited = original.replace('review-note-deletes', 'no-review-needed');
      writeFileSync(file, edited);
      expect(await cli(['evidence', 'check-bundle', bundle])).toMatchObject({ code: 1, out: expect.stringContaining('report.html was altered (SHA-256 differs from the manifest)') });
      const manifest = JSON.parse(originalManifest) as { files: Record<string, string> };
      manifest.files['report.html'] = createHash('sha256').update(edited).digest('hex');
      writeFileSync(manifestFile, JSON.stringify(manifest, null, 2));
      expect(await cli(['audit', 'check-bundle', bundle])).toMatchObject({ code: 1, out: expect.stringContaining('report.html does not match manifest.json and the records') });
    } finally {
      writeFileSync(file, original);
      writeFileSync(manifestFile, originalManifest);
    }
  });

  // Last: it exports again, which appends to the log the other tests compare the report with.
  it('writes the bundle as one tar file with --out FILE.tar, which tar reads and check-bundle verifies as it is', async () => {
    const since = new Date(Date.now() - 3600_000).toISOString();
    const until = new Date(Date.now() + 3600_000).toISOString();
    const archive = path.join(dataDir, 'evidence.tar');
    const written = await cli(['evidence', 'export', '--config', config, '--since', since, '--until', until, '--out', archive, '--as', 'jane.auditor']);
    expect(written).toMatchObject({ code: 0, err: '', out: expect.stringContaining('report: report.html in the archive') });
    // The system's tar lists the bundle's files.
    const listed = spawnSync('tar', ['-tf', archive], { encoding: 'utf8' });
    expect(listed.status).toBe(0);
    expect(listed.stdout.split('\n')).toEqual(expect.arrayContaining(['manifest.json', 'report.html', 'records.jsonl', 'proofs.jsonl', 'public-key.pem']));
    expect(await cli(['evidence', 'check-bundle', archive])).toMatchObject({ code: 0, out: expect.stringMatching(/OK, \d+ records proven/) });
    // One byte changed inside the archive's report: caught.
    const bytes = readFileSync(archive);
    const at = bytes.indexOf('Audit controls');
    expect(at).toBeGreaterThan(0);
    bytes[at] = 'a'.charCodeAt(0);
    const tampered = path.join(dataDir, 'tampered.tar');
    writeFileSync(tampered, bytes);
    expect(await cli(['evidence', 'check-bundle', tampered])).toMatchObject({ code: 1, out: expect.stringContaining('report.html was altered') });
  });

  it('rejects a bad subcommand and missing arguments', async () => {
    expect((await cli(['evidence', 'nope'])).code).toBe(2);
    expect(await cli(['evidence', 'export', '--data-dir', dataDir])).toMatchObject({ code: 2, err: expect.stringContaining('warden evidence export: --since, --until and --out are required') });
  });
});
