import { z } from 'zod';
import { DETECTOR_NAMES, STRATEGY_NAMES } from '@warden/core';

/**
 * The gateway's YAML configuration. Every object is strict: an unknown key is an error (a typo in
 * a security rule must not be silently ignored).
 */

const listen = z
  .string()
  .regex(/^(\[[0-9a-fA-F:]+\]|[^:\s]+):(\d{1,5})$/, 'listen must be host:port, e.g. 127.0.0.1:15432');

const actions = z.enum(['read', 'write', 'ddl', 'admin', 'exec', 'connect', 'transaction', 'session', 'unknown']);
const oneOrMany = <T extends z.ZodType>(item: T) => z.union([item, z.array(item).min(1)]);

const issuer = z.strictObject({
  issuer: z.string().url(),
  audience: oneOrMany(z.string().min(1)),
  jwksUri: z.string().url().optional(),
  groupsClaim: z.string().min(1).optional(),
  agentGroups: z.array(z.string().min(1)).optional(),
  algorithms: z.array(z.string().min(1)).optional(),
  clockToleranceSeconds: z.number().int().min(0).max(300).optional(),
  requireGroups: z.boolean().optional(),
});

const tls = z.union([
  z.literal('self-signed'),
  z.strictObject({ cert: z.string().min(1), key: z.string().min(1) }),
]);

const connection = z
  .strictObject({
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'connection names are lower-case letters, digits, - and _'),
    protocol: z.string().min(1),
    listen,
    /** Validated by the protocol's adapter. */
    target: z.unknown(),
    tls: tls.optional(),
    allowInsecureAuth: z.boolean().default(false),
    /** What happens to a statement within the grant that no rule matches. */
    defaultEffect: z.enum(['allow', 'block', 'review']).default('allow'),
    /** For `defaultEffect: review`: the groups whose members may approve. */
    defaultApprovers: z.array(z.string().min(1)).optional(),
  })
  .refine((c) => c.defaultEffect !== 'review' || (c.defaultApprovers?.length ?? 0) > 0, {
    message: 'defaultEffect review needs defaultApprovers',
    path: ['defaultApprovers'],
  });

const grant = z
  .strictObject({
    connection: z.string().min(1),
    groups: z.array(z.string().min(1)).optional(),
    identities: z.array(z.string().min(1)).optional(),
    access: z.enum(['read-only', 'read-write', 'full']),
    /** Limits per session for agents (or everyone, with `appliesTo: everyone`). */
    budget: z
      .strictObject({
        appliesTo: z.enum(['agents', 'everyone']).default('agents'),
        statementsPerMinute: z.number().int().positive().optional(),
        rowsPerStatement: z.number().int().positive().optional(),
        rowsPerSession: z.number().int().positive().optional(),
        sessionSeconds: z.number().int().positive().optional(),
      })
      .optional(),
  })
  .refine((g) => (g.groups?.length ?? 0) + (g.identities?.length ?? 0) > 0, 'a grant names at least one group or identity');

const rule = z
  .strictObject({
    name: z.string().min(1),
    match: z.strictObject({
      connection: oneOrMany(z.string().min(1)).optional(),
      protocol: oneOrMany(z.string().min(1)).optional(),
      action: oneOrMany(actions).optional(),
      objects: z.array(z.string().min(1)).optional(),
      columns: z.array(z.string().min(1)).optional(),
      groups: z.array(z.string().min(1)).optional(),
      identities: z.array(z.string().min(1)).optional(),
      kind: z.enum(['human', 'agent']).optional(),
      bulk: z.boolean().optional(),
      text: z
        .string()
        .refine((source) => {
          try {
            new RegExp(source);
            return true;
          } catch {
            return false;
          }
        }, 'text must be a valid regular expression')
        .optional(),
    }),
    effect: z.enum(['allow', 'block', 'review']),
    reason: z.string().min(1).optional(),
    approvers: z.array(z.string().min(1)).optional(),
    /** `audit-only`: rollout mode — record what the rule would have decided, let the command through. */
    mode: z.enum(['enforce', 'audit-only']).default('enforce'),
    /** For `review`: how the held command waits (defaults: `approvals.defaults`). */
    approval: z.lazy(() => approvalSettings).optional(),
  })
  .refine((r) => r.effect !== 'review' || (r.approvers?.length ?? 0) > 0, 'a review rule names its approvers');

/** How a command held for review waits; see `ApprovalSettings` in the core. */
const approvalSettings = z.strictObject({
  /** `wait`: hold the client's command until decided (up to waitSeconds); `retry`: refuse at once, naming the request. */
  mode: z.enum(['wait', 'retry']).optional(),
  waitSeconds: z.number().positive().max(3600).optional(),
  /** How long a request stays open, and an approval usable. */
  ttlSeconds: z.number().int().positive().max(7 * 24 * 3600).optional(),
});

const webhook = z.strictObject({
  /** Receives a JSON POST per new request: `{ text, request }` (`text` suits a Slack incoming webhook). */
  url: z.string().url(),
  headers: z.record(z.string(), z.string()).optional(),
});

/** Resource limits (defaults: `DEFAULT_LIMITS` in packages/core/src/limits.ts; README "Limits"). */
const limits = z.strictObject({
  maxMessageBytes: z.number().int().min(1024).max(0x7fffffff).optional(),
  loginTimeoutSeconds: z.number().min(0.1).max(3600).optional(),
  idleTimeoutSeconds: z.number().min(0).max(7 * 86_400).optional(),
  maxSessionsPerIdentity: z.number().int().min(1).max(1_000_000).optional(),
  maxSessionsTotal: z.number().int().min(1).max(10_000_000).optional(),
  maxConnectionsPerListener: z.number().int().min(1).max(1_000_000).optional(),
  maxPendingApprovalsPerIdentity: z.number().int().min(1).max(10_000).optional(),
  authFailures: z
    .strictObject({
      perAddressBurst: z.number().int().min(1).max(1_000_000).optional(),
      perAddressPerMinute: z.number().min(0.01).max(1_000_000).optional(),
      perIdentityFreeFailures: z.number().int().min(0).max(1_000_000).optional(),
      perIdentityMaxDelaySeconds: z.number().min(0).max(60).optional(),
    })
    .optional(),
  /** Graceful stop: how long commands in flight may run on after SIGTERM. */
  drainTimeoutSeconds: z.number().min(0).max(3600).optional(),
});

const admin = z.strictObject({
  /** The admin HTTP API (approvals); keep it on a management network. */
  listen,
  tls: tls.optional(),
});

const strategy = z.enum(STRATEGY_NAMES);
const detector = z.enum(DETECTOR_NAMES);
const columnPattern = z
  .string()
  .regex(/^[^.\s]+(\.[^.\s]+){0,2}$/, 'a column pattern is column, table.column or schema.table.column (globs allowed)');

/** PHI masking on one connection: column rules, content detectors, and who is exempt from what. */
const masking = z.strictObject({
  connection: z.string().min(1),
  columns: z.record(columnPattern, strategy).default({}),
  detect: z.array(detector).default([]),
  strategies: z.partialRecord(detector, strategy).default({}),
  exempt: z
    .array(
      z
        .strictObject({
          groups: z.array(z.string().min(1)).optional(),
          identities: z.array(z.string().min(1)).optional(),
          columns: z.array(columnPattern).min(1),
        })
        .refine((e) => (e.groups?.length ?? 0) + (e.identities?.length ?? 0) > 0, 'an exemption names at least one group or identity'),
    )
    .default([]),
  mrnPatterns: z
    .array(
      z.string().refine((source) => {
        try {
          new RegExp(source);
          return true;
        } catch {
          return false;
        }
      }, 'mrnPatterns must be valid regular expressions'),
    )
    .optional(),
});

export const configSchema = z.strictObject({
  dataDir: z.string().min(1).default('.warden'),
  identity: z
    .strictObject({
      issuers: z.array(issuer).default([]),
      /** Trust tokens from `warden token --dev` (a local key in the data directory). Never in production. */
      devIssuer: z.boolean().default(false),
      /**
       * Tokens that live longer than this (`exp` − `iat`, or `exp` − now without `iat`) are refused:
       * a stolen long-lived token is a long-lived key. Default one day.
       */
      maxTokenLifetimeSeconds: z.number().int().min(60).max(366 * 86_400).default(86_400),
    })
    .default({ issuers: [], devIssuer: false, maxTokenLifetimeSeconds: 86_400 }),
  audit: z
    .strictObject({
      /**
       * `disk`: a command's record is fdatasync'ed before the client sees its result (survives power loss).
       * `os`: written to the operating system first (survives a crash of the gateway, even kill -9),
       * fdatasync'ed within `syncIntervalMs`.
       */
      durability: z.enum(['disk', 'os']).default('disk'),
      syncIntervalMs: z.number().int().min(1).max(10_000).default(100),
      /** Start a new log segment (`audit/000002.jsonl`, …) once the current one would grow past this. Default 64 MiB. */
      segmentBytes: z.number().int().min(4096).max(2 ** 40).default(64 * 1024 * 1024),
      /** The id checkpoints name the gateway's Ed25519 key by (default: derived from the public key). */
      keyId: z.string().min(1).max(200).optional(),
      /** Signed Merkle tree checkpoints over the log (`warden audit verify`, `prove`). */
      checkpoint: z
        .strictObject({
          everyRecords: z.number().int().min(1).max(10_000_000).default(1000),
          everySeconds: z.number().min(0.01).max(86_400).default(60),
          /** An external copy of each checkpoint: a file (on another volume) or a webhook (JSON POST). */
          witness: z.union([z.strictObject({ file: z.string().min(1) }), z.strictObject({ url: z.string().url(), headers: z.record(z.string(), z.string()).optional() })]).optional(),
        })
        .default({ everyRecords: 1000, everySeconds: 60 }),
    })
    .default({ durability: 'disk', syncIntervalMs: 100, segmentBytes: 64 * 1024 * 1024, checkpoint: { everyRecords: 1000, everySeconds: 60 } }),
  approvals: z
    .strictObject({
      defaults: approvalSettings.optional(),
      webhook: webhook.optional(),
    })
    .default({}),
  admin: admin.optional(),
  limits: limits.optional(),
  connections: z.array(connection).min(1),
  grants: z.array(grant).default([]),
  rules: z.array(rule).default([]),
  /**
   * The masking key (at least 32 characters; use `${env:…}` or `${file:…}`): keys the `hash` and
   * `fake` strategies and the audit log's placeholders. Default: a random key kept in the data directory.
   */
  maskingKey: z.string().min(32, 'maskingKey must be at least 32 characters').optional(),
  masking: z.array(masking).default([]),
  /**
   * Session recordings. Database sessions are recorded as a timeline (commands, decisions, the
   * masked rows the client received, row counts, timings) that keeps at most
   * `resultBytesPerCommand` bytes of each command's values; 0 keeps row counts only.
   */
  recording: z
    .strictObject({
      resultBytesPerCommand: z.number().int().min(0).max(64 * 1024 * 1024).default(64 * 1024),
    })
    .default({ resultBytesPerCommand: 64 * 1024 }),
});

export type GatewayConfig = z.infer<typeof configSchema>;
export type ConnectionConfig = GatewayConfig['connections'][number];
