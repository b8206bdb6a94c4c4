/**
 * caching_sha2_password's RSA key exchange: clients without TLS, from a non-loopback address, send
 * a real OIDC token encrypted with Warden's RSA public key (mysql2 and the mariadb command-line
 * client), and everything Warden refuses on that path reaches the client as ERR 1045 and the
 * audit log as an authentication failure.
 */
import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { authPlugins } from 'mysql2';
import mysql from 'mysql2/promise';
import { startOidcProvider, type TestOidcProvider } from '@warden/testing';
import { run, type ProcessResult } from './harness';
import { createMysqlTestDatabase, startMysqlGateway, type MysqlTestDatabase, type MysqlTestGateway } from './mysql-harness';
import { nonLoopbackAddress, sharedRsaKeyFile } from './mysql-rsa-key';

/** 8192 bits: the default, and what a 700-byte token from the provider needs (4096 bits carry 469 bytes). */
const KEY_BITS = 8192;
/** Enough groups to push the token past what any 8192-bit RSA exchange can carry (981 bytes). */
const MANY_GROUPS = ['coding-agents', ...Array.from({ length: 24 }, (_, i) => `research-cohort-reader-${i}`)];

let database: MysqlTestDatabase;
let gateway: MysqlTestGateway;
let oidc: TestOidcProvider;
let host: string;
let publicKeyPem: string;

beforeAll(async () => {
  host = nonLoopbackAddress();
  const keyFile = await sharedRsaKeyFile(KEY_BITS);
  publicKeyPem = createPublicKey(createPrivateKey(await readFile(keyFile, 'utf8'))).export({ type: 'spki', format: 'pem' }) as string;
  oidc = await startOidcProvider({
    clients: [
      { clientId: 'billing-agent', clientSecret: 'billing-secret', groups: ['coding-agents'] },
      { clientId: 'crowded-agent', clientSecret: 'crowded-secret', groups: MANY_GROUPS },
    ],
  });
  database = await createMysqlTestDatabase();
  gateway = await startMysqlGateway(database.name, {
    listenHost: host,
    targetExtra: `rsaKeyExchange: true, rsaKeyFile: ${JSON.stringify(keyFile)}`,
    issuers: `[{ issuer: ${JSON.stringify(oidc.issuer)}, audience: warden }]`,
  });
}, 120_000);

afterAll(async () => {
  await gateway?.stop();
  await database?.drop();
  await oidc?.close();
});

function connectWithoutTls(password: string, extra: Partial<mysql.ConnectionOptions> = {}): Promise<mysql.Connection> {
  return mysql.createConnection({ host, port: gateway.mysqlPort, user: 'billing-agent', password, database: 'clinic-my', ...extra });
}

function mariadbWithoutTls(token: string, sql: string): Promise<ProcessResult> {
  return run('mariadb', ['--no-defaults', '-h', host, '-P', String(gateway.mysqlPort), '-u', 'billing-agent', '--skip-ssl', '-D', 'clinic-my', '-N', '-e', sql], { env: { MYSQL_PWD: token } });
}

/** How many records the audit log holds now: what a test's `authFailures` looks past. */
async function auditMark(): Promise<number> {
  return (await gateway.auditRecords()).length;
}

/** The `auth.failure` records after `mark` whose reason matches, once the gateway has written one. */
async function authFailures(mark: number, reason: RegExp): Promise<Record<string, unknown>[]> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const found = (await gateway.auditRecords()).slice(mark).filter((record) => record.type === 'auth.failure' && reason.test(String(record['reason'])));
    if (found.length > 0) return found as unknown as Record<string, unknown>[];
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return [];
}

describe('mysql2 without TLS through the RSA key exchange', () => {
  it('asks for the public key, sends the encrypted token and runs queries', async () => {
    const token = await oidc.clientCredentialsToken('billing-agent');
    expect(token.length).toBeGreaterThan(469);
    const received: Buffer[] = [];
    const connection = await connectWithoutTls(token, {
      authPlugins: { caching_sha2_password: authPlugins.caching_sha2_password({ onServerPublicKey: (key: Buffer) => received.push(key) }) },
    });
    const [rows] = await connection.query('SELECT COUNT(*) AS n FROM patients');
    expect(rows).toEqual([{ n: 50 }]);
    await connection.end();
    expect(received.map((key) => key.toString())).toEqual([publicKeyPem]);
  });

  it('sends the token encrypted with a public key it was given up front', async () => {
    const token = await oidc.clientCredentialsToken('billing-agent');
    const asked: Buffer[] = [];
    const connection = await connectWithoutTls(token, {
      authPlugins: { caching_sha2_password: authPlugins.caching_sha2_password({ serverPublicKey: publicKeyPem, onServerPublicKey: (key: Buffer) => asked.push(key) }) },
    });
    const [rows] = await connection.query('SELECT full_name FROM patients WHERE id = 2');
    expect(rows).toEqual([{ full_name: 'Patient 2' }]);
    await connection.end();
    expect(asked).toEqual([]);
  });

  it('refuses a ciphertext that does not decrypt with ERR 1045 and audits it', async () => {
    // A client whose caching_sha2_password answers the full-authentication request with random bytes of the key's size.
    const mark = await auditMark();
    const garbage = () => (data: Buffer) => (data.length === 1 && data[0] === 0x04 ? randomBytes(KEY_BITS / 8) : Buffer.alloc(32, 7));
    await expect(connectWithoutTls('unused', { authPlugins: { caching_sha2_password: garbage } })).rejects.toMatchObject({
      errno: 1045,
      sqlState: '28000',
      message: "Warden: the client's RSA-encrypted token does not decrypt with Warden's key (was it encrypted with another server's public key?)",
    });
    const [failure] = await authFailures(mark, /does not decrypt/);
    expect(failure).toMatchObject({ connection: 'clinic-my', protocol: 'mysql', code: 'unauthenticated', claimedUser: 'billing-agent' });
    expect(String(failure!['clientAddress'])).toMatch(new RegExp(`^${host.replace(/\./g, '\\.')}:`));
  });

  it('refuses a token a client sends in clear without TLS, with ERR 1045', async () => {
    const token = await oidc.clientCredentialsToken('billing-agent');
    const mark = await auditMark();
    // overrideIsSecure: the client believes its connection is secure and sends the password as it is.
    const connecting = connectWithoutTls(token, { authPlugins: { caching_sha2_password: authPlugins.caching_sha2_password({ overrideIsSecure: true }) } });
    await expect(connecting).rejects.toMatchObject({ errno: 1045, message: expect.stringContaining('Warden: the client sent its token in clear without TLS; connect with SSL') });
    expect(await authFailures(mark, /sent its token in clear without TLS/)).not.toEqual([]);
    const audit = JSON.stringify(await gateway.auditRecords());
    expect(audit).not.toContain(token);
  });

  it('fails on the client for a token too long for the key, and the audit log says why', async () => {
    const token = await oidc.clientCredentialsToken('crowded-agent');
    expect(token.length).toBeGreaterThan(KEY_BITS / 8 - 42);
    const mark = await auditMark();
    await expect(connectWithoutTls(token, { user: 'crowded-agent' })).rejects.toThrow(/data too large for key size/);
    const [failure] = await authFailures(mark, /too long for RSA key exchange/);
    expect(failure).toMatchObject({ claimedUser: 'crowded-agent' });
    expect(String(failure!['reason'])).toContain("at most 981 bytes with Warden's 8192-bit key");
  });
});

describe('the mariadb command-line client without TLS (--skip-ssl)', () => {
  it('logs in with a real OIDC token through the RSA key exchange', async () => {
    const token = await oidc.clientCredentialsToken('billing-agent');
    const result = await mariadbWithoutTls(token, 'SELECT COUNT(*) FROM patients');
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('50');
  });

  it('cannot send a token longer than its 1023-byte limit; the audit log says to use TLS', async () => {
    const token = await oidc.clientCredentialsToken('crowded-agent');
    expect(token.length).toBeGreaterThan(1023);
    const mark = await auditMark();
    const result = await mariadbWithoutTls(token, 'SELECT 1');
    expect(result.code).not.toBe(0);
    expect(result.stdout).toBe('');
    const failures = await authFailures(mark, /too long for RSA key exchange.*connect with SSL/);
    expect(failures.length).toBeGreaterThan(0);
  });
});
