/**
 * Warden as users run it (`startGateway` on a parsed YAML config), trusting a real OIDC provider
 * in-process, with one client per access level. Only grants, no rules: every refusal the suite
 * sees comes from the grant's ceiling or from fail-closed analysis, which is what issue 15 is about.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readAuditLines, silentLogger, type AuditRecord } from '@warden/core';
// The suite runs the gateway in-process from its sources (as apps/gateway/src/e2e does), so that it
// tests the code as it is now; this test tool is the only project that imports the app.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { parseConfig, startGateway, type RunningGateway } from '@warden/gateway';
import { startOidcProvider, type TestOidcProvider } from '@warden/testing';
import type { Grant } from './grant';


const CLIENTS: Readonly<Record<Grant, { clientId: string; group: string }>> = {
  'read-only': { clientId: 'reader-agent', group: 'readers' },
  'read-write': { clientId: 'writer-agent', group: 'writers' },
  full: { clientId: 'admin-agent', group: 'admins' },
};

export interface TargetSection {
  /** The connection's name (the database clients ask for). */
  readonly name: string;
  readonly protocol: 'postgres' | 'mysql';
  /** The `target:` mapping, as YAML flow. */
  readonly target: string;
  /** Extra connection keys, as YAML lines (e.g. `tls: self-signed`). */
  readonly extra?: string;
}

export interface RedteamGateway {
  readonly gateway: RunningGateway;
  readonly dataDir: string;
  /** The listening port of a connection. */
  port(connection: string): number;
  /** A fresh access token for a client with that grant. */
  token(grant: Grant): Promise<string>;
  /** Every audit record so far, across segments, in log order. */
  auditRecords(): Promise<AuditRecord[]>;
  stop(): Promise<void>;
}

export async function startRedteamGateway(connections: readonly TargetSection[]): Promise<RedteamGateway> {
  const oidc: TestOidcProvider = await startOidcProvider({
    clients: Object.values(CLIENTS).map(({ clientId, group }) => ({ clientId, clientSecret: `${clientId}-secret`, groups: [group] })),
  });
  const dataDir = await mkdtemp(path.join(tmpdir(), 'warden-redteam-'));
  try {
    const grants = connections.flatMap((connection) =>
      (Object.keys(CLIENTS) as Grant[]).map((grant) => `  - { connection: ${connection.name}, groups: [${CLIENTS[grant].group}], access: ${grant} }`),
    );
    const yaml = `
dataDir: ${JSON.stringify(dataDir)}
identity:
  issuers: [{ issuer: ${JSON.stringify(oidc.issuer)}, audience: ${oidc.audience} }]
connections:
${connections
  .map(
    (connection) => `  - name: ${connection.name}
    protocol: ${connection.protocol}
    listen: 127.0.0.1:0
${connection.extra ?? ''}
    target: ${connection.target}`,
  )
  .join('\n')}
grants:
${grants.join('\n')}
rules: []
`;
    const gateway = await startGateway(parseConfig(yaml, 'redteam.yaml'), { log: silentLogger });
    return {
      gateway,
      dataDir,
      port: (connection) => gateway.addresses.get(connection)!.port,
      token: (grant) => oidc.clientCredentialsToken(CLIENTS[grant].clientId),
      auditRecords: async () => {
        const records: AuditRecord[] = [];
        await readAuditLines(path.join(dataDir, 'audit.log'), (line) => void records.push(JSON.parse(line.toString('utf8')) as AuditRecord));
        return records;
      },
      stop: async () => {
        await gateway.stop();
        await oidc.close();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await oidc.close();
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
}
