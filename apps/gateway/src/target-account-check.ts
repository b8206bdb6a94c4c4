/**
 * Whether Warden's own account on a target undermines a read-only connection: when every grant of
 * a connection is `read-only` but Warden logs in to the target as a superuser, read-only rests on
 * Warden's statement classification and the session's read-only setting alone; whatever slips past
 * them (a function with side effects, a setting Warden does not know) runs with every privilege,
 * files and programs on the server included. A read-only role on the target is the second,
 * independent wall. Used by `warden doctor` and, as one log line per such connection, at gateway start.
 */
import { toWardenError, type AdapterFactory, type Logger, type TargetAccount } from '@warden/core';
import type { GatewayConfig } from './config/config-schema';

/** One connection's target, parsed by its adapter. */
export interface InspectableConnection {
  readonly name: string;
  readonly protocol: string;
  readonly target: unknown;
}

/** What the check found for one connection. */
export type TargetAccountFinding =
  | { readonly connection: string; readonly status: 'superuser-on-read-only'; readonly account: TargetAccount; readonly message: string }
  | { readonly connection: string; readonly status: 'ok'; readonly account: TargetAccount; readonly message: string }
  | { readonly connection: string; readonly status: 'unreachable'; readonly message: string }
  | { readonly connection: string; readonly status: 'not-checked'; readonly message: string };

/** Connections that have grants, every one of them `read-only`. */
export function readOnlyConnections(config: Pick<GatewayConfig, 'grants'>): Set<string> {
  const access = new Map<string, Set<string>>();
  for (const grant of config.grants) {
    const levels = access.get(grant.connection) ?? new Set<string>();
    levels.add(grant.access);
    access.set(grant.connection, levels);
  }
  return new Set([...access].filter(([, levels]) => levels.size === 1 && levels.has('read-only')).map(([name]) => name));
}

/** The operator's message for a superuser behind a read-only connection. */
export function superuserMessage(connection: string, account: TargetAccount): string {
  return (
    `every grant of connection ${connection} is read-only, but Warden logs in to its target as ${account.user}, a superuser (${account.evidence}); ` +
    'anything that slips past Warden\'s checks would run with every privilege; give Warden a read-only role on the target (see "Target accounts" in the README)'
  );
}

/** Inspects one connection's target account, as its adapter does it. Never rejects. */
export async function checkTargetAccount(connection: InspectableConnection, readOnly: boolean, registry: ReadonlyMap<string, AdapterFactory<unknown>>): Promise<TargetAccountFinding> {
  const inspect = registry.get(connection.protocol)?.inspectTarget;
  if (!inspect) return { connection: connection.name, status: 'not-checked', message: `Warden cannot inspect ${connection.protocol} target accounts` };
  let account: TargetAccount;
  try {
    account = await inspect(connection.target);
  } catch (error) {
    return { connection: connection.name, status: 'unreachable', message: `cannot inspect the target: ${toWardenError(error).message}` };
  }
  if (readOnly && account.superuser) return { connection: connection.name, status: 'superuser-on-read-only', account, message: superuserMessage(connection.name, account) };
  const role = account.superuser ? 'a superuser (the connection has grants beyond read-only)' : 'not a superuser';
  return { connection: connection.name, status: 'ok', account, message: `Warden logs in to the target as ${account.user}, ${role}` };
}

/**
 * At gateway start: one warning line per read-only connection whose target account is a
 * superuser. Runs in the background and never throws: a target that is down delays and fails
 * nothing (it is logged at info, as the sessions will report it themselves).
 */
export function warnOfSuperuserTargets(
  config: Pick<GatewayConfig, 'grants'>,
  connections: readonly InspectableConnection[],
  registry: ReadonlyMap<string, AdapterFactory<unknown>>,
  log: Logger,
): Promise<void> {
  const readOnly = readOnlyConnections(config);
  const checks = connections
    .filter((connection) => readOnly.has(connection.name) && registry.get(connection.protocol)?.inspectTarget !== undefined)
    .map(async (connection) => {
      const finding = await checkTargetAccount(connection, true, registry);
      if (finding.status === 'superuser-on-read-only') log.warn('read-only connection uses a superuser target account', { connection: connection.name, user: finding.account.user, advice: finding.message });
      else if (finding.status === 'unreachable') log.info('target account not checked', { connection: connection.name, reason: finding.message });
    });
  return Promise.allSettled(checks).then(() => undefined);
}
