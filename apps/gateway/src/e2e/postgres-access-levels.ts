/**
 * The three access levels of the test gateway's default policy, each granted by an OIDC group, and
 * node-postgres clients through the gateway at each level: for tests that show what one level may
 * do and the next may not.
 */
import { Client } from 'pg';
import type { TestGateway } from './harness';

/** The groups whose members the default policy grants each access level. */
export const ACCESS_GROUPS = { 'read-only': ['coding-agents'], 'read-write': ['clinicians'], full: ['dba'] } as const;
export type Access = keyof typeof ACCESS_GROUPS;

/** A node-postgres client (not yet connected) through `gateway` as `subject`, a member of `access`'s groups. */
export async function clientAt(gateway: TestGateway, access: Access, subject = `user-${access}`): Promise<Client> {
  return new Client({ host: '127.0.0.1', port: gateway.port, user: subject, database: 'clinic', password: await gateway.token(subject, [...ACCESS_GROUPS[access]]) });
}

/** Runs `use` with a connected client through `gateway` at `access`, and ends the client whatever happens. */
export async function withClientAt(gateway: TestGateway, access: Access, use: (client: Client) => Promise<void>): Promise<void> {
  const client = await clientAt(gateway, access);
  await client.connect();
  try {
    await use(client);
  } finally {
    await client.end();
  }
}
