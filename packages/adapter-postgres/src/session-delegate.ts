import type { CommandInput, ResultSummary, Ruling, Session, SessionEndReason, TimelineOptions } from '@warden/core';

/**
 * A session that passes everything to another: the base of the adapter's wrappers around the core
 * session (they override what they add to), so that each wrapper states only its own idea.
 */
export class SessionDelegate implements Session {
  constructor(protected readonly inner: Session) {}

  get id(): string {
    return this.inner.id;
  }
  get identity(): Session['identity'] {
    return this.inner.identity;
  }
  get connection(): string {
    return this.inner.connection;
  }
  get access(): Session['access'] {
    return this.inner.access;
  }
  get limits(): Session['limits'] {
    return this.inner.limits;
  }
  get rowsSent(): number {
    return this.inner.rowsSent;
  }

  decide(command: CommandInput): Promise<Ruling> {
    return this.inner.decide(command);
  }

  refuse(command: CommandInput, reason: string): Ruling {
    return this.inner.refuse(command, reason);
  }

  recordResult(seq: number, summary: ResultSummary): void {
    this.inner.recordResult(seq, summary);
  }

  recordEvent(name: string, detail?: Readonly<Record<string, string | number | boolean>>): void {
    this.inner.recordEvent(name, detail);
  }

  recordTimeline(options: TimelineOptions): boolean {
    return this.inner.recordTimeline(options);
  }

  end(reason: SessionEndReason, error?: string): Promise<void> {
    return this.inner.end(reason, error);
  }
}
