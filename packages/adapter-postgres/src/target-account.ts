/**
 * Who Warden's account is on a Postgres target, for `warden doctor`: the server reports it at login
 * in ParameterStatus messages (`is_superuser`, `session_authorization`; protocol docs, "Asynchronous
 * Operations"), so no statement runs — the same answer as
 * `SELECT rolsuper FROM pg_roles WHERE rolname = current_user`.
 * https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-ASYNC
 */
import { WardenError, type TargetAccount } from '@warden/core';
import type { PostgresTarget } from './postgres-target';
import { connectTarget } from './target-connection';

export async function inspectPostgresTarget(target: PostgresTarget): Promise<TargetAccount> {
  const connection = await connectTarget({ target, parameters: { application_name: 'warden-doctor' }, timeoutMs: target.connectTimeoutMs });
  connection.socket.destroy();
  const reported = new Map(connection.parameters);
  const superuser = reported.get('is_superuser');
  if (superuser !== 'on' && superuser !== 'off') throw new WardenError('target-unavailable', 'the target did not report is_superuser at login');
  const user = reported.get('session_authorization') ?? target.user;
  return { user, superuser: superuser === 'on', evidence: `is_superuser = ${superuser} for role ${user}` };
}
