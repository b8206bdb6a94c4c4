/**
 * The adapter contract: everything a protocol adapter needs from the core, in one file.
 *
 * An adapter terminates one client protocol (Postgres, MySQL, SSH, the Kubernetes API, …) and
 * connects onward to the target with credentials Warden holds. It never makes a policy decision
 * itself. Its whole job, per client connection:
 *
 * 1. Take the client's credential from the protocol's own slot (a password field, a bearer token)
 *    and call `context.gateway.admit(...)`. That verifies the token against the trusted issuers,
 *    checks that the identity has a grant for this connection, audits the outcome and returns a
 *    `Session` — or throws a `WardenError` (`unauthenticated` / `forbidden`) whose message is safe
 *    to show the client. Send it in the protocol's native error format and close.
 * 2. Connect to the target (`context.connection.target` holds the address and Warden's own
 *    credentials). If that fails, send the client a native error and call `session.end('error')`.
 * 3. For every client message that can read or change data, classify it (SQL adapters use
 *    `@warden/sql`) and call `session.decide(...)` BEFORE forwarding anything. Then:
 *    - `allow`: forward it; apply `decision.masking` to the results while they stream;
 *    - `block`: do not forward; answer with a native error carrying `decision.reason`, keep the
 *      session usable when the protocol allows it;
 *    - `review`: the command is held for approval and the client should retry later; answer with
 *      a native error carrying `decision.reason` (it names the request id).
 *    Do not acknowledge the command's completion to the client before `ruling.durable` resolves
 *    (the audit record is on disk by then; start forwarding at once and gate the reply).
 *    If `decide` rejects, or `durable` rejects, refuse and end the session: Warden fails closed.
 * 4. When a command finishes, `session.recordResult(seq, summary)` with counts (rows, masked
 *    values, duration, status, the target's error) — never values.
 * 5. When either side closes, `session.end(reason)` exactly once.
 *
 * Register the adapter with the gateway by protocol name (see `AdapterFactory`); the gateway
 * validates the connection's `target` with `parseTarget` before anything starts.
 *
 * @example
 * ```ts
 * export const echoAdapter: AdapterFactory<{ host: string; port: number }> = {
 *   protocol: 'echo',
 *   parseTarget: (raw) => parseHostPort(raw),
 *   create: (context) => new EchoAdapter(context),
 * };
 * ```
 */
import type { Clock } from './clock';
import type { CommandEvent, CommandInput, Decision, Identity, Protocol, ResultSummary, SessionEndReason } from './events';
import type { Logger } from './log';

/** Where a listener binds. */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/** TLS material for the client-facing side, as PEM text. */
export interface TlsMaterial {
  readonly cert: string;
  readonly key: string;
}

/** One configured connection, as the adapter sees it. */
export interface ConnectionSpec<Target = unknown> {
  readonly name: string;
  readonly protocol: Protocol;
  readonly listen: ListenAddress;
  /** The validated result of the adapter's `parseTarget`. Holds Warden's credentials for the target. */
  readonly target: Target;
  /** Client-facing TLS; absent when the connection has none. */
  readonly tls?: TlsMaterial;
  /**
   * Accept credentials over an unencrypted client connection from a non-loopback address.
   * Off by default: tokens are bearer credentials.
   */
  readonly allowInsecureAuth: boolean;
}

/** What the client presented. */
export interface Credential {
  readonly kind: 'bearer';
  /** An OIDC/JWT token. Never log or record it. */
  readonly token: string;
}

/** Facts about the client connection, for the audit record and for policy. */
export interface ClientInfo {
  /** `ip:port` of the peer. */
  readonly address: string;
  /** The user name the client claimed in the protocol, if it has one. */
  readonly claimedUser?: string;
  /** e.g. Postgres `application_name`. */
  readonly application?: string;
  /** Whether the client connection is encrypted. */
  readonly tls: boolean;
}

/**
 * What a grant lets an identity do on a connection. `read-only` is enforced by classification and,
 * where the protocol allows, by the target session itself (adapters ask `session.access`).
 */
export type AccessLevel = 'read-only' | 'read-write' | 'full';

/** A command after the core decided on it. */
export interface Ruling {
  readonly command: CommandEvent;
  readonly decision: Decision;
  /**
   * Resolves when the command's audit record is durable; rejects (with `audit-unavailable`) when it
   * cannot be written. Gate the client's acknowledgement on it.
   */
  readonly durable: Promise<void>;
}

/** One client session, admitted. */
export interface Session {
  readonly id: string;
  readonly identity: Identity;
  readonly connection: string;
  readonly access: AccessLevel;
  /**
   * Decide on a command. Resolves once the decision is made and its audit record is queued.
   * Rejects with a `WardenError` when Warden cannot decide or cannot audit: refuse the command.
   */
  decide(command: CommandInput): Promise<Ruling>;
  /** Record what an allowed command produced. */
  recordResult(seq: number, summary: ResultSummary): void;
  /** Record a protocol-level event worth keeping that is not a command (e.g. a cancel request). */
  recordEvent(name: string, detail?: Readonly<Record<string, string | number | boolean>>): void;
  /** End the session; idempotent. Resolves when the end record is durable. */
  end(reason: SessionEndReason, error?: string): Promise<void>;
}

/** What the gateway offers every adapter. */
export interface GatewayServices {
  /**
   * Verify the credential, check the identity's grant on the connection and open a session.
   * Every outcome is audited. Throws `WardenError` with code `unauthenticated` or `forbidden`
   * (message safe to show the client) or `audit-unavailable`.
   */
  admit(connection: string, credential: Credential, client: ClientInfo): Promise<Session>;
}

/** Everything an adapter instance receives. */
export interface AdapterContext<Target = unknown> {
  readonly connection: ConnectionSpec<Target>;
  readonly gateway: GatewayServices;
  readonly log: Logger;
  readonly clock: Clock;
}

/** A running adapter: one listener for one connection. */
export interface Adapter {
  /** Bind the listener and start accepting clients; resolves with the bound address (port 0 picks one). */
  start(): Promise<ListenAddress>;
  /** Stop accepting, close client sessions (ending them with `shutdown`), release the port. */
  stop(): Promise<void>;
}

/** How an adapter plugs into the gateway. */
export interface AdapterFactory<Target = unknown> {
  readonly protocol: Protocol;
  /**
   * Validate the `target` section of a connection's configuration. Throw
   * `WardenError('config', message, { path })` with a path relative to `target` on error.
   */
  parseTarget(raw: unknown): Target;
  create(context: AdapterContext<Target>): Adapter;
}
