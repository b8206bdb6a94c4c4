/**
 * The proof issue 15 asks for: everything the target ran in a session has its audit record, in the
 * same order, with the same text; every refusal the target was sent stands for a refused record.
 *
 * The target's events must be a subsequence of the audited commands. Audited commands the target
 * never ran are allowed only where the protocol explains it (an Execute skipped by the target after
 * an earlier error in the same pipeline); the caller says which those are.
 */
import type { AuditedCommand } from './audit-trail';

export type ObservedEvent = { readonly kind: 'ran'; readonly text: string; readonly detail?: string } | { readonly kind: 'refusal' };

export interface AuditMatch {
  /** Empty when every target event found its audit record in order; else the first event that did not. */
  readonly problems: string[];
  /** Audited commands with no target event (skipped between matches). */
  readonly unmatched: AuditedCommand[];
}

/**
 * @param sameStatement whether a statement the target logged is the audited command (by default the
 * same text; Postgres audits SQL EXECUTE/FETCH as what they run, MySQL logs an Execute with its
 * parameters inlined).
 */
export function matchAuditToTarget(
  audited: readonly AuditedCommand[],
  observed: readonly ObservedEvent[],
  sameStatement: (event: Extract<ObservedEvent, { kind: 'ran' }>, command: AuditedCommand) => boolean = (event, command) => event.text === command.text,
): AuditMatch {
  const problems: string[] = [];
  const unmatched: AuditedCommand[] = [];
  let next = 0;
  for (const [index, event] of observed.entries()) {
    const fits = (command: AuditedCommand): boolean => (event.kind === 'ran' ? command.effect === 'allow' && sameStatement(event, command) : command.effect !== 'allow');
    let at = next;
    while (at < audited.length && !fits(audited[at]!)) at++;
    if (at === audited.length) {
      const what = event.kind === 'ran' ? `ran ${JSON.stringify(event.text)}` : 'was sent a refusal marker';
      problems.push(`target event #${index + 1}: the target ${what}, and no audit record after #${next} matches it`);
      // Later events would be judged against a position this miss has made meaningless.
      break;
    }
    unmatched.push(...audited.slice(next, at));
    next = at + 1;
  }
  unmatched.push(...audited.slice(next));
  return { problems, unmatched };
}
