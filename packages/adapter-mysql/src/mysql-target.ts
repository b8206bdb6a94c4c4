import { readTargetFields, targetConfigError } from '@warden/adapter-kit';
import { DEFAULT_RSA_KEY_BITS, RSA_KEY_SIZES, type RsaKeySize } from './rsa-key-exchange';

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
  /**
   * caching_sha2_password's RSA key exchange for clients without TLS (where cleartext is not allowed):
   * the token travels RSA-encrypted, the session itself does not. Absent: such clients are refused.
   */
  readonly rsaKeyExchange?: RsaKeyExchangeSettings;
}

export interface RsaKeyExchangeSettings {
  /** Size of the key Warden generates into its data directory (default 8192, the most libmariadb takes). */
  readonly bits: RsaKeySize;
  /** A PEM RSA private key to use instead (2048 to 8192 bits). */
  readonly keyFile?: string;
}

const SSL_MODES = ['disable', 'prefer', 'require', 'verify-full'] as const;
const KNOWN = new Set(['host', 'port', 'database', 'user', 'password', 'ssl', 'ca', 'connectTimeoutMs', 'rsaKeyExchange', 'rsaKeyBits', 'rsaKeyFile']);

/** Validates a connection's `target` section; errors carry the path of the offending field. */
export function parseMysqlTarget(raw: unknown): MysqlTarget {
  const fields = readTargetFields(raw, KNOWN);
  const password = fields.text('password', { allowEmpty: true });
  const ca = fields.text('ca');
  const rsaKeyExchange = parseRsaKeyExchange(raw as Readonly<Record<string, unknown>>, fields.text('rsaKeyFile'));
  return {
    host: fields.text('host', { required: true })!,
    port: fields.port(3306),
    database: fields.text('database', { required: true })!,
    user: fields.text('user', { required: true })!,
    ssl: fields.oneOf('ssl', SSL_MODES, 'disable'),
    connectTimeoutMs: fields.positive('connectTimeoutMs', 10_000),
    ...(password === undefined ? {} : { password }),
    ...(ca === undefined ? {} : { ca }),
    ...(rsaKeyExchange === undefined ? {} : { rsaKeyExchange }),
  };
}

/** `rsaKeyExchange: true` turns it on; `rsaKeyBits` and `rsaKeyFile` only with it. */
function parseRsaKeyExchange(raw: Readonly<Record<string, unknown>>, keyFile: string | undefined): RsaKeyExchangeSettings | undefined {
  const enabled = raw['rsaKeyExchange'] ?? false;
  if (typeof enabled !== 'boolean') throw targetConfigError(['rsaKeyExchange'], 'rsaKeyExchange must be true or false');
  const bits = raw['rsaKeyBits'] ?? DEFAULT_RSA_KEY_BITS;
  if (!RSA_KEY_SIZES.includes(bits as RsaKeySize)) throw targetConfigError(['rsaKeyBits'], `rsaKeyBits must be one of ${RSA_KEY_SIZES.join(', ')} (libmariadb clients take at most 8192)`);
  if (!enabled) {
    if (raw['rsaKeyBits'] !== undefined) throw targetConfigError(['rsaKeyBits'], 'rsaKeyBits needs rsaKeyExchange: true');
    if (keyFile !== undefined) throw targetConfigError(['rsaKeyFile'], 'rsaKeyFile needs rsaKeyExchange: true');
    return undefined;
  }
  return { bits: bits as RsaKeySize, ...(keyFile === undefined ? {} : { keyFile }) };
}
