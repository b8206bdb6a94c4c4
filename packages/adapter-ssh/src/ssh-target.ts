import { targetConfigError as configError } from '@warden/adapter-kit';
import type { IdentityKind } from '@warden/core';
import { utils } from 'ssh2';

/** Where Warden connects for an SSH connection, with Warden's own credentials. */
export interface SshTarget {
  readonly host: string;
  readonly port: number;
  /** The account Warden logs in as on the target. */
  readonly user: string;
  /** Warden's private key for the target (OpenSSH or PEM text; use `${file:…}`). */
  readonly privateKey?: string;
  readonly passphrase?: string;
  readonly password?: string;
  /**
   * The target's host key fingerprint as `ssh-keygen -lf` prints it (`SHA256:…`). Required: Warden
   * never trusts a host key on first use, and refuses a target that presents another key.
   */
  readonly hostKey: string;
  /** Environment variables a client may set (`env` requests), as names or `PREFIX_*` globs. */
  readonly allowEnv: readonly string[];
  /** Milliseconds to wait for the target to accept Warden. */
  readonly connectTimeoutMs: number;
  /**
   * Longest validity of a certificate `warden ssh login` issues for this connection, in seconds
   * (default 8 hours); the caller's token lifetime cuts it shorter.
   */
  readonly maxCertificateSeconds: number;
  /**
   * Mask the live output of shells and execs with the connection's content detectors (`masking:`
   * for this connection), not only the recording. Default false: the client sees the target's
   * output as it is, and the recording is masked. Live masking holds a partial line back for up
   * to 50 ms and changes the length of masked values, which full-screen programs may not survive.
   */
  readonly maskLiveOutput: boolean;
  /**
   * Public keys bound to service identities (a CI job, a batch agent): a client that proves it holds
   * one of these keys is admitted as its identity, through the same grants, policy and audit as a
   * token. For machines that cannot fetch an OIDC token; people use `warden ssh login`.
   */
  readonly publicKeys: readonly BoundPublicKey[];
}

/** A public key bound to an identity in config. */
export interface BoundPublicKey {
  /** `ssh-ed25519 AAAA…` (also ecdsa-sha2-* and ssh-rsa), without its comment. */
  readonly publicKey: string;
  readonly identity: { readonly subject: string; readonly groups: readonly string[]; readonly kind: IdentityKind };
}

const KNOWN = new Set(['host', 'port', 'user', 'privateKey', 'passphrase', 'password', 'hostKey', 'allowEnv', 'connectTimeoutMs', 'maxCertificateSeconds', 'maskLiveOutput', 'publicKeys']);
const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}=?$/;

/** Validates a connection's `target` section; errors carry the path of the offending field. */
export function parseSshTarget(raw: unknown): SshTarget {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw configError([], 'target must be a mapping');
  const input = raw as Record<string, unknown>;
  for (const key of Object.keys(input)) if (!KNOWN.has(key)) throw configError([key], `unknown field "${key}" (known: ${[...KNOWN].join(', ')})`);
  const text = (key: string, required: boolean): string | undefined => {
    const value = input[key];
    if (value === undefined && !required) return undefined;
    if (typeof value !== 'string' || value === '') throw configError([key], `${key} must be a non-empty string`);
    return value;
  };
  const port = input['port'] ?? 22;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) throw configError(['port'], 'port must be an integer between 1 and 65535');
  const timeout = input['connectTimeoutMs'] ?? 10_000;
  if (typeof timeout !== 'number' || timeout <= 0) throw configError(['connectTimeoutMs'], 'connectTimeoutMs must be a positive number');
  const maxCertificateSeconds = input['maxCertificateSeconds'] ?? 8 * 3600;
  if (typeof maxCertificateSeconds !== 'number' || !Number.isInteger(maxCertificateSeconds) || maxCertificateSeconds < 60) {
    throw configError(['maxCertificateSeconds'], 'maxCertificateSeconds must be an integer number of seconds, at least 60');
  }
  const maskLiveOutput = input['maskLiveOutput'] ?? false;
  if (typeof maskLiveOutput !== 'boolean') throw configError(['maskLiveOutput'], 'maskLiveOutput must be true or false');
  const publicKeys = parsePublicKeys(input['publicKeys'] ?? []);
  const hostKey = text('hostKey', true)!;
  if (!FINGERPRINT.test(hostKey)) throw configError(['hostKey'], 'hostKey must be a SHA256 fingerprint as `ssh-keygen -lf <key>` prints it (SHA256:…)');
  const allowEnv = input['allowEnv'] ?? ['LANG', 'LC_*'];
  if (!Array.isArray(allowEnv) || allowEnv.some((name) => typeof name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*\*?$/.test(name))) {
    throw configError(['allowEnv'], 'allowEnv must be a list of variable names (a trailing * matches a prefix)');
  }
  const privateKey = text('privateKey', false);
  const passphrase = text('passphrase', false);
  const password = text('password', false);
  if (privateKey === undefined && password === undefined) throw configError([], 'target needs privateKey or password (Warden logs in to the target with its own credential)');
  return {
    host: text('host', true)!,
    port,
    user: text('user', true)!,
    hostKey: hostKey.replace(/=$/, ''),
    allowEnv: allowEnv as string[],
    connectTimeoutMs: timeout,
    maxCertificateSeconds,
    maskLiveOutput,
    publicKeys,
    ...(privateKey === undefined ? {} : { privateKey }),
    ...(passphrase === undefined ? {} : { passphrase }),
    ...(password === undefined ? {} : { password }),
  };
}

/** Whether a client may set this environment variable on the target. */
export function envAllowed(target: SshTarget, name: string): boolean {
  return target.allowEnv.some((pattern) => (pattern.endsWith('*') ? name.startsWith(pattern.slice(0, -1)) : name === pattern));
}

const PUBLIC_KEY_FIELDS = new Set(['publicKey', 'identity']);
const IDENTITY_FIELDS = new Set(['subject', 'groups', 'kind']);

function parsePublicKeys(raw: unknown): BoundPublicKey[] {
  if (!Array.isArray(raw)) throw configError(['publicKeys'], 'publicKeys must be a list of { publicKey, identity: { subject, groups, kind } }');
  const seen = new Map<string, number>();
  return raw.map((entry: unknown, index) => {
    const at = (...rest: string[]) => ['publicKeys', index, ...rest];
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw configError(at(), 'each publicKeys entry must be a mapping { publicKey, identity }');
    const fields = entry as Record<string, unknown>;
    for (const key of Object.keys(fields)) if (!PUBLIC_KEY_FIELDS.has(key)) throw configError(at(key), `unknown field "${key}" (known: publicKey, identity)`);
    const line = fields['publicKey'];
    if (typeof line !== 'string') throw configError(at('publicKey'), 'publicKey must be an OpenSSH public key line (ssh-ed25519 AAAA…)');
    const parsed = utils.parseKey(line);
    if (parsed instanceof Error || Array.isArray(parsed) || parsed.isPrivateKey() || parsed.type.includes('-cert-')) {
      throw configError(at('publicKey'), 'publicKey must be one OpenSSH public key line (ssh-ed25519, ecdsa-sha2-* or ssh-rsa; not a private key or a certificate)');
    }
    const publicKey = `${parsed.type} ${parsed.getPublicSSH().toString('base64')}`;
    const earlier = seen.get(publicKey);
    if (earlier !== undefined) throw configError(at('publicKey'), `the same key is already bound in publicKeys[${earlier}]: a key names exactly one identity`);
    seen.set(publicKey, index);
    const identity = fields['identity'];
    if (typeof identity !== 'object' || identity === null || Array.isArray(identity)) throw configError(at('identity'), 'identity must be a mapping { subject, groups, kind }');
    const id = identity as Record<string, unknown>;
    for (const key of Object.keys(id)) if (!IDENTITY_FIELDS.has(key)) throw configError(at('identity', key), `unknown field "${key}" (known: subject, groups, kind)`);
    const subject = id['subject'];
    if (typeof subject !== 'string' || subject.trim() === '' || subject.length > 200) throw configError(at('identity', 'subject'), 'subject must be a non-empty string of at most 200 characters');
    const groups = id['groups'] ?? [];
    if (!Array.isArray(groups) || groups.some((group) => typeof group !== 'string' || group === '')) throw configError(at('identity', 'groups'), 'groups must be a list of group names');
    const kind = id['kind'] ?? 'agent';
    if (kind !== 'agent' && kind !== 'human') throw configError(at('identity', 'kind'), 'kind must be agent or human');
    return { publicKey, identity: { subject, groups: groups as string[], kind } };
  });
}

