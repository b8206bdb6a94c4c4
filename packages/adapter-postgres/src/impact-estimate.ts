import { WardenError, type ImpactEstimate } from '@warden/core';
import { serialize } from 'pg-protocol';
import { Parser } from 'pg-protocol/dist/parser';
import type { PostgresTarget } from './postgres-target';
import { connectTarget } from './target-connection';

const ESTIMATE_TIMEOUT_MS = 3000;

/**
 * The planner's estimate of the rows a held statement would touch, for the people asked to approve
 * it. The statement is never executed: it is planned with `EXPLAIN (FORMAT JSON)` (no ANALYZE) on a
 * separate, short-lived connection opened read-only with Warden's credentials, through the extended
 * protocol, which refuses more than one statement — so client text can never run anything there.
 */
export async function estimateImpact(target: PostgresTarget, statement: string): Promise<ImpactEstimate> {
  const connection = await connectTarget({
    target,
    parameters: { application_name: 'warden-approval-estimate', default_transaction_read_only: 'on', statement_timeout: String(ESTIMATE_TIMEOUT_MS) },
    timeoutMs: ESTIMATE_TIMEOUT_MS,
  });
  const { socket } = connection;
  try {
    const plan = await new Promise<string>((resolve, reject) => {
      const parser = new Parser();
      let text: string | undefined;
      let failure: string | undefined;
      const timer = setTimeout(() => reject(new WardenError('target-unavailable', 'the planner did not answer in time')), ESTIMATE_TIMEOUT_MS);
      socket.on('error', (error) => reject(error));
      socket.on('close', () => reject(new WardenError('target-unavailable', 'the estimate connection closed')));
      socket.on('data', (chunk: Buffer) =>
        parser.parse(chunk, (message) => {
          if (message.name === 'dataRow') text ??= (message as unknown as { fields: string[] }).fields[0];
          else if (message.name === 'error') failure ??= (message as unknown as { message: string }).message;
          else if (message.name === 'readyForQuery') {
            clearTimeout(timer);
            if (failure !== undefined || text === undefined) reject(new WardenError('target-unavailable', failure ?? 'no plan'));
            else resolve(text);
          }
        }),
      );
      socket.write(
        Buffer.concat([
          serialize.parse({ name: '', text: `EXPLAIN (FORMAT JSON) ${statement}`, types: [] }),
          serialize.bind({ portal: '', statement: '', values: [] }),
          serialize.execute({ portal: '', rows: 0 }),
          serialize.sync(),
        ]),
      );
    });
    const rows = planRows(plan);
    return rows === undefined ? { source: 'planner (no row estimate)' } : { rows, source: 'planner' };
  } finally {
    socket.end(serialize.end());
  }
}

/** `Plan Rows` of the top plan node, from `EXPLAIN (FORMAT JSON)` output. */
function planRows(json: string): number | undefined {
  const parsed = JSON.parse(json) as Array<{ Plan?: { 'Plan Rows'?: unknown; Plans?: Array<{ 'Plan Rows'?: unknown }> } }>;
  const top = parsed[0]?.Plan;
  // A ModifyTable node reports 0 rows (it returns none without RETURNING); its input is what it touches.
  const input = top?.Plans?.[0]?.['Plan Rows'];
  const rows = typeof input === 'number' ? input : top?.['Plan Rows'];
  return typeof rows === 'number' ? rows : undefined;
}
