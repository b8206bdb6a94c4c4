import { z } from 'zod';

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

const connection = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'connection names are lower-case letters, digits, - and _'),
  protocol: z.string().min(1),
  listen,
  /** Validated by the protocol's adapter. */
  target: z.unknown(),
  tls: tls.optional(),
  allowInsecureAuth: z.boolean().default(false),
});

const grant = z
  .strictObject({
    connection: z.string().min(1),
    groups: z.array(z.string().min(1)).optional(),
    identities: z.array(z.string().min(1)).optional(),
    access: z.enum(['read-only', 'read-write', 'full']),
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
  })
  .refine((r) => r.effect !== 'review' || (r.approvers?.length ?? 0) > 0, 'a review rule names its approvers');

export const configSchema = z.strictObject({
  dataDir: z.string().min(1).default('.warden'),
  identity: z
    .strictObject({
      issuers: z.array(issuer).default([]),
      /** Trust tokens from `warden token --dev` (a local key in the data directory). Never in production. */
      devIssuer: z.boolean().default(false),
    })
    .default({ issuers: [], devIssuer: false }),
  connections: z.array(connection).min(1),
  grants: z.array(grant).default([]),
  rules: z.array(rule).default([]),
});

export type GatewayConfig = z.infer<typeof configSchema>;
export type ConnectionConfig = GatewayConfig['connections'][number];
