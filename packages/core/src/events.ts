/**
 * The normalized event model. Every adapter reduces its protocol to these few shapes; the core
 * (policy, approvals, masking, audit) never sees protocol bytes.
 */

/** Protocols with an adapter in this repository; adapters for other protocols use their own name. */
export type Protocol = 'postgres' | 'mysql' | 'ssh' | 'kubernetes' | (string & {});

/** `agent` identities are service identities (client-credentials tokens); everything else is `human`. */
export type IdentityKind = 'human' | 'agent';

/** One link of an RFC 8693 delegation chain (`act` claim): who acts on behalf of the subject. */
export interface Actor {
  readonly subject: string;
  readonly issuer?: string;
}

/** A verified caller. Built only by the core's identity verifier, never by an adapter. */
export interface Identity {
  readonly subject: string;
  readonly issuer: string;
  readonly groups: readonly string[];
  readonly kind: IdentityKind;
  /** Display name or e-mail when the token carries one; informational only. */
  readonly name?: string;
  /** The delegation chain, outermost actor first, when the token carries an `act` claim. */
  readonly actors?: readonly Actor[];
  /** When the token stops being valid. */
  readonly expiresAt: Date;
}

/**
 * What a command does. SQL statements map to read/write/ddl/admin/transaction/session; shells and
 * Kubernetes exec map to `exec`; opening a session is `connect`. What cannot be classified is
 * `unknown`, and policy treats it fail-closed.
 */
export type Action = 'read' | 'write' | 'ddl' | 'admin' | 'exec' | 'connect' | 'transaction' | 'session' | 'unknown';

/** The analysis of one statement (one SQL statement, one command line, one API call). */
export interface StatementClass {
  readonly action: Action;
  /** Objects touched: `schema.table` for SQL (unqualified names stay unqualified), resources elsewhere. */
  readonly objects: readonly string[];
  /** A write without a row filter, or a bulk load (UPDATE/DELETE without WHERE, INSERT … SELECT, COPY FROM). */
  readonly bulk: boolean;
  /**
   * Columns touched: `table.column` (`schema.table.column` when qualified), `table.*` for a star.
   * Absent when the classifier cannot tell (then `block`/`review` column rules match any statement
   * on a table they name: fail closed); present, maybe empty, when it can.
   */
  readonly columns?: readonly string[];
  /** Why the statement got its action when that is not obvious (e.g. `calls pg_read_file`, `parse error`). */
  readonly note?: string;
  /**
   * The statement can turn off the read-only mode a read-only grant opens the target session in
   * (`SET default_transaction_read_only = off`, `BEGIN READ WRITE`, `set_config(…)`, `RESET ALL`).
   * Its action stays what it is (session, transaction, read), so read-write and full grants allow
   * it; a read-only grant refuses it, because after it a misjudged write could succeed.
   */
  readonly disablesReadOnly?: true;
  /**
   * The statement changes how the server reads statement text (`standard_conforming_strings` off,
   * a `client_encoding` other than UTF8, `backslash_quote`): Warden's parser would then no longer
   * see the statements the server runs. Grants below `full` refuse it.
   */
  readonly changesLexing?: true;
  /**
   * The statement copies data it reads from tables into session state the client can read back
   * later without a result column Warden can trace (a MySQL user variable: `SELECT ssn INTO @v`,
   * `SET @v = (SELECT …)`, `@v := col`; a session system variable: `SET @@name = (SELECT …)`; the
   * last insert id: `LAST_INSERT_ID(col)`).
   * Refused where masking applies to the identity.
   */
  readonly copiesToSession?: true;
  /**
   * The statement writes values it computes from columns it reads into a table (INSERT … SELECT,
   * CREATE TABLE AS, SELECT INTO, UPDATE … SET col = <expression over columns>, MERGE): a masked
   * column copied that way would be read back from a table its rules do not cover. Refused where
   * column masking applies to a column the statement touches.
   */
  readonly copiesRows?: true;
  /**
   * SQL: the functions the statement calls by name, as written (`lower`, `pg_catalog.lower`,
   * `"Odd.Name"`), when it calls any. An adapter that knows the target's catalog judges them (a
   * read that calls a volatile function is not a read).
   */
  readonly functions?: readonly string[];
  /** SQL: the operators the statement uses by name (`+`, `pg_catalog.~`), when it uses any. */
  readonly operators?: readonly string[];
  /**
   * SQL: names the statement selects from a row (`p.x`, `(row).x`), when it has any. Each is a
   * column, or, when the row has no such column, a call `x(row)`: an adapter looks them up as
   * functions too.
   */
  readonly rowFields?: readonly string[];
  /**
   * SQL: the run-time settings the statement changes by name, lower case (`SET`, `SET LOCAL`,
   * `RESET`, `set_config` with a constant name), when it changes any. An adapter that knows the
   * target's settings judges them by who may change them: Warden's own account may be a
   * superuser, so a setting only a superuser may change would otherwise be open to any grant.
   */
  readonly settings?: readonly string[];
}

/** The analysis of a whole command, which may hold several statements. */
export interface Classification {
  /** The strongest action among the statements (see `ACTION_STRENGTH`). */
  readonly action: Action;
  readonly objects: readonly string[];
  readonly bulk: boolean;
  /** Columns touched by any statement (see `StatementClass.columns`). */
  readonly columns?: readonly string[];
  readonly statementCount: number;
  readonly statements: readonly StatementClass[];
}

/** Emitted once per session, after authentication succeeded and the target accepted Warden. */
export interface SessionStart {
  readonly sessionId: string;
  readonly identity: Identity;
  readonly connection: string;
  readonly protocol: Protocol;
  readonly clientAddress: string;
  readonly clientApplication?: string;
  readonly startedAt: Date;
}

/** A command as an adapter submits it to `Session.decide`. */
export interface CommandInput {
  /**
   * The command as text: an SQL string, a shell command line, `verb resource/name -n namespace`.
   * It is recorded with literals intact only until masking of statement text lands; never put
   * credentials here.
   */
  readonly text: string;
  readonly classification: Classification;
  /** Protocol-specific detail worth auditing (`{ message: 'Execute', portal: 'p1' }`); no values. */
  readonly detail?: Readonly<Record<string, string | number | boolean>>;
  /**
   * Optional: how much the command would affect, found WITHOUT running it (for SQL, the planner's
   * row estimate from `EXPLAIN`). Called only when a rule holds the command for approval; the
   * approver sees the result. It must never execute the command.
   */
  readonly estimateImpact?: () => Promise<{ readonly rows?: number; readonly source: string }>;
}

/** A command as the core records it. */
export interface CommandEvent extends CommandInput {
  readonly sessionId: string;
  /** 1-based, per session, in the order the adapter submitted commands. */
  readonly seq: number;
  readonly protocol: Protocol;
  readonly connection: string;
  readonly at: Date;
}

/**
 * How to mask a result. Decisions already carry it so that adapters can apply it while streaming;
 * the masking engine that fills it in is `@warden/core` masking.
 */
export interface MaskingPlan {
  /** Column rules, keyed `table.column` (or `*.column`), to a strategy name. */
  readonly columns: Readonly<Record<string, string>>;
  /** Content detectors to run on every value not covered by a column rule. */
  readonly detectors: readonly string[];
  /** Strategy per detector for what it finds in free text (`redact` when absent). */
  readonly strategies?: Readonly<Record<string, string>>;
  /**
   * Column patterns this identity sees unmasked (an exemption granted to its group). Recorded in
   * the decision so that every unmasked access to PHI is audited as such.
   */
  readonly exempt?: readonly string[];
  /** Site-specific MRN formats (regular expression sources). */
  readonly mrnPatterns?: readonly string[];
}

export interface AllowDecision {
  readonly effect: 'allow';
  /** The rule that allowed it, or undefined when the connection's default effect did. */
  readonly rule?: string;
  /** The approval request this command ran on, when a `review` rule held it and someone approved it. */
  readonly approval?: string;
  readonly masking?: MaskingPlan;
  readonly wouldHave?: WouldHaveDecision;
}

export interface BlockDecision {
  readonly effect: 'block';
  readonly rule: string;
  /** Safe to show to the client: names the rule and the reason, never data. */
  readonly reason: string;
  readonly wouldHave?: WouldHaveDecision;
}

/**
 * The command is held for a just-in-time approval. `Session.decide` only returns this when the
 * connection is configured to refuse held commands at once (the client retries once approved);
 * in `wait` mode `decide` resolves to the final allow/block instead.
 */
export interface ReviewDecision {
  readonly effect: 'review';
  readonly rule: string;
  readonly requestId: string;
  readonly approvers: readonly string[];
  readonly reason: string;
  readonly wouldHave?: WouldHaveDecision;
}

/**
 * Rollout mode: what the decision would have been had the policy's `audit-only` rules been
 * enforced. Present only when that differs from the decision actually made; recorded in the audit
 * log, never applied. E.g. `{ effect: 'allow', wouldHave: { effect: 'block', rule: 'no-bulk', reason } }`.
 */
export type WouldHaveDecision =
  | { readonly effect: 'allow'; readonly rule?: string }
  | { readonly effect: 'block'; readonly rule: string; readonly reason: string }
  | { readonly effect: 'review'; readonly rule: string; readonly approvers: readonly string[]; readonly reason: string };

export type Decision = AllowDecision | BlockDecision | ReviewDecision;

/** What a command produced, as counts — never values. */
export interface ResultSummary {
  /** Rows (or items, or bytes for streams) returned to the client. */
  readonly rows: number;
  /** Values masked, by masking strategy or detector (`{ ssn: 3 }`). */
  readonly masked?: Readonly<Record<string, number>>;
  /** Values of masked columns returned unmasked under an exemption, by column (`{ 'patients.dob': 2 }`). */
  readonly unmasked?: Readonly<Record<string, number>>;
  readonly durationMs: number;
  /** A protocol status such as a Postgres CommandComplete tag (`SELECT 3`). */
  readonly status?: string;
  /** An error the target returned, as code and message; never contains row data. */
  readonly error?: { readonly code: string; readonly message: string };
}

export type SessionEndReason = 'client-closed' | 'target-closed' | 'error' | 'shutdown' | 'refused';

export interface SessionTotals {
  readonly commands: number;
  readonly blocked: number;
  readonly rows: number;
}
