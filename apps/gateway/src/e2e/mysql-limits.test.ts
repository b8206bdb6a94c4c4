/**
 * The `limits:` section on the MySQL adapter, through mysql2 and a raw socket against a real
 * gateway in front of the machine's MariaDB: command size, login timeout, sessions per identity
 * (enforced by the core for every adapter).
 */
import net from 'node:net';
import { connectThroughWarden, mysqlGatewayFixture } from './mysql-harness';

let token: string;

const fixture = mysqlGatewayFixture({
  extraTopLevel: 'limits: { maxMessageBytes: 4096, loginTimeoutSeconds: 1, maxSessionsPerIdentity: 2 }',
});

beforeAll(async () => {
  token = await fixture.gateway.token('agent-1', ['coding-agents']);
});

describe('MySQL limits', () => {
  it('refuses a command over maxMessageBytes with ER_NET_PACKET_TOO_LARGE, closing only that session', async () => {
    const other = await connectThroughWarden(fixture.gateway, token);
    const big = await connectThroughWarden(fixture.gateway, token);
    big.on('error', () => undefined);
    await expect(big.query(`SELECT '${'x'.repeat(5000)}'`)).rejects.toMatchObject({ errno: 1153, message: expect.stringMatching(/^Warden: packet of \d+ bytes exceeds the limit of 4100 bytes$/) });
    const [rows] = await other.query('SELECT 1 AS one');
    expect(rows).toEqual([{ one: 1 }]);
    await other.end();
  });

  it('refuses a third session for one identity with ER_CON_COUNT_ERROR', async () => {
    const first = await connectThroughWarden(fixture.gateway, token);
    const second = await connectThroughWarden(fixture.gateway, token);
    await expect(connectThroughWarden(fixture.gateway, token)).rejects.toMatchObject({ errno: 1040, message: 'Warden: agent-1 already has 2 open sessions, the limit per identity; close one and try again' });
    await first.end();
    await second.end();
  });

  it('cuts off silent clients at the login timeout', async () => {
    const sockets = await Promise.all([0, 1, 2].map(() => new Promise<net.Socket>((resolve) => {
      const socket = net.connect(fixture.gateway.mysqlPort, '127.0.0.1', () => resolve(socket));
      socket.on('error', () => undefined);
      // Read (and drop) what arrives, so that the gateway's end of the stream is seen.
      socket.resume();
    })));
    const closedAfter = sockets.map((socket) => new Promise<number>((resolve) => {
      const began = Date.now();
      socket.on('close', () => resolve(Date.now() - began));
    }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    // None of the three ever logged in: all are cut at the 1 s login timeout.
    for (const ms of await Promise.all(closedAfter)) expect(ms).toBeLessThan(3000);
    const again = await connectThroughWarden(fixture.gateway, token);
    await again.end();
  });
});
