/**
 * Feeds one command's result into its timeline recording, from the packets exactly as they were
 * written to the client (after masking): the recording holds what the client saw and nothing the
 * target sent before masking. Free of sockets; one instance per command.
 *
 *   column count (lenenc int) — a result set begins; its column definitions follow (their labels
 *   are recorded once all have been seen); then rows, text (COM_QUERY) or binary
 *   (COM_STMT_EXECUTE), read with the same decoders masking uses (see `row-values.ts`), so a
 *   binary value is recorded as the text a client shows for its type. Bytes of a binary character
 *   set that are not plain UTF-8 text are recorded as `<binary N bytes>`. A value the identity
 *   receives unmasked under an exemption is not recorded (`EXEMPT_VALUE`): the exemption lets that
 *   identity see it, not the recording keep it.
 */
import type { ResultRecording } from '@warden/core';
import { readColumnDefinition, type ColumnDefinition } from './column-definition';
import { payloadOf } from './packet-codec';
import { BINARY_COLLATION } from './protocol';
import type { PacketRole } from './response-tracker';
import { maskBinaryRow, maskTextRow, type RowColumn } from './row-values';
import { textCodecFor, type TextCodec } from './text-charset';

/** What a recording holds instead of a value the identity received unmasked under an exemption. */
export const EXEMPT_VALUE = '<exempt, not recorded>';

/** Text in a character set Warden cannot read, or in the binary one: shown when it is plain UTF-8. */
const BYTES: TextCodec = {
  decode: (bytes) => {
    const text = bytes.toString('utf8');
    return text.includes('\ufffd') || /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(text) ? `<binary ${bytes.length} bytes>` : text;
  },
  encode: (text) => Buffer.from(text, 'utf8'),
};

export class MysqlResultRecording {
  private definitions: ColumnDefinition[] = [];
  private expected = 0;
  private columns: RowColumn[] = [];
  /** The values of the row being read (filled by the columns' capture). */
  private values: (string | null)[] = [];

  constructor(
    private readonly recording: ResultRecording,
    /** Rows of COM_STMT_EXECUTE results are in the binary protocol. */
    private readonly binary: boolean,
    /** The columns of the current result set sent unmasked under an exemption (from `ResultRows`). */
    private readonly exemptColumns: () => readonly boolean[] | undefined = () => undefined,
  ) {}

  /** Whether the recording's file is behind: stop reading from the target until `drained`. */
  get backedUp(): boolean {
    return this.recording.backedUp;
  }

  drained(): Promise<void> {
    return this.recording.drained();
  }

  /** One packet (header included) as it was written to the client, with its role in the response. */
  sent(buffer: Buffer, start: number, end: number, role: PacketRole, continues: boolean): void {
    switch (role) {
      case 'column-count':
        this.definitions = [];
        this.columns = [];
        this.expected = payloadOf(buffer, start, end).lenenc();
        return;
      case 'column':
        this.definitions.push(readColumnDefinition(buffer, start, end));
        if (this.definitions.length === this.expected) this.announce();
        return;
      case 'row':
        // Past the cap only the count matters (recordResult has it): no value is rendered.
        if (!this.recording.wantsValues) return;
        if (continues) {
          this.recording.row(['<row of 16 MiB or more, not recorded>']);
          return;
        }
        this.recording.row(this.read(buffer.subarray(start + 4, end)));
        return;
      default:
        return;
    }
  }

  private announce(): void {
    this.recording.columns(this.definitions.map((definition) => definition.name));
    this.columns = this.definitions.map((definition, index) => ({
      definition,
      codec: definition.characterSet === BINARY_COLLATION ? BYTES : (textCodecFor(definition.characterSet) ?? BYTES),
      mask: (text: string) => {
        this.values[index] = text;
        return text;
      },
    }));
  }

  /** The row's values as text: the masking decoders, with a mask that only captures. */
  private read(payload: Buffer): (string | null)[] {
    this.values = new Array<string | null>(this.definitions.length).fill(null);
    if (this.binary) maskBinaryRow(payload, this.columns, this.definitions);
    else maskTextRow(payload, this.columns);
    const exempt = this.exemptColumns();
    if (exempt) for (let i = 0; i < this.values.length; i++) if (exempt[i] && this.values[i] !== null) this.values[i] = EXEMPT_VALUE;
    return this.values;
  }
}
