/**
 * connectTarget against real PostgreSQL servers that ask for passwords (the machine's own Postgres
 * trusts everyone): one with TLS enabled, where every authentication method has a user, and one
 * without TLS, for the `require` / `prefer` negotiation.
 */
import net from 'node:net';
import tls from 'node:tls';
import { WardenError } from '@warden/core';
import { startPrivatePostgres } from '@warden/testing';
import type { PrivatePostgres } from '@warden/testing';
import { serialize } from 'pg-protocol';
import { Parser } from 'pg-protocol/dist/parser';
import type { DataRowMessage, DatabaseError } from 'pg-protocol/dist/messages';
import { parsePostgresTarget } from './postgres-target';
import type { PostgresTarget } from './postgres-target';
import { connectTarget } from './target-connection';
import type { TargetConnection } from './target-connection';

const SCRAM = { user: 'scram_user', password: 'scram-Secret-1' };
const MD5 = { user: 'md5_user', password: 'md5-Secret-2' };
const CLEARTEXT = { user: 'cleartext_user', password: 'cleartext-Secret-3' };
const TRUST = { user: 'trust_user' };
/** Only a `hostssl` line in pg_hba.conf: the server refuses it without TLS. */
const TLS_ONLY = { user: 'tls_user', password: 'tls-Secret-4' };

let secureServer: PrivatePostgres;
let plainServer: PrivatePostgres;
const opened: net.Socket[] = [];

beforeAll(async () => {
  [secureServer, plainServer] = await Promise.all([
    startPrivatePostgres({
      ssl: true,
      users: [
        { name: SCRAM.user, password: SCRAM.password, method: 'scram-sha-256' },
        { name: MD5.user, password: MD5.password, method: 'md5' },
        { name: CLEARTEXT.user, password: CLEARTEXT.password, method: 'password' },
        { name: TRUST.user, method: 'trust' },
        { name: TLS_ONLY.user, password: TLS_ONLY.password, method: 'scram-sha-256', tlsOnly: true },
      ],
    }),
    startPrivatePostgres({ users: [{ name: SCRAM.user, password: SCRAM.password, method: 'scram-sha-256' }] }),
  ]);
}, 60_000);

afterEach(() => {
  for (const socket of opened.splice(0)) socket.end(serialize.end());
});

afterAll(async () => {
  await Promise.all([secureServer?.stop(), plainServer?.stop()]);
});

function targetOn(server: { host: string; port: number }, fields: Record<string, unknown>): PostgresTarget {
  return parsePostgresTarget({ host: server.host, port: server.port, database: 'postgres', connectTimeoutMs: 5_000, ...fields });
}

async function connect(target: PostgresTarget, timeoutMs = target.connectTimeoutMs): Promise<TargetConnection> {
  const connection = await connectTarget({ target, parameters: { application_name: 'warden-target-test' }, timeoutMs });
  opened.push(connection.socket);
  return connection;
}

/** What connectTarget rejected with; fails the test if it resolved. */
async function refusal(target: PostgresTarget, timeoutMs?: number): Promise<WardenError> {
  const error = await connect(target, timeoutMs).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(WardenError);
  return error as WardenError;
}

function expectReady(connection: TargetConnection): void {
  expect(connection.status).toBe(0x49); // 'I': idle, no transaction
  expect(connection.processId).not.toBe(0);
  expect(new Map(connection.parameters).get('server_version')).toMatch(/^\d+/);
}

/** A simple-protocol query over the socket connectTarget handed back, to prove the session is usable. */
function simpleQuery(socket: net.Socket, sql: string): Promise<unknown[][]> {
  return new Promise((resolve, reject) => {
    const parser = new Parser();
    const rows: unknown[][] = [];
    let failure: Error | undefined;
    const onData = (chunk: Buffer) =>
      parser.parse(chunk, (message) => {
        if (message.name === 'dataRow') rows.push((message as DataRowMessage).fields);
        if (message.name === 'error') failure = new Error((message as DatabaseError).message);
        if (message.name === 'readyForQuery') {
          socket.off('data', onData);
          if (failure) reject(failure);
          else resolve(rows);
        }
      });
    socket.on('data', onData);
    socket.write(serialize.query(sql));
  });
}

/** Whether the target backend sees its session as encrypted (`pg_stat_ssl`). */
async function backendUsesTls(server: PrivatePostgres, processId: number): Promise<boolean> {
  return (await server.adminQuery(`SELECT ssl FROM pg_stat_ssl WHERE pid = ${processId}`)) === 't';
}

/** A TCP server that accepts and then does whatever `onConnection` says (here: mostly nothing). */
async function fakeServer(onConnection: (socket: net.Socket) => void): Promise<{ host: string; port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    host: '127.0.0.1',
    port: (server.address() as net.AddressInfo).port,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

async function unusedPort(): Promise<number> {
  const server = await fakeServer(() => undefined);
  await server.close();
  return server.port;
}

describe('connectTarget: authentication', () => {
  it('authenticates with SCRAM-SHA-256 and hands back a session ready for queries', async () => {
    const connection = await connect(targetOn(secureServer, SCRAM));
    expectReady(connection);
    expect(connection.socket).not.toBeInstanceOf(tls.TLSSocket);
    const rows = await simpleQuery(connection.socket, "SELECT current_user, current_setting('application_name')");
    expect(rows).toEqual([[SCRAM.user, 'warden-target-test']]);
  });

  it('authenticates with md5', async () => {
    const connection = await connect(targetOn(secureServer, MD5));
    expectReady(connection);
    expect(await simpleQuery(connection.socket, 'SELECT current_user')).toEqual([[MD5.user]]);
  });

  it('authenticates with a cleartext password', async () => {
    expectReady(await connect(targetOn(secureServer, CLEARTEXT)));
  });

  it('connects a trust user without a password', async () => {
    expectReady(await connect(targetOn(secureServer, TRUST)));
  });

  it('passes on the ParameterStatus pairs of startup, with a distinct backend key', async () => {
    const first = await connect(targetOn(secureServer, SCRAM));
    const second = await connect(targetOn(secureServer, SCRAM));
    const parameters = new Map(first.parameters);
    expect(parameters.get('client_encoding')).toBe('UTF8');
    expect(parameters.get('application_name')).toBe('warden-target-test');
    expect(second.processId).not.toBe(first.processId);
  });

  it.each([
    ['SCRAM-SHA-256', SCRAM.user],
    ['md5', MD5.user],
    ['cleartext', CLEARTEXT.user],
  ])('reports a wrong %s password as the target refusing (28P01), without the password', async (_method, user) => {
    const wrongPassword = 'Wrong-Password-xyzzy';
    const error = await refusal(targetOn(secureServer, { user, password: wrongPassword }));
    expect(error.code).toBe('target-unavailable');
    expect(error.message).toMatch(/refused/);
    expect(error.message).toContain('28P01');
    expect(error.message).toContain(user);
    expect(error.message).not.toContain(wrongPassword);
    expect(String(error.cause ?? '')).not.toContain(wrongPassword);
  });

  it.each([
    ['SCRAM-SHA-256', SCRAM.user],
    ['md5', MD5.user],
    ['cleartext', CLEARTEXT.user],
  ])('says so when %s asks for a password and none is configured', async (_method, user) => {
    const error = await refusal(targetOn(secureServer, { user }));
    expect(error.code).toBe('target-unavailable');
    expect(error.message).toBe('target asks for a password, and none is configured for it');
  });

  it('reports an unknown role as refused (28P01, as Postgres hides which part was wrong)', async () => {
    const error = await refusal(targetOn(secureServer, { user: 'nobody', password: 'whatever-1' }));
    expect(error.message).toMatch(/refused.*\(28P01\)/);
  });
});

describe('connectTarget: reaching the target', () => {
  it('rejects quickly when nothing listens on the port', async () => {
    const began = performance.now();
    const error = await refusal(targetOn({ host: '127.0.0.1', port: await unusedPort() }, SCRAM));
    expect(performance.now() - began).toBeLessThan(1_000);
    expect(error.code).toBe('target-unavailable');
    expect(error.message).toMatch(/unreachable \(ECONNREFUSED\)/);
  });

  it('gives up on a target that accepts but never answers the startup message', async () => {
    const silent = await fakeServer(() => undefined);
    try {
      const error = await refusal(targetOn(silent, SCRAM), 300);
      expect(error.code).toBe('target-unavailable');
      expect(error.message).toMatch(/did not complete startup within 300 ms/);
    } finally {
      await silent.close();
    }
  });

  it('gives up on a target that never answers the SSLRequest', async () => {
    const silent = await fakeServer(() => undefined);
    try {
      const error = await refusal(targetOn(silent, { ...SCRAM, ssl: 'require' }), 300);
      expect(error.code).toBe('target-unavailable');
      expect(error.message).toMatch(/did not answer the SSLRequest/);
    } finally {
      await silent.close();
    }
  });

  it('reports a target that hangs up during startup', async () => {
    const rude = await fakeServer((socket) => socket.once('data', () => socket.end()));
    try {
      const error = await refusal(targetOn(rude, SCRAM));
      expect(error.message).toMatch(/closed the connection during startup/);
    } finally {
      await rude.close();
    }
  });
});

describe('connectTarget: TLS', () => {
  it('require: encrypts the session, without checking the certificate', async () => {
    const connection = await connect(targetOn(secureServer, { ...SCRAM, ssl: 'require' }));
    expectReady(connection);
    expect(connection.socket).toBeInstanceOf(tls.TLSSocket);
    expect(await backendUsesTls(secureServer, connection.processId)).toBe(true);
    expect(await simpleQuery(connection.socket, 'SELECT current_user')).toEqual([[SCRAM.user]]);
  });

  it('disable: stays in cleartext even where the target offers TLS', async () => {
    const connection = await connect(targetOn(secureServer, { ...MD5, ssl: 'disable' }));
    expect(connection.socket).not.toBeInstanceOf(tls.TLSSocket);
    expect(await backendUsesTls(secureServer, connection.processId)).toBe(false);
  });

  it('a hostssl-only user is refused without TLS and admitted with it', async () => {
    const error = await refusal(targetOn(secureServer, { ...TLS_ONLY, ssl: 'disable' }));
    expect(error.message).toMatch(/refused.*no encryption.*\(28000\)/);
    expectReady(await connect(targetOn(secureServer, { ...TLS_ONLY, ssl: 'require' })));
  });

  it('verify-full: succeeds with the server certificate as CA', async () => {
    const connection = await connect(targetOn(secureServer, { ...SCRAM, ssl: 'verify-full', ca: secureServer.caCert }));
    expectReady(connection);
    expect(connection.socket).toBeInstanceOf(tls.TLSSocket);
    expect((connection.socket as tls.TLSSocket).authorized).toBe(true);
  });

  it('verify-full: refuses a self-signed certificate when no CA is configured', async () => {
    const error = await refusal(targetOn(secureServer, { ...SCRAM, ssl: 'verify-full' }));
    expect(error.code).toBe('target-unavailable');
    expect(error.message).toMatch(/TLS to target failed: self[- ]signed certificate/);
  });

  it('require: refuses a target without TLS', async () => {
    const error = await refusal(targetOn(plainServer, { ...SCRAM, ssl: 'require' }));
    expect(error.code).toBe('target-unavailable');
    expect(error.message).toBe('target does not accept TLS, and the connection requires it');
  });

  it('prefer: falls back to cleartext on a target without TLS', async () => {
    const connection = await connect(targetOn(plainServer, { ...SCRAM, ssl: 'prefer' }));
    expectReady(connection);
    expect(connection.socket).not.toBeInstanceOf(tls.TLSSocket);
    expect(await simpleQuery(connection.socket, 'SELECT current_user')).toEqual([[SCRAM.user]]);
  });

  it('prefer: uses TLS where the target offers it', async () => {
    const connection = await connect(targetOn(secureServer, { ...SCRAM, ssl: 'prefer' }));
    expect(connection.socket).toBeInstanceOf(tls.TLSSocket);
    expect(await backendUsesTls(secureServer, connection.processId)).toBe(true);
  });
});
