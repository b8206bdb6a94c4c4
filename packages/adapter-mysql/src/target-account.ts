/**
 * Who Warden's account is on a MySQL/MariaDB target, for `warden doctor`: `SHOW GRANTS` (the
 * current user's grants, and its active role's) on a short-lived connection with Warden's
 * credentials. A global `ALL PRIVILEGES` or `SUPER` grant makes it a superuser.
 * https://mariadb.com/kb/en/show-grants/
 */
import { WardenError, type TargetAccount } from '@warden/core';
import type { MysqlTarget } from './mysql-target';
import { queryText } from './text-query';

/** A grant list is a few KiB at most. */
const MAX_ANSWER_BYTES = 1024 * 1024;

export async function inspectMysqlTarget(target: MysqlTarget): Promise<TargetAccount> {
  // The query is Warden's own, so the server's error message (access denied, …) may be shown.
  const result = await queryText(target, 'SHOW GRANTS', { purpose: 'doctor', name: 'SHOW GRANTS', timeoutMs: target.connectTimeoutMs, maxBytes: MAX_ANSWER_BYTES, quoteServerErrors: true });
  if (result.columns.length === 0) throw new WardenError('target-unavailable', 'SHOW GRANTS returned no result');
  const grants = result.rows.flatMap((row) => (row[0] === undefined ? [] : [row[0]]));
  return accountOf(grants, target.user);
}

/** A global grant: its privilege list (`GRANT <privileges> ON *.* TO …`). */
const GLOBAL_GRANT = /^GRANT\s+(.+?)\s+ON\s+\*\.\*\s+TO\s/i;

/** `ALL [PRIVILEGES]` or a list naming `SUPER`, on `*.*`. */
function isSuperuserGrant(line: string): boolean {
  const privileges = GLOBAL_GRANT.exec(line)?.[1];
  if (privileges === undefined) return false;
  return /^ALL(?:\s+PRIVILEGES)?$/i.test(privileges.trim()) || privileges.split(',').some((privilege) => privilege.trim().toUpperCase() === 'SUPER');
}

/** Reads the grant lines (exported for the unit test of the rule). */
export function accountOf(grants: readonly string[], configuredUser: string): TargetAccount {
  const user = /\sTO\s+(\S+)/i.exec(grants[0] ?? '')?.[1] ?? configuredUser;
  const superGrant = grants.find(isSuperuserGrant);
  return superGrant === undefined
    ? { user, superuser: false, evidence: `no global ALL PRIVILEGES or SUPER grant for ${user}` }
    : { user, superuser: true, evidence: superGrant.replace(/\s(IDENTIFIED\s.*?)(?=\sWITH\s|$)/i, '') };
}
