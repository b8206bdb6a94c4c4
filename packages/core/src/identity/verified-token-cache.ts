/**
 * Verified tokens, remembered for a short while: clients reconnect with the same token, and a
 * cache hit costs one SHA-256 instead of a signature verification. Keyed by the token's hash, so
 * the cache never holds a usable credential.
 */
import { createHash } from 'node:crypto';
import type { Clock } from '../clock';
import type { Identity } from '../events';

export interface VerifiedTokenCacheOptions {
  /** Default 10,000; the oldest entry is evicted first. */
  readonly maxEntries?: number;
  /** Default 300 (5 min); an entry never outlives its token's `exp`. */
  readonly maxAgeSeconds?: number;
}

interface Entry {
  readonly identity: Identity;
  readonly until: number;
}

export class VerifiedTokenCache {
  readonly #entries = new Map<string, Entry>();
  readonly #clock: Clock;
  readonly #maxEntries: number;
  readonly #maxAgeMs: number;

  constructor(clock: Clock, options: VerifiedTokenCacheOptions = {}) {
    this.#clock = clock;
    this.#maxEntries = Math.max(1, options.maxEntries ?? 10_000);
    this.#maxAgeMs = Math.max(0, options.maxAgeSeconds ?? 300) * 1000;
  }

  static keyOf(token: string): string {
    return createHash('sha256').update(token).digest('base64url');
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: string): Identity | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (this.#clock.now().getTime() >= entry.until) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.identity;
  }

  set(key: string, identity: Identity): void {
    const until = Math.min(identity.expiresAt.getTime(), this.#clock.now().getTime() + this.#maxAgeMs);
    if (this.#maxAgeMs === 0 || until <= this.#clock.now().getTime()) return;
    this.#entries.delete(key);
    while (this.#entries.size >= this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done) break;
      this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, { identity, until });
  }

  clear(): void {
    this.#entries.clear();
  }
}
