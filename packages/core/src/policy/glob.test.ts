import { compileColumnGlob, compileObjectGlob } from './glob';

describe('compileObjectGlob', () => {
  // [pattern, name, matches]
  const cases: readonly (readonly [string, string, boolean])[] = [
    // Exact names, case-insensitive.
    ['patients', 'patients', true],
    ['patients', 'PATIENTS', true],
    ['Patients', 'patients', true],
    ['patients', 'patient', false],
    ['patients', 'patients_archive', false],
    ['patients', 'xpatients', false],
    // An unqualified pattern also matches the name in any schema (clients can always qualify).
    ['patients', 'public.patients', true],
    ['patients', 'billing.patients', true],
    ['patients', 'public.patients_archive', false],
    ['patients', 'a.b.patients', false],
    // A qualified pattern matches that schema, and the bare name (search_path may resolve it there).
    ['public.patients', 'public.patients', true],
    ['public.patients', 'patients', true],
    ['public.patients', 'PUBLIC.Patients', true],
    ['public.patients', 'billing.patients', false],
    // `.` is literal, not a regex wildcard.
    ['public.patients', 'publicXpatients', false],
    ['a.b', 'axb', false],
    // `*` within one dotted part.
    ['public.pat*', 'public.patients', true],
    ['public.pat*', 'public.pat', true],
    ['public.pat*', 'public.pat.x', false],
    ['public.pat*', 'billing.patients', false],
    ['public.pat*', 'patients', true],
    ['pat*', 'patients', true],
    ['pat*', 'public.patients', true],
    ['pat*', 'public.other', false],
    ['*.patients', 'public.patients', true],
    ['*.patients', 'patients', true],
    ['public.*', 'public.anything', true],
    ['public.*', 'public.a.b', false],
    ['public.*', 'billing.anything', false],
    ['*', 'patients', true],
    ['*', 'public.patients', true],
    ['*_log', 'audit_log', true],
    ['*_log', 'public.audit_log', true],
    ['*_log', 'audit_logs', false],
    ['p*s', 'patients', true],
    ['p*s', 'px.s', false],
    // `**` across parts.
    ['**', 'patients', true],
    ['**', 'public.patients', true],
    ['**', 'a.b.c', true],
    ['public.**', 'public.patients', true],
    ['public.**', 'public.a.b', true],
    ['public.**', 'billing.patients', false],
    ['**.patients', 'public.patients', true],
    ['**.patients', 'a.b.patients', true],
    ['**.patients', 'patients', true],
    // Regular-expression characters in names are literal.
    ['a+b', 'a+b', true],
    ['a+b', 'aab', false],
    ['t(1)', 't(1)', true],
    ['t[12]', 't1', false],
    ['t[12]', 't[12]', true],
    ['x$', 'x$', true],
    ['x|y', 'x', false],
    ['x?', 'x', false],
    ['x?', 'x?', true],
    ['^x', '^x', true],
    ['x\\y', 'x\\y', true],
    ['{a}', '{a}', true],
  ];

  it.each(cases)('%s against %s → %s', (pattern, name, matches) => {
    expect(compileObjectGlob(pattern)(name)).toBe(matches);
  });

  it('compiles once and can be called repeatedly with the same answer', () => {
    const glob = compileObjectGlob('public.pat*');
    expect([glob('public.patients'), glob('public.patients'), glob('public.x'), glob('public.patients')]).toEqual([true, true, false, true]);
  });
});

describe('compileColumnGlob', () => {
  const cases: readonly (readonly [string, string, boolean])[] = [
    ['patients.ssn', 'patients.ssn', true],
    ['patients.ssn', 'public.patients.ssn', true],
    ['patients.ssn', 'PATIENTS.SSN', true],
    ['patients.ssn', 'patients.dob', false],
    ['patients.ssn', 'other.ssn', false],
    ['public.patients.ssn', 'patients.ssn', true],
    ['public.patients.ssn', 'billing.patients.ssn', false],
    // A column alone: in any table.
    ['ssn', 'patients.ssn', true],
    ['ssn', 'public.staff.ssn', true],
    ['ssn', 'patients.dob', false],
    ['*.mrn', 'patients.mrn', true],
    ['patients.*', 'patients.anything', true],
    ['patients.*', 'encounters.anything', false],
    ['s*', 'patients.ssn', true],
    // `SELECT *` returns every column: it matches any column rule on its table.
    ['patients.ssn', 'patients.*', true],
    ['ssn', 'patients.*', true],
    ['patients.ssn', 'encounters.*', false],
    // A name without a table is not a column reference.
    ['ssn', 'ssn', false],
  ];

  it.each(cases)('%s against %s → %s', (pattern, name, matches) => {
    expect(compileColumnGlob(pattern)(name)).toBe(matches);
  });
});
