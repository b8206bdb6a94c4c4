import { classifyMysql, loadMysqlParser } from './index';
import { MAX_EXPRESSION_DEPTH, expressionDepthBound } from './mysql-expression-depth';

beforeAll(() => loadMysqlParser());

describe('expressionDepthBound', () => {
  it('counts operator chains, and parentheses on top of the chain they sit in', () => {
    expect(expressionDepthBound('SELECT 1 + 1 + 1')).toBe(2);
    expect(expressionDepthBound("SELECT 'a + b + c' + `x-y`")).toBe(1);
    expect(expressionDepthBound('INSERT INTO t VALUES (1, -1), (2, -1), (3, -1)')).toBe(4);
    expect(expressionDepthBound('SELECT ((1 + 1))')).toBe(7);
  });
});

describe('parser stack safety (deep-expression parser-corruption bypass)', () => {
  const shapes: ReadonlyArray<readonly [name: string, make: (n: number) => string]> = [
    ['a + chain', (n) => `SELECT 1${' + 1'.repeat(n)}`],
    ['an OR chain', (n) => `SELECT * FROM patients WHERE id = 0${' OR id = 1'.repeat(n)}`],
    ['a JSON path chain', (n) => `SELECT j${"->'$.a'".repeat(n)} FROM t`],
    ['nested parentheses in a chain', (n) => `SELECT ${'(1 + '.repeat(n)}1${')'.repeat(n)}`],
    ['nested function calls', (n) => `SELECT ${'abs('.repeat(n)}1${')'.repeat(n)}`],
  ];

  it.each(shapes)('refuses %s too deep to analyse, and the parser keeps working afterwards', (_, make) => {
    for (const n of [MAX_EXPRESSION_DEPTH + 1, 1_000, 5_000]) {
      expect(classifyMysql(make(n)).action).toBe('unknown');
      expect(classifyMysql('DELETE FROM patients WHERE id = 1')).toMatchObject({ action: 'write', objects: ['patients'] });
    }
    // Right up to the bound, whatever the parser makes of it, it survives.
    for (let n = 10; n <= MAX_EXPRESSION_DEPTH; n += 10) {
      classifyMysql(make(n));
      expect(classifyMysql(`DELETE FROM patients WHERE id = ${n}`)).toMatchObject({ action: 'write', objects: ['patients'] });
    }
  });

  it('still analyses long but shallow statements and a few dozen nested parentheses', () => {
    expect(classifyMysql(`INSERT INTO t VALUES ${Array.from({ length: 5_000 }, (_, i) => `(${i}, -1)`).join(', ')}`).action).toBe('write');
    expect(classifyMysql(`SELECT * FROM t WHERE id IN (${Array.from({ length: 5_000 }, (_, i) => i).join(', ')})`).action).toBe('read');
    expect(classifyMysql(`SELECT ${'('.repeat(40)}1${')'.repeat(40)}`).action).toBe('read');
    expect(classifyMysql(`SELECT * FROM t WHERE id = 0${' OR id = 1'.repeat(100)}`).action).toBe('read');
  });
});
