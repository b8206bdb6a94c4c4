import type { AdapterFactory } from '@warden/core';
import { postgresAdapter } from '@warden/adapter-postgres';

/** Adapters by protocol name. A new protocol registers here and nowhere else. */
export const ADAPTERS: ReadonlyMap<string, AdapterFactory<unknown>> = new Map<string, AdapterFactory<unknown>>([
  [postgresAdapter.protocol, postgresAdapter as AdapterFactory<unknown>],
]);
