/**
 * A random, seeded mix of everything a Postgres client can send, for the audit-completeness proof:
 * simple queries (one and several statements), the extended protocol through node-postgres
 * (unnamed, and named prepared statements reused), raw pipelined batches (several Parse/Bind/Execute
 * before one Sync, several Syncs in one write), portals read in parts, COPY FROM STDIN, and
 * SQL-level PREPARE/EXECUTE and DECLARE/FETCH.
 * Reads, writes, target-side errors and settings are mixed, so refusals and skipped messages occur.
 */
import { Client } from 'pg';
import { frontend, openPgWireSession, type PgWireSession } from './postgres-wire';
import type { SeededRandom } from './seeded-random';

const READS = [
  'SELECT count(*) FROM patients',
  'SELECT full_name FROM patients WHERE id = 3',
  'SELECT word FROM canary',
  'SELECT now()',
  'SELECT 1/0',
  'SHOW work_mem',
  "SELECT 'it''s; not -- a split' AS text",
] as const;
const PARAMETERISED_READS = ['SELECT full_name FROM patients WHERE id = $1', 'SELECT $1::int + 1 AS n'] as const;
const WRITES = ["INSERT INTO notes (body) VALUES ('proof')", 'UPDATE notes SET body = body WHERE id < 0', 'DELETE FROM notes WHERE id < 0'] as const;
const SETTINGS = ["SET work_mem = '8MB'", 'RESET work_mem'] as const;

export interface WorkloadConnection {
  readonly port: number;
  readonly database: string;
  readonly password: string;
  readonly application: string;
  /** Also EXECUTE and DEALLOCATE statements whose PREPARE Warden refused (answered 26000, audited as refused). */
  readonly useRefusedNames?: boolean;
  /** Whether writes are refused in this session (read-only grant). */
  readonly readOnly?: boolean;
}

function statement(random: SeededRandom): string {
  const roll = random.next();
  if (roll < 0.55) return random.pick(READS);
  if (roll < 0.85) return random.pick(WRITES);
  return random.pick(SETTINGS);
}

/** One session through node-postgres: simple, unnamed extended, named prepared, SQL PREPARE and cursors. */
export async function driverSession(connection: WorkloadConnection, random: SeededRandom, steps: number): Promise<void> {
  const client = new Client({ host: '127.0.0.1', port: connection.port, user: 'proof', database: connection.database, password: connection.password, application_name: connection.application });
  client.on('error', () => undefined);
  await client.connect();
  const attempt = (run: () => Promise<unknown>): Promise<unknown> => run().catch(() => undefined);
  try {
    for (let step = 0; step < steps; step++) {
      const kind = random.below(6);
      if (kind === 0) await attempt(() => client.query(statement(random)));
      else if (kind === 1) await attempt(() => client.query(random.pick(PARAMETERISED_READS), [1 + random.below(20)]));
      else if (kind === 2) await attempt(() => client.query({ name: `named_${random.below(3)}`, text: PARAMETERISED_READS[0], values: [1 + random.below(20)] }));
      else if (kind === 3) await attempt(() => client.query(`${statement(random)}; ${statement(random)}`));
      else if (kind === 4) {
        const name = `sql_prepared_${step}`;
        const write = random.next() < 0.5;
        await attempt(() => client.query(`PREPARE ${name} AS ${write ? "INSERT INTO notes (body) VALUES ('prepared ' || $1)" : 'SELECT full_name FROM patients WHERE id = $1'}`));
        if (write && connection.readOnly && !connection.useRefusedNames) continue;
        await attempt(() => client.query(`EXECUTE ${name}(${1 + random.below(20)})`));
        await attempt(() => client.query(`DEALLOCATE ${name}`));
      } else {
        await attempt(() => client.query('BEGIN'));
        await attempt(() => client.query(`DECLARE proof_cursor_${step} CURSOR FOR SELECT id FROM patients ORDER BY id`));
        await attempt(() => client.query(`FETCH ${1 + random.below(3)} FROM proof_cursor_${step}`));
        await attempt(() => client.query(random.next() < 0.5 ? 'COMMIT' : 'ROLLBACK'));
      }
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** One session of raw protocol messages: pipelined batches of Parse/Bind/Execute, and simple queries. */
export async function wireSession(connection: WorkloadConnection, random: SeededRandom, steps: number): Promise<void> {
  const session: PgWireSession = await openPgWireSession({ port: connection.port, user: 'proof', database: connection.database, application: connection.application, password: connection.password });
  let names = 0;
  try {
    for (let step = 0; step < steps && !session.ended; step++) {
      const roll = random.next();
      if (roll < 0.1) {
        // A portal read in parts: Execute with a row limit, twice (the target logs `execute fetch from`).
        const name = `wire_${names++}`;
        await session.exchange(
          [frontend.parse({ name, text: 'SELECT id FROM patients ORDER BY id' }), frontend.bind({ portal: 'part', statement: name }), frontend.execute({ portal: 'part', rows: 2 }), frontend.execute({ portal: 'part', rows: 2 }), frontend.sync()],
          1,
        );
        continue;
      }
      if (roll < 0.15) {
        // COPY FROM STDIN with its data in the same write (a write: refused under read-only, and the
        // target ignores CopyData outside a COPY).
        const copyData = Buffer.concat([Buffer.from('d'), Buffer.alloc(4), Buffer.from('copied\n')]);
        copyData.writeInt32BE(copyData.length - 1, 1);
        await session.exchange([frontend.query('COPY notes (body) FROM STDIN'), copyData, frontend.copyDone()], 1);
        continue;
      }
      if (roll < 0.4) {
        const count = 1 + random.below(3);
        await session.exchange(frontend.query(Array.from({ length: count }, () => statement(random)).join('; ')), 1);
        continue;
      }
      const messages: Buffer[] = [];
      let syncs = 0;
      for (let command = 1 + random.below(4); command > 0; command--) {
        const named = random.next() < 0.5;
        const name = named ? `wire_${names++}` : '';
        const parameterised = random.next() < 0.3;
        const text = parameterised ? PARAMETERISED_READS[0] : statement(random);
        messages.push(frontend.parse({ name, text }));
        messages.push(frontend.bind({ statement: name, values: parameterised ? [String(1 + random.below(20))] : [] }));
        messages.push(frontend.execute({}));
        if (named && random.next() < 0.5) messages.push(frontend.close({ type: 'S', name }));
        // A Sync between commands makes separate segments; leaving it out pipelines them in one.
        if (random.next() < 0.4) {
          messages.push(frontend.sync());
          syncs++;
        }
      }
      messages.push(frontend.sync());
      syncs++;
      await session.exchange(messages, syncs);
    }
  } finally {
    await session.close();
  }
}
