/**
 * `POST /v1/ssh/certificate` on the admin API: exchanges the caller's OIDC token (already verified
 * by the admin server) for a short-lived SSH user certificate over the caller's public key, for
 * OpenSSH clients that cannot send a long token as a password (`warden ssh login`).
 *
 * Request body: `{ "connection": "box", "publicKey": "ssh-ed25519 AAAA…" }`.
 * Response: `{ certificate, serial, principal, validAfter, validBefore, connection, listen }`.
 */
import { WardenError, type AccessLevel, type AuditSink, type Clock, type Identity, type ListenAddress, type Logger } from '@warden/core';
import type { SshCertificateAuthority } from '@warden/adapter-ssh';

export interface SshCertificateIssuer {
  /** The configured `ssh` connections, with each one's maximum certificate validity. */
  readonly connections: ReadonlyMap<string, { readonly maxCertificateSeconds: number }>;
  /** The CA (opened once, on first use). */
  readonly authority: () => Promise<SshCertificateAuthority>;
  /** The caller's grant on a connection: no grant, no certificate. */
  readonly accessFor: (identity: Identity, connection: string) => AccessLevel | undefined;
  /** Where the connection listens (bound port), for the `ssh` line the CLI prints. */
  readonly addressOf: (connection: string) => ListenAddress | undefined;
  readonly clock: Clock;
  readonly log: Logger;
  /** Every certificate is on record before it is handed out (fail closed). */
  readonly audit: AuditSink;
}

export async function issueSshCertificate(caller: Identity, body: Readonly<Record<string, unknown>>, issuer: SshCertificateIssuer | undefined): Promise<{ status: number; body: unknown }> {
  const { connection, publicKey } = body;
  if (typeof connection !== 'string' || connection === '') throw new WardenError('config', 'connection is required: the name of an ssh connection');
  if (typeof publicKey !== 'string' || publicKey.length > 1000) throw new WardenError('config', 'publicKey is required: an OpenSSH ssh-ed25519 public key line');
  const spec = issuer?.connections.get(connection);
  if (!issuer || !spec) throw new WardenError('not-found', `no ssh connection named ${connection}`);
  if (issuer.accessFor(caller, connection) === undefined) throw new WardenError('forbidden', `${caller.subject} has no grant for connection ${connection}`);
  let issued;
  try {
    issued = await (await issuer.authority()).issue({ identity: caller, publicKey, connection, maxValiditySeconds: spec.maxCertificateSeconds, now: issuer.clock.now() });
  } catch (error) {
    // A malformed key is the caller's mistake; say so as a 400.
    if (error instanceof WardenError && error.code === 'unauthenticated' && /public key/.test(error.message)) throw new WardenError('config', error.message);
    throw error;
  }
  await issuer.audit.append({
    type: 'credential.issued',
    kind: 'ssh-certificate',
    connection,
    subject: caller.subject,
    issuer: caller.issuer,
    serial: String(issued.serial),
    validBefore: issued.validBefore.toISOString(),
  });
  issuer.log.info('ssh certificate issued', { connection, subject: caller.subject, serial: issued.serial, validBefore: issued.validBefore.toISOString() });
  return {
    status: 200,
    body: {
      certificate: issued.certificate,
      serial: issued.serial,
      principal: issued.principal,
      validAfter: issued.validAfter.toISOString(),
      validBefore: issued.validBefore.toISOString(),
      connection,
      listen: issuer.addressOf(connection) ?? null,
    },
  };
}
