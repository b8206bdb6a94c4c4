/**
 * A byte stream rewritten line by line (watch events are newline-delimited JSON; logs are text
 * lines). A line is held until its newline arrives, so a value split across chunks is seen whole;
 * the last, unterminated line is flushed at the end. Back-pressure is the Transform's own.
 */
import { StringDecoder } from 'node:string_decoder';
import { Transform, type TransformCallback } from 'node:stream';

/** Longest line held while waiting for its newline; a longer one is an error (fail closed). */
export const MAX_LINE_BYTES = 16 * 1024 * 1024;

export class LineTransform extends Transform {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';

  /** `rewrite` gets each line without its newline; it may throw to fail the stream. */
  constructor(private readonly rewrite: (line: string) => string) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      const text = this.pending + this.decoder.write(chunk);
      const end = text.lastIndexOf('\n');
      if (end === -1) {
        if (text.length > MAX_LINE_BYTES) throw new Error('a line is too long to inspect');
        this.pending = text;
        return callback();
      }
      this.pending = text.slice(end + 1);
      const out = text
        .slice(0, end)
        .split('\n')
        .map((line) => this.rewrite(line))
        .join('\n');
      callback(null, `${out}\n`);
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      const rest = this.pending + this.decoder.end();
      callback(null, rest === '' ? undefined : this.rewrite(rest));
    } catch (error) {
      callback(error as Error);
    }
  }
}
