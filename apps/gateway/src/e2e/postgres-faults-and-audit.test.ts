/**
 * The target being down, and the audit log as an auditor checks it with the real `warden` CLI.
 */
import { readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { Client } from 'pg';
import { createTestDatabase, psql, run, startTestGateway, type TestGateway } from './harness';

/** The real `warden` command (built by `npm test`'s build step), as a child process. */
const WARDEN = path.resolve(__dirname, '../../bin/warden.js');

function warden(args: readonly string[]) {
  return run(process.execPath, [WARDEN, ...args], { timeoutMs: 30_000 });
}

let database: { name: string; drop(): Promise<void> };

beforeAll(async () => {
  database = await createTestDatabase();
}, 60_000);

afterAll(async () => {
  await database?.drop();
});

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('when the target is down', () => {
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startTestGateway({ database: database.name, targetPort: await closedPort() });
  });
  afterAll(async () => gateway?.stop());

  it('tells the client clearly, records it, and keeps serving', async () => {
    const token = await gateway.token('agent-1', ['coding-agents']);
    for (let attempt = 0; attempt < 2; attempt++) {
      const result = await psql(gateway, token, ['-c', 'SELECT 1']);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(/FATAL:  Warden: target 127\.0\.0\.1:\d+ is unreachable \(ECONNREFUSED\)/);
    }
    const records = await gateway.auditRecords();
    const ends = records.filter((r) => r.type === 'session.end');
    expect(ends).toHaveLength(2);
    expect(ends[0]).toMatchObject({ reason: 'error', error: expect.stringContaining('unreachable') });
  });
});

describe('the audit log', () => {
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startTestGateway({ database: database.name });
    const token = await gateway.token('nurse-1', ['clinicians']);
    const client = new Client({ host: '127.0.0.1', port: gateway.port, user: 'nurse-1', database: 'clinic', password: token });
    await client.connect();
    await client.query('SELECT count(*) FROM patients');
    await client.query("UPDATE patients SET full_name = 'Renamed' WHERE id = 1");
    await client.query('DROP TABLE patients').catch(() => undefined);
    await client.end();
    await gateway.gateway.stop();
  }, 60_000);
  afterAll(async () => gateway?.stop());

  it('records the session, each command with its decision and result, in order', async () => {
    const records = await gateway.auditRecords();
    const types = records.map((r) => r.type);
    expect(types[0]).toBe('gateway.start');
    expect(types.at(-1)).toBe('gateway.stop');
    const commands = records.filter((r) => r.type === 'command');
    expect(commands.map((c) => [c.text, c.decision.effect, c.classification.action])).toEqual([
      ['SELECT count(*) FROM patients', 'allow', 'read'],
      ["UPDATE patients SET full_name = 'Renamed' WHERE id = 1", 'allow', 'write'],
      ['DROP TABLE patients', 'block', 'ddl'],
    ]);
    const results = records.filter((r) => r.type === 'result');
    expect(results.map((r) => r.summary.status)).toEqual(['SELECT 1', 'UPDATE 1']);
    expect(records.find((r) => r.type === 'session.end')).toMatchObject({ reason: 'client-closed', totals: { commands: 3, blocked: 1 } });
  });

  it('verifies with `warden audit verify`, and names the first record that was altered', async () => {
    const intact = await warden(['audit', 'verify', '--data-dir', gateway.dataDir]);
    expect(intact.code).toBe(0);
    expect(intact.stdout).toMatch(/OK, \d+ records/);

    const file = path.join(gateway.dataDir, 'audit.log');
    const original = await readFile(file, 'utf8');
    const lines = original.split('\n');
    const index = lines.findIndex((line) => line.includes('DROP TABLE patients'));
    lines[index] = lines[index]!.replace('"effect":"block"', '"effect":"allow"');
    await writeFile(file, lines.join('\n'));
    const altered = await warden(['audit', 'verify', '--data-dir', gateway.dataDir]);
    expect(altered.code).toBe(1);
    expect(altered.stdout).toContain(`FAILED at record ${index + 1} (line ${index + 1}): hash mismatch (record altered)`);

    const removed = original.split('\n');
    removed.splice(index, 1);
    await writeFile(file, removed.join('\n'));
    const deleted = await warden(['audit', 'verify', '--data-dir', gateway.dataDir]);
    expect(deleted.code).toBe(1);
    expect(deleted.stdout).toContain(`FAILED at record ${index + 1}`);

    await writeFile(file, original);
  });
});
