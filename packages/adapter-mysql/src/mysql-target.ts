import { readTargetFields } from '@warden/adapter-kit';

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
  const fields = readTargetFields(raw, KNOWN);
  const password = fields.text('password', { allowEmpty: true });
  const ca = fields.text('ca');
  return {
    host: fields.text('host', { required: true })!,
    port: fields.port(3306),
    database: fields.text('database', { required: true })!,
    user: fields.text('user', { required: true })!,
    ssl: fields.oneOf('ssl', SSL_MODES, 'disable'),
    connectTimeoutMs: fields.positive('connectTimeoutMs', 10_000),
    ...(password === undefined ? {} : { password }),
    ...(ca === undefined ? {} : { ca }),
  };
}
