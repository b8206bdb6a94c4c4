/**
 * Packets Warden writes as a server, and readers for the generic response packets it inspects.
 * https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_basic_response_packets.html
 */
import { PayloadReader, PayloadWriter } from './packet-codec';
import { AuthPlugin, DEFAULT_COLLATION, ErrorCode, PacketHeader, ServerStatus } from './protocol';

/** SQLSTATE for each error code Warden sends. */
const SQL_STATES: Readonly<Record<number, string>> = {
  [ErrorCode.AccessDenied]: '28000',
  [ErrorCode.BadDb]: '42000',
  [ErrorCode.UnknownCommand]: '08S01',
  [ErrorCode.CommandDenied]: '42000',
  [ErrorCode.ServerShutdown]: '08S01',
  [ErrorCode.HandshakeError]: '08S01',
  [ErrorCode.TooManyConnections]: '08004',
  [ErrorCode.PacketTooLarge]: '08S01',
  [ErrorCode.NotSupported]: '42000',
  [ErrorCode.TargetUnavailable]: 'HY000',
  [ErrorCode.Unknown]: 'HY000',
  [ErrorCode.QueryInterrupted]: '70100',
  [ErrorCode.NoSuchThread]: 'HY000',
  [ErrorCode.ConnectionKilled]: '70100',
  [ErrorCode.ClientInteractionTimeout]: 'HY000',
};

export type WardenErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * ERR_Packet: 0xff | int<2> error code | '#' | string[5] SQLSTATE | string<EOF> message.
 * Every refusal Warden sends (login, policy, protocol, shutdown) leaves through here.
 */
export function errPacket(sequenceId: number, code: WardenErrorCode, message: string): Buffer {
  return new PayloadWriter()
    .u8(PacketHeader.ERR)
    .u16(code)
    .bytes(`#${SQL_STATES[code] ?? 'HY000'}`)
    .bytes(message)
    .packet(sequenceId);
}

/** OK_Packet without session tracking: 0x00 | lenenc affected rows | lenenc last insert id | int<2> status | int<2> warnings. */
export function okPacket(sequenceId: number, status: number = ServerStatus.Autocommit): Buffer {
  return new PayloadWriter().u8(PacketHeader.OK).lenenc(0).lenenc(0).u16(status).u16(0).packet(sequenceId);
}

export interface HandshakeV10 {
  readonly serverVersion: string;
  readonly connectionId: number;
  /** 20 bytes of nonce. */
  readonly nonce: Buffer;
  readonly capabilities: number;
}

/**
 * Protocol::HandshakeV10:
 *   int<1> 10 | string<NUL> server version | int<4> connection id | string[8] nonce part 1 | 0x00 |
 *   int<2> capabilities (low) | int<1> collation | int<2> status | int<2> capabilities (high) |
 *   int<1> nonce length + 1 | string[10] reserved | string[12] nonce part 2 + 0x00 | string<NUL> plugin
 */
export function handshakeV10(handshake: HandshakeV10): Buffer {
  return new PayloadWriter()
    .u8(10)
    .cstring(handshake.serverVersion)
    .u32(handshake.connectionId)
    .bytes(handshake.nonce.subarray(0, 8))
    .u8(0)
    .u16(handshake.capabilities & 0xffff)
    .u8(DEFAULT_COLLATION)
    .u16(ServerStatus.Autocommit)
    .u16(handshake.capabilities >>> 16)
    .u8(handshake.nonce.length + 1)
    .zeros(10)
    .bytes(handshake.nonce.subarray(8))
    .u8(0)
    .cstring(AuthPlugin.CachingSha2)
    .packet(0);
}

/** AuthSwitchRequest: 0xfe | string<NUL> plugin name | string<EOF> plugin data. */
export function authSwitchRequest(sequenceId: number, plugin: string, data: Buffer): Buffer {
  return new PayloadWriter().u8(PacketHeader.EOF).cstring(plugin).bytes(data).packet(sequenceId);
}

/** AuthMoreData: 0x01 | string<EOF> data. */
export function authMoreData(sequenceId: number, data: Buffer): Buffer {
  return new PayloadWriter().u8(PacketHeader.AuthMoreData).bytes(data).packet(sequenceId);
}

/** The status flags of an OK packet, or of an OK-as-EOF (0xfe) packet with CLIENT_DEPRECATE_EOF. */
export function readOkStatus(reader: PayloadReader): { affectedRows: number; status: number } {
  reader.u8();
  const affectedRows = reader.lenenc();
  reader.lenenc();
  return { affectedRows, status: reader.remaining >= 2 ? reader.u16() : 0 };
}

/** EOF_Packet: 0xfe | int<2> warnings | int<2> status. */
export function readEofStatus(reader: PayloadReader): number {
  reader.u8();
  reader.u16();
  return reader.u16();
}

/** ERR_Packet's code, SQLSTATE and message. */
export function readErr(reader: PayloadReader): { code: number; sqlState: string; message: string } {
  reader.u8();
  const code = reader.u16();
  let sqlState = '';
  if (reader.remaining >= 6) {
    const marker = reader.bytes(1);
    if (marker[0] === 0x23 /* # */) sqlState = reader.bytes(5).toString('latin1');
    else reader.offset--;
  }
  return { code, sqlState, message: reader.rest().toString('utf8') };
}
