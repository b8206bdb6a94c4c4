/**
 * The `limits:` section on the MySQL adapter, through mysql2 and a raw socket against a real
 * gateway in front of the machine's MariaDB: command size, login timeout, sessions per identity
 * (enforced by the core for every adapter) and connections per listener.
 */
import net from 'node:net';
import { connectThroughWarden, createMysqlTestDatabase, startMysqlGateway, type MysqlTestDatabase, type MysqlTestGateway } from './mysql-harness';

let database: MysqlTestDatabase;
let gateway: MysqlTestGateway;
let token: string;

beforeAll(async () => {
  database = await createMysqlTestDatabase();
  gateway = await startMysqlGateway(database.name, {
    extraTopLevel: 'limits: { maxMessageBytes: 4096, loginTimeoutSeconds: 1, maxSessionsPerIdentity: 2, maxConnectionsPerListener: 3 }',
  });
  token = await gateway.token('agent-1', ['coding-agents']);
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  await database?.drop();
});

describe('MySQL limits', () => {
  it('refuses a command over maxMessageBytes with ER_NET_PACKET_TOO_LARGE, closing only that session', async () => {
    const other = await connectThroughWarden(gateway, token);
    const big = await connectThroughWarden(gateway, token);
    big.on('error', () => undefined);
    await expect(big.query(`SELECT '${'x'.repeat(5000)}'`)).rejects.toMatchObject({ errno: 1153, message: expect.stringMatching(/^Warden: packet of \d+ bytes exceeds the limit of 4100 bytes$/) });
    const [rows] = await other.query('SELECT 1 AS one');
    expect(rows).toEqual([{ one: 1 }]);
    await other.end();
  });

  it('refuses a third session for one identity with ER_CON_COUNT_ERROR', async () => {
    const first = await connectThroughWarden(gateway, token);
    const second = await connectThroughWarden(gateway, token);
    await expect(connectThroughWarden(gateway, token)).rejects.toMatchObject({ errno: 1040, message: 'Warden: agent-1 already has 2 open sessions, the limit per identity; close one and try again' });
    await first.end();
    await second.end();
  });

  it('cuts off a silent client at the login timeout, and refuses connections over the listener total', async () => {
    const sockets = await Promise.all([0, 1, 2].map(() => new Promise<net.Socket>((resolve) => {
      const socket = net.connect(gateway.mysqlPort, '127.0.0.1', () => resolve(socket));
      socket.on('error', () => undefined);
    })));
    const closedAfter = sockets.map((socket) => new Promise<number>((resolve) => {
      const began = Date.now();
      socket.on('close', () => resolve(Date.now() - began));
    }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    // The fourth gets an ERR packet instead of the greeting, as from MySQL itself: 0xff, 1040, #08004.
    const refused = await new Promise<Buffer>((resolve) => {
      const socket = net.connect(gateway.mysqlPort, '127.0.0.1');
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.on('error', () => undefined);
      socket.on('close', () => resolve(Buffer.concat(chunks)));
    });
    expect(refused[4]).toBe(0xff);
    expect(refused.readUInt16LE(5)).toBe(1040);
    expect(refused.toString('utf8', 7)).toBe('#08004Warden: too many connections on this listener (the limit is 3); try again later');
    // None of the three ever logged in: all are cut at the 1 s login timeout.
    for (const ms of await Promise.all(closedAfter)) expect(ms).toBeLessThan(3000);
    const again = await connectThroughWarden(gateway, token);
    await again.end();
  });
});
