import type { AccessLevel } from '../adapter';
import type { Action, IdentityKind, Protocol } from '../events';

/** Who may use a connection, and how much. An identity with no matching grant is refused at login. */
export interface GrantConfig {
  readonly connection: string;
  /** Any of these groups… */
  readonly groups?: readonly string[];
  /** …or any of these subjects. */
  readonly identities?: readonly string[];
  /**
   * `read-only`: reads, transaction control and harmless session settings.
   * `read-write`: also writes (INSERT/UPDATE/DELETE/COPY FROM). `full`: also DDL and admin
   * statements. Rules still apply on top of every level.
   */
  readonly access: AccessLevel;
}

export type RuleEffect = 'allow' | 'block' | 'review';

/** Every present field must match (AND); a list matches when any item does (OR). */
export interface RuleMatch {
  readonly connection?: string | readonly string[];
  readonly protocol?: Protocol | readonly Protocol[];
  readonly action?: Action | readonly Action[];
  /** Glob patterns (`*` within a name part, e.g. `public.pat*`); an unqualified pattern also matches qualified names. */
  readonly objects?: readonly string[];
  readonly groups?: readonly string[];
  readonly identities?: readonly string[];
  readonly kind?: IdentityKind;
  readonly bulk?: boolean;
  /** A regular expression on the statement text, as a last resort (case-insensitive). */
  readonly text?: string;
}

export interface RuleConfig {
  readonly name: string;
  readonly match: RuleMatch;
  readonly effect: RuleEffect;
  /** Shown to the client when the rule blocks; defaults to a sentence naming the rule. */
  readonly reason?: string;
  /** For `review`: the groups whose members may approve. */
  readonly approvers?: readonly string[];
}

export interface PolicyConfig {
  readonly grants: readonly GrantConfig[];
  readonly rules: readonly RuleConfig[];
}
