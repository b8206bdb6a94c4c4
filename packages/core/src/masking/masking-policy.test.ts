import type { Identity } from '../events';
import { MaskingPolicy } from './masking-policy';

const identity = (groups: string[]): Identity => ({ subject: 'u1', issuer: 'https://issuer', groups, kind: 'human', expiresAt: new Date(0) });

const policy = new MaskingPolicy({
  key: Buffer.alloc(32, 5),
  connections: [
    {
      connection: 'clinic',
      columns: { 'patients.ssn': 'redact', 'patients.dob': 'year-only' },
      detect: ['email', 'ssn'],
      strategies: { email: 'partial' },
      exempt: [{ groups: ['clinicians'], columns: ['patients.dob'] }],
    },
  ],
  literalRedactors: {
    // A stand-in scanner: every quoted literal is offered to the placeholder function.
    test: (text, placeholder) => text.replace(/'([^']*)'/g, (literal, value: string) => placeholder(value) ?? literal),
  },
});

describe('MaskingPolicy', () => {
  it('gives a plain, serializable plan per identity, with exemptions', () => {
    const agent = policy.planFor(identity(['coding-agents']), 'clinic')!;
    expect(agent).toEqual({ columns: { 'patients.ssn': 'redact', 'patients.dob': 'year-only' }, detectors: ['email', 'ssn'], strategies: { email: 'partial' } });
    expect(JSON.parse(JSON.stringify(agent))).toEqual(agent);
    const clinician = policy.planFor(identity(['clinicians']), 'clinic')!;
    expect(clinician.exempt).toEqual(['patients.dob']);
    expect(policy.planFor(identity([]), 'other')).toBeUndefined();
  });

  it('compiles a masker per plan once', () => {
    const plan = policy.planFor(identity(['coding-agents']), 'clinic')!;
    expect(policy.maskerFor(plan)).toBe(policy.maskerFor({ ...plan }));
    const masker = policy.maskerFor(plan);
    expect(masker.planColumn({ table: 'patients', column: 'dob', kind: 'date' })!.mask('1962-03-14')).toBe('1962-01-01');
    const exempt = policy.maskerFor(policy.planFor(identity(['clinicians']), 'clinic')!);
    expect(exempt.planColumn({ table: 'patients', column: 'dob', kind: 'date' })!.exempt).toBe(true);
  });

  it('redacts flagged literals from statement text with stable placeholders', () => {
    const text = "SELECT * FROM patients WHERE ssn = '123-45-6789' OR email = 'a@example.com' OR id = '42'";
    const redacted = policy.redactStatement('clinic', 'test', text);
    expect(redacted).not.toContain('123-45-6789');
    expect(redacted).not.toContain('a@example.com');
    expect(redacted).toContain("id = '42'");
    expect(redacted).toBe(policy.redactStatement('clinic', 'test', text));
    // Protocols without a scanner get content detection on the text.
    expect(policy.redactStatement('clinic', 'ssh', 'grep 123-45-6789 /data')).toMatch(/^grep \[phi:[0-9a-f]{12}\] \/data$/);
  });

  it('redacts values quoted in target messages', () => {
    expect(policy.redactMessage('clinic', 'invalid input syntax for type integer: "123-45-6789"')).not.toContain('123-45-6789');
  });
});
