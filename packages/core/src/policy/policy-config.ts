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
  /** Optional limits on what a session under this grant may do (agent identities only, unless `appliesTo: everyone`). */
  readonly budget?: BudgetConfig;
}

/**
 * Limits per session. A command over a limit is refused with a clear error and an audit record;
 * a result that would go over a row limit is cut off with an error (never silently truncated).
 */
export interface BudgetConfig {
  /** `agents` (default): only identities of kind `agent`; `everyone`: every identity under the grant. */
  readonly appliesTo?: 'agents' | 'everyone';
  readonly statementsPerMinute?: number;
  readonly rowsPerStatement?: number;
  readonly rowsPerSession?: number;
  /** How long a session may run commands, from its start. */
  readonly sessionSeconds?: number;
}

export type RuleEffect = 'allow' | 'block' | 'review';

/**
 * `enforce` (the default): the rule decides. `audit-only`: rollout mode — the rule is evaluated and
 * what it would have decided is recorded with the decision (`wouldHave`), but the command is decided
 * as if the rule did not exist.
 */
export type RuleMode = 'enforce' | 'audit-only';

/** Every present field must match (AND); a list matches when any item does (OR). */
export interface RuleMatch {
  readonly connection?: string | readonly string[];
  readonly protocol?: Protocol | readonly Protocol[];
  readonly action?: Action | readonly Action[];
  /** Glob patterns (`*` within a name part, e.g. `public.pat*`); an unqualified pattern also matches qualified names. */
  readonly objects?: readonly string[];
  /**
   * Column globs (`patients.ssn`, `*.mrn`, `ssn`); a statement matches when it touches a matching
   * column. `SELECT *` touches every column of its tables. Only where the classifier knows columns
   * (SQL); a command without column information never matches.
   */
  readonly columns?: readonly string[];
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
  /** `enforce` when absent. */
  readonly mode?: RuleMode;
}

/** What happens on one connection to a statement within the grant that no rule matches. */
export interface ConnectionDefault {
  readonly effect: RuleEffect;
  /** For `review`: the groups whose members may approve. */
  readonly approvers?: readonly string[];
}

export interface PolicyConfig {
  readonly grants: readonly GrantConfig[];
  /** Evaluated in order; the first matching (enforced) rule decides. */
  readonly rules: readonly RuleConfig[];
  /** By connection name; a connection not listed allows what no rule matches. */
  readonly connectionDefaults?: Readonly<Record<string, ConnectionDefault>>;
}
