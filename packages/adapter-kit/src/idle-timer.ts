/**
 * A session's idle limit (`limits.idleTimeoutSeconds`): `touch()` on traffic, and `onIdle` runs
 * once when there was none for the timeout while the session was not `busy()` (a command running
 * or held for a decision is not idleness: the timer then waits another full timeout).
 *
 * `touch()` only stamps the time — it is called for every chunk, so it must cost next to nothing;
 * the one timer looks at the stamp when it fires. A timeout of 0 or less disables it.
 */
export class IdleTimer {
  private timer: NodeJS.Timeout | undefined;
  private last = performance.now();
  private stopped = false;

  constructor(
    private readonly timeoutMs: number,
    private readonly busy: () => boolean,
    private readonly onIdle: (seconds: number) => void,
  ) {
    this.schedule(timeoutMs);
  }

  touch(): void {
    this.last = performance.now();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(delayMs: number): void {
    if (this.timeoutMs <= 0 || this.stopped) return;
    this.timer = setTimeout(() => {
      if (this.stopped) return;
      if (this.busy()) return this.schedule(this.timeoutMs);
      const quietMs = performance.now() - this.last;
      if (quietMs < this.timeoutMs) return this.schedule(this.timeoutMs - quietMs);
      this.stopped = true;
      this.onIdle(this.timeoutMs / 1000);
    }, delayMs);
    this.timer.unref();
  }
}
