/**
 * Decoders for the packets a client sends during the connection phase.
 * https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_connection_phase_packets_protocol_handshake_response.html
 */
import { WardenError } from '@warden/core';
import { payloadOf } from './packet-codec';
import { Capability } from './protocol';

export interface HandshakeResponse {
  readonly capabilities: number;
  readonly collation: number;
  readonly user: string;
  readonly authResponse: Buffer;
  readonly database?: string;
  readonly plugin?: string;
  readonly attributes: ReadonlyMap<string, string>;
}

/** An SSLRequest is the first 32 bytes of a HandshakeResponse41 with CLIENT_SSL set, nothing more. */
export const SSL_REQUEST_LENGTH = 32;

/**
 * SSLRequest / HandshakeResponse41:
 *   int<4> capabilities | int<4> max packet size | int<1> collation | string[23] filler |
 *   string<NUL> user | auth response (lenenc, or int<1> length, per capabilities) |
 *   [string<NUL> database] | [string<NUL> plugin name] | [lenenc attributes length | (lenenc key | lenenc value)*]
 */
export function decodeHandshakeResponse(buffer: Buffer, start: number, end: number): HandshakeResponse | { readonly sslRequest: true; readonly capabilities: number } {
  const reader = payloadOf(buffer, start, end);
  const capabilities = reader.u32();
  if ((capabilities & Capability.Protocol41) === 0) throw new WardenError('protocol', 'the client does not speak protocol 4.1');
  reader.u32();
  const collation = reader.u8();
  reader.skip(23);
  if (reader.remaining === 0) {
    if ((capabilities & Capability.Ssl) === 0) throw new WardenError('protocol', 'truncated handshake response');
    return { sslRequest: true, capabilities };
  }
  const user = reader.cstring();
  let authResponse: Buffer;
  if (capabilities & Capability.PluginAuthLenencClientData) authResponse = Buffer.from(reader.lenencBytes());
  else if (capabilities & Capability.SecureConnection) authResponse = Buffer.from(reader.bytes(reader.u8()));
  else throw new WardenError('protocol', 'the client does not support secure authentication');
  const database = capabilities & Capability.ConnectWithDb && reader.remaining > 0 ? reader.cstring() : undefined;
  const plugin = capabilities & Capability.PluginAuth && reader.remaining > 0 ? reader.cstring() : undefined;
  const attributes = new Map<string, string>();
  if (capabilities & Capability.ConnectAttrs && reader.remaining > 0) {
    const length = reader.lenenc();
    const stop = reader.offset + length;
    while (reader.offset < stop) {
      const key = reader.lenencBytes().toString('utf8');
      const value = reader.lenencBytes().toString('utf8');
      attributes.set(key, value);
    }
  }
  return {
    capabilities,
    collation,
    user,
    authResponse,
    attributes,
    ...(database ? { database } : {}),
    ...(plugin ? { plugin } : {}),
  };
}

/** The payload of an auth continuation packet, with a trailing NUL (cleartext passwords) removed. */
export function decodeAuthData(buffer: Buffer, start: number, end: number): Buffer {
  let last = end;
  if (last > start + 4 && buffer[last - 1] === 0) last--;
  return buffer.subarray(start + 4, last);
}
