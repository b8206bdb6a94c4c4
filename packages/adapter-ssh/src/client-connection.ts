/**
 * One client's SSH connection to Warden: authentication (a certificate from Warden's CA, or a
 * public key bound to a service identity in config → `gateway.admitIdentity`; or the OIDC token
 * as the password or the keyboard-interactive answer → `gateway.admit`), Warden's own connection
 * to the target, and the channels. Session channels are relayed (SessionChannel); port forwarding
 * is refused. Credentials the adapter refuses itself are audited with `gateway.recordRefusal`.
 */
import path from 'node:path';
import { IdleTimer } from '@warden/adapter-kit';
import { WardenError, toWardenError, type AdapterContext, type Identity, type Session, type SessionEndReason } from '@warden/core';
import { utils, type AuthContext, type Client, type Connection, type KeyboardAuthContext, type ParsedKey, type PublicKeyAuthContext } from 'ssh2';
import type { CertificateAdmission, SshCertificateAuthority } from './certificate-authority';
import { fingerprint } from './host-key';
import { CERTIFICATE_TYPES, parseCertificate, verifyUserSignature } from './openssh-certificate';
import { SessionChannel } from './session-channel';
import type { SshTarget } from './ssh-target';
import { connectTarget } from './target-connection';

/** Methods offered to clients: a Warden certificate, or the token in either slot. */
const AUTH_METHODS = ['publickey', 'keyboard-interactive', 'password'] as const;
type AuthMethod = (typeof AUTH_METHODS)[number];

/**
 * The token prompt. It says "password" so that scripts which answer only password prompts
 * (sshpass looks for "assword") answer it too, instead of waiting for a prompt that never comes.
 */
const TOKEN_PROMPT = 'Warden access token (as password): ';

export interface ClientConnectionOptions {
  readonly context: AdapterContext<SshTarget>;
  readonly recordingsDir: string;
  /** Verifies certificates from `warden ssh login`. */
  readonly certificates: SshCertificateAuthority;
  /** Public keys bound to identities in config, by the base64 of the key blob. */
  readonly boundKeys: ReadonlyMap<string, ParsedBoundKey>;
  readonly address: string;
  readonly software: string;
  /** Close the session after this long without channel data while no command runs (0: never). */
  readonly idleTimeoutMs?: number;
  /** Whether the gateway is stopping: new channels and commands are refused. */
  readonly draining?: () => boolean;
  readonly onClose: (connection: ClientConnection) => void;
}

/** A `publicKeys` entry, parsed once when the adapter starts. */
export interface ParsedBoundKey {
  readonly key: ParsedKey;
  readonly identity: Pick<Identity, 'subject' | 'groups' | 'kind'>;
}

/** Parses the configured keys (already validated by parseSshTarget). */
export function parseBoundKeys(keys: SshTarget['publicKeys']): Map<string, ParsedBoundKey> {
  const bound = new Map<string, ParsedBoundKey>();
  for (const { publicKey, identity } of keys) {
    const key = utils.parseKey(publicKey);
    if (key instanceof Error || Array.isArray(key)) throw new WardenError('config', 'a publicKeys entry cannot be parsed');
    bound.set(key.getPublicSSH().toString('base64'), { key, identity });
  }
  return bound;
}

export class ClientConnection {
  private session: Session | undefined;
  private target: Client | undefined;
  private authenticating = false;
  private channels = 0;
  private readonly pending = new Set<Promise<unknown>>();
  private endReason: SessionEndReason | undefined;
  private endError: string | undefined;
  /** Public keys offered that are bound to no identity here (audited once, if nothing else admits the client). */
  private unknownKeys = 0;
  private lastUsername = '';
  /** A refusal of this connection's credentials is already in the audit log. */
  private refusalAudited = false;
  /**
   * Why the token this connection sent was refused, and whether the client was shown that. One
   * token per connection: a refused token ends the token methods (see `methods`).
   */
  private tokenRefused: { readonly reason: string; shown: boolean } | undefined;
  private readonly open = new Set<SessionChannel>();
  /** Set once the connection has closed (the session, if any, is ending). */
  private gone = false;
  private readonly ended: Promise<void>;
  private resolveEnded!: () => void;
  private idle: IdleTimer | undefined;
  private drainRequested = false;

  constructor(
    private readonly client: Connection,
    private readonly options: ClientConnectionOptions,
  ) {
    client.on('authentication', (ctx) => this.authenticate(ctx));
    client.on('ready', () => this.ready());
    client.on('error', (error) => options.context.log.warn('client connection error', { client: options.address, error: error.message }));
    client.on('close', () => void this.closed());
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
  }

  /** `ip:port` of the client. */
  get address(): string {
    return this.options.address;
  }

  /** Whether the client has logged in (a session is open). */
  get authenticated(): boolean {
    return this.session !== undefined;
  }

  /** The login timeout passed before the client logged in: drop the connection. */
  loginTimedOut(): void {
    this.client.end();
  }

  /**
   * Gateway stop, gently: shells and sftp channels are told why on stderr and closed; exec
   * commands run on; once none runs, the connection ends. Resolves once the session has ended.
   */
  drain(): Promise<void> {
    this.endReason ??= 'shutdown';
    if (!this.session) {
      this.client.end();
      return this.ended;
    }
    this.drainRequested = true;
    for (const channel of [...this.open]) channel.drain('Warden is shutting down; this session is closed');
    this.endIfDrained();
    return this.ended;
  }

  /** Gateway shutdown: end what still runs (telling the client), drop the connection, and resolve once the session has ended. */
  shutdown(): Promise<void> {
    this.endReason ??= 'shutdown';
    for (const channel of [...this.open]) channel.closeFor('Warden is shutting down; the command was stopped');
    this.client.end();
    return Promise.race([this.ended, new Promise<void>((resolve) => setTimeout(resolve, 2000).unref())]);
  }

  private endIfDrained(): void {
    if (this.drainRequested && ![...this.open].some((channel) => channel.busy)) this.client.end();
  }

  /** Idle: no channel data either way for the idle timeout while no exec command runs. */
  private idleClosed(seconds: number): void {
    if (this.gone) return;
    this.options.context.log.info('session idle: closed', { session: this.session?.id, idleSeconds: seconds });
    this.endReason = 'error';
    this.endError = `idle for ${seconds} s`;
    for (const channel of [...this.open]) channel.closeFor(`Warden: the session was idle for ${seconds} s (the limit); reconnect to continue`);
    this.client.end();
  }


  /**
   * The methods that can continue. After a refused token, OpenSSH would otherwise retry the
   * password (NumberOfPasswordPrompts) and then ask again with keyboard-interactive — a prompt that
   * a script answering only the first password prompt never answers, so it hangs until it times
   * out. Instead: keyboard-interactive once more, only to show the reason (an info request with no
   * prompts, which OpenSSH prints without asking anything), then only public keys (certificates):
   * the client fails at once with "Permission denied" and exit status 255.
   */
  private methods(): AuthMethod[] {
    if (!this.tokenRefused) return [...AUTH_METHODS];
    return this.tokenRefused.shown ? ['publickey'] : ['publickey', 'keyboard-interactive'];
  }

  private authenticate(ctx: AuthContext): void {
    if (this.authenticating || this.session) return ctx.reject(this.methods());
    const refused = this.tokenRefused;
    if (refused && (ctx.method === 'password' || ctx.method === 'keyboard-interactive')) {
      // A second token on this connection is not even read; a keyboard-interactive client is told why once.
      if (ctx.method === 'password' || refused.shown) return ctx.reject(this.methods());
      refused.shown = true;
      ctx.prompt([], 'Warden', `Warden: ${refused.reason} (one token per connection; reconnect to try another)`, () => ctx.reject(this.methods()));
      return;
    }
    if (ctx.method === 'password') {
      void this.admitToken(ctx, ctx.password);
    } else if (ctx.method === 'keyboard-interactive') {
      ctx.prompt([{ prompt: TOKEN_PROMPT, echo: false }], 'Warden', 'Paste your OIDC access token.', (answers) => void this.admitToken(ctx, answers[0] ?? ''));
    } else if (ctx.method === 'publickey' && ctx.key.algo === CERTIFICATE_TYPES.ed25519) {
      void this.admitCertificate(ctx);
    } else if (ctx.method === 'publickey') {
      void this.admitBoundKey(ctx);
    } else {
      ctx.reject(this.methods());
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
      await this.auditRefusal(ctx, toWardenError(error).message, claimedKeyId(ctx.key.data));
      this.authenticating = false;
      return ctx.reject(this.methods());
    }
    if (!ctx.signature) {
      this.authenticating = false;
      return ctx.accept();
    }
    if (!ctx.blob || !verifyUserSignature(admission.certificate, ctx.blob, ctx.signature)) {
      await this.auditRefusal(ctx, `certificate serial ${admission.serial}: the signature does not verify with the certificate key`, admission.identity.subject);
      this.authenticating = false;
      return ctx.reject(this.methods());
    }
    // An expired certificate is refused (and audited) by admitIdentity: its identity's expiresAt is past.
    const { identity, serial, keyId } = admission;
    return this.admit(ctx, async () => {
      const session = await context.gateway.admitIdentity(context.connection.name, identity, this.clientInfo(ctx));
      session.recordEvent('ssh certificate', { serial, keyId: keyId.slice(0, 200) });
      return session;
    });
  }

  /**
   * A plain public key: admitted only when config binds it to an identity (`publicKeys`), and only
   * with a signature by that key (RFC 4252 §7). Unknown keys are refused quietly — clients offer
   * every key they have — and audited once when the connection closes without a session.
   */
  private async admitBoundKey(ctx: PublicKeyAuthContext): Promise<void> {
    const { context } = this.options;
    const bound = this.options.boundKeys.get(ctx.key.data.toString('base64'));
    if (!bound) {
      this.unknownKeys++;
      this.lastUsername = ctx.username;
      return ctx.reject(this.methods());
    }
    if (!ctx.signature) return ctx.accept();
    const keyFingerprint = fingerprint(ctx.key.data);
    if (!ctx.blob || bound.key.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) {
      this.authenticating = true;
      await this.auditRefusal(ctx, `public key ${keyFingerprint}: the signature does not verify`, bound.identity.subject);
      this.authenticating = false;
      return ctx.reject(this.methods());
    }
    const identity: Identity = {
      ...bound.identity,
      issuer: BOUND_KEY_ISSUER,
      // A key does not expire; the session's credential lasts as long as a certificate would.
      expiresAt: new Date(context.clock.now().getTime() + context.connection.target.maxCertificateSeconds * 1000),
    };
    return this.admit(ctx, async () => {
      const session = await context.gateway.admitIdentity(context.connection.name, identity, this.clientInfo(ctx));
      session.recordEvent('ssh public key', { fingerprint: keyFingerprint });
      return session;
    });
  }

  /** Audits a credential refused here (never reached the core's admission); logs if the audit log fails. */
  private async auditRefusal(ctx: { readonly username: string }, reason: string, subject?: string): Promise<void> {
    const { context } = this.options;
    this.refusalAudited = true;
    try {
      await context.gateway.recordRefusal(context.connection.name, this.clientInfo(ctx), reason, subject);
    } catch (error) {
      context.log.error('refusal not audited', { client: this.options.address, reason, error: toWardenError(error).message });
    }
  }

  private clientInfo(ctx: AuthContext | { username: string }): { address: string; claimedUser: string; application: string; tls: true } {
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
      // The core audited this refusal itself.
      this.refusalAudited = true;
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
    if (this.gone) {
      // The client left (or was cut off at the login timeout) while Warden admitted it.
      this.target.end();
      await session.end('client-closed', 'client left during login');
      return;
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
    if (ctx.method === 'password' || ctx.method === 'keyboard-interactive') {
      this.tokenRefused = { reason, shown: ctx.method === 'keyboard-interactive' };
    }
    if (ctx.method === 'keyboard-interactive') {
      (ctx as KeyboardAuthContext).prompt([], 'Warden', `Warden: ${reason}`, () => ctx.reject(this.methods()));
      return;
    }
    ctx.reject(this.methods());
  }

  private ready(): void {
    const session = this.session!;
    const target = this.target!;
    const { context } = this.options;
    const idle = new IdleTimer(this.options.idleTimeoutMs ?? 0, () => [...this.open].some((channel) => channel.busy), (seconds) => this.idleClosed(seconds));
    this.idle = idle;
    this.client.on('session', (accept, reject) => {
      if (this.drainRequested || this.options.draining?.()) return reject();
      const channel = accept();
      const relayed: SessionChannel = new SessionChannel(channel, {
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
        activity: () => idle.touch(),
        draining: () => this.drainRequested || this.options.draining?.() === true,
        finished: () => {
          idle.touch();
          this.endIfDrained();
        },
        closed: () => {
          this.open.delete(relayed);
          this.endIfDrained();
        },
      });
      this.open.add(relayed);
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
    this.gone = true;
    this.idle?.stop();
    this.target?.end();
    const session = this.session;
    if (!session && this.unknownKeys > 0 && !this.refusalAudited) {
      const keys = this.unknownKeys === 1 ? 'the public key' : `none of the ${this.unknownKeys} public keys`;
      await this.auditRefusal({ username: this.lastUsername }, `${keys} the client offered ${this.unknownKeys === 1 ? 'is' : 'are'} bound to no identity on this connection`);
    }
    if (session) {
      // Recording summaries belong to the session: write them before its end record.
      await Promise.allSettled([...this.pending]);
      await session.end(this.endReason ?? 'client-closed', this.endError);
    }
    this.options.onClose(this);
    this.resolveEnded();
  }
}

/** The issuer of identities bound to public keys in config. */
const BOUND_KEY_ISSUER = 'warden:ssh-public-keys';

/** The key id a certificate claims, for the audit record of its refusal (unverified), if it parses. */
function claimedKeyId(blob: Buffer): string | undefined {
  try {
    return parseCertificate(blob).keyId.slice(0, 200) || undefined;
  } catch {
    return undefined;
  }
}

/** The recordings directory of a data directory. */
export function recordingsDirOf(dataDir: string): string {
  return path.join(dataDir, 'recordings');
}
