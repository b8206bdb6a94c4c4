import { loadSqlParsers } from './postgres-parser';
import { redactPostgresLiterals } from './redact-literals';

beforeAll(() => loadSqlParsers());

/** Flags SSN-shaped values, and anything compared with `full_name`. */
const flag = (value: string, nearColumn?: string) => (/\d{3}-\d{2}-\d{4}/.test(value) || nearColumn === 'full_name' ? `[phi:${value.length}]` : undefined);

describe('redactPostgresLiterals', () => {
  it('replaces flagged string literals and keeps the rest of the statement', () => {
    expect(redactPostgresLiterals("SELECT * FROM patients WHERE ssn = '123-45-6789' AND id = 42", flag)).toBe(
      "SELECT * FROM patients WHERE ssn = '[phi:11]' AND id = 42",
    );
  });

  it('sees through E-strings, dollar quotes, Unicode escapes and comments', () => {
    const text = "SELECT E'123-45-6789', $$123-45-6789$$, $t$123-45-6789$t$, U&'123-45-6789' -- ssn 123-45-6789\n/* 123-45-6789 */";
    const redacted = redactPostgresLiterals(text, flag);
    expect(redacted).not.toContain('123-45-6789');
    expect(redacted).toContain('SELECT ');
  });

  it('uses the column a literal is compared with', () => {
    expect(redactPostgresLiterals("SELECT 1 FROM p WHERE full_name IN ('Ann Lee', 'Bo Chu') OR city = 'Ann Lee'", flag)).toBe(
      "SELECT 1 FROM p WHERE full_name IN ('[phi:7]', '[phi:6]') OR city = 'Ann Lee'",
    );
    expect(redactPostgresLiterals(`SELECT 1 FROM p WHERE "full_name" = 'Ann Lee'`, flag)).toBe(`SELECT 1 FROM p WHERE "full_name" = '[phi:7]'`);
  });

  it('keeps byte offsets right in non-ASCII text', () => {
    expect(redactPostgresLiterals("SELECT 'héllo', '123-45-6789', 'ünï'", flag)).toBe("SELECT 'héllo', '[phi:11]', 'ünï'");
  });

  it('returns the text itself when nothing is flagged', () => {
    const text = "SELECT 'a', 1.5 FROM t";
    expect(redactPostgresLiterals(text, flag)).toBe(text);
  });

  it('escapes a placeholder that contains a quote', () => {
    expect(redactPostgresLiterals("SELECT '123-45-6789'", () => "it's")).toBe("SELECT 'it''s'");
  });
});
