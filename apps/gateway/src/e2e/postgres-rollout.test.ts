/**
 * Rollout mode (`mode: audit-only` rules) and per-connection default effects, through the real
 * gateway, psql and the machine's PostgreSQL.
 */
import { createTestDatabase, PG, psql, startTestGateway, type TestGateway } from './harness';

let database: { name: string; drop(): Promise<void> };
let gateway: TestGateway;

beforeAll(async () => {
  database = await createTestDatabase();
  gateway = await startTestGateway({
    database: database.name,
    extraConnections: `
  - name: strict
    protocol: postgres
    listen: 127.0.0.1:0
    defaultEffect: block
    target: { host: ${PG.host}, port: ${PG.port}, database: ${database.name}, user: ${PG.user}, connectTimeoutMs: 3000 }`,
    grants: `
  - { connection: clinic, groups: [clinicians], access: read-write }
  - { connection: strict, groups: [clinicians], access: read-write }`,
    rules: `
  - name: no-bulk-writes
    match: { connection: clinic, action: write, bulk: true }
    effect: block
    reason: bulk writes are refused
    mode: audit-only
  - name: strict-reads
    match: { connection: strict, action: [read, transaction, session] }
    effect: allow`,
  });
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  await database?.drop();
});

it('an audit-only block rule lets the statement run, and the audit record says it would have blocked', async () => {
  const token = await gateway.token('nurse-1', ['clinicians']);
  const result = await psql(gateway, token, ['-At', '-c', "INSERT INTO notes (body) VALUES ('a'), ('b')", '-c', 'DELETE FROM notes', '-c', 'SELECT count(*) FROM notes'], { user: 'nurse-1' });
  expect(result.stderr).toBe('');
  expect(result.stdout.trim().split('\n')).toEqual(['INSERT 0 2', 'DELETE 2', '0']);

  const records = await gateway.auditRecords();
  const command = records.find((record) => record.type === 'command' && record.text === 'DELETE FROM notes');
  expect(command).toMatchObject({
    classification: { action: 'write', bulk: true },
    decision: { effect: 'allow', wouldHave: { effect: 'block', rule: 'no-bulk-writes', reason: 'bulk writes are refused' } },
  });
  // A statement the rule does not match carries no trace of it.
  const insert = records.find((record) => record.type === 'command' && record.text.startsWith('INSERT INTO notes'));
  expect(insert).toMatchObject({ decision: { effect: 'allow' } });
  expect(insert?.type === 'command' && 'wouldHave' in insert.decision).toBe(false);
});

it('a connection with defaultEffect block refuses what no rule allows, naming the default', async () => {
  const token = await gateway.token('nurse-2', ['clinicians']);
  const strict = { ...gateway, port: gateway.gateway.addresses.get('strict')!.port };
  const result = await psql(strict, token, ['-At', '-v', 'VERBOSITY=verbose', '-c', 'SELECT count(*) FROM patients', '-c', 'DELETE FROM patients WHERE id = 1'], { user: 'nurse-2', dbname: 'strict' });
  expect(result.stdout.trim()).toBe('50');
  expect(result.stderr).toContain('ERROR:  42501: Warden: no rule allows this write statement on connection "strict"');
  expect(result.stderr).toContain('DETAIL:  rule "default:strict"');
});
