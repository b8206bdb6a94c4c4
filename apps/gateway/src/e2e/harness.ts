/**
 * Test harness for end-to-end tests: a real gateway (the same `startGateway` users run) in front of
 * the machine's real PostgreSQL, with the development issuer and optionally a real OIDC provider.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DevIssuer, readAuditLines, silentLogger, type AdapterFactory, type AuditRecord, type AuditSink, type Logger } from '@warden/core';
import { Client, type ClientConfig } from 'pg';
import { parseConfig } from '../config/load-config';
import { startGateway, type RunningGateway } from '../gateway';

/** Every record of the audit log in `dataDir`, across its segments, as stored. */
export async function readAuditRecords<T = AuditRecord>(dataDir: string): Promise<T[]> {
  const records: T[] = [];
  await readAuditLines(path.join(dataDir, 'audit.log'), (line) => void records.push(JSON.parse(line.toString('utf8')) as T));
  return records;
}

/** The machine's PostgreSQL (trust auth). */
export const PG = { host: '127.0.0.1', port: 5432, user: 'postgres' } as const;

/** A fresh database on the machine's PostgreSQL with synthetic clinic tables; dropped by `drop()`. */
export async function createTestDatabase(): Promise<{ name: string; drop(): Promise<void> }> {
  const name = `warden_e2e_${process.pid}_${Math.floor(Math.random() * 1e6)}`;
  const admin = new Client({ ...PG, database: 'postgres' });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const db = new Client({ ...PG, database: name });
  await db.connect();
  await db.query(`
    CREATE TABLE patients (id serial PRIMARY KEY, full_name text NOT NULL, ssn text NOT NULL, dob date NOT NULL);
    INSERT INTO patients (full_name, ssn, dob)
      SELECT 'Patient ' || i, '9' || lpad((i % 100)::text, 2, '0') || '-55-' || lpad(i::text, 4, '0'), DATE '1970-01-01' + i
      FROM generate_series(1, 50) AS i;
    CREATE TABLE notes (id serial PRIMARY KEY, body text);
  `);
  await db.end();
  return {
    name,
    drop: async () => {
      const again = new Client({ ...PG, database: 'postgres' });
      await again.connect();
      await again.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await again.end();
    },
  };
}

export interface TestGateway {
  readonly port: number;
  readonly dataDir: string;
  readonly gateway: RunningGateway;
  readonly dev: DevIssuer;
  /** A dev-issuer token. */
  token(subject: string, groups: string[], options?: { ttlSeconds?: number; now?: Date }): Promise<string>;
  /** The audit log's records so far (after the gateway flushed them). */
  auditRecords(): Promise<AuditRecord[]>;
  stop(): Promise<void>;
}

export interface TestGatewayOptions {
  readonly database: string;
  /** Extra YAML appended under the top level (grants and rules are given below). */
  readonly grants?: string;
  readonly rules?: string;
  readonly issuers?: string;
  readonly tls?: boolean;
  readonly targetPort?: number;
  /** Additional connections, as YAML list items. */
  readonly extraConnections?: string;
  /** Additional top-level YAML (e.g. `admin:` or `approvals:` sections). */
  readonly extraTopLevel?: string;
  /** The gateway's logger (default: silent), e.g. to capture its output. */
  readonly log?: Logger;
  /** Test-only adapter registry (see `StartGatewayOptions.adapters`). */
  readonly adapters?: ReadonlyMap<string, AdapterFactory<unknown>>;
  /** Test-only audit seam (see `StartGatewayOptions.wrapAudit`). */
  readonly wrapAudit?: (audit: AuditSink) => AuditSink;
}

const DEFAULT_GRANTS = `
  - { connection: clinic, groups: [coding-agents], access: read-only }
  - { connection: clinic, groups: [clinicians], access: read-write }
  - { connection: clinic, groups: [dba], access: full }`;

const DEFAULT_RULES = `
  - name: no-ddl
    match: { connection: clinic, action: ddl, groups: [clinicians, coding-agents] }
    effect: block
    reason: schema changes are reserved for the dba group`;

export async function startTestGateway(options: TestGatewayOptions): Promise<TestGateway> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'warden-e2e-'));
  const yaml = `
dataDir: ${JSON.stringify(dataDir)}
identity:
  devIssuer: true
  issuers: ${options.issuers ?? '[]'}
connections:
  - name: clinic
    protocol: postgres
    listen: 127.0.0.1:0
    ${options.tls ? 'tls: self-signed' : ''}
    target: { host: ${PG.host}, port: ${options.targetPort ?? PG.port}, database: ${options.database}, user: ${PG.user}, connectTimeoutMs: 3000 }
${options.extraConnections ?? ''}
${options.extraTopLevel ?? ''}
grants: ${options.grants ?? DEFAULT_GRANTS}
rules: ${options.rules ?? DEFAULT_RULES}
`;
  const gateway = await startGateway(parseConfig(yaml, 'test.yaml'), { log: options.log ?? silentLogger, ...(options.adapters ? { adapters: options.adapters } : {}), ...(options.wrapAudit ? { wrapAudit: options.wrapAudit } : {}) });
  const dev = await DevIssuer.loadOrCreate(dataDir);
  return {
    port: gateway.addresses.get('clinic')!.port,
    dataDir,
    gateway,
    dev,
    token: (subject, groups, tokenOptions) => dev.issue({ subject, groups, ...tokenOptions }),
    auditRecords: () => readAuditRecords(dataDir),
    stop: async () => {
      await gateway.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface ProcessResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a real binary (psql, the warden CLI) without blocking the event loop the gateway runs on. */
export function run(command: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { ...process.env, ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    // A program that exits without reading its input must not fail the caller with EPIPE: its exit code tells.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

/** A node-postgres client connected through the gateway to `clinic` as `subject`, with a fresh dev token for `groups`. */
export async function connectAs(gateway: TestGateway, subject: string, groups: string[], options: ClientConfig = {}): Promise<Client> {
  const client = new Client({ host: '127.0.0.1', port: gateway.port, user: subject, database: 'clinic', password: await gateway.token(subject, groups), ...options });
  await client.connect();
  return client;
}

/** psql through the gateway, with the token as the password. */
export function psql(
  gateway: TestGateway,
  token: string,
  args: readonly string[],
  options: { sslmode?: string; input?: string; user?: string; dbname?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<ProcessResult> {
  const conninfo = `host=127.0.0.1 port=${gateway.port} user=${options.user ?? 'agent-1'} dbname=${options.dbname ?? 'clinic'} sslmode=${options.sslmode ?? 'disable'}`;
  return run('psql', [conninfo, '-X', '-v', 'ON_ERROR_STOP=0', ...args], {
    env: { ...options.env, PGPASSWORD: token, PGCONNECT_TIMEOUT: '10' },
    ...(options.input === undefined ? {} : { input: options.input }),
  });
}
