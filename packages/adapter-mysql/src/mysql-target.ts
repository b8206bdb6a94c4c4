import { WardenError } from '@warden/core';

/** Where Warden connects for a MySQL/MariaDB connection, with Warden's own credentials. */
export interface MysqlTarget {
  readonly host: string;
  readonly port: number;
  /** The default database; clients may ask for it by this name or by the connection's name. */
  readonly database: string;
  readonly user: string;
  /** For mysql_native_password and caching_sha2_password; absent for an account without one. */
  readonly password?: string;
  /** TLS towards the target: `disable` (default), `prefer`, `require` (no certificate check), `verify-full`. */
  readonly ssl: 'disable' | 'prefer' | 'require' | 'verify-full';
  /** PEM CA bundle for `verify-full`. */
  readonly ca?: string;
  /** Milliseconds to wait for the target to accept a session. */
  readonly connectTimeoutMs: number;
}

const SSL_MODES = ['disable', 'prefer', 'require', 'verify-full'] as const;
const KNOWN = new Set(['host', 'port', 'database', 'user', 'password', 'ssl', 'ca', 'connectTimeoutMs']);

/** Validates a connection's `target` section; errors carry the path of the offending field. */
export function parseMysqlTarget(raw: unknown): MysqlTarget {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw configError([], 'target must be a mapping');
  const input = raw as Record<string, unknown>;
  for (const key of Object.keys(input)) if (!KNOWN.has(key)) throw configError([key], `unknown field "${key}" (known: ${[...KNOWN].join(', ')})`);
  const text = (key: string, required: boolean, allowEmpty = false): string | undefined => {
    const value = input[key];
    if (value === undefined && !required) return undefined;
    if (typeof value !== 'string' || (value === '' && !allowEmpty)) throw configError([key], `${key} must be a non-empty string`);
    return value;
  };
  const port = input['port'] ?? 3306;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) throw configError(['port'], 'port must be an integer between 1 and 65535');
  const ssl = input['ssl'] ?? 'disable';
  if (!SSL_MODES.includes(ssl as (typeof SSL_MODES)[number])) throw configError(['ssl'], `ssl must be one of ${SSL_MODES.join(', ')}`);
  const timeout = input['connectTimeoutMs'] ?? 10_000;
  if (typeof timeout !== 'number' || timeout <= 0) throw configError(['connectTimeoutMs'], 'connectTimeoutMs must be a positive number');
  const password = text('password', false, true);
  const ca = text('ca', false);
  return {
    host: text('host', true)!,
    port,
    database: text('database', true)!,
    user: text('user', true)!,
    ssl: ssl as MysqlTarget['ssl'],
    connectTimeoutMs: timeout,
    ...(password === undefined ? {} : { password }),
    ...(ca === undefined ? {} : { ca }),
  };
}

function configError(path: (string | number)[], message: string): WardenError {
  return new WardenError('config', message, { path });
}
