import { WardenError } from '@warden/core';
import type { MysqlTarget } from './mysql-target';
import { DEFAULT_COLLATION } from './protocol';
import { connectTarget } from './target-connection';

/**
 * Stops the statement a target thread is running (`KILL QUERY <thread>`) through a second
 * connection with Warden's own credentials, as MySQL clients do on Ctrl-C. Warden's account may
 * kill its own threads without any privilege. Resolves once the target has acknowledged it.
 */
export async function killQueryOnTarget(target: MysqlTarget, threadId: number): Promise<void> {
  if (!Number.isInteger(threadId) || threadId <= 0) throw new WardenError('internal', 'invalid target thread id');
  const connection = await connectTarget({
    target,
    clientCapabilities: 0,
    collation: DEFAULT_COLLATION,
    database: target.database,
    setup: [`KILL QUERY ${threadId}`],
    attributes: new Map([['program_name', 'warden:kill']]),
  });
  connection.socket.destroy();
}
