export { postgresAdapter } from './postgres-adapter';
export { parsePostgresTarget } from './postgres-target';
export type { PostgresTarget } from './postgres-target';
