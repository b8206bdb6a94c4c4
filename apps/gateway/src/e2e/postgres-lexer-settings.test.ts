/**
 * Warden parses statements as PostgreSQL does with standard_conforming_strings on and UTF-8 text.
 * A session in another state reads the same text differently: with standard_conforming_strings
 * off, `'a\'` does not end a string, so what Warden sees as two harmless SELECTs of string
 * constants the server runs as an UPDATE. These tests, against the machine's PostgreSQL through
 * the real gateway, show that every way of changing those settings is refused below `full`
 * access, that the hidden statement never runs, and that a change Warden did not see coming (a
 * function, a database default) ends or refuses the session.
 */
import { Client } from 'pg';
import { serialize } from 'pg-protocol';
import { PG, psql } from './harness';
import { type Access, clientAt } from './postgres-access-levels';
import { postgresGatewayFixture, queryAsSuperuser } from './postgres-gateway-fixture';
import { cstring, errorMessage, frontendMessage, openRawSession } from './postgres-raw-session';

const fixture = postgresGatewayFixture({
  prepare: async () => {
    // The traps are STABLE functions, written by someone with DDL rights, that change a setting from
    // inside: Warden sees only a call of a function, never the set_config in its body.
    await fixture.queryAsSuperuser(`
      CREATE TABLE canary (v text NOT NULL);
      INSERT INTO canary VALUES ('intact');
      CREATE TABLE canary_probe (v text NOT NULL);
      INSERT INTO canary_probe VALUES ('intact');
      CREATE FUNCTION lexing_trap() RETURNS text LANGUAGE sql STABLE AS $$ SELECT set_config('standard_conforming_strings', 'off', false) $$;
      CREATE FUNCTION encoding_trap() RETURNS text LANGUAGE sql STABLE AS $$ SELECT set_config('client_encoding', 'SJIS', false) $$;
    `);
  },
});

async function connect(access: Access, subject = `user-${access}`): Promise<Client> {
  const client = await clientAt(fixture.gateway, access, subject);
  await client.connect();
  // A FATAL from Warden also arrives as an 'error' event on an idle client.
  client.on('error', () => undefined);
  return client;
}

async function show(client: Client, setting: string): Promise<string> {
  const rows = (await client.query<Record<string, string>>(`SHOW ${setting}`)).rows;
  return rows[0]![setting]!;
}

/** The same attack text for any table: two string constants to Warden, an UPDATE to the server. */
function hiddenUpdate(table: string): string {
  return `SELECT 'a\\' ; SELECT '; COMMIT; BEGIN READ WRITE; UPDATE ${table} SET v = $$pwned$$; COMMIT; --'`;
}

const CANNOT_ANALYSE = /^Warden: (read-only|read-write) access does not allow this statement \(.*\): Warden cannot analyse statements under that setting$/;

describe('settings that change how the server reads statement text', () => {
  // [statement, the setting it changes, its value afterwards on a full grant (undefined: not checked)]
  const spellings: ReadonlyArray<readonly [sql: string, setting: string, after: string | undefined]> = [
    ['SET standard_conforming_strings = off', 'standard_conforming_strings', 'off'],
    ["set Standard_Conforming_Strings TO 'false'", 'standard_conforming_strings', 'off'],
    ['SET SESSION "standard_conforming_strings" = 0', 'standard_conforming_strings', 'off'],
    ["SELECT set_config('standard_conforming_strings', 'off', false)", 'standard_conforming_strings', 'off'],
    ["SELECT pg_catalog.SET_CONFIG('standard_conforming_strings', 'off', true)", 'standard_conforming_strings', undefined],
    ['BEGIN; SET LOCAL standard_conforming_strings = off', 'standard_conforming_strings', 'off'],
    ['SET standard_conforming_strings TO DEFAULT', 'standard_conforming_strings', 'on'],
    ['RESET standard_conforming_strings', 'standard_conforming_strings', 'on'],
    ["SET client_encoding = 'SJIS'", 'client_encoding', 'SJIS'],
    ["SET NAMES 'SJIS'", 'client_encoding', 'SJIS'],
    ["SET client_encoding TO 'SQL_ASCII'", 'client_encoding', 'SQL_ASCII'],
    ["SET client_encoding = 'latin1'", 'client_encoding', 'LATIN1'],
    ["SELECT set_config('client_encoding', 'BIG5', false)", 'client_encoding', 'BIG5'],
    ['SET backslash_quote = on', 'backslash_quote', 'on'],
  ];
  const UNCHANGED: Readonly<Record<string, string>> = { standard_conforming_strings: 'on', client_encoding: 'UTF8', backslash_quote: 'safe_encoding' };

  describe.each(['read-only', 'read-write'] as const)('%s access', (access) => {
    it.each(spellings)('refuses %j with 42501, and the setting stays as it was', async (sql, setting) => {
      const client = await connect(access);
      try {
        await expect(client.query(sql)).rejects.toMatchObject({ code: '42501', message: expect.stringMatching(CANNOT_ANALYSE) });
        expect(await show(client, setting)).toBe(UNCHANGED[setting]);
      } finally {
        await client.end();
      }
    });
  });

  describe('full access', () => {
    it.each(spellings)('allows %j', async (sql, setting, after) => {
      const client = await connect('full');
      try {
        await client.query(sql);
        if (after !== undefined) expect(await show(client, setting)).toBe(after);
      } finally {
        await client.end();
      }
    });
  });

  it('leaves everything else alone: UTF8 spellings, standard_conforming_strings on, escape_string_warning, RESET ALL', async () => {
    // Read-write: read-only access refuses RESET ALL and DISCARD ALL for their own reason.
    const client = await connect('read-write');
    try {
      for (const sql of ["SET client_encoding = 'utf-8'", "SET NAMES 'UTF8'", 'SET standard_conforming_strings = on', 'SET escape_string_warning = off', 'SET backslash_quote = off', 'RESET ALL', 'DISCARD ALL']) {
        await client.query(sql);
      }
      expect(await show(client, 'client_encoding')).toBe('UTF8');
    } finally {
      await client.end();
    }
  });
});

describe('the hidden-statement attack (standard_conforming_strings off, then a backslash-quote)', () => {
  it('is real: directly on a read-only session with the setting off, the hidden UPDATE runs', async () => {
    const client = new Client({ ...PG, database: fixture.database.name, options: '-c default_transaction_read_only=on' });
    await client.connect();
    try {
      await client.query('SET standard_conforming_strings = off');
      await client.query(hiddenUpdate('canary_probe'));
    } finally {
      await client.end();
    }
    expect(await fixture.queryAsSuperuser('SELECT v FROM canary_probe')).toEqual([{ v: 'pwned' }]);
  });

  it.each(['read-only', 'read-write'] as const)('through Warden with %s access: the setting is refused, the canary row is unchanged (hidden-statement bypass)', async (access) => {
    const client = await connect(access);
    try {
      await expect(client.query('SET standard_conforming_strings = off')).rejects.toMatchObject({ code: '42501' });
      await expect(client.query("SELECT set_config('standard_conforming_strings', 'off', false)")).rejects.toMatchObject({ code: '42501' });
      // The server reads the text as Warden does: two SELECTs of string constants.
      const results = (await client.query(hiddenUpdate('canary'))) as unknown as Array<{ command: string }>;
      expect(results.map((result) => result.command)).toEqual(['SELECT', 'SELECT']);
    } finally {
      await client.end();
    }
    expect(await fixture.queryAsSuperuser('SELECT v FROM canary')).toEqual([{ v: 'intact' }]);
  });
});

describe('a setting changed where Warden cannot see it', () => {
  async function sessionEnd(sessionError: RegExp): Promise<Record<string, unknown> | undefined> {
    for (let attempt = 0; attempt < 100; attempt++) {
      const end = (await fixture.gateway.auditRecords()).find((record) => record.type === 'session.end' && sessionError.test(String(record.error ?? '')));
      if (end) return end as unknown as Record<string, unknown>;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return undefined;
  }

  it.each([
    ['read-only', 'lexing_trap', 'standard_conforming_strings = off'],
    ['read-write', 'lexing_trap', 'standard_conforming_strings = off'],
    ['read-only', 'encoding_trap', 'client_encoding = SJIS'],
  ] as const)('%s access: %s() ends the session at once with a FATAL naming the setting (function-set-config tripwire)', async (access, trap, setting) => {
    const client = await connect(access, `tripwire-${access}-${trap}`);
    const ended = new Promise<void>((resolve) => client.once('end', resolve));
    const error = await client.query(`SELECT ${trap}()`).then(
      () => undefined,
      (caught: Error & { code?: string; severity?: string }) => caught,
    );
    expect(error).toMatchObject({ code: '42501', severity: 'FATAL' });
    expect(error?.message).toContain(`the target session has ${setting}, and Warden cannot analyse statements under that setting`);
    await ended;
    const end = await sessionEnd(new RegExp(setting));
    expect(end).toMatchObject({ reason: 'error' });
  });

  it('ends the session before a pipelined statement runs under the changed setting (pipelined tripwire race)', async () => {
    // Both Queries in one write: the second reaches Warden before the target has answered the first.
    const token = await fixture.gateway.token('agent-pipeline', ['coding-agents']);
    const answer = await pipelined('agent-pipeline', token, ['SELECT lexing_trap()', hiddenUpdate('canary')]);
    expect(answer.fatal).toContain('the target session has standard_conforming_strings = off');
    expect(answer.commands).not.toContain('UPDATE 1');
    expect(await fixture.queryAsSuperuser('SELECT v FROM canary')).toEqual([{ v: 'intact' }]);
  });

  it('still answers every pipelined Query of a read-only session, in order', async () => {
    const token = await fixture.gateway.token('agent-pipeline-plain', ['coding-agents']);
    const answer = await pipelined('agent-pipeline-plain', token, ['SELECT 1', 'SELECT count(*) FROM patients', 'SHOW standard_conforming_strings']);
    expect(answer).toEqual({ commands: ['SELECT 1', 'SELECT 1', 'SHOW'] });
  });

  it('answers a Query pipelined with an extended-protocol batch and another Query (no deadlock)', async () => {
    const token = await fixture.gateway.token('agent-pipeline-mixed', ['coding-agents']);
    const batch = Buffer.concat([serialize.parse({ text: 'SELECT 2' }), serialize.bind({}), serialize.execute({}), serialize.sync()]);
    const answer = await pipelined('agent-pipeline-mixed', token, ['SELECT 1', batch, 'SELECT 3'], 3);
    expect(answer).toEqual({ commands: ['SELECT 1', 'SELECT 1', 'SELECT 1'] });
  });

  it('a full grant may use such a function', async () => {
    const client = await connect('full');
    try {
      await client.query('SELECT lexing_trap()');
      expect(await show(client, 'standard_conforming_strings')).toBe('off');
    } finally {
      await client.end();
    }
  });

  it('ignores client_encoding and options in the client startup packet (psql PGCLIENTENCODING, PGOPTIONS)', async () => {
    const token = await fixture.gateway.token('agent-startup', ['coding-agents']);
    const result = await psql(fixture.gateway, token, ['-At', '-c', 'SHOW client_encoding', '-c', 'SHOW standard_conforming_strings'], {
      user: 'agent-startup',
      env: { PGCLIENTENCODING: 'SJIS', PGOPTIONS: '-c standard_conforming_strings=off -c client_encoding=SJIS' },
    });
    expect(result.stderr).toBe('');
    expect(result.stdout.trim().split('\n')).toEqual(['UTF8', 'on']);
  });
});

describe('a target database whose default is standard_conforming_strings = off', () => {
  const off = postgresGatewayFixture({
    prepare: async () => {
      await queryAsSuperuser('postgres', `ALTER DATABASE ${off.database.name} SET standard_conforming_strings = off`);
    },
  });

  it.each(['read-only', 'read-write'] as const)('refuses %s sessions at login with a FATAL that says why', async (access) => {
    const subject = `login-${access}`;
    const client = await clientAt(off.gateway, access, subject);
    const error = await client.connect().then(
      () => undefined,
      (caught: Error & { code?: string; severity?: string }) => caught,
    );
    await client.end().catch(() => undefined);
    expect(error).toMatchObject({ code: '42501', severity: 'FATAL' });
    expect(error?.message).toBe(
      `Warden: the target session has standard_conforming_strings = off, and Warden cannot analyse statements under that setting (it reads them with standard_conforming_strings = on); ${access} sessions are refused until it is reset`,
    );
  });

  it('lets a full grant in, with the database default in place', async () => {
    const client = await clientAt(off.gateway, 'full', 'login-full');
    await client.connect();
    try {
      expect(await show(client, 'standard_conforming_strings')).toBe('off');
    } finally {
      await client.end();
    }
  });
});

/**
 * Sends `queries` as simple Query messages in one write after logging in (a client that pipelines,
 * which node-postgres and psql do not), and collects the CommandComplete tags and the FATAL message.
 * https://www.postgresql.org/docs/current/protocol-message-formats.html
 */
function pipelined(user: string, token: string, queries: ReadonlyArray<string | Buffer>, expectedAnswers = queries.length): Promise<{ commands: string[]; fatal?: string }> {
  return new Promise((resolve, reject) => {
    const commands: string[] = [];
    let fatal: string | undefined;
    let sent = false;
    const socket = openRawSession(fixture.gateway.port, { user, database: 'clinic' }, token, (code, body) => {
      if (code === 'Z' && !sent) {
        sent = true;
        socket.write(Buffer.concat(queries.map((query) => (typeof query === 'string' ? frontendMessage('Q', cstring(query)) : query))));
      } else if (code === 'C') commands.push(body.toString('utf8', 0, body.length - 1));
      else if (code === 'E' && body.toString('utf8').split('\0').includes('SFATAL')) fatal = errorMessage(body);
      else if (code === 'Z' && commands.length + (fatal ? 1 : 0) >= expectedAnswers) socket.end();
    });
    socket.on('error', reject);
    socket.on('close', () => resolve({ commands, ...(fatal === undefined ? {} : { fatal }) }));
  });
}
