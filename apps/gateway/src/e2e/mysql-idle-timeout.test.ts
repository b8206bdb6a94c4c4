/**
 * `limits.idleTimeoutSeconds` on the MySQL adapter, through mysql2 against a real gateway in front
 * of the machine's MariaDB: an idle session is closed with ER_CLIENT_INTERACTION_TIMEOUT (what
 * MySQL 8 sends at wait_timeout) and audited; a session whose statement runs longer than the
 * timeout is busy, not idle.
 */
import type { Connection } from 'mysql2/promise';
import { connectThroughWarden, createMysqlTestDatabase, startMysqlGateway, type MysqlTestDatabase, type MysqlTestGateway } from './mysql-harness';

let database: MysqlTestDatabase;
let gateway: MysqlTestGateway;
let token: string;

beforeAll(async () => {
  database = await createMysqlTestDatabase();
  gateway = await startMysqlGateway(database.name, { extraTopLevel: 'limits: { idleTimeoutSeconds: 1 }' });
  token = await gateway.token('agent-1', ['coding-agents']);
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  await database?.drop();
});

/** The error the connection reports on its own (not as the answer to a query). */
function nextError(connection: Connection): Promise<Error & { code?: number | string; fatal?: boolean }> {
  return new Promise((resolve) => connection.once('error', resolve));
}

/** The session.end records, once there is at least one (they follow the client's close closely). */
async function sessionEnds(): Promise<Array<Record<string, unknown>>> {
  for (let attempt = 0; ; attempt++) {
    const ends = (await gateway.auditRecords()).filter((record) => record.type === 'session.end');
    if (ends.length > 0 || attempt === 100) return ends as unknown as Array<Record<string, unknown>>;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('MySQL idle timeout', () => {
  it('closes an idle session with ER_CLIENT_INTERACTION_TIMEOUT and records why it ended', async () => {
    const connection = await connectThroughWarden(gateway, token);
    const error = nextError(connection);
    const [rows] = await connection.query('SELECT 1 AS one');
    expect(rows).toEqual([{ one: 1 }]);
    // Nothing more is sent: the gateway closes the session once it has been idle for 1 s. mysql2
    // reports an ERR that answers no command as a fatal error carrying the server's error number.
    expect(await error).toMatchObject({ code: 4031, fatal: true, message: 'Warden: the client was disconnected because of inactivity (idle for 1 s, the limit); reconnect to continue' });
    await expect(connection.query('SELECT 2')).rejects.toThrow();
    connection.destroy();

    // The end record is written as the gateway closes the session, a moment after the client saw the error.
    expect(await sessionEnds()).toContainEqual(expect.objectContaining({ reason: 'error', error: 'idle for 1 s' }));
  }, 20_000);

  it('does not cut a statement that runs longer than the idle timeout', async () => {
    const connection = await connectThroughWarden(gateway, token);
    connection.on('error', () => undefined);
    try {
      const [rows] = await connection.query('SELECT SLEEP(2) AS slept');
      expect(rows).toEqual([{ slept: 0 }]);
    } finally {
      connection.destroy();
    }
  }, 20_000);
});
