/**
 * psql and node-postgres through Warden to the machine's real PostgreSQL.
 */
import net from 'node:net';
import { Client, type ClientConfig } from 'pg';
import { createTestDatabase, psql, startTestGateway, type TestGateway } from './harness';

let database: { name: string; drop(): Promise<void> };
let gateway: TestGateway;

beforeAll(async () => {
  database = await createTestDatabase();
  gateway = await startTestGateway({ database: database.name, tls: true });
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  await database?.drop();
});

async function connect(subject: string, groups: string[], extra: Partial<ClientConfig> = {}): Promise<Client> {
  const client = new Client({
    host: '127.0.0.1',
    port: gateway.port,
    user: subject,
    database: 'clinic',
    password: await gateway.token(subject, groups),
    ...extra,
  });
  await client.connect();
  return client;
}

describe('psql through Warden', () => {
  it('runs a simple query and prints the rows', async () => {
    const token = await gateway.token('agent-1', ['coding-agents']);
    const result = await psql(gateway, token, ['-At', '-c', 'SELECT count(*) FROM patients', '-c', "SELECT full_name FROM patients WHERE id = 3"]);
    expect(result.stderr).toBe('');
    expect(result.stdout.trim().split('\n')).toEqual(['50', 'Patient 3']);
  });

  it('connects with sslmode=require over TLS', async () => {
    const token = await gateway.token('agent-1', ['coding-agents']);
    const result = await psql(gateway, token, ['-At', '-c', 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()', '-c', '\\conninfo'], { sslmode: 'require' });
    expect(result.code).toBe(0);
    // The client side of the TLS session is Warden's; psql reports it.
    expect(result.stdout).toMatch(/SSL connection \(protocol: TLSv1\.[23]/);
  });

  it('refuses a blocked DDL statement with 42501 naming the rule, and the session stays usable', async () => {
    const token = await gateway.token('nurse-1', ['clinicians']);
    const result = await psql(gateway, token, ['-At', '-c', 'DROP TABLE patients', '-c', 'SELECT count(*) FROM patients'], { user: 'nurse-1' });
    expect(result.stderr).toContain('ERROR:  Warden: schema changes are reserved for the dba group');
    expect(result.stderr).toContain('rule "no-ddl"');
    expect(result.stdout.trim()).toBe('50');
  });

  it('reports the SQLSTATE of a refusal as 42501', async () => {
    const token = await gateway.token('nurse-1', ['clinicians']);
    const result = await psql(gateway, token, ['-At', '-v', 'VERBOSITY=verbose', '-c', 'CREATE TABLE x (id int)'], { user: 'nurse-1' });
    expect(result.stderr).toMatch(/ERROR:\s+42501: Warden:/);
  });

  it('streams a large result (200,000 rows) through the gateway', async () => {
    const token = await gateway.token('agent-1', ['coding-agents']);
    const result = await psql(gateway, token, ['-At', '-c', "SELECT i, repeat('x', 40) FROM generate_series(1, 200000) AS i"]);
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(200_000);
    expect(lines[199_999]).toBe(`200000|${'x'.repeat(40)}`);
    const records = await gateway.auditRecords();
    const summary = records.find((r) => r.type === 'result' && r.summary.rows === 200_000);
    expect(summary).toBeDefined();
  });
});

describe('node-postgres through Warden', () => {
  it('runs parameterised (extended protocol) queries', async () => {
    const client = await connect('agent-1', ['coding-agents']);
    try {
      const result = await client.query('SELECT full_name, $1::int + 1 AS next FROM patients WHERE id = $1', [7]);
      expect(result.rows).toEqual([{ full_name: 'Patient 7', next: 8 }]);
    } finally {
      await client.end();
    }
  });

  it('runs named prepared statements repeatedly', async () => {
    const client = await connect('agent-1', ['coding-agents']);
    try {
      for (const id of [1, 2, 3]) {
        const result = await client.query({ name: 'by-id', text: 'SELECT id FROM patients WHERE id = $1', values: [id] });
        expect(result.rows).toEqual([{ id }]);
      }
    } finally {
      await client.end();
    }
  });

  it('pipelines queries: a refused one in the middle does not disturb the others', async () => {
    const client = await connect('nurse-2', ['clinicians']);
    try {
      const [first, blocked, third] = await Promise.allSettled([
        client.query('SELECT 1 AS one'),
        client.query('DROP TABLE patients'),
        client.query('SELECT $1::text AS three', ['3']),
      ]);
      expect(first).toMatchObject({ status: 'fulfilled', value: { rows: [{ one: 1 }] } });
      expect(blocked).toMatchObject({ status: 'rejected', reason: { code: '42501' } });
      expect(third).toMatchObject({ status: 'fulfilled', value: { rows: [{ three: '3' }] } });
    } finally {
      await client.end();
    }
  });

  it('refuses an extended-protocol write for a read-only grant, and the session stays usable', async () => {
    const client = await connect('agent-2', ['coding-agents']);
    try {
      await expect(client.query('DELETE FROM notes WHERE id = $1', [1])).rejects.toMatchObject({
        code: '42501',
        message: 'Warden: read-only access does not allow write statements',
      });
      const after = await client.query('SELECT count(*)::int AS n FROM patients');
      expect(after.rows).toEqual([{ n: 50 }]);
    } finally {
      await client.end();
    }
  });

  it('commits a transaction', async () => {
    const client = await connect('nurse-3', ['clinicians']);
    try {
      await client.query('BEGIN');
      await client.query('INSERT INTO notes (body) VALUES ($1)', ['committed note']);
      await client.query('COMMIT');
      const result = await client.query('SELECT count(*)::int AS n FROM notes WHERE body = $1', ['committed note']);
      expect(result.rows).toEqual([{ n: 1 }]);
    } finally {
      await client.end();
    }
  });

  it('a refusal inside a transaction aborts it, as any error would: COMMIT then rolls back', async () => {
    const client = await connect('nurse-4', ['clinicians']);
    try {
      await client.query('BEGIN');
      await client.query("INSERT INTO notes (body) VALUES ('must not survive')");
      await expect(client.query('DROP TABLE notes')).rejects.toMatchObject({ code: '42501' });
      await expect(client.query('SELECT 1')).rejects.toMatchObject({ code: '25P02' }); // in failed transaction
      const commit = await client.query('COMMIT');
      expect(commit.command).toBe('ROLLBACK');
      const result = await client.query("SELECT count(*)::int AS n FROM notes WHERE body = 'must not survive'");
      expect(result.rows).toEqual([{ n: 0 }]);
    } finally {
      await client.end();
    }
  });

  it('runs the target session read-only for a read-only grant (defence in depth)', async () => {
    const client = await connect('agent-3', ['coding-agents']);
    try {
      const result = await client.query('SHOW default_transaction_read_only');
      expect(result.rows).toEqual([{ default_transaction_read_only: 'on' }]);
    } finally {
      await client.end();
    }
  });

  it('connects over TLS', async () => {
    const client = await connect('agent-4', ['coding-agents'], { ssl: { rejectUnauthorized: false } });
    try {
      const result = await client.query('SELECT 1 AS one');
      expect(result.rows).toEqual([{ one: 1 }]);
      expect((client as unknown as { connection: { stream: object } }).connection.stream.constructor.name).toBe('TLSSocket');
    } finally {
      await client.end();
    }
  });

  it('routes a cancel request to the right backend', async () => {
    const client = await connect('agent-5', ['coding-agents']);
    try {
      const slow = client.query('SELECT pg_sleep(20)');
      await new Promise((resolve) => setTimeout(resolve, 300));
      const { processID, secretKey } = client as unknown as { processID: number; secretKey: number };
      await sendCancel(gateway.port, processID, secretKey);
      await expect(slow).rejects.toMatchObject({ code: '57014' }); // query_canceled
      const after = await client.query('SELECT 2 AS two');
      expect(after.rows).toEqual([{ two: 2 }]);
      const records = await gateway.auditRecords();
      expect(records.some((r) => r.type === 'session.event' && r.name === 'cancel')).toBe(true);
    } finally {
      await client.end();
    }
  });

  it('ignores a cancel request with a wrong key', async () => {
    const client = await connect('agent-6', ['coding-agents']);
    try {
      const query = client.query('SELECT pg_sleep(0.5), 1 AS done');
      const { processID, secretKey } = client as unknown as { processID: number; secretKey: number };
      await sendCancel(gateway.port, processID, (secretKey + 1) | 0);
      await expect(query).resolves.toMatchObject({ rows: [{ done: 1 }] });
    } finally {
      await client.end();
    }
  });
});

describe('startup negotiation', () => {
  it('declines GSS encryption, then offers TLS on the same connection', async () => {
    const socket = net.connect(gateway.port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    const answers: string[] = [];
    const request = (code: number) =>
      new Promise<void>((resolve) => {
        socket.once('data', (data: Buffer) => {
          answers.push(data.toString());
          resolve();
        });
        const message = Buffer.alloc(8);
        message.writeInt32BE(8, 0);
        message.writeInt32BE(code, 4);
        socket.write(message);
      });
    await request(80877104); // GSSENCRequest
    await request(80877103); // SSLRequest
    socket.destroy();
    expect(answers).toEqual(['N', 'S']);
  });
});

/** CancelRequest: int32 16 | int32 80877102 | int32 pid | int32 key, on a new connection. */
function sendCancel(port: number, processId: number, secretKey: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      const message = Buffer.alloc(16);
      message.writeInt32BE(16, 0);
      message.writeInt32BE(80877102, 4);
      message.writeInt32BE(processId, 8);
      message.writeInt32BE(secretKey, 12);
      socket.end(message);
    });
    socket.on('close', () => resolve());
    socket.on('error', reject);
  });
}
