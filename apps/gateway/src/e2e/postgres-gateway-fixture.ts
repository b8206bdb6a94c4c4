/**
 * The usual setup of a Postgres end-to-end test file, once: a fresh database on the machine's
 * PostgreSQL, a gateway in front of it, and superuser queries that check the target behind
 * Warden's back.
 */
import { Client } from 'pg';
import { createTestDatabase, PG, startTestGateway, type TestGateway, type TestGatewayOptions } from './harness';

/** Runs `sql` on `database` straight on PostgreSQL as the superuser, not through Warden: to set it up, or to see what a statement did to it. */
export async function queryAsSuperuser<T extends Record<string, unknown>>(database: string, sql: string): Promise<T[]> {
  const client = new Client({ ...PG, database });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

export interface PostgresGatewayFixture {
  /** The test file's fresh database (read it inside hooks and tests: it exists from `beforeAll` on). */
  readonly database: { readonly name: string };
  /** The gateway in front of it (from `beforeAll` on, after `prepare`). */
  readonly gateway: TestGateway;
  /** `queryAsSuperuser` on the file's database. */
  queryAsSuperuser<T extends Record<string, unknown>>(sql: string): Promise<T[]>;
}

/**
 * A fresh database and a gateway in front of it for the tests of one file: registers a `beforeAll`
 * that creates the database, runs `prepare` (e.g. `fixture.queryAsSuperuser('CREATE FUNCTION …')`)
 * and starts the gateway, and an `afterAll` that stops the gateway and drops the database.
 *
 *   const fixture = postgresGatewayFixture();
 *   it('…', async () => { const token = await fixture.gateway.token('agent-1', ['coding-agents']); … });
 */
export function postgresGatewayFixture(options: Omit<TestGatewayOptions, 'database'> & { readonly prepare?: () => Promise<void> } = {}): PostgresGatewayFixture {
  const { prepare, ...gatewayOptions } = options;
  let database: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  let gateway: TestGateway | undefined;
  beforeAll(async () => {
    database = await createTestDatabase();
    await prepare?.();
    gateway = await startTestGateway({ ...gatewayOptions, database: database.name });
  }, 60_000);
  afterAll(async () => {
    await gateway?.stop();
    await database?.drop();
  });
  const started = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`the ${what} exists only from beforeAll on`);
    return value;
  };
  return {
    get database() {
      return started(database, 'test database');
    },
    get gateway() {
      return started(gateway, 'gateway');
    },
    queryAsSuperuser: (sql) => queryAsSuperuser(started(database, 'test database').name, sql),
  };
}
