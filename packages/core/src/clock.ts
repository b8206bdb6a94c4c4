/** Time is injected so that token expiry, approvals and timeouts are testable. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
