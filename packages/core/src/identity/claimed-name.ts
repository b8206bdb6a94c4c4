/**
 * Names a client claims in the protocol (psql `user=`, the MySQL user name, the SSH user name,
 * `application_name`) that look like a bearer token are replaced by a short hash before they reach
 * the audit log or the gateway's log: users paste their token into the wrong field, and a token in
 * the user name would otherwise be stored verbatim, readable by anyone who reads the logs.
 */
import { createHash } from 'node:crypto';
import type { ClientInfo } from '../adapter';

/** Longer than any real user name; a pasted credential (a JWT, an opaque token) usually is. */
const MAX_NAME_BYTES = 256;

/**
 * Three base64url segments separated by dots (a JWS compact serialization; JWE has five). The
 * header and payload of even the smallest JWT are over 10 characters, which keeps dotted user
 * names such as `john.q.public` out.
 */
const JWT_SHAPE = /^[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}(?:\.[A-Za-z0-9_-]*){1,3}$/;

/**
 * Whether a claimed name looks like a credential: JWT-shaped, starting with `eyJ` (base64url of
 * `{"`, the start of every JWT header), or over 256 bytes.
 */
export function looksLikeToken(name: string): boolean {
  if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) return true;
  const trimmed = name.trim();
  return trimmed.startsWith('eyJ') || JWT_SHAPE.test(trimmed);
}

/**
 * The name to store or log for a claimed name: the name itself, or `sha256:` and the first 12 hex
 * digits of its SHA-256 when it looks like a token — enough to correlate repeated attempts, too
 * short to confirm a guess of the token.
 *
 * @example
 * ```ts
 * safeClaimedName('alice');            // 'alice'
 * safeClaimedName('eyJhbGciOi...');    // 'sha256:1a2b3c4d5e6f'
 * ```
 */
export function safeClaimedName(name: string): string {
  if (!looksLikeToken(name)) return name;
  return `sha256:${createHash('sha256').update(name, 'utf8').digest('hex').slice(0, 12)}`;
}

/** The client facts with every name the client chose passed through `safeClaimedName`. */
export function safeClientInfo(client: ClientInfo): ClientInfo {
  const { claimedUser, application } = client;
  if ((claimedUser === undefined || !looksLikeToken(claimedUser)) && (application === undefined || !looksLikeToken(application))) return client;
  return {
    ...client,
    ...(claimedUser === undefined ? {} : { claimedUser: safeClaimedName(claimedUser) }),
    ...(application === undefined ? {} : { application: safeClaimedName(application) }),
  };
}
