/**
 * Postgres attacks: steps are what goes on the wire, in a session of the attack's own opened with
 * the bare protocol client, so that nothing a driver would tidy up gets in the way.
 */
import { randomBytes } from 'node:crypto';
import { FILE_PLACEHOLDER, type Attack } from './attack';
import { frontend, openPgWireSession, type BackendMessage } from './postgres-wire';

/**
 * A step: SQL text as one simple Query; `extended` as Parse/Bind/Execute/Sync (named when `name` is
 * given, with text parameters); `messages` as raw frontend messages, sent in one write.
 */
export type PgStep = string | { readonly extended: string; readonly name?: string; readonly params?: readonly string[] } | { readonly messages: readonly Buffer[] };

export type PostgresAttack = Attack<PgStep> & {
  /** Extra StartupMessage parameters (beside user, database, application_name). */
  readonly startup?: Readonly<Record<string, string>>;
};

export interface StepAnswer {
  readonly messages: readonly BackendMessage[];
  /** The first ErrorResponse of the step, if any. */
  readonly error?: BackendMessage;
}

export interface AttackRun {
  readonly application: string;
  readonly answers: readonly StepAnswer[];
  /** The path `{{file}}` stood for (it must not exist afterwards). */
  readonly file: string;
}

const QUERY = 'Q'.charCodeAt(0);
const SYNC = 'S'.charCodeAt(0);
const FUNCTION_CALL = 'F'.charCodeAt(0);

function stepMessages(step: PgStep, file: string): { bytes: Buffer[]; readyForQuery: number } {
  if (typeof step === 'string') return { bytes: [frontend.query(step.replaceAll(FILE_PLACEHOLDER, file))], readyForQuery: 1 };
  if ('extended' in step) {
    const name = step.name ?? '';
    return {
      bytes: [frontend.parse({ name, text: step.extended.replaceAll(FILE_PLACEHOLDER, file) }), frontend.bind({ statement: name, values: [...(step.params ?? [])] }), frontend.execute({}), frontend.sync()],
      readyForQuery: 1,
    };
  }
  // Every simple Query, FunctionCall and Sync is answered with one ReadyForQuery.
  return { bytes: [...step.messages], readyForQuery: step.messages.filter((message) => message[0] === QUERY || message[0] === SYNC || message[0] === FUNCTION_CALL).length };
}

export async function runPostgresAttack(attack: PostgresAttack, connection: { port: number; database: string; password: string }): Promise<AttackRun> {
  // PostgreSQL keeps 63 bytes of an application_name: the id is cut so that the unique suffix stays.
  const application = `attack-${attack.id.slice(0, 46)}-${randomBytes(3).toString('hex')}`;
  const file = `/tmp/warden-redteam-${randomBytes(6).toString('hex')}`;
  const answers: StepAnswer[] = [];
  let session;
  try {
    session = await openPgWireSession({ ...connection, user: 'redteam', application, ...(attack.startup ? { startup: attack.startup } : {}) });
  } catch (error) {
    // Refused at startup: every step counts as answered with that refusal.
    const refusal = (error as { refusal?: BackendMessage }).refusal;
    if (!refusal) throw error;
    return { application, answers: attack.steps.map(() => ({ messages: [refusal], error: refusal })), file };
  }
  try {
    for (const step of attack.steps) {
      const { bytes, readyForQuery } = stepMessages(step, file);
      const messages = session.ended ? [] : await session.exchange(bytes, readyForQuery);
      const error = messages.find((message) => message.code === 'E');
      answers.push({ messages, ...(error ? { error } : {}) });
    }
  } finally {
    await session.close();
  }
  return { application, answers, file };
}
