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
 *    Exception: when the client presents a credential Warden itself issued (an SSH certificate
 *    from `warden ssh login`), the adapter verifies it, resolves the identity from Warden's own
 *    record of it and calls `context.gateway.admitIdentity(...)` instead (same grant check and
 *    audit); likewise for a public key the connection's config binds to a service identity, once
 *    the client's signature by that key verifies. Nothing a client could forge may reach
 *    `admitIdentity`. A credential the adapter refuses before either call (a certificate Warden
 *    never issued, an unknown key) is audited with `context.gateway.recordRefusal(...)`.
 * 2. Connect to the target (`context.connection.target` holds the address and Warden's own
 *    credentials). If that fails, send the client a native error and call `session.end('error')`.
 * 3. For every client message that can read or change data, classify it (SQL adapters use
 *    `@warden/sql`) and call `session.decide(...)` BEFORE forwarding anything. Then:
 *    - `allow`: forward it; apply `decision.masking` to the results while they stream;
 *    - `block`: do not forward; answer with a native error carrying `decision.reason`, keep the
 *      session usable when the protocol allows it;
 *    - `review`: the command waits for a just-in-time approval and the client should run it again
 *      once approved; answer with a native error carrying `decision.reason` (it names the request
 *      id). In `wait` mode the core holds the command inside `decide` until someone decides (it
 *      may take minutes) and then resolves to `allow` or `block`: do not time `decide` out, and
 *      keep the client connection open meanwhile. Optionally pass `estimateImpact` with the
 *      command so that approvers see how much it would touch (never by running it).
 *    Forward an allowed command only once `ruling.durable` resolves (its audit record is written:
 *    nothing reaches the target unaudited, even when the audit store fails), and so also
 *    acknowledge nothing before it.
 *    If `decide` rejects, or `durable` rejects, refuse and end the session: Warden fails closed.
 * 4. When a command finishes, `session.recordResult(seq, summary)` with counts (rows, masked
 *    values, duration, status, the target's error) — never values.
 * 5. When either side closes, `session.end(reason)` exactly once.
 *
 * A database adapter also records what the client saw (see `Session.recordTimeline`): once, after
 * `admit`, it calls `session.recordTimeline(...)`; from then on the core writes every decided
 * command to the session's timeline recording, and each allowed command's ruling carries a
 * `recording` into which the adapter feeds the result's column names and each row exactly as it
 * was written to the client, after masking (see `ResultRecording`). `recordResult` ends the
 * command's entry; `end` closes the file and puts its SHA-256 in the audit log.
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
import type { GatewayLimits } from './limits';
import type { Logger } from './log';
import type { Masker } from './masking/masker';

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
  /**
   * For an allow decision with a masking plan: the plan compiled (`masker.planColumn(...)` once per
   * result column). Apply it to every value of the result; when it throws, refuse the result.
   * Values that arrive as UTF-8 bytes can go through the column plan's `maskUtf8` first, which
   * masks the common rules without decoding (and says when it cannot).
   */
  readonly masker?: Masker;
  /**
   * For an allowed command when the session records a timeline (`Session.recordTimeline`): where
   * its result goes in the recording. Absent otherwise: record nothing.
   */
  readonly recording?: ResultRecording;
}

/**
 * One allowed command's result in the session's timeline recording. Feed it at the point where a
 * message is written to the client, with what was written — after masking, never a value read
 * from the target before it: the recording holds exactly what the client saw.
 *
 * - `columns(names)` when a result set begins (a Postgres RowDescription, a MySQL column count
 *   and its column definitions); a command may return several result sets.
 * - `row(values)` for each row sent: every value as the text the client's driver shows for it,
 *   `null` for NULL. A value sent in a binary format is rendered as text from its type (an int4
 *   as `42`, a date as `2024-01-31`); when the adapter cannot render it, pass
 *   `<binary N bytes>`. Rows of output that is not a row set (Postgres `COPY … TO STDOUT`) are
 *   recorded as one value per line of output.
 * - The core caps the recorded values of one command (config `recording.resultBytesPerCommand`)
 *   and marks the entry truncated past it; the row count in the recording is the one passed to
 *   `session.recordResult`. Once `wantsValues` is false the cap is reached: skip rendering the
 *   rest of the command's rows (and calling `row`) — on a large result that is most of the cost.
 * - Both throw `WardenError('audit-unavailable')` once the recording cannot be written: treat it
 *   like a failed audit (refuse, end the session).
 * - `backedUp` / `drained()`: the file's write buffer is full; pause reading from the target until
 *   it drains, as for a slow client.
 *
 * @example
 * ```ts
 * const ruling = await session.decide(input);
 * // … a row arrives from the target, is masked and written to the client:
 * client.write(maskedRowBytes);
 * ruling.recording?.row(['42', 'XXX-XX-6789', null]);
 * if (ruling.recording?.backedUp) { target.pause(); void ruling.recording.drained().then(() => target.resume()); }
 * ```
 */
export interface ResultRecording {
  columns(names: readonly string[]): void;
  row(values: ReadonlyArray<string | null>): void;
  /** False once the command's recorded values reached the cap: later rows need not be rendered. */
  readonly wantsValues: boolean;
  readonly backedUp: boolean;
  drained(): Promise<void>;
}

/** How a database adapter asks for its session's timeline recording (`Session.recordTimeline`). */
export interface TimelineOptions {
  /**
   * Called once, when the recording cannot be written (a full disk): tell the client in its
   * protocol's native error format and end the session (Warden fails closed, as when the audit
   * log fails). From then on `decide` rejects with `audit-unavailable`.
   */
  readonly onFailure: (error: Error) => void;
}

/** One client session, admitted. */
/**
 * Row limits of the session's budget, for the adapter to enforce while results stream: when the
 * rows of one command, or of the session so far, would go over a limit, stop forwarding rows, stop
 * the command on the target where the protocol can, and end the result with a native error that
 * says it was cut (never a normal completion the client would take for the whole result). Report
 * the rows actually sent in `recordResult`; the core refuses later commands once the session's
 * rows are used up.
 */
export interface SessionLimits {
  readonly rowsPerStatement?: number;
  readonly rowsPerSession?: number;
}

export interface Session {
  readonly id: string;
  readonly identity: Identity;
  readonly connection: string;
  readonly access: AccessLevel;
  /** Row limits to enforce on results (absent: none). Statement-rate and session-length limits are enforced by `decide`. */
  readonly limits?: SessionLimits;
  /** Rows sent to the client so far in this session (what `recordResult` reported). */
  readonly rowsSent: number;
  /**
   * Decide on a command. Resolves once the decision is made and its audit record is queued.
   * Rejects with a `WardenError` when Warden cannot decide or cannot audit: refuse the command.
   */
  decide(command: CommandInput): Promise<Ruling>;
  /**
   * Refuse a command the adapter cannot pass on for a protocol reason, before any policy: it names
   * a prepared statement, portal or cursor the client does not have, or is malformed in a way the
   * target would reject. Audited like a refused command (a `command` record, decision `block`,
   * rule `protocol`, `reason` — safe to show, never a value), in the order of the calls to `decide`
   * and `refuse`. Returns at once; as for `decide`, send nothing of it to the target before
   * `ruling.durable` resolves, and end the session when it rejects. Throws like `decide` rejects.
   *
   * @example
   * ```ts
   * const ruling = session.refuse({ text: 'Execute portal "p1"', classification, detail: { message: 'Execute' } }, 'portal "p1" does not exist');
   * await ruling.durable; // then answer the client with the protocol's own error
   * ```
   */
  refuse(command: CommandInput, reason: string): Ruling;
  /** Record what an allowed command produced. */
  recordResult(seq: number, summary: ResultSummary): void;
  /** Record a protocol-level event worth keeping that is not a command (e.g. a cancel request). */
  recordEvent(name: string, detail?: Readonly<Record<string, string | number | boolean>>): void;
  /**
   * Record this session as a database timeline (commands, decisions, the masked rows the client
   * received, row counts and timings) in `<dataDir>/recordings/<session id>.timeline.jsonl`. Call
   * it once, right after `admit`, before the first `decide`. Returns false when the gateway keeps
   * no recordings (it runs without a data directory): the session goes on unrecorded. From then
   * on every ruling of an allowed command carries a `recording`. `end` closes the file and writes
   * a `recording` audit record with its SHA-256, so `warden audit verify` detects an edited or
   * deleted recording. Throws `WardenError('audit-unavailable')` when the file cannot be created.
   */
  recordTimeline(options: TimelineOptions): boolean;
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
  /**
   * Open a session for an identity the adapter verified itself from a credential that Warden
   * issued (today: an SSH user certificate signed by Warden's CA, resolved through Warden's own
   * record of the certificate, which holds the identity snapshot with groups and expiry). Same
   * grant check, expiry check and audit records as `admit`. Never pass an identity built from
   * anything a client could forge.
   */
  admitIdentity(connection: string, identity: Identity, client: ClientInfo): Promise<Session>;
  /**
   * Audit an authentication the adapter refused itself, before any `admit`: a credential that names
   * no identity Warden trusts (an SSH certificate from another CA or with a serial Warden never
   * issued, a public key bound to no identity, a signature that does not verify). Writes an
   * `auth.failure` record (code `unauthenticated`) with `reason` — safe to show, never a secret —
   * and `subject` when the credential claims one (unverified, for the auditor). Resolves once the
   * record is written; rejects with `audit-unavailable` when it cannot be. `admit` and
   * `admitIdentity` audit their own refusals: do not call this for those.
   *
   * @example
   * ```ts
   * await context.gateway.recordRefusal(connection.name, client, 'certificate serial 42 was not issued by this Warden', keyId);
   * ```
   */
  recordRefusal(connection: string, client: ClientInfo, reason: string, subject?: string): Promise<void>;
}

/** Everything an adapter instance receives. */
export interface AdapterContext<Target = unknown> {
  readonly connection: ConnectionSpec<Target>;
  readonly gateway: GatewayServices;
  readonly log: Logger;
  readonly clock: Clock;
  /**
   * The gateway's data directory (absolute), for state an adapter must keep across restarts (an SSH
   * host key) and for session recordings (`<dataDir>/recordings/`). Absent when the host runs the
   * adapter without one: an adapter that needs it refuses to start, saying so.
   */
  readonly dataDir?: string;
  /**
   * Resource limits from the configuration's `limits:` section (absent: use `DEFAULT_LIMITS`).
   * The core enforces sessions per identity, pending approvals and failed-login throttling for
   * every adapter. The adapter enforces, where its protocol has the hook:
   * - `maxMessageBytes`: refuse a larger client message with a native protocol error and close;
   * - `loginTimeoutSeconds`: close a client that has not completed its login in time (slow-loris);
   * - `idleTimeoutSeconds` (0 = off): close a session without client traffic for that long,
   *   telling the client why, and `session.end('error', …)`;
   * - `maxConnectionsPerListener`: refuse a new client connection over the total at once, with
   *   a native "too many connections" error.
   * An admission refused by a limit throws `WardenError('limit')` from `admit`: send it natively.
   * - `drainTimeoutSeconds`: how long `stop()` lets commands in flight finish (see `Adapter.stop`).
   */
  readonly limits?: GatewayLimits;
}

/** A running adapter: one listener for one connection. */
export interface Adapter {
  /** Bind the listener and start accepting clients; resolves with the bound address (port 0 picks one). */
  start(): Promise<ListenAddress>;
  /**
   * Stop gracefully (the gateway received SIGTERM): refuse new clients from now on, with the
   * protocol's native "shutting down" error where it has one; let every command in flight finish
   * and its result reach the client; close each session once it is idle, telling the client why;
   * after `limits.drainTimeoutSeconds` end every session still open. Sessions end with `shutdown`.
   * Resolves once every session has ended and the port is released, so that the gateway can then
   * close the audit log.
   */
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
  /**
   * Ask the target who Warden's own account is there and whether it is a superuser (`warden doctor`,
   * and a warning at start for connections whose grants are all read-only). Optional: protocols
   * without such a notion leave it out. Rejects with `WardenError('target-unavailable')`.
   */
  inspectTarget?(target: Target): Promise<TargetAccount>;
}

/** Warden's account on a target, as the target describes it. */
export interface TargetAccount {
  /** The account name the target reports. */
  readonly user: string;
  /** Whether it may do anything on the target (Postgres superuser; MySQL `ALL PRIVILEGES`/`SUPER` on `*.*`). */
  readonly superuser: boolean;
  /** What showed it, for the operator (e.g. the grant line). */
  readonly evidence: string;
}
