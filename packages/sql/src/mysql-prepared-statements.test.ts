import { classifyMysql, loadMysqlParser, mysqlPreparedStatementUses } from './index';

beforeAll(() => loadMysqlParser());

describe('mysqlPreparedStatementUses', () => {
  it('reads PREPARE, EXECUTE and DEALLOCATE/DROP PREPARE with names lower-cased (the server ignores their case)', () => {
    expect(mysqlPreparedStatementUses("PREPARE MyStmt FROM 'SELECT 1'; EXECUTE mystmt USING @a, @`b c`, 'x', -1, NULL; DEALLOCATE PREPARE MYSTMT; DROP PREPARE `Other`; SELECT 1")).toEqual([
      { kind: 'prepare', name: 'mystmt', text: 'SELECT 1' },
      { kind: 'execute', name: 'mystmt', plainArguments: true },
      { kind: 'deallocate', name: 'mystmt' },
      { kind: 'deallocate', name: 'other' },
      { kind: 'other' },
    ]);
  });

  it('gives no text for PREPARE from a user variable or anything but one literal', () => {
    expect(mysqlPreparedStatementUses('PREPARE s FROM @q')).toEqual([{ kind: 'prepare', name: 's' }]);
    expect(mysqlPreparedStatementUses("PREPARE s FROM 'SELECT 1' 'x'")).toEqual([{ kind: 'prepare', name: 's' }]);
  });

  it.each(['EXECUTE s USING touch_canary()', 'EXECUTE s USING (SELECT 1)', 'EXECUTE s USING @a := 1', 'EXECUTE s USING', 'EXECUTE s @a', 'EXECUTE s USING @a,'])('%j has arguments that are not plain values', (sql) => {
    expect(mysqlPreparedStatementUses(sql)).toEqual([{ kind: 'execute', name: 's', plainArguments: false }]);
  });

  it('classifies DROP PREPARE as DEALLOCATE PREPARE: a session statement', () => {
    expect(classifyMysql('DROP PREPARE s')).toMatchObject({ action: 'session' });
  });

  it('names no statement for EXECUTE IMMEDIATE (the classifier judges its text)', () => {
    expect(mysqlPreparedStatementUses("EXECUTE IMMEDIATE 'SELECT 1'")).toEqual([{ kind: 'other' }]);
  });
});

describe('classifyMysql: EXECUTE IMMEDIATE and nested prepared statements', () => {
  it('judges EXECUTE IMMEDIATE on its literal text', () => {
    expect(classifyMysql("EXECUTE IMMEDIATE 'SELECT * FROM patients WHERE id = ?' USING @id")).toMatchObject({ action: 'read', objects: ['patients'] });
    expect(classifyMysql("EXECUTE IMMEDIATE 'DELETE FROM canary'")).toMatchObject({ action: 'write', objects: ['canary'] });
  });

  it.each([
    ['EXECUTE IMMEDIATE @q', 'variable'],
    ["EXECUTE IMMEDIATE CONCAT('DELE', 'TE FROM canary')", 'variable'],
    ["EXECUTE IMMEDIATE 'SELECT ?' USING touch_canary()", 'USING'],
    ["EXECUTE IMMEDIATE 'SELECT 1; DELETE FROM canary'", 'exactly one'],
    ["EXECUTE IMMEDIATE 'PREPARE s FROM ''SELECT 1'''", 'cannot be followed'],
    ["EXECUTE IMMEDIATE 'EXECUTE s'", 'cannot be followed'],
    ["PREPARE s FROM 'PREPARE t FROM ''SELECT 1'''", 'cannot be followed'],
    ["PREPARE s FROM 'DEALLOCATE PREPARE t'", 'cannot be followed'],
    ["PREPARE s FROM 'EXECUTE IMMEDIATE ''SELECT 1'''", 'cannot be followed'],
  ])('%j cannot be judged', (sql, note) => {
    const classification = classifyMysql(sql);
    expect(classification.action).toBe('unknown');
    expect(classification.statements[0]?.note).toContain(note);
  });
});
