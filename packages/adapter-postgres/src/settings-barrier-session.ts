import { WardenError, type CommandInput, type ResultSummary, type Ruling, type SessionEndReason } from '@warden/core';
import { SessionDelegate } from './session-delegate';

/**
 * Below `full` access, a simple Query is decided only once the one before it has completed. The
 * target reports a changed standard_conforming_strings or client_encoding (ParameterStatus) before
 * the ReadyForQuery that completes the statement which changed it, and the relay ends the session
 * on such a report (lexer-settings.ts); a client that pipelines its next Query would otherwise have
 * it decided, and run, under a setting Warden cannot read it in (a set_config hidden in a function
 * or a view). Clients that wait for each answer (psql, node-postgres) see no difference.
 *
 * Only a simple Query or a FunctionCall waits, never an Execute: the relay sends what is queued
 * before a message that ends its own batch, but keeps an extended-protocol batch (Parse, Bind,
 * Execute, …) together until its Execute is decided, so an Execute waiting for an earlier answer
 * would wait forever; and within a batch the target reports a change only at Sync.
 */
export class SettingsBarrierSession extends SessionDelegate {
  /** The completion of the last allowed simple Query, until it has a result. */
  private previous: { readonly seq: number; readonly done: Promise<void>; readonly release: () => void } | undefined;
  private ended = false;

  override decide(command: CommandInput): Promise<Ruling> {
    const message = command.detail?.['message'];
    const previous = message === 'Query' || message === 'FunctionCall' ? this.previous : undefined;
    const ruled = previous === undefined ? super.decide(command) : previous.done.then(() => this.afterPrevious(command));
    return message === 'Query' ? ruled.then((ruling) => this.hold(ruling)) : ruled;
  }

  private afterPrevious(command: CommandInput): Promise<Ruling> {
    // The session ended while this command waited (the target reported a setting Warden refuses).
    if (this.ended) return Promise.reject(new WardenError('forbidden', 'the session ended before the command was decided'));
    return super.decide(command);
  }

  private hold(ruling: Ruling): Ruling {
    if (ruling.decision.effect === 'allow') {
      let release = (): void => undefined;
      const done = new Promise<void>((resolve) => (release = resolve));
      this.previous = { seq: ruling.command.seq, done, release };
    }
    return ruling;
  }

  override recordResult(seq: number, summary: ResultSummary): void {
    super.recordResult(seq, summary);
    const previous = this.previous;
    if (previous?.seq === seq) {
      this.previous = undefined;
      previous.release();
    }
  }

  override end(reason: SessionEndReason, error?: string): Promise<void> {
    this.ended = true;
    this.previous?.release();
    return super.end(reason, error);
  }
}
