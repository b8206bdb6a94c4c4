import { MAX_HELD_CHARS, TerminalTextMasker, maskTerminalText } from './terminal-text-masker';

/** A stand-in for the core's detectors: SSNs and e-mail addresses become [REDACTED]. */
const maskRun = (text: string) => text.replace(/\b\d{3}-\d{2}-\d{4}\b|\b[\w.]+@[\w.]+\.\w+\b/g, '[REDACTED]');

function stream(chunks: readonly string[]): string {
  const masker = new TerminalTextMasker(maskRun);
  return chunks.map((chunk) => masker.push(chunk)).join('') + masker.flush();
}

describe('maskTerminalText', () => {
  it('masks printable runs and leaves escape sequences and controls byte for byte', () => {
    const colored = '\x1b[01;31m\x1b[K123-45-6789\x1b[m\x1b[K ok\r\n';
    expect(maskTerminalText(colored, maskRun)).toBe('\x1b[01;31m\x1b[K[REDACTED]\x1b[m\x1b[K ok\r\n');
    // An e-mail inside a window title (OSC) is not printable text: the sequence stays intact.
    const title = '\x1b]0;ann@example.org: ~\x07$ ';
    expect(maskTerminalText(title, maskRun)).toBe(title);
    expect(maskTerminalText('mail ann@example.org\tnow', maskRun)).toBe('mail [REDACTED]\tnow');
  });
});

describe('TerminalTextMasker', () => {
  const output = 'name: Ann\r\nssn: 123-45-6789\r\n\x1b[1mmail\x1b[0m ann@example.org\r\n$ ';
  const expected = 'name: Ann\r\nssn: [REDACTED]\r\n\x1b[1mmail\x1b[0m [REDACTED]\r\n$ ';

  it('masks values split across chunks at every position (whole lines are masked)', () => {
    for (let at = 0; at <= output.length; at++) {
      expect(stream([output.slice(0, at), output.slice(at)])).toBe(expected);
    }
    expect(stream([...output])).toBe(expected);
  });

  it('holds a partial line back until its line break, and gives it up on flush', () => {
    const masker = new TerminalTextMasker(maskRun);
    expect(masker.push('ssn: 123-45-')).toBe('');
    expect(masker.holding).toBe(true);
    expect(masker.push('6789\nnext')).toBe('ssn: [REDACTED]\n');
    expect(masker.flush()).toBe('next');
    expect(masker.holding).toBe(false);
  });

  it('bounds what it holds: a long line without a break is cut at a blank, not inside a value', () => {
    const masker = new TerminalTextMasker(maskRun);
    const long = `${'x'.repeat(MAX_HELD_CHARS)} 123-45-6789`;
    const sent = masker.push(long);
    expect(sent).toBe(`${'x'.repeat(MAX_HELD_CHARS)} `);
    expect(masker.flush()).toBe('[REDACTED]');
  });

  it('never cuts inside an escape sequence when a long line is cut', () => {
    const masker = new TerminalTextMasker(maskRun);
    const sent = masker.push(`${'y'.repeat(MAX_HELD_CHARS + 10)}\x1b[38;5`);
    expect(sent).toBe('y'.repeat(MAX_HELD_CHARS + 10));
    expect(masker.push(';196m!\n')).toBe('\x1b[38;5;196m!\n');
  });
});
