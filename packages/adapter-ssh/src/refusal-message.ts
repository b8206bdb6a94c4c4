import type { Decision } from '@warden/core';

/**
 * Exit status of a command Warden refused. 126 is the shell's "found but cannot be executed";
 * OpenSSH's own 255 is left to connection errors.
 */
export const REFUSED_EXIT_STATUS = 126;

/** The line (for stderr, without its newline) that tells the client why Warden refused a command. */
export function refusalMessage(decision: Exclude<Decision, { effect: 'allow' }>): string {
  if (decision.effect === 'review') {
    return `Warden: ${decision.reason} (rule "${decision.rule}"); approval request ${decision.requestId} is pending, retry once it is approved`;
  }
  return `Warden: ${decision.reason} (rule "${decision.rule}")`;
}

/** The line for an error Warden cannot decide past (audit unavailable, internal error). */
export function failureMessage(message: string): string {
  return `Warden: ${message}`;
}
