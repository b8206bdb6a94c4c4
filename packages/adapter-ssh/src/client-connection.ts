/**
 * One client's SSH connection to Warden: authentication (a certificate from Warden's CA →
 * `gateway.admitIdentity`; or the OIDC token as the password or the keyboard-interactive answer →
 * `gateway.admit`), Warden's own connection to the target, and the channels. Session channels are
 * relayed (SessionChannel); port forwarding is refused.
 */
import path from 'node:path';
import { WardenError, toWardenError, type AdapterContext, type Session, type SessionEndReason } from '@warden/core';
import type { AuthContext, Client, Connection, KeyboardAuthContext, PublicKeyAuthContext } from 'ssh2';
import type { CertificateAdmission, SshCertificateAuthority } from './certificate-authority';
import { CERTIFICATE_TYPES, verifyUserSignature } from './openssh-certificate';
import { SessionChannel } from './session-channel';
import type { SshTarget } from './ssh-target';
import { connectTarget } from './target-connection';

/** Methods offered to clients: a Warden certificate, or the token in either slot. */
const AUTH_METHODS = ['publickey', 'keyboard-interactive', 'password'] as const;

export interface ClientConnectionOptions {
  readonly context: AdapterContext<SshTarget>;
  readonly recordingsDir: string;
  /** Verifies certificates from `warden ssh login`. */
  readonly certificates: SshCertificateAuthority;
  readonly address: string;
  readonly software: string;
  readonly onClose: (connection: ClientConnection) => void;
}

export class ClientConnection {
  private session: Session | undefined;
  private target: Client | undefined;
  private authenticating = false;
  private channels = 0;
  private readonly pending = new Set<Promise<unknown>>();
  private endReason: SessionEndReason | undefined;
  private endError: string | undefined;

  constructor(
    private readonly client: Connection,
    private readonly options: ClientConnectionOptions,
  ) {
    client.on('authentication', (ctx) => this.authenticate(ctx));
    client.on('ready', () => this.ready());
    client.on('error', (error) => options.context.log.warn('client connection error', { client: options.address, error: error.message }));
    client.on('close', () => void this.closed());
  }

  /** Gateway shutdown: end the session and drop the connection. */
  shutdown(): void {
    this.endReason ??= 'shutdown';
    this.client.end();
  }

  private authenticate(ctx: AuthContext): void {
    if (this.authenticating || this.session) return ctx.reject([...AUTH_METHODS]);
    if (ctx.method === 'password') {
      void this.admitToken(ctx, ctx.password);
    } else if (ctx.method === 'keyboard-interactive') {
      ctx.prompt([{ prompt: 'Warden access token: ', echo: false }], 'Warden', 'Paste your OIDC access token.', (answers) => void this.admitToken(ctx, answers[0] ?? ''));
    } else if (ctx.method === 'publickey' && ctx.key.algo === CERTIFICATE_TYPES.ed25519) {
      void this.admitCertificate(ctx);
    } else {
      ctx.reject([...AUTH_METHODS]);
    }
  }

  private admitToken(ctx: AuthContext, token: string): Promise<void> {
    const { context } = this.options;
    // SSH is always encrypted: a token never crosses the network in clear.
    return this.admit(ctx, () => context.gateway.admit(context.connection.name, { kind: 'bearer', token: token.trim() }, this.clientInfo(ctx)));
  }

  /**
   * A certificate Warden's CA issued (`warden ssh login`). The signature-less probe (RFC 4252 §7) is
   * answered only for a certificate Warden would accept; the signed request must then be signed by
   * the certificate's key, and the identity comes from Warden's record of the certificate.
   */
  private async admitCertificate(ctx: PublicKeyAuthContext): Promise<void> {
    const { context, certificates } = this.options;
    this.authenticating = true;
    let admission: CertificateAdmission;
    try {
      admission = await certificates.admit(ctx.key.data, context.connection.name, context.clock.now());
    } catch (error) {
      // Not a certificate Warden issued for this connection: it names no identity Warden trusts.
      this.authenticating = false;
      context.log.warn('certificate refused', { client: this.options.address, reason: toWardenError(error).message });
      return ctx.reject([...AUTH_METHODS]);
    }
    if (!ctx.signature) {
      this.authenticating = false;
      return ctx.accept();
    }
    if (!ctx.blob || !verifyUserSignature(admission.certificate, ctx.blob, ctx.signature)) {
      this.authenticating = false;
      context.log.warn('certificate refused', { client: this.options.address, serial: admission.serial, reason: 'the signature does not verify with the certificate key' });
      return ctx.reject([...AUTH_METHODS]);
    }
    // An expired certificate is refused (and audited) by admitIdentity: its identity's expiresAt is past.
    const { identity, serial, keyId } = admission;
    return this.admit(ctx, async () => {
      const session = await context.gateway.admitIdentity(context.connection.name, identity, this.clientInfo(ctx));
      session.recordEvent('ssh certificate', { serial, keyId: keyId.slice(0, 200) });
      return session;
    });
  }

  private clientInfo(ctx: AuthContext): { address: string; claimedUser: string; application: string; tls: true } {
    return { address: this.options.address, claimedUser: ctx.username, application: this.options.software, tls: true };
  }

  private async admit(ctx: AuthContext, open: () => Promise<Session>): Promise<void> {
    const { context } = this.options;
    this.authenticating = true;
    let session: Session;
    try {
      session = await open();
    } catch (error) {
      this.authenticating = false;
      const wardenError = toWardenError(error);
      if (wardenError.code === 'internal') context.log.error('admission failed', { client: this.options.address, error: wardenError.message });
      return this.refuseAuth(ctx, wardenError.code === 'internal' ? 'Warden could not admit the session' : wardenError.message);
    }
    try {
      this.target = await connectTarget(context.connection.target);
    } catch (error) {
      this.authenticating = false;
      const wardenError = error instanceof WardenError ? error : new WardenError('target-unavailable', 'cannot reach the target', { cause: error });
      context.log.warn('target connection failed', { session: session.id, error: wardenError.message });
      await session.end('error', wardenError.message);
      return this.refuseAuth(ctx, wardenError.message);
    }
    this.session = session;
    this.authenticating = false;
    this.target.on('close', () => {
      this.endReason ??= 'target-closed';
      this.client.end();
    });
    this.target.on('error', (error) => context.log.warn('target connection error', { session: session.id, error: error.message }));
    ctx.accept();
  }

  /**
   * An SSH authentication failure. Keyboard-interactive clients also see the reason (an info request
   * with no prompts, whose instruction OpenSSH prints); a password-only client gets the bare failure —
   * SSH has no error text there — and the reason is in the audit log.
   */
  private refuseAuth(ctx: AuthContext, reason: string): void {
    if (ctx.method === 'keyboard-interactive') {
      (ctx as KeyboardAuthContext).prompt([], 'Warden', `Warden: ${reason}`, () => ctx.reject([...AUTH_METHODS]));
      return;
    }
    ctx.reject([...AUTH_METHODS]);
  }

  private ready(): void {
    const session = this.session!;
    const target = this.target!;
    const { context } = this.options;
    this.client.on('session', (accept) => {
      const channel = accept();
      new SessionChannel(channel, {
        session,
        target,
        targetSpec: context.connection.target,
        recordingsDir: this.options.recordingsDir,
        channelNumber: ++this.channels,
        log: context.log,
        failClosed: (reason) => {
          this.endReason = 'error';
          this.endError = reason;
          this.client.end();
        },
        track: (work) => {
          this.pending.add(work);
          void work.finally(() => this.pending.delete(work));
        },
      });
    });
    this.client.on('tcpip', (_accept, reject, info) => {
      session.recordEvent('port forwarding refused', { kind: 'direct-tcpip', destination: `${info.destIP}:${info.destPort}`.slice(0, 200) });
      reject();
    });
    this.client.on('openssh.streamlocal', (_accept, reject) => {
      session.recordEvent('port forwarding refused', { kind: 'streamlocal' });
      reject();
    });
    this.client.on('request', (_accept, reject, name) => {
      session.recordEvent('global request refused', { name: String(name).slice(0, 100) });
      reject?.();
    });
  }

  private async closed(): Promise<void> {
    this.target?.end();
    const session = this.session;
    if (session) {
      // Recording summaries belong to the session: write them before its end record.
      await Promise.allSettled([...this.pending]);
      await session.end(this.endReason ?? 'client-closed', this.endError);
    }
    this.options.onClose(this);
  }
}

/** The recordings directory of a data directory. */
export function recordingsDirOf(dataDir: string): string {
  return path.join(dataDir, 'recordings');
}
