/**
 * Approvers of a MySQL write see the target's row estimate, as for Postgres: Warden runs `EXPLAIN`
 * (never the statement) on a second, read-only connection with its own credentials. When EXPLAIN
 * cannot plan the statement, the request simply carries no estimate.
 */
import { mysqlGatewayFixture } from './mysql-harness';

let adminUrl: string;

const fixture = mysqlGatewayFixture({
  prepare: async () => {
    await fixture.queryAsRoot("INSERT INTO notes (body) SELECT CONCAT('note ', seq) FROM seq_1_to_40");
    await fixture.queryAsRoot('ANALYZE TABLE notes');
    // A write hidden in a DETERMINISTIC function, into a table no rollback restores: the optimizer
    // evaluates such a function while EXPLAIN plans a statement that calls it.
    await fixture.queryAsRoot('CREATE TABLE hits (id INT AUTO_INCREMENT PRIMARY KEY) ENGINE=Aria');
    await fixture.queryAsRoot('CREATE FUNCTION add_hit() RETURNS INT DETERMINISTIC MODIFIES SQL DATA BEGIN INSERT INTO hits VALUES (NULL); RETURN 1; END');
  },
  rules: `
  - name: review-note-writes
    match: { connection: clinic-my, action: write, objects: [notes] }
    effect: review
    approvers: [clinical-leads]
    reason: changing clinical notes needs a clinical lead
    approval: { mode: retry, ttlSeconds: 600 }`,
  extraTopLevel: `
admin: { listen: 127.0.0.1:0 }`,
});

beforeAll(() => {
  adminUrl = fixture.gateway.gateway.admin!.url;
});

interface Requested {
  readonly id: string;
  readonly text: string;
  readonly estimate?: { readonly rows?: number; readonly source: string };
}

async function noteCount(table = 'notes'): Promise<number> {
  const rows = await fixture.queryAsRoot<Array<{ n: number }>>(`SELECT COUNT(*) AS n FROM ${table}`);
  return Number(rows[0]!.n);
}

/** Runs `statement` as a clinician: refused for review; returns the approval request the approver sees. */
async function requestFor(statement: string): Promise<Requested> {
  const connection = await fixture.connectAs('nurse-est', ['clinicians'], { user: 'nurse-est' });
  try {
    const refused = await connection.query(statement).then(
      () => undefined,
      (error: Error & { errno?: number }) => error,
    );
    expect(refused).toMatchObject({ errno: 1142, message: expect.stringContaining('approval request') });
    const id = /approval request (\S+?),/.exec(refused!.message)![1]!;
    const response = await fetch(`${adminUrl}/v1/approvals/${id}`, { headers: { authorization: `Bearer ${await fixture.gateway.token('lead-est', ['clinical-leads'])}` } });
    expect(response.status).toBe(200);
    return (await response.json()) as Requested;
  } finally {
    await connection.end();
  }
}

describe('the impact estimate approvers see for MySQL', () => {
  it('is the optimizer row estimate from EXPLAIN, and the statement did not run', async () => {
    const before = await noteCount();
    const one = await requestFor('DELETE FROM notes WHERE id = 3');
    expect(one).toMatchObject({ text: 'DELETE FROM notes WHERE id = 3', estimate: { rows: 1, source: 'EXPLAIN' } });
    const all = await requestFor("UPDATE notes SET body = 'reviewed'");
    expect(all.estimate?.source).toBe('EXPLAIN');
    expect(all.estimate?.rows).toBeGreaterThanOrEqual(before - 5);
    expect(await noteCount()).toBe(before);
  });

  it('never plans a statement that calls a stored function (EXPLAIN would run it)', async () => {
    for (const statement of ['DELETE FROM notes WHERE id = add_hit()', 'DELETE FROM notes WHERE id = (SELECT `add_hit` ())', 'UPDATE notes SET body = 1 /*!+ add_hit()*/ WHERE id = 2']) {
      const request = await requestFor(statement);
      expect(request.text).toBe(statement);
      expect(request.estimate).toEqual({ source: 'no estimate: the statement calls add_hit, which EXPLAIN could run' });
    }
    expect(await noteCount('hits')).toBe(0);
  });

  it('is absent when EXPLAIN cannot plan the statement, and the request is made all the same', async () => {
    const request = await requestFor('DELETE FROM notes WHERE no_such_column = 1');
    expect(request.estimate?.rows).toBeUndefined();
    expect(request.estimate?.source ?? '').toMatch(/^no estimate: EXPLAIN failed with error 1054/);
  });
});
