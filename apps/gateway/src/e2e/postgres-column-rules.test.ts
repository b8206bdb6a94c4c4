/**
 * Rules on columns, end to end with node-postgres: the classifier names the columns a statement
 * touches (through aliases, stars and subqueries) and a rule on `patients.ssn` holds whatever the
 * spelling.
 */
import { Client } from 'pg';
import { createTestDatabase, startTestGateway, type TestGateway } from './harness';

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let gateway: TestGateway;
let client: Client;

beforeAll(async () => {
  database = await createTestDatabase();
  gateway = await startTestGateway({
    database: database.name,
    grants: `
  - { connection: clinic, groups: [coding-agents], access: read-only }`,
    rules: `
  - name: no-ssn-for-agents
    match: { connection: clinic, kind: agent, columns: [public.patients.ssn] }
    effect: block
    reason: agents may not read social security numbers`,
  });
  const password = await gateway.dev.issue({ subject: 'agent-1', groups: ['coding-agents'], kind: 'agent' });
  client = new Client({ host: '127.0.0.1', port: gateway.port, user: 'agent-1', database: 'clinic', password });
  await client.connect();
}, 60_000);

afterAll(async () => {
  await client?.end();
  await gateway?.stop();
  await database?.drop();
});

const outcome = (sql: string) =>
  client.query(sql).then(
    () => 'allowed',
    (error: Error & { code?: string; detail?: string }) => `${error.code}: ${error.message} (${error.detail ?? ''})`,
  );

describe('column rules', () => {
  it.each([
    'SELECT ssn FROM patients',
    'SELECT * FROM patients',
    'SELECT p.ssn FROM public.patients p',
    'SELECT x.s FROM (SELECT ssn AS s FROM patients) x',
    "SELECT full_name FROM patients WHERE ssn = '900-55-0001'",
    'SELECT "SSN" FROM (SELECT ssn AS "SSN" FROM patients) t',
  ])('refuses %j', async (sql) => {
    expect(await outcome(sql)).toBe('42501: Warden: agents may not read social security numbers (rule "no-ssn-for-agents")');
  });

  it.each(['SELECT full_name, dob FROM patients WHERE id = 1', 'SELECT count(*) FROM patients', 'SELECT body FROM notes'])('allows %j', async (sql) => {
    expect(await outcome(sql)).toBe('allowed');
  });
});
