/**
 * Limits from the `limits:` section, enforced on a real gateway in front of the machine's
 * PostgreSQL and seen through real clients (node-postgres, psql, raw sockets for the slow ones):
 * message size, login timeout (slow-loris), idle timeout, sessions per identity, connections per
 * listener, pending approvals per identity, and failed-login throttling per address.
 */
import net from 'node:net';
import { Client } from 'pg';
import { createTestDatabase, psql, startTestGateway, type TestGateway } from './harness';

let database: { name: string; drop(): Promise<void> };

beforeAll(async () => {
  database = await createTestDatabase();
}, 60_000);

afterAll(async () => {
  await database?.drop();
});

function client(gateway: TestGateway, password: string, user = 'agent-1'): Client {
  const pg = new Client({ host: '127.0.0.1', port: gateway.port, user, database: 'clinic', password });
  // A server-side close surfaces as an 'error' event as well as on the pending query.
  pg.on('error', () => undefined);
  return pg;
}

/** Connects a raw socket, runs `act`, and resolves with everything received once the gateway closes. */
function rawSession(gateway: TestGateway, act: (socket: net.Socket) => void): Promise<{ text: string; ms: number }> {
  return new Promise((resolve) => {
    const began = Date.now();
    const socket = net.connect(gateway.port, '127.0.0.1', () => act(socket));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve({ text: Buffer.concat(chunks).toString('latin1'), ms: Date.now() - began }));
  });
}

const LIMITS = `
limits:
  maxMessageBytes: 4096
  loginTimeoutSeconds: 1
  idleTimeoutSeconds: 1.5
  maxSessionsPerIdentity: 2
  maxPendingApprovalsPerIdentity: 1
`;

describe('limits on one gateway', () => {
  let gateway: TestGateway;
  let token: string;

  beforeAll(async () => {
    gateway = await startTestGateway({
      database: database.name,
      extraTopLevel: LIMITS,
      rules: `
  - name: review-note-deletes
    match: { connection: clinic, action: write, objects: [notes] }
    effect: review
    approvers: [dba]
    reason: deleting notes needs a dba`,
      grants: `
  - { connection: clinic, groups: [coding-agents], access: read-write }`,
    });
    token = await gateway.token('agent-1', ['coding-agents']);
  });
  afterAll(async () => gateway?.stop());

  it('refuses a message over maxMessageBytes with a protocol error naming the limit, and closes that session only', async () => {
    const other = client(gateway, token);
    await other.connect();
    const big = client(gateway, token);
    await big.connect();
    await expect(big.query(`SELECT '${'x'.repeat(5000)}'`)).rejects.toMatchObject({ code: '08P01', message: expect.stringMatching(/^Warden: message of \d+ bytes exceeds the limit of 4096 bytes$/) });
    expect((await other.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await other.end();
    const records = await gateway.auditRecords();
    expect(records.filter((r) => r.type === 'session.end' && (r as { error?: string }).error?.includes('exceeds the limit'))).toHaveLength(1);
  });

  it('cuts off a client that does not finish its login in time, even one that trickles bytes (slow-loris)', async () => {
    const silent = await rawSession(gateway, () => undefined);
    expect(silent.text).toContain('Warden: login timed out (the limit is 1 s from connect to a completed login)');
    expect(silent.ms).toBeLessThan(3000);
    const trickle = await rawSession(gateway, (socket) => {
      const startup = Buffer.from('\x00\x00\x00\x29\x00\x03\x00\x00user\x00agent-1\x00database\x00clinic\x00\x00', 'latin1');
      let at = 0;
      const timer = setInterval(() => (at < startup.length && !socket.destroyed ? socket.write(startup.subarray(at, ++at)) : clearInterval(timer)), 100);
      socket.on('close', () => clearInterval(timer));
    });
    expect(trickle.text).toContain('Warden: login timed out');
    expect(trickle.ms).toBeLessThan(3000);
  });

  it('closes an idle session with 57P05, but not one whose command is still running', async () => {
    const busy = client(gateway, token);
    await busy.connect();
    // Running longer than the idle limit is not idleness.
    expect((await busy.query('SELECT 1 AS done FROM pg_sleep(2)')).rows).toEqual([{ done: 1 }]);
    const closed = new Promise<Error>((resolve) => busy.once('error', resolve));
    expect(await closed).toMatchObject({ code: '57P05', message: 'Warden: the session was idle for 1.5 s (the limit); reconnect to continue' });
    const records = await gateway.auditRecords();
    expect(records.some((r) => r.type === 'session.end' && (r as { error?: string }).error === 'idle for 1.5 s')).toBe(true);
  });

  it('refuses a third session for the same identity with 53300, while another identity connects', async () => {
    const first = client(gateway, token);
    const second = client(gateway, token);
    await first.connect();
    await second.connect();
    const result = await psql(gateway, token, ['-c', 'SELECT 1']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('FATAL:  Warden: agent-1 already has 2 open sessions, the limit per identity; close one and try again');
    const someoneElse = await psql(gateway, await gateway.token('agent-2', ['coding-agents']), ['-At', '-c', 'SELECT 1'], { user: 'agent-2' });
    expect(someoneElse.stdout.trim()).toBe('1');
    await first.end();
    // The place is released when the session ends.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await psql(gateway, token, ['-At', '-c', 'SELECT 2'])).stdout.trim()).toBe('2');
    await second.end();
    const records = await gateway.auditRecords();
    expect(records.some((r) => r.type === 'auth.failure' && (r as { code?: string }).code === 'limit')).toBe(true);
  });

  it('refuses an approval request over maxPendingApprovalsPerIdentity as a block, and the session stays usable', async () => {
    const result = await psql(gateway, token, ['-c', 'DELETE FROM notes WHERE id = 1', '-c', 'DELETE FROM notes WHERE id = 2', '-At', '-c', 'SELECT 3']);
    expect(result.stderr).toMatch(/ERROR:  Warden: deleting notes needs a dba: held for approval as request apr_[0-9a-f]+/);
    expect(result.stderr).toContain('ERROR:  Warden: agent-1 already has 1 approval requests pending, the limit; wait until they are decided or expire');
    expect(result.stderr).toContain('rule "limit:pending-approvals"');
    expect(result.stdout.trim()).toBe('3');
  });
});

describe('a listener at its connection limit', () => {
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startTestGateway({ database: database.name, extraTopLevel: 'limits: { maxConnectionsPerListener: 2, loginTimeoutSeconds: 5 }' });
  });
  afterAll(async () => gateway?.stop());

  it('refuses connections over the total with 53300 and accepts again once one closes', async () => {
    const held = await Promise.all([0, 1].map(() => new Promise<net.Socket>((resolve) => {
      const socket = net.connect(gateway.port, '127.0.0.1', () => resolve(socket));
    })));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const token = await gateway.token('agent-1', ['coding-agents']);
    const refused = await psql(gateway, token, ['-c', 'SELECT 1']);
    expect(refused.stderr).toContain('FATAL:  Warden: too many connections on this listener (the limit is 2); try again later');
    held[0]!.destroy();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await psql(gateway, token, ['-At', '-c', 'SELECT 1'])).stdout.trim()).toBe('1');
    held[1]!.destroy();
  });
});

describe('a gateway at its total session limit', () => {
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startTestGateway({ database: database.name, extraTopLevel: 'limits: { maxSessionsTotal: 2 }' });
  });
  afterAll(async () => gateway?.stop());

  it('refuses a third session of any identity with 53300, audited, and admits again once one ends', async () => {
    const first = client(gateway, await gateway.token('agent-1', ['coding-agents']));
    const second = client(gateway, await gateway.token('agent-2', ['coding-agents']), 'agent-2');
    await first.connect();
    await second.connect();
    const third = await psql(gateway, await gateway.token('agent-3', ['coding-agents']), ['-At', '-c', 'SELECT 1'], { user: 'agent-3' });
    expect(third.code).not.toBe(0);
    expect(third.stderr).toContain('FATAL:  Warden: the gateway already holds 2 open sessions, its limit; try again later');
    await first.end();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await psql(gateway, await gateway.token('agent-3', ['coding-agents']), ['-At', '-c', 'SELECT 3'], { user: 'agent-3' })).stdout.trim()).toBe('3');
    await second.end();
    const records = await gateway.auditRecords();
    expect(records.some((r) => r.type === 'auth.failure' && (r as { code?: string }).code === 'limit' && (r as { subject?: string }).subject === 'agent-3')).toBe(true);
  });
});

describe('failed logins from one address', () => {
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startTestGateway({ database: database.name, extraTopLevel: 'limits: { authFailures: { perAddressBurst: 3, perAddressPerMinute: 1 } }' });
  });
  afterAll(async () => gateway?.stop());

  it('are refused once the burst is spent, even with a valid token, and each refusal is audited', async () => {
    for (let i = 0; i < 3; i++) {
      const bad = await psql(gateway, 'not-a-token', ['-c', 'SELECT 1']);
      expect(bad.stderr).toContain('FATAL:  Warden:');
      expect(bad.stderr).not.toContain('too many failed logins');
    }
    const limited = await psql(gateway, await gateway.token('agent-1', ['coding-agents']), ['-c', 'SELECT 1']);
    expect(limited.code).not.toBe(0);
    expect(limited.stderr).toMatch(/FATAL:  Warden: too many failed logins from this address; try again in \d+ s/);
    const records = await gateway.auditRecords();
    const failures = records.filter((r) => r.type === 'auth.failure') as unknown as { code: string; clientAddress: string }[];
    expect(failures.map((f) => f.code)).toEqual(['unauthenticated', 'unauthenticated', 'unauthenticated', 'rate-limited']);
  });
});
