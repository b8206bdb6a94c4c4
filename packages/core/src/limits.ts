/**
 * Resource limits: what one client, one identity or one listener may hold, so that hostile or
 * broken clients cannot exhaust the gateway. Every limit has a default; the YAML's `limits:`
 * section overrides them (see README, "Limits"). A limit that is hit is refused with the
 * protocol's native error, saying which limit and what to do.
 */
export interface GatewayLimits {
  /** Largest single client message (a Postgres message, a MySQL command), header included. Default 64 MiB. */
  readonly maxMessageBytes: number;
  /** Time from connect to a completed login; slower clients are cut off (slow-loris). Default 30 s. */
  readonly loginTimeoutSeconds: number;
  /** A session with no client traffic for this long is closed; 0 = never. Default 3600 s. */
  readonly idleTimeoutSeconds: number;
  /** Open sessions one identity (issuer + subject) may hold at once, across all connections. Default 100. */
  readonly maxSessionsPerIdentity: number;
  /** Open sessions in the whole gateway, all identities and connections together. Default 10,000. */
  readonly maxSessionsTotal: number;
  /** Client connections one listener holds at once, logins in progress included. Default 1000. */
  readonly maxConnectionsPerListener: number;
  /** Approval requests one identity may have pending at once. Default 10. */
  readonly maxPendingApprovalsPerIdentity: number;
  /** Throttling of failed logins (see `AuthThrottle`). */
  readonly authFailures: AuthFailureLimits;
  /**
   * How long a stopping gateway (SIGTERM) lets commands in flight finish before it ends every
   * session still open. New connections are refused from the start of the drain. Default 10 s.
   */
  readonly drainTimeoutSeconds: number;
}

export interface AuthFailureLimits {
  /** Failed logins an address may make in a burst before it is refused. Default 10. */
  readonly perAddressBurst: number;
  /** How many of those an address gets back per minute. Default 10. */
  readonly perAddressPerMinute: number;
  /** Failures for one claimed identity (from addresses that failed before) before delays start. Default 5. */
  readonly perIdentityFreeFailures: number;
  /** The longest delay added to a login for a claimed identity under attack. Default 5 s. */
  readonly perIdentityMaxDelaySeconds: number;
}

export const DEFAULT_LIMITS: GatewayLimits = {
  maxMessageBytes: 64 * 1024 * 1024,
  loginTimeoutSeconds: 30,
  idleTimeoutSeconds: 3600,
  maxSessionsPerIdentity: 100,
  maxSessionsTotal: 10_000,
  maxConnectionsPerListener: 1000,
  maxPendingApprovalsPerIdentity: 10,
  authFailures: { perAddressBurst: 10, perAddressPerMinute: 10, perIdentityFreeFailures: 5, perIdentityMaxDelaySeconds: 5 },
  drainTimeoutSeconds: 10,
};
