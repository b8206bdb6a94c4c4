/**
 * A throwaway PostgreSQL server on 127.0.0.1, for tests that need real authentication (the machine's
 * own Postgres trusts everyone, so md5 and SCRAM-SHA-256 can't be exercised against it) or real TLS.
 *
 * initdb refuses to run as root, so when we are root every server binary runs as the `postgres` OS
 * user, in a temp dir that user owns (mode 700). The server is tuned for tests (no fsync).
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { appendFile, chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readServerLog, statementLogSettings, type ServerLogEntry } from './server-log';

/** pg_hba.conf authentication methods a private server can require of a user. */
export type PrivatePostgresAuthMethod = 'scram-sha-256' | 'md5' | 'password' | 'trust';

export interface PrivatePostgresUser {
  readonly name: string;
  /** Stored as an md5 hash for `md5` users, as a SCRAM-SHA-256 verifier otherwise. */
  readonly password?: string;
  readonly method: PrivatePostgresAuthMethod;
  /** Only a `hostssl` line for this user: connecting without TLS is refused (needs `ssl: true`). */
  readonly tlsOnly?: boolean;
}

export interface StartPrivatePostgresOptions {
  /** Login roles, each allowed into any database (use `postgres`) over TCP; default one SCRAM user `warden` / `warden-password`. */
  readonly users?: readonly PrivatePostgresUser[];
  /** `ssl = on` with a freshly generated self-signed certificate for `localhost` and `127.0.0.1`. */
  readonly ssl?: boolean;
  /**
   * `log_statement = all` into a jsonlog file, read with `statementLog()`: every statement any
   * session ran, with its backend's pid and application_name.
   */
  readonly logStatements?: boolean;
}

export interface PrivatePostgres {
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly dataDir: string;
  /** Where the Unix socket lives; only the `postgres` superuser may connect through it (trust). */
  readonly socketDir: string;
  /** PEM of the self-signed server certificate, when started with `ssl: true`. */
  readonly caCert?: string;
  /** How long start-up took, in milliseconds. */
  readonly timings: { readonly initdbMs: number; readonly startMs: number; readonly setupMs: number; readonly totalMs: number };
  /**
   * Runs SQL as the superuser (psql, unaligned, tuples only) and returns its output, trimmed.
   * @example await pg.adminQuery(`SELECT ssl FROM pg_stat_ssl WHERE pid = ${pid}`) // 't'
   */
  adminQuery(sql: string): Promise<string>;
  /**
   * The server log so far (needs `logStatements: true`). Complete up to the call: it runs a marker
   * statement of its own and waits until the log shows it, so every statement that finished before
   * the call is in the answer.
   */
  statementLog(): Promise<ServerLogEntry[]>;
  /** Restarts the server on the same port (fast shutdown: open sessions are terminated), as an operator's restart does. */
  restart(): Promise<void>;
  /** Stops the server (fast shutdown) and removes its directory. Safe to call twice. */
  stop(): Promise<void>;
}

export const DEFAULT_PRIVATE_POSTGRES_USER: PrivatePostgresUser = { name: 'warden', password: 'warden-password', method: 'scram-sha-256' };

const START_TIMEOUT_SECONDS = 30;
const PORT_ATTEMPTS = 3;

/**
 * Starts a private PostgreSQL server on a free loopback port. Always pair with `stop()`
 * (an exit hook stops it too, should a test run end without it).
 * @example
 * const pg = await startPrivatePostgres({ users: [{ name: 'alice', password: 's3cret', method: 'md5' }], ssl: true });
 * // connect to pg.host:pg.port as alice, database postgres; trust pg.caCert for verify-full
 * await pg.stop();
 */
export async function startPrivatePostgres(options: StartPrivatePostgresOptions = {}): Promise<PrivatePostgres> {
  const users = options.users ?? [DEFAULT_PRIVATE_POSTGRES_USER];
  validateUsers(users, options.ssl === true);
  const began = performance.now();
  const [binDir, owner] = await Promise.all([serverBinDir(), serverOwner()]);

  const rootDir = await mkdtemp(join(tmpdir(), 'warden-pg-'));
  const dataDir = join(rootDir, 'data');
  const socketDir = join(rootDir, 'socket');
  const logFile = join(rootDir, 'server.log');
  const certFile = join(rootDir, 'server.crt');
  const keyFile = join(rootDir, 'server.key');
  const exec = (command: string, args: readonly string[], input?: string) => run(owner, join(binDir, command), args, rootDir, input);

  let port = 0;
  let started = false;
  const shutdown = async (): Promise<void> => {
    try {
      if (started) {
        started = false;
        await exec('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', '-t', String(START_TIMEOUT_SECONDS), 'stop']).catch(() =>
          exec('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']),
        );
      }
    } finally {
      process.removeListener('exit', stopOnExit);
      await rm(rootDir, { recursive: true, force: true });
    }
  };
  // Last resort when a test run exits without stop(): synchronous, as 'exit' handlers must be.
  const stopOnExit = () => {
    if (started) spawnSync(...command(owner, join(binDir, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', '-w', 'stop']), { cwd: rootDir, stdio: 'ignore', env: cleanEnv() });
    rmSync(rootDir, { recursive: true, force: true });
  };
  process.once('exit', stopOnExit);

  try {
    await mkdir(socketDir, { mode: 0o700 });
    await chmod(rootDir, 0o700);
    if (owner) {
      await chown(rootDir, owner.uid, owner.gid);
      await chown(socketDir, owner.uid, owner.gid);
    }

    // The certificate goes outside the data dir (initdb wants an empty one), so both run at once.
    const initdbBegan = performance.now();
    await Promise.all([
      exec('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync']),
      options.ssl ? makeCertificate(owner, rootDir, certFile, keyFile) : undefined,
    ]);
    const initdbMs = performance.now() - initdbBegan;

    const logDirectory = join(dataDir, 'log');
    const logSettings = options.logStatements ? statementLogSettings(logDirectory) : [];
    await appendFile(join(dataDir, 'postgresql.conf'), serverSettings({ socketDir, ssl: options.ssl === true, certFile, keyFile }) + logSettings.map((line) => `${line}\n`).join(''));
    await writeFile(join(dataDir, 'pg_hba.conf'), hbaLines(users));

    const startBegan = performance.now();
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      try {
        await exec('pg_ctl', ['-D', dataDir, '-l', logFile, '-o', `-p ${port}`, '-w', '-t', String(START_TIMEOUT_SECONDS), 'start']);
        started = true;
        break;
      } catch (error) {
        const log = await readFile(logFile, 'utf8').catch(() => '');
        // Someone took the port between our probe and the server's bind: try another one.
        if (attempt < PORT_ATTEMPTS && /could not bind|address already in use/i.test(log)) {
          await exec('pg_ctl', ['-D', dataDir, '-m', 'immediate', 'stop']).catch(() => undefined);
          continue;
        }
        // pg_ctl -w may have timed out with a postmaster still coming up: make sure it goes away.
        started = true;
        throw new Error(`private Postgres did not start: ${(error as Error).message}\n--- server log ---\n${log}`, { cause: error });
      }
    }
    const startMs = performance.now() - startBegan;

    const adminQuery = async (sql: string) =>
      (await exec('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', socketDir, '-p', String(port), '-U', 'postgres', '-d', 'postgres', '-f', '-'], sql)).trim();
    const setupBegan = performance.now();
    if (users.length > 0) await adminQuery(createRoles(users));
    const setupMs = performance.now() - setupBegan;

    const caCert = options.ssl ? await readFile(certFile, 'utf8') : undefined;
    let stopping: Promise<void> | undefined;
    return {
      host: '127.0.0.1',
      port,
      dataDir,
      socketDir,
      ...(caCert === undefined ? {} : { caCert }),
      timings: { initdbMs, startMs, setupMs, totalMs: performance.now() - began },
      adminQuery,
      statementLog: async () => {
        if (!options.logStatements) throw new Error('private Postgres: statementLog() needs logStatements: true');
        const marker = `statement-log-marker-${randomUUID()}`;
        await adminQuery(`SELECT '${marker}'`);
        const deadline = Date.now() + 10_000;
        for (;;) {
          const entries = await readServerLog(logDirectory);
          const at = entries.findIndex((entry) => entry.message.includes(marker));
          // The marker's own line is not part of anyone's session.
          if (at >= 0) return entries.slice(0, at);
          if (Date.now() > deadline) throw new Error(`private Postgres: the server log did not show ${marker} within 10 s`);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      },
      restart: async () => {
        await exec('pg_ctl', ['-D', dataDir, '-l', logFile, '-o', `-p ${port}`, '-m', 'fast', '-w', '-t', String(START_TIMEOUT_SECONDS), 'restart']);
      },
      stop: () => (stopping ??= shutdown()),
    };
  } catch (error) {
    await shutdown().catch(() => undefined);
    throw error;
  }
}

function validateUsers(users: readonly PrivatePostgresUser[], ssl: boolean): void {
  const seen = new Set<string>();
  for (const user of users) {
    if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(user.name)) throw new Error(`private Postgres: user name "${user.name}" must be a plain identifier`);
    if (user.name === 'postgres') throw new Error('private Postgres: "postgres" is the fixture\'s own superuser');
    if (seen.has(user.name)) throw new Error(`private Postgres: user "${user.name}" is listed twice`);
    if (user.tlsOnly && !ssl) throw new Error(`private Postgres: user "${user.name}" is tlsOnly, which needs ssl: true`);
    seen.add(user.name);
  }
}

/** The OS user to run server binaries as: `postgres` when we are root (initdb refuses root), else ourselves. */
interface Owner {
  readonly uid: number;
  readonly gid: number;
}

let ownerLookup: Promise<Owner | undefined> | undefined;
function serverOwner(): Promise<Owner | undefined> {
  return (ownerLookup ??= (async () => {
    if (process.getuid?.() !== 0) return undefined;
    const [uid, gid] = await Promise.all([run(undefined, 'id', ['-u', 'postgres']), run(undefined, 'id', ['-g', 'postgres'])]).catch((error: Error) => {
      throw new Error(`private Postgres: running as root needs a "postgres" OS user to run the server as (${error.message})`);
    });
    return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
  })());
}

let binDirLookup: Promise<string> | undefined;
/** Debian keeps server binaries in a versioned folder, off PATH: ask pg_config, else take the newest installed. */
function serverBinDir(): Promise<string> {
  return (binDirLookup ??= (async () => {
    const hasServer = (dir: string) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl')) && existsSync(join(dir, 'postgres'));
    const fromPgConfig = (await run(undefined, 'pg_config', ['--bindir']).catch(() => '')).trim();
    if (fromPgConfig && hasServer(fromPgConfig)) return fromPgConfig;
    const versions = await readdir('/usr/lib/postgresql').catch(() => [] as string[]);
    const candidates = versions
      .filter((version) => /^\d+(\.\d+)?$/.test(version))
      .sort((a, b) => Number(b) - Number(a))
      .map((version) => join('/usr/lib/postgresql', version, 'bin'));
    const found = candidates.find(hasServer);
    if (!found) throw new Error('private Postgres: no server binaries (initdb, pg_ctl, postgres) via pg_config --bindir or in /usr/lib/postgresql/*/bin');
    return found;
  })());
}

/** Binds port 0 on loopback to let the kernel pick a free port, then releases it for the server. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function makeCertificate(owner: Owner | undefined, cwd: string, certFile: string, keyFile: string): Promise<void> {
  await run(owner, 'openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-keyout', keyFile, '-out', certFile,
  ], cwd);
  // The server refuses a key that others can read.
  await chmod(keyFile, 0o600);
}

function serverSettings(settings: { socketDir: string; ssl: boolean; certFile: string; keyFile: string }): string {
  const lines = [
    '',
    '# warden private-postgres fixture',
    "listen_addresses = '127.0.0.1'",
    `unix_socket_directories = ${quoteLiteral(settings.socketDir)}`,
    // A test server: durability only costs time.
    'fsync = off',
    'synchronous_commit = off',
    'full_page_writes = off',
    'max_connections = 50',
    "password_encryption = 'scram-sha-256'",
  ];
  if (settings.ssl) lines.push('ssl = on', `ssl_cert_file = ${quoteLiteral(settings.certFile)}`, `ssl_key_file = ${quoteLiteral(settings.keyFile)}`);
  return lines.join('\n') + '\n';
}

function hbaLines(users: readonly PrivatePostgresUser[]): string {
  return [
    '# TYPE  DATABASE  USER  ADDRESS  METHOD',
    // The fixture administers the server through its own socket.
    'local all postgres trust',
    ...users.flatMap((user) =>
      user.tlsOnly
        ? [`hostssl all ${user.name} 127.0.0.1/32 ${user.method}`, `host all ${user.name} 127.0.0.1/32 reject`]
        : [`host all ${user.name} 127.0.0.1/32 ${user.method}`],
    ),
    // Any other role is asked for a password, as on a real server: an unknown role fails like a bad password.
    'host all all 127.0.0.1/32 scram-sha-256',
  ].join('\n') + '\n';
}

function createRoles(users: readonly PrivatePostgresUser[]): string {
  return users
    .map((user) => {
      // md5 authentication needs an md5-hashed password; otherwise the server answers with SCRAM.
      const encryption = user.method === 'md5' ? 'md5' : 'scram-sha-256';
      const password = user.password === undefined ? '' : ` PASSWORD ${quoteLiteral(user.password)}`;
      return `SET password_encryption = '${encryption}';\nCREATE ROLE "${user.name}" LOGIN${password};\n`;
    })
    .join('');
}

function quoteLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** PG* variables of the caller (PGHOST, PGPORT, PGSSLMODE, …) must not steer the fixture's own tools. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('PG')) env[key] = value;
  env['LC_ALL'] = 'C';
  return env;
}

function command(owner: Owner | undefined, file: string, args: readonly string[]): [string, string[]] {
  return owner ? ['runuser', ['-u', 'postgres', '--', file, ...args]] : [file, [...args]];
}

/** Runs a program to completion (as `postgres` when `owner` is set); rejects with its output on failure. */
function run(owner: Owner | undefined, file: string, args: readonly string[], cwd?: string, input?: string): Promise<string> {
  const [program, argv] = command(owner, file, args);
  return new Promise((resolve, reject) => {
    // cwd matters: as `postgres`, the caller's working directory may be unreadable.
    const child = spawn(program, argv, { cwd: cwd ?? '/', env: cleanEnv(), stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    const output: Buffer[] = [];
    const errors: Buffer[] = [];
    child.stdout!.on('data', (chunk: Buffer) => output.push(chunk));
    child.stderr!.on('data', (chunk: Buffer) => errors.push(chunk));
    child.once('error', (error) => reject(new Error(`${file}: ${error.message}`, { cause: error })));
    child.once('close', (code, signal) => {
      const stdout = Buffer.concat(output).toString('utf8');
      if (code === 0) return resolve(stdout);
      const stderr = Buffer.concat(errors).toString('utf8').trim();
      reject(new Error(`${file.split('/').pop()} ${args[0] ?? ''} exited with ${code ?? signal}${stderr ? `: ${stderr}` : ''}${stdout.trim() ? `\n${stdout.trim()}` : ''}`));
    });
    if (input !== undefined && child.stdin) {
      // A program that exits without reading its input must not fail us with EPIPE: its exit code tells.
      child.stdin.on('error', () => undefined);
      child.stdin.end(input);
    }
  });
}
