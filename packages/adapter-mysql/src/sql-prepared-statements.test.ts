import { DEFAULT_MYSQL_LEXER_SETTINGS, classifyMysql, loadMysqlParser } from '@warden/sql';
import { SqlPreparedStatements, protocolPreparedClassification, type PreparedStep } from './sql-prepared-statements';

beforeAll(() => loadMysqlParser());

const settings = DEFAULT_MYSQL_LEXER_SETTINGS;

/** Resolves `text` and, when it is decided, has the target answer it (`succeeded`). */
function run(objects: SqlPreparedStatements, text: string, succeeded = true): PreparedStep {
  const step = objects.resolve(text, classifyMysql(text, settings), settings);
  if (step.action === 'decide') objects.confirm(step.effects, succeeded, step.classification);
  return step;
}

describe('SqlPreparedStatements', () => {
  it('decides EXECUTE as the text the target confirmed for the name, whatever its case', () => {
    const objects = new SqlPreparedStatements(classifyMysql);
    run(objects, "PREPARE Q FROM 'SELECT * FROM patients WHERE id = ?'");
    expect(objects.resolve('EXECUTE q USING @id', classifyMysql('EXECUTE q USING @id'), settings)).toMatchObject({
      action: 'decide',
      text: 'SELECT * FROM patients WHERE id = ?',
      classification: { action: 'read', objects: ['patients'] },
      execute: 'q',
    });
  });

  it('does not know a name before the target confirmed its PREPARE', () => {
    const objects = new SqlPreparedStatements(classifyMysql);
    objects.resolve("PREPARE s FROM 'SELECT 1'", classifyMysql("PREPARE s FROM 'SELECT 1'"), settings);
    expect(objects.resolve('EXECUTE s', classifyMysql('EXECUTE s'), settings)).toEqual({
      action: 'unknown-name',
      message: 'Unknown prepared statement handler (s) given to EXECUTE',
      reason: 'prepared statement "s" does not exist',
    });
  });

  it('forgets a name whose new PREPARE failed on the target, as MySQL drops the old statement (failed-reprepare bypass)', () => {
    const objects = new SqlPreparedStatements(classifyMysql);
    run(objects, "PREPARE s FROM 'SELECT 1'");
    run(objects, "PREPARE s FROM 'SELECT * FROM no_such_table'", false);
    expect(run(objects, 'EXECUTE s')).toMatchObject({ action: 'unknown-name' });
  });

  it('forgets a name on DEALLOCATE PREPARE and DROP PREPARE, and all names on a reset', () => {
    const objects = new SqlPreparedStatements(classifyMysql);
    run(objects, "PREPARE a FROM 'SELECT 1'");
    run(objects, "PREPARE b FROM 'SELECT 2'");
    run(objects, "PREPARE c FROM 'SELECT 3'");
    run(objects, 'DEALLOCATE PREPARE a');
    run(objects, 'DROP PREPARE B');
    expect(run(objects, 'EXECUTE a')).toMatchObject({ action: 'unknown-name' });
    expect(run(objects, 'EXECUTE b')).toMatchObject({ action: 'unknown-name' });
    expect(run(objects, 'EXECUTE c')).toMatchObject({ action: 'decide', text: 'SELECT 3' });
    objects.forgetAll();
    expect(run(objects, 'EXECUTE c')).toMatchObject({ action: 'unknown-name' });
  });

  it('keeps EXECUTE in a text of several statements unknown, so PREPARE and EXECUTE of one name never meet (prepare-execute-in-one-text bypass)', () => {
    const objects = new SqlPreparedStatements(classifyMysql);
    run(objects, "PREPARE s FROM 'SELECT 1'");
    const text = "PREPARE s FROM 'SELECT 2'; EXECUTE s";
    expect(objects.resolve(text, classifyMysql(text), settings)).toMatchObject({ action: 'decide', text, classification: { action: 'unknown' } });
  });

  it('makes EXECUTE unknown when USING holds an expression, which can call a function (execute-using-function bypass)', () => {
    const objects = new SqlPreparedStatements(classifyMysql);
    run(objects, "PREPARE s FROM 'SELECT ?'");
    expect(run(objects, 'EXECUTE s USING touch_canary()')).toMatchObject({ action: 'decide', classification: { action: 'unknown' } });
  });

  it('makes EXECUTE of a statement prepared from a user variable unknown', () => {
    const objects = new SqlPreparedStatements(classifyMysql);
    run(objects, 'PREPARE s FROM @q');
    expect(run(objects, 'EXECUTE s')).toMatchObject({ action: 'decide', text: 'EXECUTE s', classification: { action: 'unknown' } });
  });

  it('makes every name unknown after code Warden cannot follow ran (procedure-reprepare bypass)', () => {
    const objects = new SqlPreparedStatements(classifyMysql);
    run(objects, "PREPARE s FROM 'SELECT 1'");
    run(objects, 'CALL reprepare_s()');
    expect(run(objects, 'EXECUTE s')).toMatchObject({ action: 'decide', text: 'EXECUTE s', classification: { action: 'unknown' } });
    expect(run(objects, 'EXECUTE t')).toMatchObject({ action: 'decide', classification: { action: 'unknown' } });
    run(objects, "PREPARE s FROM 'SELECT 2'");
    expect(run(objects, 'EXECUTE s')).toMatchObject({ action: 'decide', text: 'SELECT 2', classification: { action: 'read' } });
  });

  it('makes PREPARE, EXECUTE and DEALLOCATE sent through COM_STMT_PREPARE unknown (protocol-prepared-prepare bypass)', () => {
    for (const text of ["PREPARE s FROM 'SELECT 1'", 'EXECUTE s', 'DEALLOCATE PREPARE s']) {
      expect(protocolPreparedClassification(text, classifyMysql(text), settings)).toMatchObject({ action: 'unknown' });
    }
    expect(protocolPreparedClassification('SELECT 1', classifyMysql('SELECT 1'), settings)).toMatchObject({ action: 'read' });
  });
});
