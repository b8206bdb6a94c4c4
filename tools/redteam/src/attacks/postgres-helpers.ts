/** Shorthands for writing Postgres attacks as tables of (id, SQL). */
import type { AttackClass, PendingFix } from '../attack';
import type { Grant } from '../grant';
import type { PgStep, PostgresAttack } from '../postgres-attack';

/** Warden's refusal: insufficient_privilege, with Warden's own message. */
export const REFUSED = { refused: '42501' } as const;

type Row = readonly [id: string, sql: string | readonly PgStep[], options?: { pending?: PendingFix; auditPending?: PendingFix; note?: string; payload?: number }];

/** One attack per row, each refused by Warden under `grant`. */
export function refusedEach(attackClass: AttackClass, grant: Grant, rows: readonly Row[]): PostgresAttack[] {
  return rows.map(([id, sql, options]) => ({
    id,
    class: attackClass,
    grant,
    steps: typeof sql === 'string' ? [sql] : sql,
    expect: REFUSED,
    ...(options?.payload === undefined ? {} : { payload: options.payload }),
    ...(options?.pending ? { pending: options.pending } : {}),
    ...(options?.auditPending ? { auditPending: options.auditPending } : {}),
    ...(options?.note ? { note: options.note } : {}),
  }));
}

/** The same SQL sent with the extended protocol (Parse/Bind/Execute/Sync), under another id. */
export function viaExtended(attacks: readonly PostgresAttack[], suffix = 'extended'): PostgresAttack[] {
  return attacks
    .filter((attack) => attack.steps.length === 1 && typeof attack.steps[0] === 'string' && !attack.steps[0].includes(';'))
    .map((attack) => ({ ...attack, id: `${attack.id}-${suffix}`, steps: [{ extended: attack.steps[0] as string }] }));
}
