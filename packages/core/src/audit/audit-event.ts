import type { Classification, Decision, Identity, Protocol, ResultSummary, SessionEndReason, SessionTotals } from '../events';

/**
 * Everything the audit log records. Each event becomes one record in the hash chain. Events carry
 * counts, names and classifications — never tokens, passwords or row values.
 */
export type AuditEvent =
  | {
      readonly type: 'auth.failure';
      readonly connection: string;
      readonly protocol: Protocol;
      readonly clientAddress: string;
      /** The user name the client claimed in the protocol (not verified). */
      readonly claimedUser?: string;
      /** The subject of the token when it could be read, even though it did not verify. */
      readonly subject?: string;
      readonly code: string;
      readonly reason: string;
    }
  | {
      readonly type: 'session.start';
      readonly sessionId: string;
      readonly identity: Identity;
      readonly connection: string;
      readonly protocol: Protocol;
      readonly clientAddress: string;
      readonly clientApplication?: string;
      readonly access: string;
    }
  | {
      readonly type: 'command';
      readonly sessionId: string;
      /**
       * `CommandEvent.seq`, renamed: a flat `seq` would collide with the record's own `seq` (its
       * place in the log) and be overwritten, losing which command of the session this was.
       */
      readonly commandSeq: number;
      readonly text: string;
      readonly classification: Classification;
      readonly decision: Decision;
      readonly detail?: Readonly<Record<string, string | number | boolean>>;
    }
  | {
      readonly type: 'result';
      readonly sessionId: string;
      /** The `commandSeq` of the command this result answers. */
      readonly commandSeq: number;
      readonly summary: ResultSummary;
    }
  | {
      /** Something protocol-level worth keeping that is not a command: a cancel, a TLS upgrade. */
      readonly type: 'session.event';
      readonly sessionId: string;
      readonly name: string;
      readonly detail?: Readonly<Record<string, string | number | boolean>>;
    }
  | {
      readonly type: 'session.end';
      readonly sessionId: string;
      readonly reason: SessionEndReason;
      readonly totals: SessionTotals;
      readonly error?: string;
    }
  | {
      /** Written by the store itself when it repaired a torn tail at open. */
      readonly type: 'audit.repair';
      readonly truncatedBytes: number;
      readonly reason: string;
    }
  | {
      /** A `review` rule held a command; the request waits for someone in `approvers`. */
      readonly type: 'approval.requested';
      readonly requestId: string;
      readonly sessionId: string;
      readonly connection: string;
      readonly subject: string;
      readonly rule: string;
      readonly approvers: readonly string[];
      readonly mode: string;
      readonly expiresAt: string;
      readonly objects: readonly string[];
      readonly estimate?: { readonly rows?: number; readonly source: string };
    }
  | {
      readonly type: 'approval.decided';
      readonly requestId: string;
      readonly outcome: 'approved' | 'denied';
      readonly by: string;
      readonly byIssuer: string;
      readonly reason?: string;
    }
  | {
      /** Someone tried to decide a request they may not decide (their own, or not an approver). */
      readonly type: 'approval.refused';
      readonly requestId: string;
      readonly outcome: 'approved' | 'denied';
      readonly by: string;
      readonly byIssuer: string;
      readonly reason: string;
    }
  | {
      readonly type: 'approval.expired';
      readonly requestId: string;
      readonly previousStatus: string;
    }
  | {
      /** An approval was used: the held command ran (once). */
      readonly type: 'approval.used';
      readonly requestId: string;
      readonly sessionId: string;
    }
  | {
      /** A session went over a limit of its grant's budget; the command was refused (or its result cut). */
      readonly type: 'budget.exceeded';
      readonly sessionId: string;
      readonly limit: 'statements-per-minute' | 'rows-per-statement' | 'rows-per-session' | 'session-seconds' | (string & {});
      readonly value: number;
      readonly max: number;
    }
  | {
      /**
       * Someone read the evidence: listed or showed sessions, replayed one, exported a bundle.
       * `by` is a verified token's subject (`byKind: 'token'`), a name given with `--as`, or the OS
       * user running the CLI; `osUser` and `host` always say where the CLI ran.
       */
      readonly type: 'evidence.read';
      readonly action: 'sessions.list' | 'sessions.show' | 'replay' | 'export';
      readonly by: string;
      readonly byKind: 'token' | 'as' | 'os-user';
      readonly osUser: string;
      readonly host: string;
      /** What was read: a session id, or the filters of a list or an export. */
      readonly target?: Readonly<Record<string, string>>;
    }
  | {
      /** Warden issued a credential for a client (an SSH user certificate, `warden ssh login`). */
      readonly type: 'credential.issued';
      readonly kind: 'ssh-certificate' | (string & {});
      readonly connection: string;
      readonly subject: string;
      readonly issuer: string;
      readonly serial: string;
      readonly validBefore: string;
    }
  | {
      readonly type: 'gateway.start' | 'gateway.stop';
      readonly version: string;
      readonly connections: readonly string[];
    };

export type AuditEventType = AuditEvent['type'];

/**
 * One stored record: the event plus its place in the chain. The chain fields share the event's
 * namespace (the record is flat), so no event may carry `seq`, `time`, `prev` or `hash`; the stores
 * reject events that do.
 */
export type AuditRecord = AuditEvent & {
  /** 1-based position in the log. */
  readonly seq: number;
  /** ISO-8601 time the record was appended. */
  readonly time: string;
  /** `hash` of the previous record (64 zeros for the first). */
  readonly prev: string;
  /** SHA-256 over the canonical JSON of this record without `hash`, hex. */
  readonly hash: string;
};

export interface AuditReceipt {
  readonly seq: number;
  readonly hash: string;
}

/**
 * Where audit events go. `append` assigns the record its place in the chain at once (so records
 * keep the order of the calls) and resolves when the record is durable. Once a write fails the
 * sink stays failed: every later append rejects with a `WardenError('audit-unavailable')`.
 */
export interface AuditSink {
  append(event: AuditEvent): Promise<AuditReceipt>;
  /** True once a write has failed; the gateway refuses commands from then on. */
  readonly failed: boolean;
  close(): Promise<void>;
}
