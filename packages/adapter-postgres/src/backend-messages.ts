import { Writer } from 'pg-protocol/dist/buffer-writer';
import { AuthenticationCode, BackendCode } from './message-codes';

/** Writers for the server messages Warden itself originates. */

export type Severity = 'ERROR' | 'FATAL';

export interface ErrorFields {
  readonly severity: Severity;
  /** SQLSTATE, five characters. */
  readonly code: string;
  readonly message: string;
  readonly detail?: string;
  readonly hint?: string;
}

/** ErrorResponse: 'E' | int32 len | (byte field type | cstring value)* | \0 */
export function errorResponse(fields: ErrorFields): Buffer {
  const writer = new Writer();
  writer.addString('S').addCString(fields.severity);
  writer.addString('V').addCString(fields.severity);
  writer.addString('C').addCString(fields.code);
  writer.addString('M').addCString(fields.message);
  if (fields.detail) writer.addString('D').addCString(fields.detail);
  if (fields.hint) writer.addString('H').addCString(fields.hint);
  writer.addString('\0');
  return writer.flush(BackendCode.ErrorResponse);
}

/** ReadyForQuery: 'Z' | int32 5 | byte status ('I' idle, 'T' in transaction, 'E' failed transaction) */
export function readyForQuery(status: number): Buffer {
  const buffer = Buffer.from([BackendCode.ReadyForQuery, 0, 0, 0, 5, status]);
  return buffer;
}

/** AuthenticationOk / AuthenticationCleartextPassword: 'R' | int32 8 | int32 code */
export function authentication(code: typeof AuthenticationCode.Ok | typeof AuthenticationCode.CleartextPassword): Buffer {
  return new Writer().addInt32(code).flush(BackendCode.Authentication);
}

/** ParameterStatus: 'S' | int32 len | cstring name | cstring value */
export function parameterStatus(name: string, value: string): Buffer {
  return new Writer().addCString(name).addCString(value).flush(BackendCode.ParameterStatus);
}

/** BackendKeyData: 'K' | int32 12 | int32 process id | int32 secret key */
export function backendKeyData(processId: number, secretKey: number): Buffer {
  return new Writer().addInt32(processId).addInt32(secretKey).flush(BackendCode.BackendKeyData);
}

/** NegotiateProtocolVersion: 'v' | int32 len | int32 newest minor supported | int32 n | cstring option × n */
export function negotiateProtocolVersion(minor: number, unrecognized: readonly string[]): Buffer {
  const writer = new Writer().addInt32(minor).addInt32(unrecognized.length);
  for (const option of unrecognized) writer.addCString(option);
  return writer.flush(BackendCode.NegotiateProtocolVersion);
}

/**
 * The fields of the ErrorResponse or NoticeResponse at `buffer[start, end)` (type byte included),
 * as [field type, value] in wire order; a field cut short by `end` and everything after it is left out.
 */
export function readResponseFields(buffer: Buffer, start: number, end: number, encoding: BufferEncoding = 'utf8'): Array<[string, string]> {
  const fields: Array<[string, string]> = [];
  let offset = start + 5;
  while (offset < end) {
    const type = buffer[offset];
    if (type === 0 || type === undefined) break;
    const zero = buffer.indexOf(0, offset + 1);
    if (zero === -1 || zero >= end) break;
    fields.push([String.fromCharCode(type), buffer.toString(encoding, offset + 1, zero)]);
    offset = zero + 1;
  }
  return fields;
}

/**
 * The fields of the ErrorResponse at `buffer[start, end)` whose type bytes are in `wanted` (e.g.
 * 'CM'), by type; a field cut short by `end` and everything after it is left out.
 */
export function readErrorResponseFields(buffer: Buffer, start: number, end: number, wanted: string): Map<string, string> {
  return new Map(readResponseFields(buffer, start, end).filter(([type]) => wanted.includes(type)));
}

/**
 * Reads an ErrorResponse's code and message (the fields safe to audit; Detail can hold row values).
 */
export function readErrorFields(buffer: Buffer, start: number, end: number): { code: string; message: string } {
  const fields = readErrorResponseFields(buffer, start, end, 'CM');
  return { code: fields.get('C') ?? '', message: fields.get('M') ?? '' };
}
