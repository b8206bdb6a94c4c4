/**
 * Crash safety of the audit log, with a real gateway process: node-postgres clients INSERT through
 * it, the gateway is killed with SIGKILL mid-load, restarted on the same data directory, and then
 * the log must verify (chain, tree, signed checkpoints) and hold a `command` record for every
 * statement a client saw acknowledged — for `durability: disk` and `durability: os`.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DevIssuer, type AuditRecord } from '@warden/core';
import { Client } from 'pg';
import { runCli, type CliIo } from '../cli';
import { createTestDatabase, PG } from './harness';
import { ensureGatewayBuilt, startGatewayProcess } from './gateway-process';

let database: { name: string; drop(): Promise<void> };

beforeAll(async () => {
  ensureGatewayBuilt();
  database = await createTestDatabase();
}, 120_000);

afterAll(async () => {
  await database?.drop();
});

async function cli(args: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = { out: (text) => void (out += text), err: (text) => void (err += text), stopSignal: () => new Promise(() => undefined) };
  return { code: await runCli(args, io), out, err };
}

const CLIENTS = 6;

describe.each(['disk', 'os'] as const)('kill -9 under load, durability %s', (durability) => {
  let dir: string;
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loses no acknowledged command and leaves a log that verifies', async () => {
    dir = await mkdtemp(path.join(tmpdir(), `warden-crash-${durability}-`));
    const config = path.join(dir, 'warden.yaml');
    await writeFile(
      config,
      `
dataDir: ./data
identity: { devIssuer: true }
audit:
  durability: ${durability}
  syncIntervalMs: 20
  checkpoint: { everyRecords: 50, everySeconds: 1, witness: { file: ./witness.log } }
connections:
  - name: clinic
    protocol: postgres
    listen: 127.0.0.1:0
    target: { host: ${PG.host}, port: ${PG.port}, database: ${database.name}, user: ${PG.user} }
grants:
  - { connection: clinic, groups: [clinicians], access: read-write }
`,
    );
    const dataDir = path.join(dir, 'data');
    const token = await (await DevIssuer.loadOrCreate(dataDir)).issue({ subject: 'nurse-1', groups: ['clinicians'], kind: 'human' });

    const first = await startGatewayProcess(config, ['clinic']);
    const port = first.ports.get('clinic')!;
    const acknowledged: string[] = [];
    let killed = false;
    const load = Array.from({ length: CLIENTS }, async (_, c) => {
      const client = new Client({ host: '127.0.0.1', port, user: 'nurse-1', password: token, database: database.name });
      client.on('error', () => undefined);
      await client.connect();
      for (let n = 0; !killed; n++) {
        const sql = `INSERT INTO notes (body) VALUES ('crash-${durability}-${c}-${n}')`;
        try {
          await client.query(sql);
          acknowledged.push(sql);
        } catch {
          break; // the gateway is gone
        }
      }
      await client.end().catch(() => undefined);
    });
    // Kill once the load is well under way: enough acknowledged commands and several checkpoints.
    while (acknowledged.length < 300) await new Promise((resolve) => setTimeout(resolve, 10));
    first.child.kill('SIGKILL');
    killed = true;
    expect((await first.exited).signal).toBe('SIGKILL');
    await Promise.all(load);

    // A kill -9 cannot cut one write() short, but a crash of the machine can leave half a record:
    // model that torn write on top of the kill.
    const logPath = path.join(dataDir, 'audit.log');
    appendFileSync(logPath, '{"type":"command","sessionId":"torn","commandSeq":1,"text":"INSERT INTO no');

    const second = await startGatewayProcess(config, ['clinic']);
    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);

    const records = readFileSync(logPath, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as AuditRecord);
    const repair = records.find((record) => record.type === 'audit.repair');
    expect(repair).toMatchObject({ type: 'audit.repair', reason: expect.stringMatching(/torn write/) });

    const commands = new Set(records.flatMap((record) => (record.type === 'command' ? [record.text] : [])));
    const missing = acknowledged.filter((sql) => !commands.has(sql));
    expect({ acknowledged: acknowledged.length, missing }).toEqual({ acknowledged: acknowledged.length, missing: [] });

    const verified = await cli(['audit', 'verify', '--config', config]);
    expect(verified.err).toBe('');
    expect(verified.out).toMatch(/OK, \d+ records/);
    expect(verified.code).toBe(0);
    // Checkpoints from before the kill and after the restart both cover this log.
    expect(Number(/(\d+) signed checkpoints/.exec(verified.out)?.[1])).toBeGreaterThanOrEqual(3);
  }, 30_000);
});
