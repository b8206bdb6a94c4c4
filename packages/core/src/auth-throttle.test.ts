import { AuthThrottle, hostOf } from './auth-throttle';
import { DEFAULT_LIMITS } from './limits';

function clockAt(start = Date.parse('2026-01-01T00:00:00Z')): { now(): Date; advance(ms: number): void } {
  let now = start;
  return { now: () => new Date(now), advance: (ms) => void (now += ms) };
}

const limits = { perAddressBurst: 3, perAddressPerMinute: 6, perIdentityFreeFailures: 2, perIdentityMaxDelaySeconds: 5 };

describe('AuthThrottle', () => {
  it('refuses an address once its burst of failures is spent, and lets it back as the bucket refills', () => {
    const clock = clockAt();
    const throttle = new AuthThrottle(limits, clock);
    for (let i = 0; i < 3; i++) {
      expect(throttle.check('10.0.0.1:5000', 'mallory').refuseForSeconds).toBeUndefined();
      throttle.failed(`10.0.0.1:${5000 + i}`, 'mallory');
    }
    // The port changes with every connection; the address is what counts.
    expect(throttle.check('10.0.0.1:6000', 'mallory').refuseForSeconds).toBe(10);
    // Another address is not affected.
    expect(throttle.check('10.0.0.2:5000', 'mallory')).toEqual({ delayMs: 0 });
    clock.advance(10_000);
    expect(throttle.check('10.0.0.1:6001', 'mallory').refuseForSeconds).toBeUndefined();
  });

  it('never delays a user at a clean address, however many failures others caused in their name', () => {
    const clock = clockAt();
    const throttle = new AuthThrottle(limits, clock);
    // An attacker sprays bad tokens claiming "alice" from many addresses, two each.
    for (let host = 1; host <= 50; host++) {
      throttle.failed(`198.51.100.${host}:1`, 'alice');
      throttle.failed(`198.51.100.${host}:2`, 'alice');
    }
    expect(throttle.check('203.0.113.7:4000', 'alice')).toEqual({ delayMs: 0 });
    // The attacker's addresses, with their failure history, wait (capped).
    expect(throttle.check('198.51.100.9:3', 'alice').delayMs).toBe(5000);
    // A typo from a clean address is not counted against the identity at all.
    const fresh = new AuthThrottle(limits, clock);
    fresh.failed('203.0.113.8:1', 'bob');
    expect(fresh.check('203.0.113.8:2', 'bob')).toEqual({ delayMs: 0 });
  });

  it('grows the delay exponentially past the free failures, and forgets over time', () => {
    const clock = clockAt();
    const throttle = new AuthThrottle({ ...limits, perAddressBurst: 100 }, clock);
    throttle.failed('192.0.2.1:1', 'carol'); // first failure: the address now has a history
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      throttle.failed('192.0.2.1:1', 'carol');
      delays.push(throttle.check('192.0.2.1:2', 'carol').delayMs);
    }
    expect(delays).toEqual([0, 100, 200, 400, 800, 1600]);
    clock.advance(5 * 60_000);
    expect(throttle.check('192.0.2.1:2', 'carol').delayMs).toBe(0);
  });

  it('reads the host from ip:port for IPv4 and IPv6', () => {
    expect(hostOf('127.0.0.1:5432')).toBe('127.0.0.1');
    expect(hostOf('::1:5432')).toBe('::1');
    expect(hostOf('::ffff:10.0.0.1:80')).toBe('::ffff:10.0.0.1');
    expect(DEFAULT_LIMITS.authFailures.perAddressBurst).toBe(10);
  });
});
