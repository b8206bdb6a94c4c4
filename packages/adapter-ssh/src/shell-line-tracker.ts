/**
 * Reconstructs the lines a person types at an interactive shell prompt from the raw keystrokes
 * (bytes in, segments out; no sockets), best effort:
 * - printable input is appended; Backspace/DEL, Ctrl-U (kill line), Ctrl-W (kill word) and Ctrl-C
 *   edit the line as a shell's line editor would; Enter (CR or LF) completes it;
 * - what the shell does on its own — history recall, Tab completion, cursor movement, aliases —
 *   cannot be seen from the keystrokes: such a line is flagged `edited` (the recorded text may differ
 *   from what ran);
 * - while a full-screen program holds the alternate screen (vim, less, top), nothing is a command;
 * - while the last line of output looks like a password prompt, typed input is secret: it is
 *   neither a command nor recorded.
 * This is why interactive policy is best effort, while `exec` requests are decided exactly.
 */

/** Control bytes a line editor acts on. */
const KEY = {
  ctrlC: 0x03,
  backspace: 0x08,
  tab: 0x09,
  lf: 0x0a,
  cr: 0x0d,
  ctrlU: 0x15,
  ctrlW: 0x17,
  esc: 0x1b,
  del: 0x7f,
} as const;

/** DEC private modes that switch to and from the alternate screen (xterm ctlseqs). */
const ALT_SCREEN = /\x1b\[\?(?:1049|1047|47)([hl])/g;
const SECRET_PROMPT = /(pass(word|phrase)|passcode|\bpin\b|token|secret)[^\n]*[:?]\s*$/i;
const MAX_LINE = 64 * 1024;

export type TrackedSegment =
  /** Forward to the target as they are. */
  | { readonly kind: 'bytes'; readonly data: Buffer }
  /** Forward, but neither record nor classify: typed at a password prompt. */
  | { readonly kind: 'secret'; readonly data: Buffer }
  /** A completed line; `enter` is the key that completed it, not yet forwarded. */
  | { readonly kind: 'line'; readonly text: string; readonly edited: boolean; readonly enter: Buffer };

export class ShellLineTracker {
  private line: number[] = [];
  private edited = false;
  private escape: 'none' | 'esc' | 'csi' | 'ss3' = 'none';
  private csiParams = '';
  private fullScreen = false;
  private inSecret = false;
  private lastOutputLine = '';
  private outputTail = '';

  /** Feed what the target printed (screen mode and the prompt). */
  output(data: Buffer): void {
    const chunk = data.toString('latin1');
    let mode: string | undefined;
    // Include a few bytes of the previous chunk: a mode sequence may be split across packets.
    for (const match of (this.outputTail + chunk).matchAll(ALT_SCREEN)) mode = match[1];
    if (mode !== undefined) this.fullScreen = mode === 'h';
    this.outputTail = chunk.slice(-8);
    const newline = chunk.lastIndexOf('\n');
    this.lastOutputLine = (newline === -1 ? this.lastOutputLine + chunk : chunk.slice(newline + 1)).slice(-512);
  }

  /** Feed what the client typed; returns what to forward now and which lines completed. */
  input(data: Buffer): TrackedSegment[] {
    if (this.fullScreen) {
      this.reset();
      return [{ kind: 'bytes', data }];
    }
    const segments: TrackedSegment[] = [];
    let start = 0;
    for (let i = 0; i < data.length; i++) {
      const byte = data[i]!;
      // A password prompt shows and nothing is typed yet: the whole line is secret. (A prompt-like
      // text echoed in the middle of a typed line does not count, or it would hide that line.)
      if (!this.inSecret && this.line.length === 0 && this.escape === 'none' && this.promptIsSecret()) this.inSecret = true;
      if (this.inSecret) {
        if (byte === KEY.cr || byte === KEY.lf) {
          segments.push({ kind: 'secret', data: data.subarray(start, i + 1) });
          start = i + 1;
          this.inSecret = false;
          // Until the target answers, the old prompt is still the last line: do not re-enter.
          this.lastOutputLine = '';
        }
        continue;
      }
      if (this.escape !== 'none') {
        this.consumeEscape(byte);
        continue;
      }
      switch (byte) {
        case KEY.cr:
        case KEY.lf: {
          if (i > start) segments.push({ kind: 'bytes', data: data.subarray(start, i) });
          segments.push({ kind: 'line', text: Buffer.from(this.line).toString('utf8'), edited: this.edited, enter: data.subarray(i, i + 1) });
          this.reset();
          this.lastOutputLine = '';
          start = i + 1;
          break;
        }
        case KEY.backspace:
        case KEY.del:
          this.deleteChar();
          break;
        case KEY.ctrlU:
        case KEY.ctrlC:
          this.reset();
          break;
        case KEY.ctrlW:
          this.deleteWord();
          break;
        case KEY.tab:
          this.edited = true;
          break;
        case KEY.esc:
          this.escape = 'esc';
          break;
        default:
          if (byte >= 0x20 && this.line.length < MAX_LINE) this.line.push(byte);
          else if (byte < 0x20) this.edited = true;
      }
    }
    if (start < data.length) segments.push({ kind: this.inSecret ? 'secret' : 'bytes', data: data.subarray(start) });
    return segments;
  }

  private promptIsSecret(): boolean {
    // Escape sequences (colours, window titles) are not part of the prompt's text.
    const text = this.lastOutputLine.replace(/\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07]*(\x07|\x1b\\)|\x1b./g, '');
    return SECRET_PROMPT.test(text);
  }

  private consumeEscape(byte: number): void {
    if (this.escape === 'esc') {
      if (byte === 0x5b) this.escape = 'csi';
      else if (byte === 0x4f) this.escape = 'ss3';
      else {
        this.escape = 'none';
        this.edited = true;
      }
      return;
    }
    if (this.escape === 'ss3' || (byte >= 0x40 && byte <= 0x7e)) {
      this.escape = 'none';
      // Bracketed paste markers (ESC[200~ / ESC[201~) do not edit the line; anything else
      // (arrows, Home, Delete, history) does.
      if (!(byte === 0x7e && this.pasteMarker)) this.edited = true;
      this.csiParams = '';
      return;
    }
    this.csiParams += String.fromCharCode(byte);
  }

  private get pasteMarker(): boolean {
    return this.csiParams === '200' || this.csiParams === '201';
  }

  private deleteChar(): void {
    // Remove one UTF-8 character: continuation bytes are 10xxxxxx.
    while (this.line.length > 0) {
      const removed = this.line.pop()!;
      if ((removed & 0xc0) !== 0x80) break;
    }
  }

  private deleteWord(): void {
    while (this.line.length > 0 && this.line[this.line.length - 1] === 0x20) this.line.pop();
    while (this.line.length > 0 && this.line[this.line.length - 1] !== 0x20) this.line.pop();
  }

  private reset(): void {
    this.line = [];
    this.edited = false;
    this.escape = 'none';
    this.csiParams = '';
  }
}
