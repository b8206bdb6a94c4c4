import { Masker } from '@warden/core';
import { ExecOutputNotText, MAX_HELD_BYTES, TerminalOutputMasker } from './exec-output-masker';

const masker = new Masker({ key: Buffer.alloc(32, 7), detectors: ['ssn', 'email'] });
const counts: Record<string, number> = {};
const maskText = (text: string) => masker.maskFreeText(text, counts);

/** Feeds `input` cut at `cuts`, calling flush() after each chunk when asked; returns all output. */
function run(input: Buffer, cuts: readonly number[], options: { tty: boolean; flushEach?: boolean }): Buffer {
  const stream = new TerminalOutputMasker({ maskText, tty: options.tty });
  const out: Buffer[] = [];
  let at = 0;
  for (const cut of [...cuts, input.length]) {
    out.push(stream.write(input.subarray(at, cut)));
    if (options.flushEach) out.push(stream.flush());
    at = cut;
  }
  out.push(stream.end());
  return Buffer.concat(out);
}

function everySplit(input: Buffer, check: (output: Buffer, cuts: number[]) => void, options: { tty: boolean; flushEach?: boolean }): void {
  check(run(input, [], options), []);
  for (let cut = 1; cut < input.length; cut++) check(run(input, [cut], options), [cut]);
  const bytewise = Array.from({ length: input.length - 1 }, (_, i) => i + 1);
  check(run(input, bytewise, options), bytewise);
}

describe('TerminalOutputMasker', () => {
  const ssnLine = 'patient ssn 123-45-6789, mail jane.roe@example.com\n';

  it('masks whole lines of plain output, whatever the chunking (split at every byte)', () => {
    const input = Buffer.from(`${ssnLine}plain line, Zoë\nlast line without newline 234-56-7890`);
    const expected = input.toString('utf8').split('\n').map(maskText).join('\n');
    expect(expected).not.toContain('123-45-6789');
    expect(expected).not.toContain('jane.roe@example.com');
    expect(expected).not.toContain('234-56-7890');
    everySplit(input, (output) => expect(output.toString('utf8')).toBe(expected), { tty: false });
  });

  it('keeps escape sequences byte for byte and masks only the printable runs between them (tty)', () => {
    const csi = '\x1b[1;31m';
    const reset = '\x1b[0m';
    const title = '\x1b]0;jane.roe@example.com\x07';
    const charset = '\x1b(B';
    const text = `${title}${csi}SSN 123-45-6789${reset}\r\n${charset}mail: jane.roe@example.com\r\n\x1b[?25l\x1b[K$ `;
    const input = Buffer.from(text);
    const masked = `${title}${csi}${maskText('SSN 123-45-6789')}${reset}\r\n${charset}${maskText('mail: jane.roe@example.com')}\r\n\x1b[?25l\x1b[K$ `;
    expect(masked).not.toContain('123-45-6789');
    everySplit(input, (output) => expect(output.toString('latin1')).toBe(Buffer.from(masked).toString('latin1')), { tty: true });
  });

  it('with a flush after every chunk, never cuts into an escape sequence or a UTF-8 character', () => {
    const atoms = ['\x1b[38;5;196m', 'r', 'o', 't', '\x1b[0m', ' ', 'Z', 'o', 'ë', ' ', '日', '本', ' ', '\x1b]2;title\x1b\\', 'o', 'k', '\r', '\n'];
    const input = Buffer.from(atoms.join(''));
    const boundaries = new Set<number>([0]);
    let offset = 0;
    for (const atom of atoms) boundaries.add((offset += Buffer.byteLength(atom)));
    // Nothing to mask: everything arrives unchanged and in order.
    everySplit(input, (output) => expect(output.equals(input)).toBe(true), { tty: true, flushEach: true });
    for (let cut = 1; cut < input.length; cut++) {
      const stream = new TerminalOutputMasker({ maskText, tty: true });
      const released = Buffer.concat([stream.write(input.subarray(0, cut)), stream.flush()]).length;
      expect(boundaries.has(released)).toBe(true);
      expect(released).toBeLessThanOrEqual(cut);
    }
  });

  it('holds a partial line until flush (a prompt), then releases it masked', () => {
    const stream = new TerminalOutputMasker({ maskText, tty: true });
    expect(stream.write(Buffer.from('done\r\nssn? 123-45-6789')).toString()).toBe('done\r\n');
    expect(stream.heldBytes).toBeGreaterThan(0);
    expect(stream.flush().toString()).toBe(maskText('ssn? 123-45-6789'));
    expect(stream.heldBytes).toBe(0);
    expect(stream.flush().length).toBe(0);
  });

  it('releases a long line without newline in pieces, holding at most MAX_HELD_BYTES', () => {
    const stream = new TerminalOutputMasker({ maskText, tty: false });
    const word = 'abcdefgh ';
    let sent = 0;
    let mostHeld = 0;
    for (let i = 0; i < 3000; i++) {
      sent += stream.write(Buffer.from(word)).length;
      mostHeld = Math.max(mostHeld, stream.heldBytes);
    }
    expect(mostHeld).toBeLessThanOrEqual(MAX_HELD_BYTES + word.length);
    expect(sent).toBeGreaterThan(3000 * word.length - MAX_HELD_BYTES - word.length);
    expect(sent + stream.end().length).toBe(3000 * word.length);
  });

  it('refuses binary output without a tty (NUL, invalid UTF-8), passes it byte for byte with a tty', () => {
    for (const binary of [Buffer.from([0x75, 0x73, 0x74, 0x61, 0x72, 0x00, 0x30, 0x30]), Buffer.from([0x1f, 0x8b, 0x08, 0x00]), Buffer.from([0x41, 0xff, 0x0a])]) {
      expect(() => run(binary, [], { tty: false })).toThrow(ExecOutputNotText);
      expect(run(binary, [], { tty: true }).equals(binary)).toBe(true);
    }
    // The text before the binary is still released (masked).
    const stream = new TerminalOutputMasker({ maskText, tty: false });
    let error: unknown;
    try {
      stream.write(Buffer.from('ssn 123-45-6789\n\u0000never\n'));
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ExecOutputNotText);
    expect((error as ExecOutputNotText).before.toString()).toBe(`${maskText('ssn 123-45-6789')}\n`);
    // Control characters are not binary: a bell, a backspace, a C1 control.
    const controls = Buffer.from('a\x07b\x08c\u0085d\n');
    expect(run(controls, [], { tty: false }).equals(controls)).toBe(true);
  });

  it('counts what it masked by detector', () => {
    const before = { ...counts };
    run(Buffer.from(ssnLine), [], { tty: false });
    expect((counts['ssn'] ?? 0) - (before['ssn'] ?? 0)).toBe(1);
    expect((counts['email'] ?? 0) - (before['email'] ?? 0)).toBe(1);
  });
});
