import { classifyPostgres, loadSqlParsers } from '@warden/sql';
import { readErrorFields } from './backend-messages';
import { SqlSessionObjects, type SqlStep } from './sql-session-objects';

beforeAll(() => loadSqlParsers());

function resolve(objects: SqlSessionObjects, text: string): SqlStep {
  return objects.resolve(text, classifyPostgres(text));
}

function refusal(step: SqlStep): string {
  if (step.action !== 'refuse') throw new Error(`not refused: ${JSON.stringify(step)}`);
  const fields = readErrorFields(step.reply, 0, step.reply.length);
  return `${fields.code} ${fields.message}`;
}

/** Runs `text` as if the target completed each of its statements with `tags`. */
function run(objects: SqlSessionObjects, text: string, tags: string[]): void {
  const step = resolve(objects, text);
  if (step.action !== 'decide') throw new Error('refused');
  step.effects?.forEach((effect, i) => effect && objects.confirm(effect, tags[i]!));
  if (step.effects) objects.settle(step.effects);
}

describe('SqlSessionObjects', () => {
  it('decides EXECUTE on the prepared text, once the target confirmed the PREPARE', () => {
    const objects = new SqlSessionObjects(classifyPostgres);
    const prepare = resolve(objects, 'PREPARE del (int) AS DELETE FROM notes WHERE id = $1');
    expect(prepare).toMatchObject({ action: 'decide', classification: { action: 'write' } });
    // Not confirmed yet (pipelined): refused, as the target may not have it.
    expect(refusal(resolve(objects, 'EXECUTE del(1)'))).toBe('55000 Warden: prepared statement "del" is being changed by a statement that has not completed; send EXECUTE once it has');
    if (prepare.action === 'decide') {
      objects.confirm(prepare.effects![0]!, 'PREPARE');
      objects.settle(prepare.effects!);
    }
    expect(resolve(objects, 'EXECUTE del(1)')).toMatchObject({ action: 'decide', text: 'DELETE FROM notes WHERE id = $1', classification: { action: 'write', objects: ['notes'] }, detail: { execute: 'del' } });
    run(objects, 'DEALLOCATE del', ['DEALLOCATE']);
    expect(refusal(resolve(objects, 'EXECUTE del(1)'))).toBe('26000 prepared statement "del" does not exist');
  });

  it('does not learn a name whose PREPARE the target rejected', () => {
    const objects = new SqlSessionObjects(classifyPostgres);
    const step = resolve(objects, 'PREPARE x AS SELECT 1');
    // The statement failed: an ErrorResponse, no CommandComplete, nothing is confirmed.
    expect(step.action).toBe('decide');
    if (step.action === 'decide') objects.settle(step.effects!);
    expect(refusal(resolve(objects, 'EXECUTE x'))).toBe('26000 prepared statement "x" does not exist');
  });

  it('decides FETCH and MOVE on the cursor query, and forgets cursors at the end of their transaction unless WITH HOLD', () => {
    const objects = new SqlSessionObjects(classifyPostgres);
    run(objects, 'BEGIN; DECLARE c CURSOR FOR SELECT ssn FROM patients; DECLARE h CURSOR WITH HOLD FOR SELECT dob FROM patients', ['BEGIN', 'DECLARE CURSOR', 'DECLARE CURSOR']);
    expect(resolve(objects, 'FETCH 2 FROM c')).toMatchObject({ action: 'decide', text: 'SELECT ssn FROM patients', classification: { action: 'read', objects: ['patients'] }, detail: { fetch: 'c' } });
    expect(resolve(objects, 'MOVE c')).toMatchObject({ text: 'SELECT ssn FROM patients', detail: { move: 'c' } });
    objects.transactionEnded();
    expect(refusal(resolve(objects, 'FETCH c'))).toBe('34000 cursor "c" does not exist');
    expect(resolve(objects, 'FETCH h')).toMatchObject({ text: 'SELECT dob FROM patients' });
    run(objects, 'CLOSE ALL', ['CLOSE CURSOR ALL']);
    expect(refusal(resolve(objects, 'FETCH h'))).toBe('34000 cursor "h" does not exist');
  });

  it("refuses Warden's own protocol names and names it never saw", () => {
    const objects = new SqlSessionObjects(classifyPostgres);
    expect(refusal(resolve(objects, 'EXECUTE warden_s_1_0123456789abcdef'))).toBe('26000 prepared statement "warden_s_1_0123456789abcdef" does not exist');
    expect(refusal(resolve(objects, 'DEALLOCATE warden_s_1_0123456789abcdef'))).toBe('26000 prepared statement "warden_s_1_0123456789abcdef" does not exist');
    expect(refusal(resolve(objects, 'CLOSE warden_p_1_0123456789abcdef'))).toBe('34000 cursor "warden_p_1_0123456789abcdef" does not exist');
    expect(refusal(resolve(objects, 'FETCH FROM warden_p_1_0123456789abcdef'))).toBe('34000 cursor "warden_p_1_0123456789abcdef" does not exist');
    expect(refusal(resolve(objects, 'PREPARE warden_s_9_0123456789abcdef AS SELECT 1'))).toMatch(/^42501 Warden: names starting with "warden_" are reserved/);
    expect(refusal(resolve(objects, 'DECLARE warden_p_9 CURSOR WITH HOLD FOR SELECT 1'))).toMatch(/^42501 /);
  });

  it('refuses EXECUTE or FETCH mixed with other statements, and EXECUTE inside another statement', () => {
    const objects = new SqlSessionObjects(classifyPostgres);
    run(objects, 'PREPARE s AS SELECT 1', ['PREPARE']);
    expect(refusal(resolve(objects, 'SELECT 1; EXECUTE s'))).toMatch(/^42501 Warden: EXECUTE, FETCH and MOVE .* must be sent as a query of their own$/);
    expect(refusal(resolve(objects, 'CREATE TABLE t AS EXECUTE s'))).toMatch(/^42501 Warden: EXECUTE inside another statement cannot be analysed/);
  });

  it('clears everything on DISCARD ALL and DEALLOCATE ALL, and says protocol names went with it', () => {
    const objects = new SqlSessionObjects(classifyPostgres);
    run(objects, 'PREPARE s AS SELECT 1', ['PREPARE']);
    const step = resolve(objects, 'DISCARD ALL');
    expect(step.action === 'decide' && objects.confirm(step.effects![0]!, 'DISCARD ALL')).toEqual({ protocolStatementsGone: true, protocolPortalsGone: true });
    if (step.action === 'decide') objects.settle(step.effects!);
    expect(refusal(resolve(objects, 'EXECUTE s'))).toMatch(/^26000/);
    const all = resolve(objects, 'DEALLOCATE ALL');
    expect(all.action === 'decide' && objects.confirm(all.effects![0]!, 'DEALLOCATE ALL')).toEqual({ protocolStatementsGone: true });
  });

  it("sends SQL DEALLOCATE of a protocol-prepared statement with Warden's name for it (as Rails and psycopg free them)", () => {
    const objects = new SqlSessionObjects(classifyPostgres, (name) => (name === 'a1' ? 'warden_s_3_0123456789abcdef' : undefined));
    const step = resolve(objects, 'DEALLOCATE a1');
    expect(step).toMatchObject({ action: 'decide', text: 'DEALLOCATE a1', rewritten: 'DEALLOCATE "warden_s_3_0123456789abcdef"' });
    expect(step.action === 'decide' && objects.confirm(step.effects![0]!, 'DEALLOCATE')).toEqual({ protocolStatementGone: { name: 'a1', target: 'warden_s_3_0123456789abcdef' } });
    // Only as a query of its own; elsewhere the name is unknown.
    expect(refusal(resolve(objects, 'SELECT 1; DEALLOCATE a1'))).toBe('26000 prepared statement "a1" does not exist');
    expect(refusal(objects.resolve('DEALLOCATE a1', classifyPostgres('DEALLOCATE a1'), false))).toBe('26000 prepared statement "a1" does not exist');
  });

  it('forgets a WITH HOLD cursor whose transaction may have rolled back', () => {
    const objects = new SqlSessionObjects(classifyPostgres);
    run(objects, 'DECLARE kept CURSOR WITH HOLD FOR SELECT 1', ['DECLARE CURSOR']);
    objects.completed('COMMIT');
    objects.transactionEnded();
    run(objects, 'DECLARE lost CURSOR WITH HOLD FOR SELECT 2', ['DECLARE CURSOR']);
    objects.completed('ROLLBACK');
    objects.transactionEnded();
    expect(resolve(objects, 'FETCH kept')).toMatchObject({ action: 'decide', text: 'SELECT 1' });
    expect(refusal(resolve(objects, 'FETCH lost'))).toBe('34000 cursor "lost" does not exist');
    // A later failed transaction does not end a cursor that was already committed.
    objects.failed();
    objects.transactionEnded();
    expect(resolve(objects, 'FETCH kept')).toMatchObject({ action: 'decide', text: 'SELECT 1' });
  });

  it('refuses EXECUTE and FETCH of a name a statement still in flight changes (pipelined DEALLOCATE and PREPARE)', () => {
    const objects = new SqlSessionObjects(classifyPostgres);
    run(objects, 'PREPARE x AS SELECT 1', ['PREPARE']);
    run(objects, 'BEGIN; DECLARE c CURSOR FOR SELECT 1', ['BEGIN', 'DECLARE CURSOR']);
    // Sent together, before any answer: EXECUTE x must not be decided as the SELECT the target may no longer hold.
    const deallocate = resolve(objects, 'DEALLOCATE x');
    const prepare = resolve(objects, 'PREPARE x AS DELETE FROM notes');
    expect(refusal(resolve(objects, 'EXECUTE x'))).toMatch(/^55000 Warden: prepared statement "x" is being changed/);
    const closeAll = resolve(objects, 'CLOSE ALL');
    expect(refusal(resolve(objects, 'FETCH c'))).toMatch(/^55000 Warden: cursor "c" is being changed/);
    for (const [step, tag] of [
      [deallocate, 'DEALLOCATE'],
      [prepare, 'PREPARE'],
      [closeAll, 'CLOSE CURSOR ALL'],
    ] as const) {
      if (step.action !== 'decide') throw new Error('refused');
      objects.confirm(step.effects![0]!, tag);
      objects.settle(step.effects!);
    }
    expect(resolve(objects, 'EXECUTE x')).toMatchObject({ action: 'decide', text: 'DELETE FROM notes', classification: { action: 'write' } });
    expect(refusal(resolve(objects, 'FETCH c'))).toBe('34000 cursor "c" does not exist');
  });
});
