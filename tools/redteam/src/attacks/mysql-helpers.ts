/** Shorthands for writing MySQL attacks as tables of (id, SQL). */
import type { AttackClass, PendingFix } from '../attack';
import type { Grant } from '../grant';
import type { MysqlAttack, MysqlStep } from '../mysql-attack';

/** Warden's refusal: ER_TABLEACCESS_DENIED_ERROR, with Warden's own message. */
export const MYSQL_REFUSED = { refused: '1142' } as const;

type Row = readonly [id: string, sql: string | readonly MysqlStep[], options?: { pending?: PendingFix; payload?: number; note?: string; refused?: readonly string[] }];

/** One attack per row, each refused by Warden under `grant`; ids are prefixed `mysql-`. */
export function mysqlRefusedEach(attackClass: AttackClass, grant: Grant, rows: readonly Row[]): MysqlAttack[] {
  return rows.map(([id, sql, options]) => ({
    id: `mysql-${id}`,
    class: attackClass,
    grant,
    steps: typeof sql === 'string' ? [sql] : sql,
    expect: options?.refused ? { refused: options.refused } : MYSQL_REFUSED,
    ...(options?.payload === undefined ? {} : { payload: options.payload }),
    ...(options?.pending ? { pending: options.pending } : {}),
    ...(options?.note ? { note: options.note } : {}),
  }));
}

/**
 * The same SQL as a prepared statement (COM_STMT_PREPARE/EXECUTE), under another id. Warden decides
 * at COM_STMT_EXECUTE; under a read-only grant MariaDB already refuses to prepare a write in the
 * read-only session (1792), so then there is nothing to execute, and that answer is accepted too.
 */
export function mysqlViaPrepared(attacks: readonly MysqlAttack[]): MysqlAttack[] {
  return attacks
    .filter((attack) => attack.steps.length === 1 && typeof attack.steps[0] === 'string' && !attack.steps[0].includes(';'))
    .map((attack) => ({
      ...attack,
      id: `${attack.id}-prepared`,
      steps: [{ execute: attack.steps[0] as string }],
      ...(attack.grant === 'read-only' && 'refused' in attack.expect ? { expect: { refused: ['1142', '1792'] } } : {}),
    }));
}
