import { WardenError } from '@warden/core';
import { StartupCode } from './message-codes';

/**
 * Decoders for the client messages Warden needs to read. Each takes the whole message
 * (`buffer[start, end)`, header included) and reads only what it needs.
 */

export type StartupRequest =
  | { readonly kind: 'SSLRequest' }
  | { readonly kind: 'GSSENCRequest' }
  | { readonly kind: 'CancelRequest'; readonly processId: number; readonly secretKey: Buffer }
  | { readonly kind: 'StartupMessage'; readonly minorVersion: number; readonly parameters: ReadonlyMap<string, string> };

/**
 * StartupMessage: int32 len | int32 196608+minor | (cstring name, cstring value)* | \0
 * CancelRequest:  int32 16  | int32 80877102 | int32 pid | secret key (4 bytes; up to 256 in 3.2)
 * SSLRequest / GSSENCRequest: int32 8 | int32 code
 */
export function decodeStartupRequest(buffer: Buffer, start: number, end: number): StartupRequest {
  const code = buffer.readInt32BE(start + 4);
  if (code === StartupCode.SSLRequest) return { kind: 'SSLRequest' };
  if (code === StartupCode.GSSENCRequest) return { kind: 'GSSENCRequest' };
  if (code === StartupCode.CancelRequest) {
    if (end - start < 16) throw new WardenError('protocol', 'CancelRequest too short');
    return { kind: 'CancelRequest', processId: buffer.readInt32BE(start + 8), secretKey: Buffer.from(buffer.subarray(start + 12, end)) };
  }
  if (code >>> 16 !== 3) throw new WardenError('protocol', `unsupported frontend protocol ${code >>> 16}.${code & 0xffff}`);
  const parameters = new Map<string, string>();
  let offset = start + 8;
  while (offset < end) {
    const name = readCString(buffer, offset, end);
    offset = name.next;
    if (name.value === '') break;
    const value = readCString(buffer, offset, end);
    offset = value.next;
    parameters.set(name.value, value.value);
  }
  return { kind: 'StartupMessage', minorVersion: code & 0xffff, parameters };
}

/** Query: 'Q' | int32 len | cstring query */
export function decodeQuery(buffer: Buffer, start: number, end: number): string {
  return readCString(buffer, start + 5, end).value;
}

/** Parse: 'P' | int32 len | cstring statement name | cstring query | int16 n | int32 param type × n */
export function decodeParse(buffer: Buffer, start: number, end: number): { readonly statement: string; readonly query: string } {
  const statement = readCString(buffer, start + 5, end);
  const query = readCString(buffer, statement.next, end);
  return { statement: statement.value, query: query.value };
}

/** Bind: 'B' | int32 len | cstring portal | cstring statement | … (parameters are not read) */
export function decodeBind(buffer: Buffer, start: number, end: number): { readonly portal: string; readonly statement: string } {
  const portal = readCString(buffer, start + 5, end);
  const statement = readCString(buffer, portal.next, end);
  return { portal: portal.value, statement: statement.value };
}

/** Execute: 'E' | int32 len | cstring portal | int32 max rows */
export function decodeExecute(buffer: Buffer, start: number, end: number): { readonly portal: string; readonly maxRows: number } {
  const portal = readCString(buffer, start + 5, end);
  if (portal.next + 4 > end) throw new WardenError('protocol', 'Execute message too short');
  return { portal: portal.value, maxRows: buffer.readInt32BE(portal.next) };
}

/** Close / Describe: type byte | int32 len | byte 'S' or 'P' | cstring name */
export function decodeTarget(buffer: Buffer, start: number, end: number): { readonly kind: 'S' | 'P'; readonly name: string } {
  if (start + 6 > end) throw new WardenError('protocol', 'message too short');
  const kind = String.fromCharCode(buffer[start + 5]!);
  if (kind !== 'S' && kind !== 'P') throw new WardenError('protocol', `invalid Close/Describe target '${kind}'`);
  return { kind, name: readCString(buffer, start + 6, end).value };
}

/** PasswordMessage: 'p' | int32 len | cstring password */
export function decodePassword(buffer: Buffer, start: number, end: number): string {
  return readCString(buffer, start + 5, end).value;
}

function readCString(buffer: Buffer, offset: number, end: number): { readonly value: string; readonly next: number } {
  const zero = buffer.indexOf(0, offset);
  if (zero === -1 || zero >= end) throw new WardenError('protocol', 'unterminated string in message');
  return { value: buffer.toString('utf8', offset, zero), next: zero + 1 };
}
