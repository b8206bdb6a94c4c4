import { describeCopyOut } from './copy-out';
import { loadSqlParsers } from './postgres-parser';

beforeAll(() => loadSqlParsers());

describe('describeCopyOut', () => {
  it('turns COPY table TO STDOUT into a query over its columns, with the format options', () => {
    expect(describeCopyOut("COPY public.patients (ssn, dob) TO STDOUT WITH (FORMAT csv, DELIMITER '|', HEADER)")).toEqual([
      { query: 'SELECT "ssn", "dob" FROM "public"."patients"', format: 'csv', delimiter: '|', null: '', quote: '"', escape: '"', header: true },
    ]);
    expect(describeCopyOut('COPY patients TO STDOUT')).toEqual([
      { query: 'SELECT * FROM "patients"', format: 'text', delimiter: '\t', null: '\\N', quote: '"', escape: '"', header: false },
    ]);
    expect(describeCopyOut('COPY patients TO STDOUT (FORMAT binary)')?.[0]?.format).toBe('binary');
  });

  it('keeps the query of COPY (query) TO STDOUT', () => {
    expect(describeCopyOut("SELECT 1; COPY (SELECT full_name, (ssn) FROM patients WHERE id < 3) TO STDOUT")?.map((s) => s.query)).toEqual([
      'SELECT full_name, (ssn) FROM patients WHERE id < 3',
    ]);
  });

  it('ignores COPY FROM and returns undefined for text that does not parse', () => {
    expect(describeCopyOut('COPY patients FROM STDIN')).toEqual([]);
    expect(describeCopyOut('COPY patients TO')).toBeUndefined();
  });
});
