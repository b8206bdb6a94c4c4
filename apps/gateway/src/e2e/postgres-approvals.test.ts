/**
 * Just-in-time approvals end to end: psql and node-postgres through a real gateway in front of the
 * machine's PostgreSQL, approvers deciding through the admin HTTP API and the `warden approvals` CLI.
 */
import { Client } from 'pg';
import { approvalsCommand } from '../approvals-command';
import { connectAs, createTestDatabase, psql, startTestGateway, PG, type TestGateway } from './harness';

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let gateway: TestGateway;
let adminUrl: string;

const RULES = `
  - name: review-patient-deletes
    match: { connection: clinic, action: write, objects: [patients], text: '^\\s*delete' }
    effect: review
    approvers: [clinical-leads]
    reason: deleting patient records needs a clinical lead
    approval: { mode: retry, ttlSeconds: 600 }
  - name: review-note-deletes
    match: { connection: clinic, action: write, objects: [notes], text: '^\\s*delete' }
    effect: review
    approvers: [clinical-leads]
    reason: deleting clinical notes needs a clinical lead
    approval: { mode: wait, waitSeconds: 30 }
  - name: review-note-updates
    match: { connection: clinic, action: write, objects: [notes], text: '^\\s*update' }
    effect: review
    approvers: [clinical-leads]
    approval: { mode: retry, ttlSeconds: 1 }`;

beforeAll(async () => {
  database = await createTestDatabase();
  const seed = new Client({ ...PG, database: database.name });
  await seed.connect();
  await seed.query(`INSERT INTO notes (body) SELECT 'note ' || i FROM generate_series(1, 10) AS i`);
  await seed.end();
  gateway = await startTestGateway({
    database: database.name,
    rules: RULES,
    grants: `
  - { connection: clinic, groups: [clinicians], access: read-write }`,
    extraTopLevel: `
admin: { listen: 127.0.0.1:0 }`,
  });
  adminUrl = gateway.gateway.admin!.url;
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  await database?.drop();
});

async function api(token: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${adminUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

async function pendingRequests(token: string): Promise<Array<{ id: string; text: string; requester: { subject: string } }>> {
  const { json } = await api(token, 'GET', '/v1/approvals?status=pending');
  return json.requests as Array<{ id: string; text: string; requester: { subject: string } }>;
}

async function countRows(sql: string): Promise<number> {
  const direct = new Client({ ...PG, database: database.name });
  await direct.connect();
  const { rows } = await direct.query<{ n: string }>(sql);
  await direct.end();
  return Number(rows[0]!.n);
}

describe('wait mode', () => {
  it('holds psql until another identity approves, then runs the statement', async () => {
    const nurse = await gateway.token('nurse-kim', ['clinicians']);
    const lead = await gateway.token('dr-lee', ['clinical-leads']);
    const running = psql(gateway, nurse, ['-c', 'DELETE FROM notes WHERE id = 1'], { user: 'nurse-kim' });

    let requests: Awaited<ReturnType<typeof pendingRequests>> = [];
    for (let attempt = 0; attempt < 100 && requests.length === 0; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      requests = await pendingRequests(lead);
    }
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({ text: 'DELETE FROM notes WHERE id = 1', requester: { subject: 'nurse-kim' }, objects: ['notes'] });
    // The approver sees the planner's estimate (one row by primary key), obtained without running the DELETE.
    expect((requests[0] as unknown as { estimate: unknown }).estimate).toEqual({ rows: 1, source: 'planner' });
    // Still held: the row is there.
    expect(await countRows('SELECT count(*) AS n FROM notes WHERE id = 1')).toBe(1);

    const approved = await api(lead, 'POST', `/v1/approvals/${requests[0]!.id}/approve`, { reason: 'duplicate note' });
    expect(approved).toMatchObject({ status: 200, json: { status: 'approved', decidedBy: 'dr-lee' } });
    const result = await running;
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('DELETE 1');
    expect(await countRows('SELECT count(*) AS n FROM notes WHERE id = 1')).toBe(0);

    const records = await gateway.auditRecords();
    const types = records.filter((record) => record.type.startsWith('approval.')).map((record) => record.type);
    expect(types).toEqual(['approval.requested', 'approval.decided', 'approval.used']);
    const command = records.find((record) => record.type === 'command' && record.text === 'DELETE FROM notes WHERE id = 1');
    expect(command).toMatchObject({ decision: { effect: 'allow', rule: 'review-note-deletes', approval: requests[0]!.id } });
  }, 30_000);

  it('refuses the held statement when the approver denies it, and the session stays usable', async () => {
    const client = await connectAs(gateway, 'nurse-kim', ['clinicians']);
    const lead = await gateway.token('dr-lee', ['clinical-leads']);
    try {
      const held = client.query('DELETE FROM notes WHERE id = 2').then(
        () => undefined,
        (error: Error & { code?: string; detail?: string }) => error,
      );
      let requests: Awaited<ReturnType<typeof pendingRequests>> = [];
      for (let attempt = 0; attempt < 100 && requests.length === 0; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        requests = await pendingRequests(lead);
      }
      await api(lead, 'POST', `/v1/approvals/${requests[0]!.id}/deny`, { reason: 'keep it for the audit' });
      const error = await held;
      expect(error).toMatchObject({ code: '42501', message: `Warden: approval request ${requests[0]!.id} was denied by dr-lee: keep it for the audit` });
      expect((await client.query('SELECT count(*)::int AS n FROM notes WHERE id = 2')).rows[0]).toEqual({ n: 1 });
    } finally {
      await client.end();
    }
  }, 30_000);
});

describe('retry mode', () => {
  it('refuses with the request id; once approved with the CLI the same statement runs once', async () => {
    const client = await connectAs(gateway, 'nurse-kim', ['clinicians']);
    const leadToken = await gateway.token('dr-lee', ['clinical-leads']);
    try {
      // A bulk delete is held too, and planned (not run) for the approver: the table is intact.
      const bulk = await client.query('DELETE FROM patients').catch((error: Error) => error);
      const bulkId = /apr_[0-9a-f]+/.exec((bulk as Error).message)![0];
      const shown = await api(leadToken, 'GET', `/v1/approvals/${bulkId}`);
      expect(shown.json).toMatchObject({ bulk: true, action: 'write', estimate: { source: 'planner' } });
      expect((shown.json.estimate as { rows: number }).rows).toBeGreaterThan(1);
      expect(await countRows('SELECT count(*) AS n FROM patients')).toBe(50);

      const first = await client.query('DELETE FROM patients WHERE id = 3').catch((error: Error & { code?: string; detail?: string }) => error);
      expect(first).toMatchObject({ code: '42501' });
      const message = (first as Error).message;
      expect(message).toMatch(/^Warden: deleting patient records needs a clinical lead: held for approval as request apr_[0-9a-f]+; once it is approved, run the same command again$/);
      const id = /apr_[0-9a-f]+/.exec(message)![0];
      expect((first as { detail?: string }).detail).toBe(`approval request ${id} (rule "review-patient-deletes")`);

      // A different literal is a different command: not covered by this request.
      const other = await client.query('DELETE FROM patients WHERE id = 4').catch((error: Error) => error);
      expect((other as Error).message).not.toContain(id);

      const out: string[] = [];
      const err: string[] = [];
      const io = { out: (text: string) => void out.push(text), err: (text: string) => void err.push(text) };
      expect(await approvalsCommand(['show', id, '--url', adminUrl, '--token', leadToken], io)).toBe(0);
      expect(out.join('')).toContain('command    DELETE FROM patients WHERE id = 3');
      expect(out.join('')).toContain('columns    patients.id');
      expect(await approvalsCommand(['approve', id, '--url', adminUrl, '--token', leadToken, '--reason', 'patient asked to be forgotten'], io)).toBe(0);
      expect(err).toEqual([]);

      await expect(client.query('DELETE  FROM patients WHERE id = 3')).resolves.toMatchObject({ rowCount: 1 });
      // Used once: running it again opens a new request.
      const again = await client.query('DELETE FROM patients WHERE id = 3').catch((error: Error) => error);
      expect((again as Error).message).toMatch(/held for approval as request apr_/);
      expect((again as Error).message).not.toContain(id);
    } finally {
      await client.end();
    }
  }, 30_000);

  it('refuses self-approval and approval by someone outside the approver groups', async () => {
    const client = await connectAs(gateway, 'lead-nurse', ['clinicians', 'clinical-leads']);
    try {
      const refused = await client.query('DELETE FROM patients WHERE id = 5').catch((error: Error) => error);
      const id = /apr_[0-9a-f]+/.exec((refused as Error).message)![0];
      const self = await api(await gateway.token('lead-nurse', ['clinicians', 'clinical-leads']), 'POST', `/v1/approvals/${id}/approve`);
      expect(self).toMatchObject({ status: 403, json: { error: { code: 'forbidden', message: `lead-nurse requested ${id} and cannot decide it` } } });
      const outsider = await api(await gateway.token('nurse-kim', ['clinicians']), 'POST', `/v1/approvals/${id}/approve`);
      expect(outsider).toMatchObject({ status: 403, json: { error: { message: `nurse-kim is not in an approver group of ${id} (clinical-leads)` } } });
      const err: string[] = [];
      const code = await approvalsCommand(['approve', id, '--url', adminUrl, '--token', await gateway.token('lead-nurse', ['clinical-leads'])], { out: () => undefined, err: (text) => void err.push(text) });
      expect(code).toBe(1);
      expect(err.join('')).toContain('cannot decide it');
      const refusals = (await gateway.auditRecords()).filter((record) => record.type === 'approval.refused');
      expect(refusals.length).toBeGreaterThanOrEqual(2);
    } finally {
      await client.end();
    }
  }, 30_000);

  it('an expired request can no longer be approved, and the statement stays refused', async () => {
    const client = await connectAs(gateway, 'nurse-kim', ['clinicians']);
    const lead = await gateway.token('dr-lee', ['clinical-leads']);
    try {
      const refused = await client.query("UPDATE notes SET body = 'x' WHERE id = 3").catch((error: Error) => error);
      const id = /apr_[0-9a-f]+/.exec((refused as Error).message)![0];
      await new Promise((resolve) => setTimeout(resolve, 1200));
      const late = await api(lead, 'POST', `/v1/approvals/${id}/approve`);
      expect(late).toMatchObject({ status: 409, json: { error: { message: `approval request ${id} is expired, not pending` } } });
      const again = await client.query("UPDATE notes SET body = 'x' WHERE id = 3").catch((error: Error) => error);
      expect((again as Error).message).toMatch(/held for approval as request apr_/);
      expect((await gateway.auditRecords()).some((record) => record.type === 'approval.expired' && record.requestId === id)).toBe(true);
    } finally {
      await client.end();
    }
  }, 30_000);

  it('the admin API refuses calls without a valid token', async () => {
    const response = await fetch(`${adminUrl}/v1/approvals`);
    expect(response.status).toBe(401);
    const bad = await fetch(`${adminUrl}/v1/approvals`, { headers: { authorization: 'Bearer not-a-token' } });
    expect(bad.status).toBe(401);
  });
});
