/**
 * The shape of an attack in the corpus: data, not code, so that adding one is adding an entry.
 * Each attack runs in a session of its own through Warden, with the grant it names; its payload is
 * answered as `expect` says, and afterwards the target shows no effect (canary state unchanged,
 * no file written, no large object, no sequence step) and its log matches the audit log.
 */
import type { Grant } from './grant';

/** The issue-15 classes; an attack names the one whose design closes it. */
export type AttackClass =
  | 'statement-splitting'
  | 'multi-statement'
  | 'data-modifying-cte'
  | 'copy-program'
  | 'read-only-off'
  | 'role-change'
  | 'procedural-code'
  | 'function-writes'
  | 'explain-analyze'
  | 'sql-prepare-execute'
  | 'cursors'
  | 'protocol-names'
  | 'lexer-settings'
  | 'target-settings'
  | 'outfile-and-load-data'
  | 'transaction-read-write'
  | 'charset-and-sql-mode'
  | 'versioned-comments'
  | 'handler-and-locks'
  | 'legit-use';

/** Which fix an attack waits for, when it does not pass yet (it is skipped until then). */
/** `unassigned`: found by this suite, and no fix under way yet. */
export type PendingFix = 'protocol-state' | 'lexer-settings' | 'function-allowlist' | 'mysql' | 'identity' | 'unassigned';

/**
 * - `refused`: by the payload step, some step was answered with this SQLSTATE (Postgres) or error
 *   number (MySQL), or one of these, and the payload step did not succeed; a refusal from Warden
 *   (`42501`, MySQL `1142`/`1227`) must carry Warden's own message.
 * - `contained`: some step was refused by Warden with this code, whichever (refusing a setting, or
 *   the statement the setting would hide, both close the attack); the target shows no effect.
 * - `allowed`: every step succeeds (legitimate use that must keep working).
 */
export type Expectation = { readonly refused: string | readonly string[] } | { readonly contained: string } | { readonly allowed: true };

/** `{{file}}` in a step's text is replaced with a fresh path that must not exist afterwards. */
export const FILE_PLACEHOLDER = '{{file}}';

export interface Attack<Step> {
  /** kebab-case, named after the bypass it tries. */
  readonly id: string;
  readonly class: AttackClass;
  readonly grant: Grant;
  readonly steps: readonly Step[];
  /** The step whose answer `expect` is about; default the last. */
  readonly payload?: number;
  readonly expect: Expectation;
  /** The attack is legitimate and changes data on purpose: skip the canary check. */
  readonly changesData?: boolean;
  /** Set while the fix it needs has not landed: the attack is listed, and skipped. */
  readonly pending?: PendingFix;
  /**
   * Set while the attack's own expectation holds but its session's audit log does not yet match
   * what the target logged (the fix named): the audit check of this attack is skipped until then.
   */
  readonly auditPending?: PendingFix;
  /** Why, in a sentence, when it is not obvious from the id. */
  readonly note?: string;
}
