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
  /** Why the statement got its action when that is not obvious (e.g. `calls pg_read_file`, `parse error`). */
  readonly note?: string;
}

/** The analysis of a whole command, which may hold several statements. */
export interface Classification {
  /** The strongest action among the statements (see `ACTION_STRENGTH`). */
  readonly action: Action;
  readonly objects: readonly string[];
  readonly bulk: boolean;
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
}

export interface AllowDecision {
  readonly effect: 'allow';
  /** The rule that allowed it, or undefined when the connection's default effect did. */
  readonly rule?: string;
  readonly masking?: MaskingPlan;
}

export interface BlockDecision {
  readonly effect: 'block';
  readonly rule: string;
  /** Safe to show to the client: names the rule and the reason, never data. */
  readonly reason: string;
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
}

export type Decision = AllowDecision | BlockDecision | ReviewDecision;

/** What a command produced, as counts — never values. */
export interface ResultSummary {
  /** Rows (or items, or bytes for streams) returned to the client. */
  readonly rows: number;
  /** Values masked, by masking strategy or detector (`{ ssn: 3 }`). */
  readonly masked?: Readonly<Record<string, number>>;
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
