import { ShellLineTracker, type TrackedSegment } from './shell-line-tracker';

/** Feeds input in the given chunks; returns completed lines and the bytes forwarded (all, in order). */
function feed(chunks: readonly Buffer[], tracker = new ShellLineTracker()) {
  const segments: TrackedSegment[] = chunks.flatMap((chunk) => tracker.input(chunk));
  const forwarded = Buffer.concat(segments.map((segment) => (segment.kind === 'line' ? segment.enter : segment.data)));
  const lines = segments.flatMap((segment) => (segment.kind === 'line' ? [{ text: segment.text, edited: segment.edited }] : []));
  const secret = Buffer.concat(segments.flatMap((segment) => (segment.kind === 'secret' ? [segment.data] : []))).toString();
  return { lines, forwarded, secret };
}

/** The same input whole, split at every byte, and byte by byte: the result must not change. */
function everySplit(input: Buffer): Buffer[][] {
  const splits: Buffer[][] = [[input], [...input].map((byte) => Buffer.from([byte]))];
  for (let at = 1; at < input.length; at++) splits.push([input.subarray(0, at), input.subarray(at)]);
  return splits;
}

describe('ShellLineTracker', () => {
  it('completes lines on Enter, applying backspace, Ctrl-W, Ctrl-U and Ctrl-C, at every split', () => {
    const input = Buffer.from('ls -lx\x7f\rrm -rf /tmp/a\x17/\r\x15echo x\x15id\recho 🙂\x7fok\rkill\x03whoami\n');
    for (const chunks of everySplit(input)) {
      const { lines, forwarded } = feed(chunks);
      expect(lines).toEqual([
        { text: 'ls -l', edited: false },
        { text: 'rm -rf /', edited: false },
        { text: 'id', edited: false },
        { text: 'echo ok', edited: false },
        { text: 'whoami', edited: false },
      ]);
      expect(forwarded.equals(input)).toBe(true);
    }
  });

  it('flags lines edited with cursor keys, history or Tab, but not bracketed paste', () => {
    const input = Buffer.from('\x1b[Aecho\r\x1b[200~pasted\x1b[201~\rls /et\t\rvi\x1bOD\r');
    for (const chunks of everySplit(input)) {
      expect(feed(chunks).lines).toEqual([
        { text: 'echo', edited: true },
        { text: 'pasted', edited: false },
        { text: 'ls /et', edited: true },
        { text: 'vi', edited: true },
      ]);
    }
  });

  it('treats input at a password prompt as secret, up to Enter', () => {
    const input = Buffer.from('hunter2\rid\r');
    for (const chunks of everySplit(input)) {
      const tracker = new ShellLineTracker();
      tracker.output(Buffer.from('$ sudo -k ls\r\n[sudo] password for root: '));
      const { lines, secret, forwarded } = feed(chunks, tracker);
      expect(secret).toBe('hunter2\r');
      expect(lines).toEqual([{ text: 'id', edited: false }]);
      expect(forwarded.equals(input)).toBe(true);
    }
  });

  it('does not hide a typed line that merely echoes prompt-like text', () => {
    const tracker = new ShellLineTracker();
    tracker.output(Buffer.from('root@host:~# '));
    expect(tracker.input(Buffer.from('rm -rf / # password:'))).toHaveLength(1);
    tracker.output(Buffer.from('rm -rf / # password:'));
    const segments = tracker.input(Buffer.from('\r'));
    expect(segments).toEqual([{ kind: 'line', text: 'rm -rf / # password:', edited: false, enter: Buffer.from('\r') }]);
  });

  it('records no lines while a full-screen program holds the alternate screen', () => {
    const tracker = new ShellLineTracker();
    tracker.output(Buffer.from('\x1b[?104'));
    tracker.output(Buffer.from('9h\x1b[H'));
    expect(feed([Buffer.from('ihello\r:wq\r')], tracker).lines).toEqual([]);
    tracker.output(Buffer.from('\x1b[?1049l$ '));
    expect(feed([Buffer.from('ls\r')], tracker).lines).toEqual([{ text: 'ls', edited: false }]);
  });
});
