/**
 * `warden doctor` and the start-up check against the machine's real PostgreSQL (superuser
 * `postgres`) and MariaDB (`root`): a connection whose grants are all read-only but whose target
 * account is a superuser is reported; a non-superuser role (created here, dropped after) is not;
 * at start the gateway logs one warning line per such connection without waiting for targets.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { Client } from 'pg';
import type { Logger } from '@warden/core';
import { runCli } from '../cli';
import { parseConfig } from '../config/load-config';
import { startGateway } from '../gateway';
import { PG } from './harness';
import { MARIADB } from './mysql-harness';

const suffix = `${process.pid}_${Math.floor(Math.random() * 1e6)}`;
const PG_READER = `warden_doctor_ro_${suffix}`;
const MY_READER = { user: `wd_ro_${suffix}`.slice(0, 32), password: 'doctor-Reader-1' };
const MY_DATABASE = `warden_doctor_${suffix}`;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'warden-doctor-'));
  const pg = new Client({ ...PG, database: 'postgres' });
  await pg.connect();
  await pg.query(`CREATE ROLE ${PG_READER} LOGIN NOSUPERUSER`);
  await pg.end();
  const root = await mysql.createConnection({ ...MARIADB, multipleStatements: true });
  await root.query(`
    CREATE DATABASE ${MY_DATABASE};
    CREATE USER '${MY_READER.user}'@'127.0.0.1' IDENTIFIED BY '${MY_READER.password}';
    GRANT SELECT ON ${MY_DATABASE}.* TO '${MY_READER.user}'@'127.0.0.1';
  `);
  await root.end();
});

afterAll(async () => {
  const pg = new Client({ ...PG, database: 'postgres' });
  await pg.connect();
  await pg.query(`DROP ROLE IF EXISTS ${PG_READER}`);
  await pg.end();
  const root = await mysql.createConnection({ ...MARIADB, multipleStatements: true });
  await root.query(`DROP USER IF EXISTS '${MY_READER.user}'@'127.0.0.1'; DROP DATABASE IF EXISTS ${MY_DATABASE};`);
  await root.end();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const pgTarget = (user: string) => `{ host: 127.0.0.1, port: ${PG.port}, database: postgres, user: ${user} }`;
const myTarget = (user: string, password: string) => `{ host: 127.0.0.1, port: ${MARIADB.port}, database: ${MY_DATABASE}, user: ${user}, password: "${password}" }`;

function configYaml(connections: readonly string[], grants: readonly string[]): string {
  return `
dataDir: ${JSON.stringify(path.join(dir, 'data'))}
identity: { devIssuer: true }
connections:
${connections.map((connection) => `  - ${connection}`).join('\n')}
grants:
${grants.map((grant) => `  - ${grant}`).join('\n')}
`;
}

async function doctor(yaml: string): Promise<{ code: number; out: string; err: string }> {
  const file = path.join(dir, `warden-${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(file, yaml);
  let out = '';
  let err = '';
  const io = { out: (text: string) => void (out += text), err: (text: string) => void (err += text), stopSignal: () => new Promise<string>(() => undefined) };
  const code = await runCli(['doctor', '--config', file], io);
  return { code, out, err };
}

describe('warden doctor', () => {
  it('reports read-only connections whose target account is a superuser (postgres, root), not the others, and exits 1', async () => {
    const result = await doctor(
      configYaml(
        [
          `{ name: pg-super, protocol: postgres, listen: 127.0.0.1:0, target: ${pgTarget('postgres')} }`,
          `{ name: my-super, protocol: mysql, listen: 127.0.0.1:0, target: ${myTarget('root', '')} }`,
          `{ name: pg-reader, protocol: postgres, listen: 127.0.0.1:0, target: ${pgTarget(PG_READER)} }`,
          `{ name: my-reader, protocol: mysql, listen: 127.0.0.1:0, target: ${myTarget(MY_READER.user, MY_READER.password)} }`,
          `{ name: pg-dba, protocol: postgres, listen: 127.0.0.1:0, target: ${pgTarget('postgres')} }`,
        ],
        [
          '{ connection: pg-super, groups: [agents], access: read-only }',
          '{ connection: pg-super, identities: [alice], access: read-only }',
          '{ connection: my-super, groups: [agents], access: read-only }',
          '{ connection: pg-reader, groups: [agents], access: read-only }',
          '{ connection: my-reader, groups: [agents], access: read-only }',
          '{ connection: pg-dba, groups: [agents], access: read-only }',
          '{ connection: pg-dba, groups: [dba], access: full }',
        ],
      ),
    );
    expect(result.err).toBe('');
    expect(result.code).toBe(1);
    const lines = result.out.trimEnd().split('\n');
    expect(lines).toContain(
      'pg-super: problem: every grant of connection pg-super is read-only, but Warden logs in to its target as postgres, a superuser (is_superuser = on for role postgres); ' +
        'anything that slips past Warden\'s checks would run with every privilege; give Warden a read-only role on the target (see "Target accounts" in the README)',
    );
    expect(lines.find((line) => line.startsWith('my-super: '))).toMatch(/^my-super: problem: every grant of connection my-super is read-only, but Warden logs in to its target as `root`@`[^`]+`, a superuser \(GRANT ALL PRIVILEGES ON \*\.\* TO `root`@/);
    // The grant line is shown without any password hash.
    expect(result.out).not.toMatch(/IDENTIFIED|PASSWORD '/i);
    expect(lines).toContain(`pg-reader: ok: Warden logs in to the target as ${PG_READER}, not a superuser`);
    expect(lines.find((line) => line.startsWith('my-reader: '))).toMatch(new RegExp(`^my-reader: ok: Warden logs in to the target as \`${MY_READER.user}\`@\`127.0.0.1\`, not a superuser$`));
    expect(lines).toContain('pg-dba: ok: Warden logs in to the target as postgres, a superuser (the connection has grants beyond read-only)');
    expect(lines.at(-1)).toBe('warden doctor: 2 problems found');
  });

  it('finds nothing to fix when read-only connections use read-only roles, and exits 0', async () => {
    const result = await doctor(
      configYaml(
        [
          `{ name: pg-reader, protocol: postgres, listen: 127.0.0.1:0, target: ${pgTarget(PG_READER)} }`,
          `{ name: my-reader, protocol: mysql, listen: 127.0.0.1:0, target: ${myTarget(MY_READER.user, MY_READER.password)} }`,
        ],
        ['{ connection: pg-reader, groups: [agents], access: read-only }', '{ connection: my-reader, groups: [agents], access: read-only }'],
      ),
    );
    expect(result).toMatchObject({ code: 0, err: '' });
    expect(result.out).toMatch(/warden doctor: no problems found\n$/);
  });

  it('reports a target it cannot reach as a problem, and a configuration error with exit 2', async () => {
    const down = await doctor(
      configYaml([`{ name: pg-down, protocol: postgres, listen: 127.0.0.1:0, target: { host: 127.0.0.1, port: 1, database: postgres, user: postgres, connectTimeoutMs: 2000 } }`], [
        '{ connection: pg-down, groups: [agents], access: read-only }',
      ]),
    );
    expect(down.code).toBe(1);
    expect(down.out).toMatch(/^pg-down: problem: cannot inspect the target: /);
    const usage = await doctor('connections: []\n');
    expect(usage.code).toBe(2);
  });
});

describe('the start-up check', () => {
  it('logs one warning line per read-only connection with a superuser target account, without waiting for a target that is down', async () => {
    const lines: Array<{ level: string; message: string; fields: Readonly<Record<string, unknown>> }> = [];
    const log: Logger = {
      info: (message, fields = {}) => void lines.push({ level: 'info', message, fields }),
      warn: (message, fields = {}) => void lines.push({ level: 'warn', message, fields }),
      error: (message, fields = {}) => void lines.push({ level: 'error', message, fields }),
      child: () => log,
    };
    const yaml = configYaml(
      [
        `{ name: pg-super, protocol: postgres, listen: 127.0.0.1:0, target: ${pgTarget('postgres')} }`,
        `{ name: my-super, protocol: mysql, listen: 127.0.0.1:0, target: ${myTarget('root', '')} }`,
        `{ name: pg-reader, protocol: postgres, listen: 127.0.0.1:0, target: ${pgTarget(PG_READER)} }`,
        // A black-holed address: the check would wait for the connect timeout.
        `{ name: pg-unreachable, protocol: postgres, listen: 127.0.0.1:0, target: { host: 10.255.255.1, port: 5432, database: postgres, user: postgres, connectTimeoutMs: 8000 } }`,
      ],
      [
        '{ connection: pg-super, groups: [agents], access: read-only }',
        '{ connection: my-super, groups: [agents], access: read-only }',
        '{ connection: pg-reader, groups: [agents], access: read-only }',
        '{ connection: pg-unreachable, groups: [agents], access: read-only }',
      ],
    );
    const started = Date.now();
    const gateway = await startGateway(parseConfig(yaml, 'doctor-start.yaml'), { log, baseDir: dir });
    try {
      expect(Date.now() - started).toBeLessThan(6000);
      expect(gateway.addresses.get('pg-unreachable')).toBeDefined();
      const warnings = () => lines.filter((line) => line.level === 'warn' && line.message === 'read-only connection uses a superuser target account');
      for (let attempt = 0; attempt < 100 && warnings().length < 2; attempt++) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(warnings().map((line) => line.fields['connection']).sort()).toEqual(['my-super', 'pg-super']);
      expect(warnings().find((line) => line.fields['connection'] === 'pg-super')!.fields).toMatchObject({ user: 'postgres', advice: expect.stringContaining('give Warden a read-only role on the target') });
    } finally {
      await gateway.stop();
    }
  });
});
