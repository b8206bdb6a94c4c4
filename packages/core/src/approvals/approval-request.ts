import type { Identity, Protocol } from '../events';

/**
 * How a held command waits for its approval.
 * - `wait`: the client's command is held (up to `waitSeconds`) and then runs or is refused;
 * - `retry`: the client is refused at once with the request id; once approved, the same identity
 *   may run the exact same command once before the approval expires.
 * A `wait` that times out leaves the request pending, so it then behaves like `retry`.
 */
export type ApprovalMode = 'wait' | 'retry';

export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'expired' | 'used';

/** Settings of the rule (or connection default) that holds a command for review. */
export interface ApprovalSettings {
  readonly mode: ApprovalMode;
  /** `wait` mode: how long the client's command is held before it is refused. */
  readonly waitSeconds: number;
  /** How long a request stays open for a decision, and an approval stays usable, from its creation. */
  readonly ttlSeconds: number;
}

export const DEFAULT_APPROVAL_SETTINGS: ApprovalSettings = { mode: 'retry', waitSeconds: 120, ttlSeconds: 3600 };

/** Who asked, as the request keeps it (no token, no expiry). */
export interface Requester {
  readonly subject: string;
  readonly issuer: string;
  readonly groups: readonly string[];
  readonly kind: Identity['kind'];
  readonly name?: string;
}

/** What the approver is shown besides the command: what the adapter could estimate without running it. */
export interface ImpactEstimate {
  /** The rows the target expects the statement to touch (a planner estimate), when known. */
  readonly rows?: number;
  /** How the estimate was obtained (`planner`, …) or why there is none. */
  readonly source: string;
}

/** One just-in-time approval request. Plain data: it is persisted and served as JSON. */
export interface ApprovalRequest {
  readonly id: string;
  readonly status: ApprovalStatus;
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly requester: Requester;
  readonly connection: string;
  readonly protocol: Protocol;
  /** The session that asked first. */
  readonly sessionId: string;
  /** The exact command text, as the client sent it. */
  readonly text: string;
  /** What the approval is bound to: requester, connection and the command text with whitespace normalized. */
  readonly binding: string;
  readonly action: string;
  /** Objects the command touches (tables, resources). */
  readonly objects: readonly string[];
  /** Columns it touches, where the classifier knows them (`patients.ssn`, `patients.*`). */
  readonly columns?: readonly string[];
  readonly bulk: boolean;
  readonly rule: string;
  readonly reason: string;
  /** Groups whose members (other than the requester) may decide. */
  readonly approvers: readonly string[];
  readonly mode: ApprovalMode;
  readonly estimate?: ImpactEstimate;
  readonly decidedBy?: string;
  readonly decidedAt?: string;
  readonly decisionReason?: string;
  /** When an approval was used, by which session. */
  readonly usedBy?: string;
}
