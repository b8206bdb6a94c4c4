/**
 * Masks one output stream of a channel (stdout or stderr) before the client sees it, when the
 * connection asks for it (`maskLiveOutput`). Text is masked line by line (TerminalTextMasker); a
 * partial line — a prompt, the echo of a keystroke — is sent once the stream has been idle for
 * PARTIAL_LINE_IDLE_MS, so a shell stays usable. Binary chunks (not UTF-8) cannot be masked and
 * pass as they came, after any text held before them.
 */
import { PARTIAL_LINE_IDLE_MS, TerminalTextMasker, TextOrBinarySplitter, type StreamPiece, type TextMasker } from '@warden/core';

export class LiveOutputMasker {
  private readonly splitter = new TextOrBinarySplitter();
  private readonly text: TerminalTextMasker;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private ended = false;

  /**
   * @param masker the connection's content detectors (`ruling.masker`)
   * @param counts values masked, by detector, are added here
   * @param send receives what the client may see, in order
   */
  constructor(
    masker: TextMasker,
    counts: Record<string, number>,
    private readonly send: (piece: StreamPiece) => void,
  ) {
    this.text = new TerminalTextMasker((run) => masker.maskFreeText(run, counts));
  }

  push(data: Buffer): void {
    if (this.ended) return;
    const piece = this.splitter.push(data);
    if (piece.kind === 'binary') {
      this.sendText(this.text.flush());
      this.send(piece);
      return;
    }
    this.sendText(this.text.push(piece.text));
    if (this.text.holding) this.armIdleFlush();
  }

  /** The stream ended: send everything held. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.timer) clearTimeout(this.timer);
    this.sendText(this.text.flush());
    const rest = this.splitter.end();
    if (rest) this.send({ kind: 'binary', data: rest });
  }

  private sendText(text: string): void {
    if (text !== '') this.send({ kind: 'text', text });
  }

  private armIdleFlush(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.ended) return;
      this.sendText(this.text.flush());
    }, PARTIAL_LINE_IDLE_MS);
    this.timer.unref();
  }
}
