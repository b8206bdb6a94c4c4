/** Shorthands for writing Postgres attacks as tables of (id, SQL). */
import type { AttackClass, PendingFix } from '../attack';
import type { Grant } from '../grant';
import type { PgStep, PostgresAttack } from '../postgres-attack';
import { frontend } from '../postgres-wire';

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

function singleStatement(attack: PostgresAttack): string | undefined {
  const [step] = attack.steps;
  return attack.steps.length === 1 && typeof step === 'string' && !step.includes(';') ? step : undefined;
}

/**
 * The same SQL as a named prepared statement, pipelined behind a read in one batch: Parse/Bind/
 * Execute of `SELECT 1`, then of the attack (statement `s_attack`), then Sync, in one write.
 */
export function viaPipeline(attacks: readonly PostgresAttack[]): PostgresAttack[] {
  return attacks.flatMap((attack) => {
    const text = singleStatement(attack);
    if (text === undefined) return [];
    const messages = [
      frontend.parse({ name: 's_read', text: 'SELECT 1' }),
      frontend.bind({ statement: 's_read' }),
      frontend.execute({}),
      frontend.parse({ name: 's_attack', text }),
      frontend.bind({ portal: 'p_attack', statement: 's_attack' }),
      frontend.execute({ portal: 'p_attack' }),
      frontend.sync(),
    ];
    return [{ ...attack, id: `${attack.id}-pipelined`, steps: [{ messages }] }];
  });
}

/** The same SQL parsed in one Sync segment and executed in the next, sent in one write. */
export function viaSplitSegments(attacks: readonly PostgresAttack[]): PostgresAttack[] {
  return attacks.flatMap((attack) => {
    const text = singleStatement(attack);
    if (text === undefined) return [];
    const messages = [frontend.parse({ name: 's_later', text }), frontend.sync(), frontend.bind({ statement: 's_later' }), frontend.execute({}), frontend.sync()];
    return [{ ...attack, id: `${attack.id}-split-segments`, steps: [{ messages }] }];
  });
}
