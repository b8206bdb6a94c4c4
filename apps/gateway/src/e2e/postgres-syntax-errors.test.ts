/**
 * Syntax errors in the client's own terms: a statement Warden's parser cannot read is refused, but
 * the client sees what PostgreSQL itself says about it (42601 with its position, the transaction
 * aborted), because Warden asks the target only to parse it. A text the target accepts and Warden
 * cannot analyse is refused as such, and nothing of it runs. psql, node-postgres and raw protocol
 * messages, each compared with the same client talking to the machine's PostgreSQL directly.
 */
import { once } from 'node:events';
import net from 'node:net';
import { createPostgresAdapter } from '@warden/adapter-postgres';
import type { AdapterFactory, AuditRecord, Classification } from '@warden/core';
import { classifyPostgres } from '@warden/sql';
import { Client, type DatabaseError } from 'pg';
import { serialize } from 'pg-protocol';
import { createTestDatabase, PG, psql, run, startTestGateway, type TestGateway } from './harness';

/** Texts carrying this comment are ones Warden's parser "rejects" (the target's accepts them). */
const UNPARSEABLE = '/* warden-test: unparseable */';

/** The real classifier, except that texts marked UNPARSEABLE get the classification of a parse error. */
function rejectMarked(sql: string): Classification {
  if (!sql.includes(UNPARSEABLE)) return classifyPostgres(sql);
  return { action: 'unknown', objects: [], bulk: false, statementCount: 1, statements: [{ action: 'unknown', objects: [], bulk: false, note: 'parse error: syntax error at or near "warden"' }] };
}

const ADAPTERS: ReadonlyMap<string, AdapterFactory<unknown>> = new Map([['postgres', createPostgresAdapter({ testOnlyClassifier: rejectMarked }) as AdapterFactory<unknown>]]);

let database: { name: string; drop(): Promise<void> };
let gateway: TestGateway;

beforeAll(async () => {
  database = await createTestDatabase();
  const seed = new Client({ ...PG, database: database.name });
  await seed.connect();
  await seed.query(`CREATE TABLE canary (id int PRIMARY KEY, note text); INSERT INTO canary VALUES (1, 'alive')`);
  await seed.end();
  gateway = await startTestGateway({ database: database.name, adapters: ADAPTERS });
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  await database?.drop();
});

afterEach(async () => {
  // Nothing a test sends changes the canary, on the target itself.
  expect(await canary()).toEqual([{ id: 1, note: 'alive' }]);
});

async function canary(): Promise<Array<{ id: number; note: string }>> {
  const direct = new Client({ ...PG, database: database.name });
  await direct.connect();
  try {
    return (await direct.query<{ id: number; note: string }>('SELECT id, note FROM canary ORDER BY id')).rows;
  } finally {
    await direct.end();
  }
}

/** psql through Warden and psql straight to the target, same script: their outputs. */
async function psqlBothWays(script: string, args: readonly string[] = []): Promise<{ warden: string; direct: string }> {
  const token = await gateway.token('agent-1', ['coding-agents']);
  const viaWarden = await psql(gateway, token, args, { input: script });
  const direct = await run('psql', [`host=${PG.host} port=${PG.port} user=${PG.user} dbname=${database.name} sslmode=disable`, '-X', '-v', 'ON_ERROR_STOP=0', ...args], { input: script });
  return { warden: viaWarden.stdout + viaWarden.stderr, direct: direct.stdout + direct.stderr };
}

/** One answer from the server, as the client receives it: every error field, the transaction status. */
interface Answer {
  readonly type: string;
  readonly fields?: Readonly<Record<string, string>>;
  readonly status?: string;
}

/** Raw protocol messages, pipelined, through Warden or straight to the target. */
class RawSession {
  private buffered = Buffer.alloc(0);
  private readonly answers: Answer[] = [];
  private waiter: (() => void) | undefined;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      while (this.buffered.length >= 5 && this.buffered.length >= 1 + this.buffered.readInt32BE(1)) {
        const end = 1 + this.buffered.readInt32BE(1);
        this.answers.push(decode(String.fromCharCode(this.buffered[0]!), this.buffered.subarray(5, end)));
        this.buffered = this.buffered.subarray(end);
      }
      this.waiter?.();
    });
  }

  static async viaWarden(user: string, groups: string[]): Promise<RawSession> {
    const session = await RawSession.connect(gateway.port);
    session.socket.write(serialize.startup({ user, database: 'clinic' }));
    const password = await gateway.token(user, groups);
    await session.until((answers) => answers.some((a) => a.type === 'R'));
    session.socket.write(serialize.password(password));
    await session.untilReady(1);
    return session;
  }

  static async direct(): Promise<RawSession> {
    const session = await RawSession.connect(PG.port);
    session.socket.write(serialize.startup({ user: PG.user, database: database.name }));
    await session.untilReady(1);
    return session;
  }

  private static async connect(port: number): Promise<RawSession> {
    const socket = net.connect({ host: '127.0.0.1', port });
    await once(socket, 'connect');
    return new RawSession(socket);
  }

  /** Sends the messages in one write (pipelined) and returns the answers up to `ready` ReadyForQuery. */
  async exchange(ready: number, ...messages: Buffer[]): Promise<Answer[]> {
    this.socket.write(Buffer.concat(messages));
    return this.untilReady(ready);
  }

  async untilReady(count: number): Promise<Answer[]> {
    let upTo = 0;
    await this.until((answers) => {
      let seen = 0;
      for (upTo = 0; upTo < answers.length && seen < count; upTo++) if (answers[upTo]!.type === 'Z') seen++;
      return seen === count;
    });
    // What differs between two connections (settings reports, notices) is not compared.
    return this.answers.splice(0, upTo).filter((answer) => answer.type !== 'S' && answer.type !== 'N');
  }

  private until(done: (answers: readonly Answer[]) => boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer; got ${JSON.stringify(this.answers)}`)), 5000);
      const check = () => {
        if (!done(this.answers)) return;
        clearTimeout(timer);
        this.waiter = undefined;
        resolve();
      };
      this.waiter = check;
      check();
    });
  }

  close(): void {
    this.socket.end(serialize.end());
  }
}

function decode(type: string, body: Buffer): Answer {
  if (type === 'E') {
    const fields: Record<string, string> = {};
    let at = 0;
    while (at < body.length && body[at] !== 0) {
      const zero = body.indexOf(0, at + 1);
      fields[String.fromCharCode(body[at]!)] = body.toString('utf8', at + 1, zero);
      at = zero + 1;
    }
    return { type, fields };
  }
  if (type === 'Z') return { type, status: String.fromCharCode(body[0]!) };
  return { type };
}

/** The same pipelined messages through Warden (as `user`) and straight to the target. */
async function bothWays(user: string, groups: string[], ready: number, ...messages: Buffer[]): Promise<{ warden: Answer[]; direct: Answer[] }> {
  const viaWarden = await RawSession.viaWarden(user, groups);
  const direct = await RawSession.direct();
  try {
    return { warden: await viaWarden.exchange(ready, ...messages), direct: await direct.exchange(ready, ...messages) };
  } finally {
    viaWarden.close();
    direct.close();
  }
}

async function pgClient(user: string, groups: string[]): Promise<Client> {
  const client = new Client({ host: '127.0.0.1', port: gateway.port, user, database: 'clinic', password: await gateway.token(user, groups) });
  await client.connect();
  return client;
}

function failure(promise: Promise<unknown>): Promise<DatabaseError> {
  return promise.then(
    () => {
      throw new Error('expected the query to fail');
    },
    (error: DatabaseError) => error,
  );
}

type CommandRecord = Extract<AuditRecord, { type: 'command' }>;

/**
 * The audit record of the command whose text `matches`, and the syntax-check event of its session,
 * once both are written (events are written in the background, after the answer).
 */
async function syntaxCheckOf(matches: (text: string) => boolean): Promise<{ command: CommandRecord | undefined; checked: AuditRecord | undefined }> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const records = await gateway.auditRecords();
    const command = records.find((r): r is CommandRecord => r.type === 'command' && matches(r.text));
    const checked = records.find((r) => r.type === 'session.event' && r.name === 'syntax-check' && r.sessionId === command?.sessionId);
    if (checked || Date.now() > deadline) return { command, checked };
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const { parse, bind, execute, sync, query } = serialize;

const CANNOT_ANALYSE = `Warden: Warden cannot analyse this statement (parse error: syntax error at or near "warden"), which the target accepts; it is refused`;

describe('a syntax error is the target’s own', () => {
  it('psql shows the same syntax error, LINE and caret through Warden as straight from PostgreSQL', async () => {
    const { warden, direct } = await psqlBothWays('SELEC 1;\nSELECT id\n  FROM canary WHER id = 1;\n');
    expect(warden).toContain('ERROR:  syntax error at or near "SELEC"\nLINE 1: SELEC 1;\n        ^');
    expect(warden).toBe(direct);
  });

  it('psql with VERBOSITY verbose: the same SQLSTATE and every field', async () => {
    const { warden, direct } = await psqlBothWays('SELEC 1;\n', ['-v', 'VERBOSITY=verbose']);
    expect(warden).toContain('ERROR:  42601: syntax error at or near "SELEC"');
    expect(warden).toBe(direct);
  });

  it('aborts the open transaction like a real syntax error: the next statement gets 25P02 from the target', async () => {
    const { warden, direct } = await psqlBothWays('BEGIN;\nSELEC 1;\nSELECT 1;\nROLLBACK;\n');
    expect(warden).toContain('ERROR:  current transaction is aborted, commands ignored until end of transaction block');
    expect(warden).toBe(direct);
  });

  it('runs nothing of a Query with several statements and a syntax error in the last (as PostgreSQL parses it whole first)', async () => {
    const { warden, direct } = await bothWays('nurse-1', ['clinicians'], 1, query("UPDATE canary SET note = 'changed' WHERE id = 1; SELEC 1"));
    expect(warden.map((a) => a.type)).toEqual(['E', 'Z']);
    expect(warden[0]!.fields).toMatchObject({ C: '42601', M: 'syntax error at or near "SELEC"', P: '50' });
    expect(warden).toEqual(direct);
  });

  it('answers pipelined raw messages exactly as the target does: the syntax error in its place, the transaction status right', async () => {
    const messages = [
      query('BEGIN'),
      parse({ text: 'SELECT 1' }),
      bind({}),
      execute({}),
      sync(),
      query('SELEC 2'),
      parse({ text: 'SELECT 3' }),
      bind({}),
      execute({}),
      sync(),
      query('ROLLBACK'),
      query('SELEC 4'),
      query('SELECT 5'),
      // The extended protocol's own syntax error: the target's answer to the Parse.
      parse({ text: 'SELEC 6' }),
      bind({}),
      execute({}),
      sync(),
      query('SELECT 7'),
    ];
    const { warden, direct } = await bothWays('agent-2', ['coding-agents'], 9, ...messages);
    expect(warden.filter((a) => a.type === 'Z').map((a) => a.status)).toEqual(['T', 'T', 'E', 'E', 'I', 'I', 'I', 'I', 'I']);
    expect(warden.filter((a) => a.type === 'E').map((a) => a.fields?.['C'])).toEqual(['42601', '25P02', '42601', '42601']);
    expect(warden).toEqual(direct);
  });

  it('a Query inside an unfinished extended-protocol batch is refused by Warden as before, and the session goes on', async () => {
    const { warden, direct } = await bothWays('agent-5', ['coding-agents'], 2, parse({ text: 'SELECT 1' }), bind({}), execute({}), query('SELEC 2'), sync());
    expect(warden.map((a) => a.type)).toEqual(direct.map((a) => a.type));
    expect(warden.find((a) => a.type === 'E')!.fields).toMatchObject({ C: '42501', M: 'Warden: Warden could not classify the statement (parse error: syntax error at or near "SELEC"); it is refused' });
  });

  it('node-postgres: the syntax error is a DatabaseError with code 42601 and its position, and the session goes on', async () => {
    const client = await pgClient('agent-3', ['coding-agents']);
    try {
      const error = await failure(client.query('SELECT id FROM canary WHER id = 1'));
      expect(error.message).toBe('syntax error at or near "id"');
      expect(error).toMatchObject({ code: '42601', position: '28' });
      // Pipelined in node-postgres: queued queries around a syntax error each get their own answer.
      const [first, second, third, fourth] = await Promise.allSettled([
        client.query('SELECT 1 AS n'),
        client.query('SELEC 2'),
        // Extended protocol: the target rejects the Parse itself, before Warden's refusal of the Execute.
        client.query({ text: 'SELECT $1::int AS n WHER true', values: [3] }),
        client.query({ text: 'SELECT $1::int AS n', values: [4] }),
      ]);
      expect(first).toMatchObject({ status: 'fulfilled', value: { rows: [{ n: 1 }] } });
      expect(second).toMatchObject({ status: 'rejected', reason: { code: '42601', position: '1' } });
      expect(third).toMatchObject({ status: 'rejected', reason: { code: '42601', position: '21' } });
      expect(fourth).toMatchObject({ status: 'fulfilled', value: { rows: [{ n: 4 }] } });
    } finally {
      await client.end();
    }
  });

  it('records the refused statement in the audit log as a refusal', async () => {
    const client = await pgClient('agent-4', ['coding-agents']);
    try {
      await failure(client.query('SELEC 42 AS audited_syntax_error'));
    } finally {
      await client.end();
    }
    const { command, checked } = await syntaxCheckOf((text) => text.includes('audited_syntax_error'));
    expect(command).toMatchObject({ classification: { action: 'unknown' }, decision: { effect: 'block', rule: 'fail-closed' } });
    // What the target said of it: a SQLSTATE, no message (a message can quote the text's values).
    expect(checked).toMatchObject({ detail: { commandSeq: command!.commandSeq, targetAccepted: false, targetError: '42601' } });
  });
});

describe('a text the target accepts and Warden cannot analyse', () => {
  it('is refused with "cannot analyse", even on full access, and the canary is unchanged', async () => {
    const client = await pgClient('dba-1', ['dba']);
    try {
      const error = await failure(client.query(`UPDATE canary SET note = 'changed' WHERE id = 1 ${UNPARSEABLE}`));
      expect(error).toMatchObject({ code: '42501', message: CANNOT_ANALYSE });
      // The session goes on.
      expect((await client.query('SELECT 1 AS n')).rows).toEqual([{ n: 1 }]);
    } finally {
      await client.end();
    }
  });

  it('is refused as "cannot analyse" with Warden’s real parser: system_user, a reserved word since PostgreSQL 16, as an alias PostgreSQL 15 accepts', async () => {
    const update = "UPDATE canary system_user SET note = 'changed' WHERE system_user.id = 1";
    // The target runs it (rolled back here): a real difference between the two parsers.
    const direct = new Client({ ...PG, database: database.name });
    await direct.connect();
    try {
      await direct.query('BEGIN');
      expect((await direct.query(update)).rowCount).toBe(1);
      await direct.query('ROLLBACK');
    } finally {
      await direct.end();
    }
    const client = await pgClient('dba-5', ['dba']);
    try {
      const error = await failure(client.query(update));
      expect(error).toMatchObject({ code: '42501' });
      expect(error.message).toBe('Warden: Warden cannot analyse this statement (parse error: syntax error at or near "system_user"), which the target accepts; it is refused');
    } finally {
      await client.end();
    }
    const { command, checked } = await syntaxCheckOf((text) => text.startsWith('UPDATE canary system_user'));
    expect(command).toMatchObject({ decision: { effect: 'block', rule: 'fail-closed' } });
    expect(checked).toMatchObject({ detail: { commandSeq: command!.commandSeq, targetAccepted: true } });
  });

  it('with several valid statements is refused as "cannot analyse", not as the target’s "multiple commands" error', async () => {
    const client = await pgClient('dba-2', ['dba']);
    try {
      const error = await failure(client.query(`UPDATE canary SET note = 'changed' WHERE id = 1; SELECT 1 ${UNPARSEABLE}`));
      expect(error).toMatchObject({ code: '42501', message: CANNOT_ANALYSE });
    } finally {
      await client.end();
    }
  });

  it('aborts an open transaction like every refusal', async () => {
    const client = await pgClient('dba-3', ['dba']);
    try {
      await client.query('BEGIN');
      expect(await failure(client.query(`UPDATE canary SET note = 'changed' WHERE id = 1 ${UNPARSEABLE}`))).toMatchObject({ code: '42501' });
      expect(await failure(client.query('SELECT 1'))).toMatchObject({ code: '25P02' });
      await client.query('ROLLBACK');
    } finally {
      await client.end();
    }
  });

  it('is refused as "cannot analyse" at its Execute, after the target accepted its Parse (extended protocol)', async () => {
    const session = await RawSession.viaWarden('dba-4', ['dba']);
    try {
      const answers = await session.exchange(1, parse({ text: `UPDATE canary SET note = 'changed' WHERE id = 1 ${UNPARSEABLE}` }), bind({}), execute({}), sync());
      expect(answers.map((a) => a.type)).toEqual(['1', '2', 'E', 'Z']);
      expect(answers[2]!.fields).toMatchObject({ C: '42501', M: CANNOT_ANALYSE });
    } finally {
      session.close();
    }
  });
});
