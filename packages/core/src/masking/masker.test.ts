import { WardenError } from '../errors';
import { Masker } from './masker';
import type { ValueKind } from './value-kind';

const key = Buffer.alloc(32, 3);

function plan(rule: string, kind: ValueKind, strategy: 'redact' | 'partial' | 'hash' | 'year-only' | 'fake') {
  const masker = new Masker({ key, columns: { [rule]: strategy } });
  const [table, column] = rule.split('.') as [string, string];
  const columnPlan = masker.planColumn({ table, column, kind });
  if (!columnPlan) throw new Error('expected a plan');
  return columnPlan;
}

describe('Masker column rules', () => {
  it('matches table.column, schema.table.column and *.column, most specific first', () => {
    const masker = new Masker({ key, columns: { '*.ssn': 'redact', 'patients.ssn': 'partial', 'billing.patients.ssn': 'hash', 'pat*.e*': 'partial' } });
    expect(masker.planColumn({ schema: 'public', table: 'patients', column: 'ssn', kind: 'text' })?.rule).toBe('patients.ssn');
    expect(masker.planColumn({ schema: 'billing', table: 'patients', column: 'ssn', kind: 'text' })?.rule).toBe('billing.patients.ssn');
    expect(masker.planColumn({ schema: 'public', table: 'staff', column: 'SSN', kind: 'text' })?.rule).toBe('*.ssn');
    expect(masker.planColumn({ schema: 'public', table: 'patients', column: 'email', kind: 'text' })?.rule).toBe('pat*.e*');
    expect(masker.planColumn({ schema: 'public', table: 'patients', column: 'id', kind: 'int4' })).toBeUndefined();
    // A computed column (no table) is matched by label only by rules that accept any table.
    expect(masker.planColumn({ column: 'ssn', kind: 'text' })?.rule).toBe('*.ssn');
    expect(masker.planColumn({ column: 'email', kind: 'text' })).toBeUndefined();
  });

  it('passes columns nothing applies to (undefined plan: bytes untouched)', () => {
    const masker = new Masker({ key, columns: {}, detectors: ['ssn'] });
    expect(masker.planColumn({ table: 't', column: 'n', kind: 'int4' })).toBeUndefined();
    expect(masker.planColumn({ table: 't', column: 'd', kind: 'date' })).toBeUndefined();
    expect(masker.planColumn({ table: 't', column: 'body', kind: 'text' })?.rule).toBe('detect');
    expect(new Masker({ key }).active).toBe(false);
  });

  it('exempts columns for an identity: values pass unmasked and the plan says so', () => {
    const masker = new Masker({ key, columns: { 'patients.dob': 'year-only', 'patients.ssn': 'redact' }, exempt: ['patients.dob'] });
    const dob = masker.planColumn({ table: 'patients', column: 'dob', kind: 'date' })!;
    expect(dob.exempt).toBe(true);
    expect(dob.mask('1962-03-14')).toBe('1962-03-14');
    expect(masker.planColumn({ table: 'patients', column: 'ssn', kind: 'text' })!.mask('123-45-6789')).toBe('[REDACTED]');
  });

  it('counts masked values by strategy and by detector', () => {
    const masker = new Masker({ key, columns: { 'p.ssn': 'redact' }, detectors: ['ssn', 'email'] });
    const ssn = masker.planColumn({ table: 'p', column: 'ssn', kind: 'text' })!;
    ssn.mask('123-45-6789');
    ssn.mask('123-45-6780');
    expect(ssn.counts).toEqual({ redact: 2 });
    const notes = masker.planColumn({ table: 'p', column: 'notes', kind: 'text' })!;
    expect(notes.mask('SSN 123-45-6789, mail a@example.com, b@example.com')).toBe('SSN [SSN], mail [EMAIL], [EMAIL]');
    expect(notes.counts).toEqual({ ssn: 1, email: 2 });
  });

  it('returns the very same string when free text holds nothing', () => {
    const masker = new Masker({ key, detectors: ['ssn', 'email', 'name'] });
    const notes = masker.planColumn({ table: 'p', column: 'notes', kind: 'text' })!;
    const text = 'nothing to see here, 42 mg';
    expect(notes.mask(text)).toBe(text);
  });

  it('applies detector strategies in free text', () => {
    const masker = new Masker({ key, detectors: ['ssn', 'email', 'date', 'name'], strategies: { email: 'partial', ssn: 'hash', date: 'year-only', name: 'partial' } });
    const notes = masker.planColumn({ table: 'p', column: 'notes', kind: 'text' })!;
    const masked = notes.mask('Patient John Smith, DOB 1962-03-14, SSN 123-45-6789, jsmith@example.org');
    expect(masked).toMatch(/^Patient J\. S\., DOB 1962, SSN \[SSN:[0-9a-f]{10}\], \*\*\*@example\.org$/);
    // Keyed and stable: the same value gives the same placeholder.
    expect(notes.mask('SSN 123-45-6789')).toBe(`SSN ${/\[SSN:[0-9a-f]{10}\]/.exec(masked)![0]}`);
  });

  it('masks inside JSON string values and keeps the document valid', () => {
    const masker = new Masker({ key, detectors: ['ssn', 'email'] });
    const doc = masker.planColumn({ table: 'p', column: 'doc', kind: 'json' })!;
    const masked = doc.mask('{"note": "SSN 123-45-6789", "n": 123456789, "tags": ["a@example.com", null, true]}');
    expect(JSON.parse(masked)).toEqual({ note: 'SSN [SSN]', n: 123456789, tags: ['[EMAIL]', null, true] });
    const untouched = '{"a":  1}';
    expect(doc.mask(untouched)).toBe(untouched);
    expect(() => doc.mask('{not json')).toThrow(WardenError);
  });

  it('refuses (throws a masking WardenError) rather than pass a value it cannot read', () => {
    expect(() => plan('p.dob', 'date', 'year-only').mask('14/03/1962')).toThrow(expect.objectContaining({ code: 'masking' }));
    expect(() => plan('p.n', 'int4', 'hash').mask('12x')).toThrow(expect.objectContaining({ code: 'masking' }));
    const masker = new Masker({ key, columns: { 'p.geo': 'redact' } });
    expect(() => masker.planColumn({ table: 'p', column: 'geo', kind: 'other' })).toThrow(expect.objectContaining({ code: 'masking' }));
  });

  it('rejects unknown detector names', () => {
    expect(() => new Masker({ key, detectors: ['ssn', 'nope' as 'ssn'] })).toThrow(/unknown detector "nope"/);
  });

  it('redacts literals in statements with keyed placeholders', () => {
    const masker = new Masker({ key, columns: { 'patients.full_name': 'hash' }, detectors: ['ssn'] });
    const a = masker.literalPlaceholder('123-45-6789');
    expect(a).toMatch(/^\[phi:[0-9a-f]{12}\]$/);
    expect(masker.literalPlaceholder('123-45-6789')).toBe(a);
    expect(masker.literalPlaceholder('John Smith', 'full_name')).toMatch(/^\[phi:/);
    expect(masker.literalPlaceholder('John Smith')).toBeUndefined();
    expect(masker.literalPlaceholder('42', 'id')).toBeUndefined();
  });
});

describe('Masker content detection on a result column', () => {
  const detecting = () => new Masker({ key, detectors: ['ssn', 'phone', 'email', 'date', 'name'] });
  const notes = ['Pt called from (617) 555-0100; DOB 03/14/1962.', 'Stable overnight, ambulating, tolerating diet.', 'Contact: ann.smith@example.org'];

  it('scans a repeated value once per result column, with the same output and counts as scanning each', () => {
    const masker = detecting();
    const scan = jest.spyOn(masker, 'maskFreeText');
    const plan = masker.planColumn({ table: 'visits', column: 'note', kind: 'text' })!;
    const outputs = Array.from({ length: 3000 }, (_, i) => plan.mask(notes[i % 3]!));
    expect(scan).toHaveBeenCalledTimes(3);
    const fresh = detecting();
    expect(outputs.slice(0, 3)).toEqual(notes.map((note) => fresh.maskFreeText(note)));
    for (let i = 0; i < outputs.length; i++) expect(outputs[i]).toBe(outputs[i % 3]);
    expect(outputs[0]).not.toContain('555-0100');
    // Every row counts: 1,000 notes with a phone number and a date, 1,000 with an e-mail address.
    expect(plan.counts).toEqual({ phone: 1000, date: 1000, email: 1000 });
  });

  it('masks and counts every value of a column whose values do not repeat', () => {
    const masker = detecting();
    const scan = jest.spyOn(masker, 'maskFreeText');
    const plan = masker.planColumn({ table: 'patients', column: 'phone', kind: 'text' })!;
    for (let i = 0; i < 5000; i++) {
      const phone = `(617) 555-${String(i).padStart(4, '0')}`;
      expect(plan.mask(phone)).toBe('[PHONE]');
    }
    expect(scan).toHaveBeenCalledTimes(5000);
    expect(plan.counts).toEqual({ phone: 5000 });
  });

  it('scans long values every time (they are not remembered)', () => {
    const masker = detecting();
    const scan = jest.spyOn(masker, 'maskFreeText');
    const plan = masker.planColumn({ table: 'visits', column: 'note', kind: 'text' })!;
    const long = `${'Stable. '.repeat(40)}Call (617) 555-0100.`;
    for (let i = 0; i < 3; i++) expect(plan.mask(long)).toContain('[PHONE]');
    expect(scan).toHaveBeenCalledTimes(3);
  });

  it('remembers per column: another plan scans again', () => {
    const masker = detecting();
    const scan = jest.spyOn(masker, 'maskFreeText');
    masker.planColumn({ table: 'visits', column: 'note', kind: 'text' })!.mask(notes[0]!);
    masker.planColumn({ table: 'visits', column: 'note', kind: 'text' })!.mask(notes[0]!);
    expect(scan).toHaveBeenCalledTimes(2);
  });
});

describe('strategies keep the type', () => {
  it.each<[ValueKind, string, string, string | RegExp]>([
    ['text', 'redact', '123-45-6789', '[REDACTED]'],
    ['text', 'partial', '123-45-6789', '***-**-6789'],
    ['text', 'partial', 'jane@example.org', '***@example.org'],
    ['text', 'partial', 'Jane Doe', 'J. D.'],
    ['text', 'hash', 'Jane Doe', /^[0-9a-f]{16}$/],
    ['text', 'fake', '123-45-6789', /^9\d{2}-\d{2}-\d{4}$/],
    ['text', 'fake', 'jane@example.org', /^user[0-9a-f]{8}@example\.com$/],
    ['text', 'fake', 'Jane Doe', /^[A-Z][a-z]+ [A-Z][a-z]+$/],
    ['text', 'year-only', '1962-03-14', '1962-01-01'],
    ['int2', 'hash', '12345', /^\d{1,5}$/],
    ['int4', 'redact', '123456789', '0'],
    ['int4', 'partial', '123456789', '6789'],
    ['int8', 'hash', '-9000000000', /^\d+$/],
    ['numeric', 'redact', '1234.56', '0'],
    ['numeric', 'fake', '1234.56', /^\d{1,4}\.\d{2}$/],
    ['numeric', 'redact', 'NaN', 'NaN'],
    ['boolean', 'redact', 't', 'f'],
    ['date', 'year-only', '1962-03-14', '1962-01-01'],
    ['date', 'redact', '1962-03-14', '1900-01-01'],
    ['date', 'hash', '1962-03-14', /^(19\d\d|20[0-2]\d)-\d{2}-\d{2}$/],
    ['date', 'fake', '1962-03-14', /^1962-\d{2}-\d{2}$/],
    ['date', 'year-only', 'infinity', 'infinity'],
    ['date', 'year-only', '0044-03-15 BC', '0044-01-01 BC'],
    ['timestamp', 'year-only', '2024-01-05 13:45:10.123', '2024-01-01 00:00:00'],
    ['timestamptz', 'year-only', '2024-01-05 13:45:10+05:30', '2024-01-01 00:00:00+05:30'],
    ['time', 'redact', '13:45:10', '00:00:00'],
    ['uuid', 'redact', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '00000000-0000-0000-0000-000000000000'],
    ['uuid', 'hash', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/],
    ['bytes', 'redact', '\\xdeadbeef', '\\x'],
    ['json', 'redact', '{"name": "Jane", "age": 61, "ok": true}', '{"name":"[REDACTED]","age":0,"ok":true}'],
  ])('%s %s %j', (kind, strategy, value, expected) => {
    const masked = plan('p.c', kind, strategy as 'redact').mask(value);
    if (typeof expected === 'string') expect(masked).toBe(expected);
    else expect(masked).toMatch(expected);
  });

  it('hash is stable per key and differs across keys, so joins work within a deployment', () => {
    const a = plan('p.c', 'text', 'hash');
    expect(a.mask('Jane Doe')).toBe(a.mask('Jane Doe'));
    expect(a.mask('Jane Doe')).not.toBe(a.mask('Jane Do'));
    const other = new Masker({ key: Buffer.alloc(32, 9), columns: { 'p.c': 'hash' } }).planColumn({ table: 'p', column: 'c', kind: 'text' })!;
    expect(other.mask('Jane Doe')).not.toBe(a.mask('Jane Doe'));
    // The same value hashes alike in another column with a hash rule.
    const b = new Masker({ key, columns: { 'q.d': 'hash' } }).planColumn({ table: 'q', column: 'd', kind: 'text' })!;
    expect(b.mask('Jane Doe')).toBe(a.mask('Jane Doe'));
  });

  it('int2 hashes stay within int2', () => {
    const p = plan('p.c', 'int2', 'hash');
    for (let i = 0; i < 200; i++) expect(Number(p.mask(String(i)))).toBeLessThanOrEqual(32767);
  });
});

describe('masking from UTF-8 bytes (maskUtf8)', () => {
  const texts = ['123-45-6789', 'Ann Smith', 'jane.doe@example.org', '@example.org', 'user@', 'a@b', 'x@y@z.example', 'Zoë Ängström', '漢字@例え.jp', '', 'no at sign 42', '😀@emoji.example'];
  const dates = ['1962-03-14', '0012-01-31', '2024-02-29', 'infinity', '-infinity', '1962-03-14 BC', '10000-01-01', '1962-3-14'];

  it.each(['redact', 'partial', 'hash', 'year-only', 'fake'] as const)('gives the same bytes as mask() on the decoded text, or defers to it (%s)', (strategy) => {
    for (const [kind, values] of [
      ['text', texts],
      ['date', dates],
    ] as const) {
      const textPlan = plan(`patients.${kind}`, kind, strategy);
      const bytesPlan = plan(`patients.${kind}`, kind, strategy);
      for (const value of values) {
        // The value inside a larger buffer, as in a DataRow, with room after the output offset.
        const row = Buffer.concat([Buffer.from('@prefix@'), Buffer.from(value, 'utf8'), Buffer.from('@suffix@')]);
        const start = 8;
        const end = start + Buffer.byteLength(value, 'utf8');
        const out = Buffer.alloc(5 + end - start + 16, 0xee);
        const after = bytesPlan.maskUtf8?.(row, start, end, out, 5) ?? -1;
        if (after === -1) continue;
        let expected: string;
        try {
          expected = textPlan.mask(value);
        } catch {
          throw new Error(`the bytes path masked ${JSON.stringify(value)} (${kind}, ${strategy}), which the text path refuses`);
        }
        expect(out.subarray(5, after).toString('utf8')).toBe(expected);
        expect(out.subarray(0, 5).equals(Buffer.alloc(5, 0xee))).toBe(true);
      }
      expect(bytesPlan.counts).toEqual(textPlan.counts);
    }
  });

  it('covers the common cases without decoding: redact and hash of text, partial of an e-mail, year-only and redact of a date', () => {
    const out = Buffer.alloc(64);
    const masks = (rule: string, kind: ValueKind, strategy: 'redact' | 'partial' | 'hash' | 'year-only', value: string) => {
      const bytes = Buffer.from(value, 'utf8');
      return (plan(rule, kind, strategy).maskUtf8?.(bytes, 0, bytes.length, out, 0) ?? -1) !== -1;
    };
    expect(masks('p.ssn', 'text', 'redact', '123-45-6789')).toBe(true);
    expect(masks('p.name', 'text', 'hash', 'Zoë Ängström')).toBe(true);
    expect(masks('p.email', 'text', 'partial', 'jane@example.org')).toBe(true);
    expect(masks('p.dob', 'date', 'year-only', '1962-03-14')).toBe(true);
    expect(masks('p.dob', 'date', 'redact', '1962-03-14')).toBe(true);
    // Deferred to the text path: these need the decoded value.
    expect(masks('p.name', 'text', 'partial', 'Ann Smith')).toBe(false);
    expect(masks('p.dob', 'date', 'year-only', '1962-03-14 BC')).toBe(false);
    expect(masks('p.id', 'int4', 'redact', '42')).toBe(false);
  });
});
