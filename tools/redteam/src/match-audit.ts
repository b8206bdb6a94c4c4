/**
 * The proof issue 15 asks for: everything the target ran in a session has its audit record, in the
 * same order, with the same text; every refusal the target was sent stands for a refused record.
 *
 * The target's events must be a subsequence of the audited commands. Audited commands the target
 * never ran are allowed only where the protocol explains it (an Execute skipped by the target after
 * an earlier error in the same pipeline); the caller says which those are.
 */
import type { AuditedCommand } from './audit-trail';

/** `optional`: a statement that may be Warden's own (its session set-up): matched when it can be, else left out. */
export type ObservedEvent = { readonly kind: 'ran'; readonly text: string; readonly detail?: string; readonly optional?: boolean } | { readonly kind: 'refusal' };

export interface AuditMatch {
  /** Empty when the target's events fit the audited commands in order; else why not (the first miss). */
  readonly problems: string[];
  /** Audited commands with no target event, in the fit found (all of them skippable). */
  readonly unmatched: AuditedCommand[];
}

export interface MatchOptions {
  /**
   * Whether a statement the target logged is the audited command (by default the same text;
   * Postgres audits SQL EXECUTE/FETCH as what they run, MySQL logs an Execute with its parameters
   * inlined).
   */
  readonly sameStatement?: (event: Extract<ObservedEvent, { kind: 'ran' }>, command: AuditedCommand) => boolean;
  /** Which audited commands may have no target event (default: any). */
  readonly skippable?: (command: AuditedCommand) => boolean;
}

/**
 * Finds an order-preserving fit of the target's events to the audited commands in which every
 * audited command left without an event is skippable. A refusal marker does not say which refused
 * command it stands for, so a greedy walk could pair it with a skippable refusal and leave an
 * unskippable one over; this searches every fit (dynamic programming over both positions).
 */
export function matchAuditToTarget(audited: readonly AuditedCommand[], observed: readonly ObservedEvent[], options: MatchOptions = {}): AuditMatch {
  const same = options.sameStatement ?? ((event, command) => event.text === command.text);
  const skippable = options.skippable ?? (() => true);
  const fits = (event: ObservedEvent, command: AuditedCommand): boolean => (event.kind === 'ran' ? command.effect === 'allow' && same(event, command) : command.effect !== 'allow');
  const n = observed.length;
  const m = audited.length;
  // possible[i][j]: events i.. fit commands j..
  const possible: boolean[][] = Array.from({ length: n + 1 }, () => new Array<boolean>(m + 1).fill(false));
  const optional = (event: ObservedEvent): boolean => event.kind === 'ran' && event.optional === true;
  for (let j = m; j >= 0; j--) possible[n]![j] = j === m || (possible[n]![j + 1]! && skippable(audited[j]!));
  for (let i = n - 1; i >= 0; i--) {
    possible[i]![m] = optional(observed[i]!) && possible[i + 1]![m]!;
    for (let j = m - 1; j >= 0; j--) {
      possible[i]![j] =
        (fits(observed[i]!, audited[j]!) && possible[i + 1]![j + 1]!) || (skippable(audited[j]!) && possible[i]![j + 1]!) || (optional(observed[i]!) && possible[i + 1]![j]!);
    }
  }
  if (possible[0]![0]) {
    const unmatched: AuditedCommand[] = [];
    let i = 0;
    let j = 0;
    while (j < m) {
      if (i < n && fits(observed[i]!, audited[j]!) && possible[i + 1]![j + 1]) {
        i++;
        j++;
      } else if (skippable(audited[j]!) && possible[i]![j + 1]) {
        unmatched.push(audited[j]!);
        j++;
      } else {
        // Only an optional event can be left out here (the table says a fit exists).
        i++;
      }
    }
    return { problems: [], unmatched };
  }
  return { problems: [firstMiss(audited, observed, fits, skippable)], unmatched: [] };
}

/** For the report: walk greedily and name the first event, or audited command, that cannot be placed. */
function firstMiss(
  audited: readonly AuditedCommand[],
  observed: readonly ObservedEvent[],
  fits: (event: ObservedEvent, command: AuditedCommand) => boolean,
  skippable: (command: AuditedCommand) => boolean,
): string {
  let next = 0;
  for (const [index, event] of observed.entries()) {
    let at = next;
    while (at < audited.length && !fits(event, audited[at]!)) at++;
    if (at === audited.length && event.kind === 'ran' && event.optional) continue;
    if (at === audited.length) {
      const what = event.kind === 'ran' ? `ran ${JSON.stringify(event.text)}` : 'was sent a refusal marker';
      return `target event #${index + 1}: the target ${what}, and no audit record after #${next} matches it`;
    }
    next = at + 1;
  }
  const left = audited.find((command) => !skippable(command));
  const detail = left?.detail?.['message'] ?? left?.detail?.['command'];
  return left
    ? `audited ${left.effect} ${JSON.stringify(left.text)}${detail === undefined ? '' : ` (${String(detail)})`} has no place among the target's events (it never reached the target, or reached it out of order)`
    : 'the target\'s events do not fit the audited commands in order';
}
