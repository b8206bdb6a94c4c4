/**
 * Identity hygiene over MySQL: a token pasted into the MySQL user name is admitted or refused as
 * before, and the audit log holds only a short SHA-256 prefix of it, never its text.
 */
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { connectThroughWarden, mysqlGatewayFixture } from './mysql-harness';

const fixture = mysqlGatewayFixture();

/** Every audit segment and recording the gateway wrote. */
async function auditAndRecordings(): Promise<string> {
  const files = (await readdir(fixture.gateway.dataDir, { recursive: true, withFileTypes: true }))
    .filter((entry) => entry.isFile() && (entry.name.endsWith('.log') || entry.name.endsWith('.jsonl') || entry.parentPath.includes('recordings')))
    .map((entry) => path.join(entry.parentPath, entry.name));
  expect(files.length).toBeGreaterThan(0);
  return (await Promise.all(files.map((file) => readFile(file, 'latin1')))).join('\n');
}

describe('a token pasted into the MySQL user name (token-as-user-name leak)', () => {
  it('admits with the token as user name and password, and refuses a tampered one, storing only sha256 prefixes', async () => {
    const token = await fixture.gateway.token('agent-1', ['coding-agents']);
    const connection = await connectThroughWarden(fixture.gateway, token, { user: token });
    try {
      const [rows] = await connection.query('SELECT COUNT(*) AS n FROM patients');
      expect(rows).toEqual([{ n: 50 }]);
    } finally {
      await connection.end();
    }

    const [header, payload, signature] = token.split('.');
    const tampered = `${header}.${payload}.${signature!.startsWith('A') ? 'B' : 'A'}${signature!.slice(1)}`;
    await expect(connectThroughWarden(fixture.gateway, tampered, { user: tampered })).rejects.toMatchObject({ message: 'Warden: token signature does not verify' });

    const failure = (await fixture.gateway.auditRecords()).filter((record) => record.type === 'auth.failure').at(-1);
    expect(failure).toMatchObject({ connection: 'clinic-my', claimedUser: expect.stringMatching(/^sha256:[0-9a-f]{12}$/) });
    const written = await auditAndRecordings();
    expect(written).not.toContain(payload!);
    expect(written).not.toContain(signature!);
    expect(written).not.toMatch(/eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/);
  });
});
