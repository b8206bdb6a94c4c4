/**
 * Masks PHI in terminal text while it streams. Content detectors need whole values (and their
 * context words), so text is masked a line at a time: the incomplete last line is held back
 * (bounded: `maxHold` characters) until its line break arrives, the caller says the stream went
 * idle (`flush`), or the stream ends. Only printable runs are handed to the masker: escape
 * sequences (ECMA-48 CSI, OSC, DCS/SOS/PM/APC strings, two-byte escapes) and control characters
 * pass through byte for byte, so colours, cursor movement and window titles are never broken.
 * A value split by an escape sequence (`123-45-\e[0m6789`) or by an idle pause is not seen whole:
 * masking of terminal output is best effort, like every content detector.
 */

/** Replaces what the detectors find in one printable run (the core's `Masker.maskFreeText`). */
export type MaskRun = (text: string) => string;

/** How long a partial line may wait for the rest of its line before it is masked as it is. */
export const PARTIAL_LINE_IDLE_MS = 50;
/** The longest partial line held back, in UTF-16 code units. */
export const MAX_HELD_CHARS = 4096;

// ESC [ params intermediates final | ESC ] … BEL/ST | ESC P/X/^/_ … ST | ESC intermediates final.
// https://www.ecma-international.org/publications-and-standards/standards/ecma-48/ (§5.4, §8.3.89)
// The last form excludes the introducers of the others (`[`, `]`, P, X, ^, _), so that an
// incomplete CSI is never taken for a complete two-byte escape.
const ESCAPE_SEQUENCE = /\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[PX^_][^\x1b]*\x1b\\|[ -/]+[0-~]|[0-OQ-WYZ\\`-~])/y;

/** C0 controls except TAB, DEL, and the C1 range: never part of a printable run. */
function isControl(code: number): boolean {
  return (code < 0x20 && code !== 0x09) || (code >= 0x7f && code <= 0x9f);
}

/** Masks the printable runs of `text`; escape sequences and control characters stay as they are. */
export function maskTerminalText(text: string, maskRun: MaskRun): string {
  let out = '';
  let runStart = 0;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const code = text.charCodeAt(i);
    if (!isControl(code)) {
      i++;
      continue;
    }
    if (i > runStart) out += maskRun(text.slice(runStart, i));
    let end = i + 1;
    if (code === 0x1b) {
      ESCAPE_SEQUENCE.lastIndex = i;
      if (ESCAPE_SEQUENCE.test(text)) end = ESCAPE_SEQUENCE.lastIndex;
    }
    out += text.slice(i, end);
    i = end;
    runStart = i;
  }
  if (runStart < n) out += runStart === 0 ? maskRun(text) : maskRun(text.slice(runStart));
  return out;
}

/**
 * Where an escape sequence that is not complete yet starts near the end of `text`, or -1. Such a
 * tail is held back, so that its parameters are never taken for printable text.
 */
function incompleteEscapeStart(text: string): number {
  const at = text.lastIndexOf('\x1b');
  if (at === -1 || text.length - at > MAX_HELD_CHARS) return -1;
  ESCAPE_SEQUENCE.lastIndex = at;
  return ESCAPE_SEQUENCE.test(text) ? -1 : at;
}

export class TerminalTextMasker {
  private held = '';

  constructor(private readonly maskRun: MaskRun) {}

  /** Whether a partial line is held back (the caller flushes it when the stream goes idle). */
  get holding(): boolean {
    return this.held !== '';
  }

  /** Masked text that can be sent now: whole lines, or a long partial line. Holds back the rest. */
  push(text: string): string {
    const all = this.held === '' ? text : this.held + text;
    let cut = Math.max(all.lastIndexOf('\n'), all.lastIndexOf('\r')) + 1;
    if (all.length - cut > MAX_HELD_CHARS) cut = longLineCut(all);
    if (cut === 0) {
      this.held = all;
      return '';
    }
    this.held = cut === all.length ? '' : all.slice(cut);
    return maskTerminalText(cut === all.length ? all : all.slice(0, cut), this.maskRun);
  }

  /**
   * Everything held back, masked: the stream went idle (a prompt waits for input) or ended. An
   * escape sequence still incomplete after an idle pause passes as it is (its bytes are never
   * changed; only a continuation arriving later could be taken for text).
   */
  flush(): string {
    const out = this.held;
    this.held = '';
    return out === '' ? '' : maskTerminalText(out, this.maskRun);
  }
}

/** A partial line over the bound: cut at the last blank near the end (not inside a value), else at the end; never inside an escape sequence. */
function longLineCut(text: string): number {
  const escape = incompleteEscapeStart(text);
  const end = escape === -1 ? text.length : escape;
  const blank = Math.max(text.lastIndexOf(' ', end - 1), text.lastIndexOf('\t', end - 1));
  if (blank !== -1 && end - blank <= 256) return blank + 1;
  return end;
}
