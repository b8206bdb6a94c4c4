export { createPostgresAdapter, postgresAdapter } from './postgres-adapter';
export type { PostgresAdapterOptions } from './postgres-adapter';
export { parsePostgresTarget } from './postgres-target';
export type { PostgresTarget } from './postgres-target';
