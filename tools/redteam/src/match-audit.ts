/**
 * The proof issue 15 asks for: everything the target ran in a session has its audit record, in the
 * same order, with the same text; every refusal the target was sent stands for a refused record.
 *
 * The target's events must be a subsequence of the audited commands. Audited commands the target
 * never ran are allowed only where the protocol explains it (an Execute skipped by the target after
 * an earlier error in the same pipeline); the caller says which those are.
 */
import type { AuditedCommand } from './audit-trail';

export type ObservedEvent = { readonly kind: 'ran'; readonly text: string } | { readonly kind: 'refusal' };

export interface AuditMatch {
  /** Empty when every target event found its audit record in order. */
  readonly problems: string[];
  /** Audited commands with no target event (skipped between matches). */
  readonly unmatched: AuditedCommand[];
}

/**
 * @param sameText how a target's logged text compares to an audited text (MySQL logs an Execute
 * with its parameters inlined).
 */
export function matchAuditToTarget(
  audited: readonly AuditedCommand[],
  observed: readonly ObservedEvent[],
  sameText: (targetText: string, auditText: string) => boolean = (a, b) => a === b,
): AuditMatch {
  const problems: string[] = [];
  const unmatched: AuditedCommand[] = [];
  let next = 0;
  for (const [index, event] of observed.entries()) {
    const fits = (command: AuditedCommand): boolean => (event.kind === 'ran' ? command.effect === 'allow' && sameText(event.text, command.text) : command.effect !== 'allow');
    let at = next;
    while (at < audited.length && !fits(audited[at]!)) at++;
    if (at === audited.length) {
      const what = event.kind === 'ran' ? `ran ${JSON.stringify(event.text)}` : 'was sent a refusal marker';
      problems.push(`target event #${index + 1}: the target ${what}, and no audit record after #${next} matches it`);
      continue;
    }
    unmatched.push(...audited.slice(next, at));
    next = at + 1;
  }
  unmatched.push(...audited.slice(next));
  return { problems, unmatched };
}
