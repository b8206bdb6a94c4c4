import type { Clock } from './clock';
import type { AuthFailureLimits } from './limits';

/**
 * Throttles failed logins, per source address and per claimed identity, without letting an
 * attacker lock a real user out cheaply.
 *
 * Design:
 * - **Per source address, a token bucket of failures.** Each failed login from an address takes a
 *   token; the bucket holds `perAddressBurst` and refills `perAddressPerMinute` per minute. An
 *   address with an empty bucket is refused at once, before its token is even verified (which
 *   also spares the JWKS lookups an unknown key id would cause). Successful logins cost nothing,
 *   so a busy but honest address (a NAT, a CI runner) is never slowed by its own traffic.
 * - **Per claimed identity, a growing delay, never a lock-out.** Failures are counted per claimed
 *   subject (read unverified from the token, or the protocol's user name), but only failures from
 *   addresses that had already failed before: a typo from a clean address is not an attack. Past
 *   `perIdentityFreeFailures`, logins for that identity from addresses with a failure history wait
 *   100 ms × 2^(excess), up to `perIdentityMaxDelaySeconds`. A login from an address with no
 *   failure history is never delayed, so an attacker spraying bad tokens "as alice" from many
 *   addresses slows themselves down, not alice at her own machine. Counts decay: each identity's
 *   count halves every minute without a new failure.
 *
 * OIDC tokens are signed: guessing one is hopeless, so the point is not to stop guessing but to
 * keep failed logins from costing Warden (verification, audit records, log lines) unboundedly and
 * to make spraying visible. Every refusal is audited (`auth.failure`, code `rate-limited`).
 *
 * State is bounded: at most `MAX_ENTRIES` addresses and identities are tracked; the least
 * recently failed are forgotten first.
 */
export class AuthThrottle {
  private readonly addresses = new Map<string, { tokens: number; at: number }>();
  private readonly identities = new Map<string, { failures: number; at: number }>();

  constructor(
    private readonly limits: AuthFailureLimits,
    private readonly clock: Clock,
  ) {}

  /**
   * Before verifying a login from `address`: `refuse` with the seconds until the address may try
   * again, or `delayMs` to wait first (0: none).
   */
  check(address: string, claimedIdentity: string | undefined): { readonly refuseForSeconds?: number; readonly delayMs: number } {
    const host = hostOf(address);
    const bucket = this.bucket(host);
    if (bucket && bucket.tokens < 1) {
      const perMs = this.limits.perAddressPerMinute / 60_000;
      return { refuseForSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000)), delayMs: 0 };
    }
    if (!bucket || claimedIdentity === undefined) return { delayMs: 0 };
    const identity = this.identity(claimedIdentity);
    const excess = (identity?.failures ?? 0) - this.limits.perIdentityFreeFailures;
    if (excess < 0) return { delayMs: 0 };
    return { delayMs: Math.min(100 * 2 ** Math.min(excess, 20), this.limits.perIdentityMaxDelaySeconds * 1000) };
  }

  /** A login from `address` failed. */
  failed(address: string, claimedIdentity: string | undefined): void {
    const host = hostOf(address);
    const now = this.clock.now().getTime();
    const bucket = this.bucket(host);
    const hadFailed = bucket !== undefined;
    this.addresses.delete(host);
    this.addresses.set(host, { tokens: (bucket?.tokens ?? this.limits.perAddressBurst) - 1, at: now });
    prune(this.addresses);
    if (claimedIdentity === undefined || !hadFailed) return;
    const identity = this.identity(claimedIdentity);
    this.identities.delete(claimedIdentity);
    this.identities.set(claimedIdentity, { failures: (identity?.failures ?? 0) + 1, at: now });
    prune(this.identities);
  }

  /** The address's bucket refilled to now, or undefined when it has no failure history left. */
  private bucket(host: string): { tokens: number; at: number } | undefined {
    const entry = this.addresses.get(host);
    if (!entry) return undefined;
    const now = this.clock.now().getTime();
    const tokens = Math.min(this.limits.perAddressBurst, entry.tokens + ((now - entry.at) * this.limits.perAddressPerMinute) / 60_000);
    // Refilled completely and quiet for a while: forget it (the address is clean again).
    if (tokens >= this.limits.perAddressBurst && now - entry.at > 10 * 60_000) {
      this.addresses.delete(host);
      return undefined;
    }
    entry.tokens = tokens;
    entry.at = now;
    return entry;
  }

  private identity(name: string): { failures: number; at: number } | undefined {
    const entry = this.identities.get(name);
    if (!entry) return undefined;
    const now = this.clock.now().getTime();
    const halvings = Math.floor((now - entry.at) / 60_000);
    if (halvings > 0) {
      entry.failures = Math.floor(entry.failures / 2 ** Math.min(halvings, 30));
      entry.at += halvings * 60_000;
    }
    return entry;
  }
}

const MAX_ENTRIES = 100_000;

function prune(map: Map<string, unknown>): void {
  // Maps iterate in insertion order and entries are re-inserted on each failure: oldest first.
  for (const key of map.keys()) {
    if (map.size <= MAX_ENTRIES) break;
    map.delete(key);
  }
}

/** `ip:port` → `ip` (IPv6 addresses keep their colons). */
export function hostOf(address: string): string {
  const colon = address.lastIndexOf(':');
  return colon <= 0 ? address : address.slice(0, colon);
}
