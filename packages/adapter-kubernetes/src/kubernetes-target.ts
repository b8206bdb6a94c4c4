import { targetConfigError as configError } from '@warden/adapter-kit';

/** The Kubernetes API server Warden proxies to, with Warden's own credential for it. */
export interface KubernetesTarget {
  /** `https://host:port` of kube-apiserver. */
  readonly server: URL;
  /** Warden's bearer token (a service account token), or absent when a client certificate is used. */
  readonly token?: string;
  /** Warden's client certificate and key (PEM), the alternative to `token`. */
  readonly clientCert?: string;
  readonly clientKey?: string;
  /** CA bundle (PEM) that signed the server's certificate. */
  readonly ca?: string;
  /** The server certificate's SHA-256 fingerprint (`AB:CD:…`, as `openssl x509 -fingerprint -sha256` prints it): pinned instead of a CA. */
  readonly certSha256?: string;
  /** Skip verifying the server's certificate. For tests only; never in production. */
  readonly insecureSkipTlsVerify: boolean;
  /** Add `Impersonate-User`/`Impersonate-Group` for the caller (default true). */
  readonly impersonate: boolean;
  readonly connectTimeoutMs: number;
}

const KNOWN = new Set(['server', 'token', 'clientCert', 'clientKey', 'ca', 'certSha256', 'insecureSkipTlsVerify', 'impersonate', 'connectTimeoutMs']);
const FINGERPRINT = /^([0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$/;

/** Validates a connection's `target` section; errors carry the path of the offending field. */
export function parseKubernetesTarget(raw: unknown): KubernetesTarget {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw configError([], 'target must be a mapping');
  const input = raw as Record<string, unknown>;
  for (const key of Object.keys(input)) if (!KNOWN.has(key)) throw configError([key], `unknown field "${key}" (known: ${[...KNOWN].join(', ')})`);
  const text = (key: string): string | undefined => {
    const value = input[key];
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || value === '') throw configError([key], `${key} must be a non-empty string`);
    return value;
  };
  const flag = (key: string, fallback: boolean): boolean => {
    const value = input[key] ?? fallback;
    if (typeof value !== 'boolean') throw configError([key], `${key} must be true or false`);
    return value;
  };
  const serverText = text('server');
  if (serverText === undefined) throw configError(['server'], 'server is required (https://host:port of the Kubernetes API server)');
  let server: URL;
  try {
    server = new URL(serverText);
  } catch {
    throw configError(['server'], 'server must be a URL such as https://10.0.0.1:6443');
  }
  // Warden's credential must never cross the network in clear.
  if (server.protocol !== 'https:') throw configError(['server'], 'server must be an https:// URL');
  const token = text('token');
  const clientCert = text('clientCert');
  const clientKey = text('clientKey');
  if ((clientCert === undefined) !== (clientKey === undefined)) throw configError([clientCert === undefined ? 'clientCert' : 'clientKey'], 'clientCert and clientKey go together');
  if (token === undefined && clientCert === undefined) throw configError([], 'target needs token or clientCert/clientKey (Warden calls the API server with its own credential)');
  const ca = text('ca');
  const certSha256 = text('certSha256');
  if (certSha256 !== undefined && !FINGERPRINT.test(certSha256)) throw configError(['certSha256'], 'certSha256 must be a SHA-256 fingerprint like AB:CD:… (32 bytes)');
  const insecureSkipTlsVerify = flag('insecureSkipTlsVerify', false);
  const timeout = input['connectTimeoutMs'] ?? 10_000;
  if (typeof timeout !== 'number' || timeout <= 0) throw configError(['connectTimeoutMs'], 'connectTimeoutMs must be a positive number');
  return {
    server,
    insecureSkipTlsVerify,
    impersonate: flag('impersonate', true),
    connectTimeoutMs: timeout,
    ...(token === undefined ? {} : { token }),
    ...(clientCert === undefined ? {} : { clientCert, clientKey: clientKey! }),
    ...(ca === undefined ? {} : { ca }),
    ...(certSha256 === undefined ? {} : { certSha256: certSha256.toUpperCase() }),
  };
}

