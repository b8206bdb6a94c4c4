/**
 * Temporary tables are the session's own: a read-write grant may create, fill and drop them (a
 * write), a read-only grant may not, and a permanent table stays DDL. Postgres and MariaDB, through
 * Warden, with what the target holds afterwards checked behind Warden's back.
 */
import { Client } from 'pg';
import { postgresGatewayFixture } from './postgres-gateway-fixture';
import { mysqlGatewayFixture } from './mysql-harness';

describe('Postgres temporary tables', () => {
  const fixture = postgresGatewayFixture();

  async function connect(groups: string[], subject: string): Promise<Client> {
    const client = new Client({ host: '127.0.0.1', port: fixture.gateway.port, user: subject, database: 'clinic', password: await fixture.gateway.token(subject, groups) });
    await client.connect();
    return client;
  }

  it('lets a read-write grant create, fill and read a temporary table, audited as a write', async () => {
    const client = await connect(['clinicians'], 'nurse-temp');
    try {
      await client.query('CREATE TEMP TABLE scratch (id int, label text)');
      await client.query("INSERT INTO scratch VALUES (1, 'one'), (2, 'two')");
      await client.query('CREATE TEMPORARY TABLE picked AS SELECT id FROM scratch WHERE id > 1');
      expect((await client.query('SELECT count(*)::int AS n FROM picked')).rows).toEqual([{ n: 1 }]);
    } finally {
      await client.end();
    }
    const records = await fixture.gateway.auditRecords();
    const created = records.find((record) => record.type === 'command' && record.text === 'CREATE TEMP TABLE scratch (id int, label text)');
    expect(created).toMatchObject({ classification: { action: 'write' }, decision: { effect: 'allow' } });
  });

  it('refuses a temporary table to a read-only grant and a permanent one to a read-write grant', async () => {
    const agent = await connect(['coding-agents'], 'agent-temp');
    try {
      await expect(agent.query('CREATE TEMP TABLE scratch (id int)')).rejects.toMatchObject({ code: '42501', message: expect.stringMatching(/read-only access does not allow write/) });
    } finally {
      await agent.end();
    }
    const nurse = await connect(['clinicians'], 'nurse-permanent');
    try {
      await expect(nurse.query('CREATE TABLE kept (id int)')).rejects.toMatchObject({ code: '42501' });
      // Joining a permanent table's schema is DDL, temporary or not.
      await expect(nurse.query('CREATE TEMP TABLE child () INHERITS (patients)')).rejects.toMatchObject({ code: '42501' });
    } finally {
      await nurse.end();
    }
    const tables = await fixture.queryAsSuperuser<{ relname: string }>("SELECT relname FROM pg_class WHERE relname IN ('kept', 'child') AND relkind = 'r'");
    expect(tables).toEqual([]);
  });
});

describe('MariaDB temporary tables', () => {
  const fixture = mysqlGatewayFixture();

  it('lets a read-write grant create, fill, read and drop a temporary table; a read-only grant may not', async () => {
    const nurse = await fixture.connectAs('nurse-temp', ['clinicians']);
    try {
      await nurse.query('CREATE TEMPORARY TABLE scratch (id int)');
      await nurse.query('INSERT INTO scratch VALUES (1), (2)');
      const [rows] = await nurse.query('SELECT count(*) AS n FROM scratch');
      expect(rows).toEqual([{ n: 2 }]);
      await nurse.query('DROP TEMPORARY TABLE scratch');
      await expect(nurse.query('CREATE TABLE kept (id int)')).rejects.toMatchObject({ errno: 1142 });
    } finally {
      await nurse.end();
    }
    const agent = await fixture.connectAs('agent-temp', ['coding-agents']);
    try {
      await expect(agent.query('CREATE TEMPORARY TABLE scratch (id int)')).rejects.toMatchObject({ errno: 1142, message: expect.stringMatching(/read-only access does not allow write/) });
    } finally {
      await agent.end();
    }
    const tables = await fixture.queryAsRoot<unknown[]>("SHOW TABLES LIKE 'kept'");
    expect(tables).toEqual([]);
  });
});
