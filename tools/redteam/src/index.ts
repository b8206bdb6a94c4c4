// The gateway harness (redteam-gateway.ts) is left out: it is type-checked with the tests (tsconfig.spec.json), as apps/gateway/src/e2e is.
export { auditedCommands, sessionIdsOf } from './audit-trail';
export type { AuditedCommand } from './audit-trail';
export { matchAuditToTarget } from './match-audit';
export type { AuditMatch, ObservedEvent } from './match-audit';
export { targetEvents, targetSessionsOf } from './postgres-session-log';
export type { TargetEvent } from './postgres-session-log';
export { startPostgresTarget, TARGET_DATABASE, TARGET_USER } from './postgres-target';
export type { PostgresCanaryState, PostgresTarget } from './postgres-target';
export { frontend, openPgWireSession } from './postgres-wire';
export type { BackendMessage, PgWireSession } from './postgres-wire';
export { driverSession, wireSession } from './postgres-workload';
export type { WorkloadConnection } from './postgres-workload';
export { seededRandom, workloadSeed } from './seeded-random';
export type { SeededRandom } from './seeded-random';
