/**
 * Row budgets, KILL QUERY and just-in-time approvals through the MySQL adapter end to end: mysql2
 * and the `mariadb` CLI through a real gateway to the machine's MariaDB, approvers deciding through
 * the admin HTTP API.
 */
import { spawn } from 'node:child_process';
import mysql from 'mysql2/promise';
import { TARGET_USER, mysqlGatewayFixture } from './mysql-harness';

let adminUrl: string;

const fixture = mysqlGatewayFixture({
  prepare: async () => {
    await fixture.queryAsRoot("INSERT INTO notes (body) SELECT CONCAT('note ', seq) FROM seq_1_to_10");
  },
  grants: `
  - { connection: clinic-my, groups: [coding-agents], access: read-only }
  - { connection: clinic-my, groups: [clinicians], access: read-write }
  - { connection: clinic-my, groups: [capped], access: read-only, budget: { appliesTo: everyone, rowsPerStatement: 5 } }
  - { connection: clinic-my, groups: [rationed], access: read-only, budget: { appliesTo: everyone, rowsPerSession: 8 } }`,
  rules: `
  - name: review-note-deletes
    match: { connection: clinic-my, action: write, objects: [notes], text: '^\\s*delete' }
    effect: review
    approvers: [clinical-leads]
    reason: deleting clinical notes needs a clinical lead
    approval: { mode: retry, ttlSeconds: 600 }
  - name: review-note-updates
    match: { connection: clinic-my, action: write, objects: [notes], text: '^\\s*update' }
    effect: review
    approvers: [clinical-leads]
    reason: changing clinical notes needs a clinical lead
    approval: { mode: wait, waitSeconds: 30 }`,
  extraTopLevel: `
admin: { listen: 127.0.0.1:0 }`,
});

beforeAll(() => {
  adminUrl = fixture.gateway.gateway.admin!.url;
});

type Row = Record<string, unknown>;

async function connect(subject: string, groups: string[], options: { multipleStatements?: boolean } = {}): Promise<mysql.Connection> {
  return fixture.connectAs(subject, groups, { user: subject, ...options });
}

/** Statements Warden's target account is running now. */
async function runningOnTarget(marker: string): Promise<number> {
  const rows = await fixture.queryAsRoot<Row[]>(`SELECT COUNT(*) AS n FROM information_schema.processlist WHERE user = '${TARGET_USER.user}' AND info LIKE '%${marker}%' AND command = 'Query'`);
  return Number(rows[0]!['n']);
}

describe('row budgets', () => {
  it('cuts a result at the statement budget with an error, in both protocols, and stops the statement on the target', async () => {
    const connection = await connect('agent-cap', ['capped']);
    try {
      const cut = { errno: 1317, sqlState: '70100', message: 'Warden: the result was cut after 5 rows, the budget per statement; it is incomplete (rule "budget:rows-per-statement")' };
      await expect(connection.query('SELECT seq FROM seq_1_to_100000')).rejects.toMatchObject(cut);
      await expect(connection.execute('SELECT id, full_name FROM patients WHERE id > ?', [0])).rejects.toMatchObject(cut);
      // A statement that keeps producing rows for minutes (wide rows, 10 ms each): cut, and killed on the target.
      const started = Date.now();
      await expect(connection.query("SELECT seq, REPEAT('x', 4000) AS pad, 'slow-marker' FROM seq_1_to_100000 WHERE SLEEP(0.01) = 0")).rejects.toMatchObject({ errno: 1317 });
      // The session stays usable, and the next statement runs (it would queue behind the slow one otherwise).
      const [rows] = await connection.query('SELECT COUNT(*) AS n FROM patients');
      expect(rows).toEqual([{ n: 50 }]);
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(await runningOnTarget('slow-marker')).toBe(0);
      // Within the budget, results are whole.
      const [few] = await connection.query('SELECT id FROM patients ORDER BY id LIMIT 5');
      expect(few).toHaveLength(5);
    } finally {
      await connection.end();
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    const records = (await fixture.gateway.auditRecords()) as unknown as Row[];
    expect(records.some((record) => record['type'] === 'result' && (record['summary'] as Row)['rows'] === 5 && JSON.stringify(record['summary']).includes('budget per statement'))).toBe(true);
  }, 30_000);

  it('cuts at the session budget, then refuses further statements', async () => {
    const connection = await connect('agent-ration', ['rationed']);
    try {
      const [first] = await connection.query('SELECT id FROM patients ORDER BY id LIMIT 5');
      expect(first).toHaveLength(5);
      await expect(connection.query('SELECT id FROM patients ORDER BY id LIMIT 5')).rejects.toMatchObject({
        errno: 1317,
        message: expect.stringContaining("the result was cut after 3 rows: the session's budget of 8 rows is used up"),
      });
      await expect(connection.query('SELECT 1')).rejects.toMatchObject({ errno: 1142, message: expect.stringContaining('budget:') });
    } finally {
      await connection.end();
    }
  });
});

describe('KILL QUERY', () => {
  it('stops a statement from a second connection of the same identity, mapped to the target thread', async () => {
    const worker = await connect('agent-k', ['coding-agents']);
    const killer = await connect('agent-k', ['coding-agents']);
    const stranger = await connect('agent-other', ['coding-agents']);
    try {
      const started = Date.now();
      const sleeping = worker.query('SELECT SLEEP(30) AS s').then(
        () => undefined,
        (error: Error) => error,
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      // Another identity cannot see the connection id; neither can anyone see an unknown one.
      await expect(stranger.query(`KILL QUERY ${worker.threadId}`)).rejects.toMatchObject({ errno: 1094 });
      await expect(killer.query('KILL QUERY 999999')).rejects.toMatchObject({ errno: 1094 });
      await killer.query(`KILL QUERY ${worker.threadId}`);
      // The target's own answer to a killed statement.
      expect(await sleeping).toMatchObject({ errno: 1317, message: 'Query execution was interrupted' });
      expect(Date.now() - started).toBeLessThan(10_000);
      const [after] = await worker.query('SELECT 2 AS n');
      expect(after).toEqual([{ n: 2 }]);
    } finally {
      await Promise.all([worker.end(), killer.end(), stranger.end()]);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    const records = (await fixture.gateway.auditRecords()) as unknown as Row[];
    expect(records.filter((record) => JSON.stringify(record).includes('"cancel"'))).toHaveLength(1);
  }, 30_000);

  it('stops the running statement when the mariadb client is interrupted (Ctrl-C)', async () => {
    const token = await fixture.gateway.token('agent-ctrl-c', ['coding-agents']);
    const child = spawn('mariadb', ['--no-defaults', '-h', '127.0.0.1', '-P', String(fixture.gateway.mysqlPort), '-u', 'agent-ctrl-c', '--ssl', '--skip-ssl-verify-server-cert', '-D', 'clinic-my', '-e', "SELECT SLEEP(30), 'ctrl-c-marker'"], {
      env: { ...process.env, MYSQL_PWD: token },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    for (let attempt = 0; attempt < 50 && (await runningOnTarget('ctrl-c-marker')) === 0; attempt++) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await runningOnTarget('ctrl-c-marker')).toBe(1);
    const started = Date.now();
    child.kill('SIGINT');
    await exited;
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(`${stdout}${stderr}`).toMatch(/Ctrl-C|killed|interrupted/i);
    expect(await runningOnTarget('ctrl-c-marker')).toBe(0);
  }, 30_000);
});

async function api(token: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${adminUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

async function pendingRequests(token: string): Promise<Array<{ id: string; text: string }>> {
  const { json } = await api(token, 'GET', '/v1/approvals?status=pending');
  return json['requests'] as Array<{ id: string; text: string }>;
}

describe('approvals', () => {
  it('retry mode: ERR names the request; once approved the same statement runs once', async () => {
    const connection = await connect('nurse-my', ['clinicians']);
    const lead = await fixture.gateway.token('lead-my', ['clinical-leads']);
    try {
      const statement = 'DELETE FROM notes WHERE id = 1';
      const refused = await connection.query(statement).then(
        () => undefined,
        (error: Error & { errno?: number }) => error,
      );
      expect(refused).toMatchObject({ errno: 1142, message: expect.stringMatching(/^Warden: deleting clinical notes needs a clinical lead.*approval request \S+, rule "review-note-deletes"/) });
      const id = /approval request (\S+?),/.exec(refused!.message)![1]!;
      expect(await fixture.queryAsRoot<Row[]>('SELECT COUNT(*) AS n FROM notes WHERE id = 1')).toEqual([{ n: 1 }]);

      const approved = await api(lead, 'POST', `/v1/approvals/${id}/approve`, { reason: 'duplicate' });
      expect(approved).toMatchObject({ status: 200, json: { status: 'approved', decidedBy: 'lead-my' } });
      const [done] = await connection.query(statement);
      expect((done as mysql.ResultSetHeader).affectedRows).toBe(1);
      expect(await fixture.queryAsRoot<Row[]>('SELECT COUNT(*) AS n FROM notes WHERE id = 1')).toEqual([{ n: 0 }]);
      // Used once: running it again asks again.
      await expect(connection.query(statement)).rejects.toMatchObject({ errno: 1142, message: expect.stringContaining('approval request') });
    } finally {
      await connection.end();
    }
  }, 30_000);

  it('wait mode: the statement is held until approved, then runs', async () => {
    const connection = await connect('nurse-my2', ['clinicians']);
    const lead = await fixture.gateway.token('lead-my', ['clinical-leads']);
    try {
      const held = connection.query("UPDATE notes SET body = 'reviewed' WHERE id = 2");
      let requests: Array<{ id: string; text: string }> = [];
      for (let attempt = 0; attempt < 100 && requests.length === 0; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        requests = (await pendingRequests(lead)).filter((request) => request.text.startsWith('UPDATE notes'));
      }
      expect(requests).toHaveLength(1);
      // Still held: nothing changed yet.
      expect(await fixture.queryAsRoot<Row[]>('SELECT body FROM notes WHERE id = 2')).toEqual([{ body: 'note 2' }]);
      await api(lead, 'POST', `/v1/approvals/${requests[0]!.id}/approve`, { reason: 'ok' });
      const [result] = await held;
      expect((result as mysql.ResultSetHeader).affectedRows).toBe(1);
      expect(await fixture.queryAsRoot<Row[]>('SELECT body FROM notes WHERE id = 2')).toEqual([{ body: 'reviewed' }]);
    } finally {
      await connection.end();
    }
  }, 30_000);
});
