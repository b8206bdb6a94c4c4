/**
 * MySQL attacks: steps are COM_QUERY texts (mysql2's `query`, multi-statements allowed) or
 * prepared statements (`execute`: COM_STMT_PREPARE then COM_STMT_EXECUTE), in a session of the
 * attack's own through Warden (TLS, the token as password). The session's first statement asks the
 * target for its thread id, to read the target's general log of exactly this connection.
 */
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { FILE_PLACEHOLDER, type Attack } from './attack';

/**
 * A step: SQL text as COM_QUERY; `execute` as COM_STMT_PREPARE then COM_STMT_EXECUTE;
 * `executeLastPrepared` as COM_STMT_PREPARE then COM_STMT_EXECUTE of statement id 0xFFFFFFFF
 * (MariaDB: the statement prepared last); `reset` as COM_RESET_CONNECTION; `changeUser` as
 * COM_CHANGE_USER to that account (no password).
 */
export type MysqlStep =
  | string
  | { readonly execute: string; readonly params?: readonly (string | number)[] }
  | { readonly executeLastPrepared: string }
  | { readonly reset: true }
  | { readonly changeUser: string };

export type MysqlAttack = Attack<MysqlStep>;

export interface MysqlAnswer {
  /** The error number (`1142` for Warden's refusals), when the step failed. */
  readonly errno?: string;
  readonly message?: string;
}

export interface MysqlAttackRun {
  readonly application: string;
  readonly threadId?: number;
  readonly answers: readonly MysqlAnswer[];
  readonly file: string;
}

/** The first statement of every attack session; the general log is read from it on. */
export const THREAD_ID_QUERY = 'SELECT CONNECTION_ID() AS thread';

export async function openMysqlSession(options: { port: number; database: string; password: string; application: string }): Promise<{ connection: mysql.Connection; threadId: number }> {
  const connection = await mysql.createConnection({
    host: '127.0.0.1',
    port: options.port,
    user: 'redteam',
    password: options.password,
    database: options.database,
    multipleStatements: true,
    ssl: { rejectUnauthorized: false },
    connectAttributes: { program_name: options.application },
  });
  connection.on('error', () => undefined);
  const [rows] = await connection.query(THREAD_ID_QUERY);
  return { connection, threadId: Number((rows as { thread: number }[])[0]!.thread) };
}

export async function runMysqlAttack(attack: MysqlAttack, options: { port: number; database: string; password: string }): Promise<MysqlAttackRun> {
  const application = `attack-${attack.id}-${randomBytes(3).toString('hex')}`;
  const file = `/tmp/warden-redteam-${randomBytes(6).toString('hex')}`;
  const { connection, threadId } = await openMysqlSession({ ...options, application });
  const answers: MysqlAnswer[] = [];
  try {
    for (const step of attack.steps) {
      try {
        if (typeof step === 'string') await connection.query(step.replaceAll(FILE_PLACEHOLDER, file));
        else if ('execute' in step) await connection.execute(step.execute.replaceAll(FILE_PLACEHOLDER, file), [...(step.params ?? [])]);
        else if ('executeLastPrepared' in step) await executeLastPrepared(connection, step.executeLastPrepared.replaceAll(FILE_PLACEHOLDER, file));
        else if ('reset' in step) await connection.reset();
        else await connection.changeUser({ user: step.changeUser, password: '' });
        answers.push({});
      } catch (error) {
        const { errno, message } = error as { errno?: number; message?: string };
        answers.push({ errno: String(errno ?? 'none'), message: message ?? String(error) });
      }
    }
  } finally {
    await connection.end().catch(() => undefined);
  }
  return { application, threadId, answers, file };
}

/** MariaDB's statement id for "the statement prepared last" in COM_STMT_EXECUTE. */
const LAST_PREPARED_STATEMENT_ID = 0xffffffff;

/** Prepares `text`, then executes it by id 0xFFFFFFFF through another statement's object (mysql2 sends the id it holds). */
async function executeLastPrepared(connection: mysql.Connection, text: string): Promise<void> {
  const carrier = await connection.prepare('SELECT 1');
  await connection.prepare(text);
  (carrier as unknown as { statement: { id: number } }).statement.id = LAST_PREPARED_STATEMENT_ID;
  await carrier.execute([]);
}
