/**
 * PHI detectors on a terminal byte stream (exec stdout or stderr), while it streams. Bytes in,
 * bytes out; no sockets and no timers (the glue in exec-proxy.ts flushes a held partial line).
 *
 * Only printable runs are masked: text between control characters and escape sequences. Escape
 * sequences (ECMA-48: CSI `ESC [ … final`, strings `ESC ] … BEL|ESC \`, two-byte `ESC x`), control
 * characters and, with a tty, bytes that are not UTF-8 pass through byte for byte, so a terminal's
 * colours, cursor movement and titles keep working. A value split by an escape sequence (a coloured
 * half) is not recognised.
 *
 * Output is released line by line: bytes up to the last `\n` or `\r` go out at once, masked; the
 * partial line after it is held until its end arrives, `flush()` is called (the glue does so after
 * a few milliseconds, so prompts and keystroke echoes still show), or it grows past
 * `MAX_HELD_BYTES` (then it is cut at a space, keeping the last `OVERLAP_BYTES` for the next round).
 * A value that straddles such a cut or a flush is not recognised: masking is best effort against
 * incidental exposure, never a barrier (`base64` defeats it).
 *
 * Without a tty, stdout may be a file (`kubectl cp` runs `tar` over exec): masking would corrupt
 * it silently, so a stream with NUL bytes or invalid UTF-8 is refused (`ExecOutputNotText`).
 */

/** A partial line longer than this is cut rather than held. */
export const MAX_HELD_BYTES = 8 * 1024;
/** What stays held after such a cut, so that a value across the cut still has a chance. */
export const OVERLAP_BYTES = 256;
/** An escape string (OSC, DCS, …) longer than this is passed on as it is, unterminated. */
const MAX_ESCAPE_BYTES = 4 * 1024;

const ESC = 0x1b;
const BEL = 0x07;
const LF = 0x0a;
const CR = 0x0d;
/** `ESC ]` OSC, `ESC P` DCS, `ESC X` SOS, `ESC ^` PM, `ESC _` APC: strings ended by BEL or `ESC \`. */
const STRING_INTRODUCERS: ReadonlySet<number> = new Set([0x5d, 0x50, 0x58, 0x5e, 0x5f]);

/** Non-text output where text was required (binary data without a tty). */
export class ExecOutputNotText extends Error {
  constructor(
    message: string,
    /** The masked output before the first byte that is not text: still the client's to see. */
    readonly before: Buffer = Buffer.alloc(0),
  ) {
    super(message);
  }
}

type Token = { readonly kind: 'text' | 'raw'; readonly end: number } | { readonly kind: 'incomplete' };

export interface TerminalOutputMaskerOptions {
  /** Masks one printable run (the connection's content detectors); returns its input when nothing matched. */
  readonly maskText: (text: string) => string;
  /** `true` for a tty: bytes that are not text pass through; `false`: they are refused. */
  readonly tty: boolean;
}

export class TerminalOutputMasker {
  private held: Buffer = Buffer.alloc(0);
  /** Index just after the last line end in `held` (0: none); held only when a token there was incomplete. */
  private heldLineEnd = 0;

  constructor(private readonly options: TerminalOutputMaskerOptions) {}

  /** Bytes held back (a partial line); call `flush()` after a short while when non-zero. */
  get heldBytes(): number {
    return this.held.length;
  }

  /** Takes the next chunk; returns what can be sent now (possibly empty). Throws `ExecOutputNotText`. */
  write(chunk: Buffer): Buffer {
    const buffer = this.held.length === 0 ? chunk : Buffer.concat([this.held, chunk]);
    // Only the new chunk is searched for a line end: what is held has none past `heldLineEnd`.
    const inChunk = lastLineEnd(chunk);
    let cut = inChunk > 0 ? this.held.length + inChunk : this.heldLineEnd;
    if (buffer.length - cut > MAX_HELD_BYTES) cut = softCut(buffer, buffer.length - OVERLAP_BYTES);
    return this.release(buffer, cut, false);
  }

  /** Releases the held partial line, except an escape sequence or character still incomplete. */
  flush(): Buffer {
    return this.release(this.held, this.held.length, false);
  }

  /** The stream ended: releases everything held. */
  end(): Buffer {
    return this.release(this.held, this.held.length, true);
  }

  /** Masks and returns `buffer[0, cut)` (extended to the end of a token that starts before it); holds the rest. */
  private release(buffer: Buffer, cut: number, final: boolean): Buffer {
    const out: Buffer[] = [];
    let at = 0;
    while (at < cut) {
      let token: Token;
      try {
        token = scan(buffer, at, this.options.tty, final);
      } catch (error) {
        this.held = Buffer.alloc(0);
        throw error instanceof ExecOutputNotText ? new ExecOutputNotText(error.message, Buffer.concat(out)) : error;
      }
      if (token.kind === 'incomplete') break;
      if (token.kind === 'raw') {
        out.push(buffer.subarray(at, token.end));
        at = token.end;
        continue;
      }
      // A text run: cut it where asked, on a character boundary.
      let end = token.end;
      if (end > cut) {
        end = cut;
        while (end > at && (buffer[end]! & 0xc0) === 0x80) end--;
        if (end === at) break;
      }
      const text = buffer.toString('utf8', at, end);
      const masked = this.options.maskText(text);
      out.push(masked === text ? buffer.subarray(at, end) : Buffer.from(masked, 'utf8'));
      at = end;
    }
    // Copy what is held: the caller's chunk buffer may be reused.
    this.held = at >= buffer.length ? Buffer.alloc(0) : Buffer.from(buffer.subarray(at));
    this.heldLineEnd = lastLineEnd(this.held);
    return out.length === 1 ? out[0]! : Buffer.concat(out);
  }
}

/** Index just after the last `\n` or `\r`, or 0. */
function lastLineEnd(buffer: Buffer): number {
  for (let i = buffer.length - 1; i >= 0; i--) {
    if (buffer[i] === LF || buffer[i] === CR) return i + 1;
  }
  return 0;
}

/** Index just after the last space or tab at or before `limit`, else `limit`. */
function softCut(buffer: Buffer, limit: number): number {
  for (let i = limit; i > limit - MAX_HELD_BYTES / 2 && i > 0; i--) {
    if (buffer[i - 1] === 0x20 || buffer[i - 1] === 0x09) return i;
  }
  return limit;
}

/** The token starting at `at`. */
function scan(buffer: Buffer, at: number, tty: boolean, final: boolean): Token {
  const byte = buffer[at]!;
  if (byte === ESC) return escapeSequence(buffer, at, final);
  const width = printableWidth(buffer, at);
  if (width > 0) {
    let end = at + width;
    for (;;) {
      if (end >= buffer.length) break;
      const next = printableWidth(buffer, end);
      if (next <= 0) break;
      end += next;
    }
    return { kind: 'text', end };
  }
  if (width === -1) return final ? { kind: 'raw', end: buffer.length } : { kind: 'incomplete' };
  // A control character, or a byte that is not UTF-8.
  if (!tty && (byte === 0x00 || !isControl(buffer, at))) throw new ExecOutputNotText('the output is binary, not text');
  return { kind: 'raw', end: at + controlWidth(buffer, at) };
}

/**
 * Length of the printable character at `at` (ASCII 0x20–0x7E, tab, or a well-formed UTF-8
 * sequence for U+00A0 and above); 0 when it is not one; -1 when a UTF-8 sequence is cut off by the
 * end of the buffer.
 */
function printableWidth(buffer: Buffer, at: number): number {
  const b0 = buffer[at]!;
  if ((b0 >= 0x20 && b0 <= 0x7e) || b0 === 0x09) return 1;
  let length: number;
  let low = 0x80;
  let high = 0xbf;
  if (b0 >= 0xc2 && b0 <= 0xdf) length = 2;
  else if (b0 >= 0xe0 && b0 <= 0xef) {
    length = 3;
    if (b0 === 0xe0) low = 0xa0;
    if (b0 === 0xed) high = 0x9f;
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    length = 4;
    if (b0 === 0xf0) low = 0x90;
    if (b0 === 0xf4) high = 0x8f;
  } else return 0;
  for (let i = 1; i < length; i++) {
    if (at + i >= buffer.length) return -1;
    const b = buffer[at + i]!;
    if (i === 1 ? b < low || b > high : b < 0x80 || b > 0xbf) return 0;
  }
  // U+0080–U+009F (C2 80–C2 9F) are C1 control characters.
  if (b0 === 0xc2 && buffer[at + 1]! < 0xa0) return 0;
  return length;
}

/** A C0 control, DEL, or a C1 control encoded in UTF-8. */
function isControl(buffer: Buffer, at: number): boolean {
  const b0 = buffer[at]!;
  if (b0 < 0x20 || b0 === 0x7f) return true;
  return b0 === 0xc2 && at + 1 < buffer.length && buffer[at + 1]! >= 0x80 && buffer[at + 1]! <= 0x9f;
}

function controlWidth(buffer: Buffer, at: number): number {
  return buffer[at] === 0xc2 && isControl(buffer, at) ? 2 : 1;
}

/** An escape sequence starting at `at` (an ESC): raw when complete or malformed, else incomplete. */
function escapeSequence(buffer: Buffer, at: number, final: boolean): Token {
  const incomplete: Token = final ? { kind: 'raw', end: buffer.length } : { kind: 'incomplete' };
  if (at + 1 >= buffer.length) return incomplete;
  const second = buffer[at + 1]!;
  if (second === 0x5b) {
    // CSI: parameter bytes 0x30–0x3F, intermediate bytes 0x20–0x2F, one final byte 0x40–0x7E.
    let i = at + 2;
    while (i < buffer.length && buffer[i]! >= 0x20 && buffer[i]! <= 0x3f) i++;
    if (i >= buffer.length) return i - at > MAX_ESCAPE_BYTES ? { kind: 'raw', end: i } : incomplete;
    const last = buffer[i]!;
    return { kind: 'raw', end: last >= 0x40 && last <= 0x7e ? i + 1 : i };
  }
  if (STRING_INTRODUCERS.has(second)) {
    for (let i = at + 2; i < buffer.length; i++) {
      if (buffer[i] === BEL) return { kind: 'raw', end: i + 1 };
      if (buffer[i] === ESC && i + 1 < buffer.length && buffer[i + 1] === 0x5c) return { kind: 'raw', end: i + 2 };
      if (i - at >= MAX_ESCAPE_BYTES) return { kind: 'raw', end: i };
    }
    return incomplete;
  }
  // `ESC` intermediates (0x20–0x2F) then a final byte 0x30–0x7E: `ESC ( B`, `ESC 7`, `ESC =`.
  let i = at + 1;
  while (i < buffer.length && buffer[i]! >= 0x20 && buffer[i]! <= 0x2f) i++;
  if (i >= buffer.length) return incomplete;
  const last = buffer[i]!;
  return { kind: 'raw', end: last >= 0x30 && last <= 0x7e ? i + 1 : i };
}
