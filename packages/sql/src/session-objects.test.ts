import { loadSqlParsers } from './postgres-parser';
import { sessionObjectUses } from './session-objects';

beforeAll(() => loadSqlParsers());

describe('sessionObjectUses', () => {
  it('reads the names and the prepared or declared query text', () => {
    expect(sessionObjectUses('PREPARE Del (int) AS DELETE FROM notes WHERE id = $1')).toEqual([{ kind: 'prepare', name: 'del', query: 'DELETE FROM notes WHERE id = $1' }]);
    expect(sessionObjectUses('prepare /* as */ "x AS y" as select (1) as a')).toEqual([{ kind: 'prepare', name: 'x AS y', query: 'select (1) as a' }]);
    expect(sessionObjectUses('EXECUTE del(1)')).toEqual([{ kind: 'execute', name: 'del' }]);
    expect(sessionObjectUses('DEALLOCATE PREPARE del; DEALLOCATE ALL')).toEqual([
      { kind: 'deallocate', name: 'del' },
      { kind: 'deallocate', name: undefined },
    ]);
    expect(sessionObjectUses('BEGIN; DECLARE c BINARY NO SCROLL CURSOR WITH HOLD FOR SELECT ssn FROM patients')).toEqual([
      { kind: 'none' },
      { kind: 'declare', name: 'c', query: 'SELECT ssn FROM patients', hold: true },
    ]);
    expect(sessionObjectUses('DECLARE c CURSOR FOR SELECT 1')).toEqual([{ kind: 'declare', name: 'c', query: 'SELECT 1', hold: false }]);
    expect(sessionObjectUses('FETCH 2 FROM c; MOVE LAST IN c; CLOSE c; CLOSE ALL; DISCARD ALL; DISCARD PLANS')).toEqual([
      { kind: 'fetch', name: 'c', move: false },
      { kind: 'fetch', name: 'c', move: true },
      { kind: 'close', name: 'c' },
      { kind: 'close', name: undefined },
      { kind: 'discard-all' },
      { kind: 'none' },
    ]);
  });

  it('finds an EXECUTE inside another statement', () => {
    expect(sessionObjectUses('CREATE TABLE t AS EXECUTE del(1)')).toEqual([{ kind: 'nested-execute' }]);
    expect(sessionObjectUses('EXPLAIN ANALYZE EXECUTE del(1)')).toEqual([{ kind: 'nested-execute' }]);
  });

  it('does not parse texts that cannot use a session object, and gives undefined for invalid SQL', () => {
    expect(sessionObjectUses('SELECT 1; UPDATE notes SET body = 1')).toEqual([]);
    expect(sessionObjectUses('SELECT removed, closed_at FROM prepared_orders')).toEqual([]);
    expect(sessionObjectUses('/**/EXECUTE/**/x')).toEqual([{ kind: 'execute', name: 'x' }]);
    expect(sessionObjectUses("SELECT 'execute'")).toEqual([{ kind: 'none' }]);
    expect(sessionObjectUses('EXECUTE')).toBeUndefined();
  });
});
