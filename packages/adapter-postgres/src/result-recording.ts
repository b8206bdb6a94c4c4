import type { ResultRecording } from '@warden/core';
import { BackendCode } from './message-codes';
import { pgValueType } from './pg-values';
import { readRowDescription } from './result-masker';

/** What a recording holds instead of a value the identity received unmasked under an exemption. */
export const EXEMPT_VALUE = '<exempt, not recorded>';

interface RecordedField {
  readonly typeOid: number;
  readonly binary: boolean;
}

/**
 * Feeds one command's result into its timeline recording, from the messages exactly as they were
 * written to the client (after masking): so the recording holds what the client saw and nothing
 * the target sent before masking. Free of sockets; one instance per executed command.
 *
 * RowDescription: 'T' | … (see `readRowDescription`) — begins a result set, names its columns.
 * DataRow: 'D' | int32 len | int16 n | n × (int32 length, -1 for NULL | bytes) — values in text
 * format are recorded as they are; binary ones as the text form of their type, or
 * `<binary N bytes>` for a type Warden cannot render.
 * CopyOutResponse: 'H' | int32 len | int8 format (0 text, 1 binary) | … — begins COPY output.
 * CopyData: 'd' | int32 len | bytes — one line of text/CSV COPY output is recorded as one value.
 *
 * A value the identity receives unmasked under an exemption is not recorded (`EXEMPT_VALUE`): the
 * exemption lets that identity see it, not the recording keep it.
 */
export class PgResultRecording {
  private fields: RecordedField[] | undefined;
  private copyBinary = false;

  /**
   * @param resultFormats the result format codes of the command's Bind (extended protocol), for
   *   rows whose columns were not described to the client
   */
  constructor(
    private readonly recording: ResultRecording,
    /** The columns of the current result sent unmasked under an exemption (from the result masker). */
    private readonly exemptColumns: () => readonly boolean[] | undefined,
    private readonly resultFormats?: () => readonly number[] | undefined,
  ) {}

  /** Whether the recording's file is behind: stop reading from the target until `drained`. */
  get backedUp(): boolean {
    return this.recording.backedUp;
  }

  drained(): Promise<void> {
    return this.recording.drained();
  }

  /** One message as it was written to the client. */
  sent(code: number, buffer: Buffer, start: number, end: number): void {
    switch (code) {
      case BackendCode.RowDescription: {
        const described = readRowDescription(buffer, start, end);
        this.fields = described.map((field) => ({ typeOid: field.typeOid, binary: field.format === 1 }));
        this.recording.columns(described.map((field) => field.name));
        return;
      }
      case BackendCode.DataRow:
        // Past the cap only the count matters (recordResult has it): no value is rendered.
        if (this.recording.wantsValues) this.recording.row(this.values(buffer, start, end));
        return;
      case BackendCode.CopyOutResponse:
        this.copyBinary = buffer[start + 5] === 1;
        this.recording.columns([this.copyBinary ? 'COPY (binary)' : 'COPY']);
        return;
      case BackendCode.CopyData: {
        if (!this.recording.wantsValues) return;
        const length = end - start - 5;
        if (this.exemptColumns()?.includes(true)) this.recording.row([`<COPY line with an exempt column, not recorded>`]);
        else if (this.copyBinary) this.recording.row([`<binary ${length} bytes>`]);
        else this.recording.row([buffer.toString('utf8', start + 5, buffer[end - 1] === 0x0a ? end - 1 : end)]);
        return;
      }
      default:
        return;
    }
  }

  private values(buffer: Buffer, start: number, end: number): (string | null)[] {
    const count = buffer.readInt16BE(start + 5);
    const fields = this.fields ?? this.undescribed(count);
    const exempt = this.exemptColumns();
    const values: (string | null)[] = [];
    let offset = start + 7;
    for (let i = 0; i < count && offset + 4 <= end; i++) {
      const length = buffer.readInt32BE(offset);
      offset += 4;
      if (length === -1) {
        values.push(null);
        continue;
      }
      if (exempt?.[i]) {
        offset += length;
        values.push(EXEMPT_VALUE);
        continue;
      }
      const field = fields[i];
      const raw = buffer.subarray(offset, Math.min(offset + length, end));
      offset += length;
      values.push(field?.binary ? renderBinary(field.typeOid, raw) : raw.toString('utf8'));
    }
    return values;
  }

  /** Rows of an Execute whose columns were described earlier (not to this command): formats from its Bind. */
  private undescribed(count: number): RecordedField[] {
    const formats = this.resultFormats?.() ?? [];
    const fields: RecordedField[] = [];
    // Bind's result formats: none means all text, one applies to all, else one per column.
    for (let i = 0; i < count; i++) fields.push({ typeOid: 0, binary: (formats.length === 1 ? formats[0] : formats[i]) === 1 });
    this.fields = fields;
    return fields;
  }
}

/** A binary-format value as the text its type shows, or `<binary N bytes>`. */
function renderBinary(typeOid: number, raw: Buffer): string {
  try {
    return pgValueType(typeOid).decodeBinary(raw);
  } catch {
    return `<binary ${raw.length} bytes>`;
  }
}
