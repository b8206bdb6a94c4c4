import type { AdapterFactory } from '@warden/core';
import { postgresAdapter } from '@warden/adapter-postgres';
import { mysqlAdapter } from '@warden/adapter-mysql';
import { sshAdapter } from '@warden/adapter-ssh';
import { kubernetesAdapter } from '@warden/adapter-kubernetes';

/** Adapters by protocol name. A new protocol registers here and nowhere else. */
export const ADAPTERS: ReadonlyMap<string, AdapterFactory<unknown>> = new Map<string, AdapterFactory<unknown>>([
  [postgresAdapter.protocol, postgresAdapter as AdapterFactory<unknown>],
  [mysqlAdapter.protocol, mysqlAdapter as AdapterFactory<unknown>],
  [sshAdapter.protocol, sshAdapter as AdapterFactory<unknown>],
  [kubernetesAdapter.protocol, kubernetesAdapter as AdapterFactory<unknown>],
]);
