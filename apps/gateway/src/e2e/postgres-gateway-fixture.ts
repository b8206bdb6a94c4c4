/**
 * The usual setup of a Postgres end-to-end test file, once: a fresh database on the machine's
 * PostgreSQL, a gateway in front of it, and superuser queries that check the target behind
 * Warden's back.
 */
import { Client } from 'pg';
import { databaseGatewayFixture, type DatabaseGatewayFixture } from './file-fixture';
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

export interface PostgresGatewayFixture extends DatabaseGatewayFixture<{ readonly name: string; drop(): Promise<void> }, TestGateway> {
  /** `queryAsSuperuser` on the file's database. */
  queryAsSuperuser<T extends Record<string, unknown>>(sql: string): Promise<T[]>;
}

/**
 * A fresh database and a gateway in front of it for the tests of one file (`databaseGatewayFixture`);
 * `prepare` runs on the database before the gateway starts.
 *
 *   const fixture = postgresGatewayFixture({ prepare: () => fixture.queryAsSuperuser('CREATE FUNCTION …') });
 *   it('…', async () => { const token = await fixture.gateway.token('agent-1', ['coding-agents']); … });
 */
export function postgresGatewayFixture(options: Omit<TestGatewayOptions, 'database'> & { readonly prepare?: () => Promise<void> } = {}): PostgresGatewayFixture {
  const { prepare, ...gatewayOptions } = options;
  const fixture = databaseGatewayFixture({ createDatabase: createTestDatabase, ...(prepare ? { prepare } : {}), startGateway: (database) => startTestGateway({ ...gatewayOptions, database }) });
  return Object.assign(fixture, { queryAsSuperuser: <T extends Record<string, unknown>>(sql: string) => queryAsSuperuser<T>(fixture.database.name, sql) });
}
