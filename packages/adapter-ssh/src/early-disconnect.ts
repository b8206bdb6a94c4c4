/**
 * Turning a client away before the key exchange, with a reason it prints: Warden's identification
 * line, then SSH_MSG_DISCONNECT in the unencrypted binary packet format that precedes the first
 * key exchange. OpenSSH prints `Received disconnect from <host> port <port>:<code>: <description>`.
 * (ssh2's own `disconnect` sends no description.)
 *
 * Binary packet (RFC 4253 §6, no MAC before the first NEWKEYS):
 *   uint32 packet_length | byte padding_length | payload | random padding (4..255 bytes);
 *   4 + 1 + payload + padding is a multiple of 8.
 * SSH_MSG_DISCONNECT payload (RFC 4253 §11.1):
 *   byte 1 | uint32 reason code | string description (UTF-8) | string language tag
 */
import { randomBytes } from 'node:crypto';
import { sshString, sshUint32 } from './ssh-wire';

/** Disconnect reason codes (RFC 4253 §11.1) Warden uses. */
export const DISCONNECT_REASON = {
  SSH_DISCONNECT_BY_APPLICATION: 11,
  SSH_DISCONNECT_TOO_MANY_CONNECTIONS: 12,
} as const;
export type DisconnectReason = (typeof DISCONNECT_REASON)[keyof typeof DISCONNECT_REASON];

const SSH_MSG_DISCONNECT = 1;

/** The bytes to write to a fresh connection (nothing received from it needed) before ending it. */
export function earlyDisconnect(ident: string, reason: DisconnectReason, description: string): Buffer {
  const payload = Buffer.concat([Buffer.from([SSH_MSG_DISCONNECT]), sshUint32(reason), sshString(description.slice(0, 400)), sshString('')]);
  let padding = 8 - ((4 + 1 + payload.length) % 8);
  if (padding < 4) padding += 8;
  const packet = Buffer.concat([sshUint32(1 + payload.length + padding), Buffer.from([padding]), payload, randomBytes(padding)]);
  return Buffer.concat([Buffer.from(`SSH-2.0-${ident}\r\n`), packet]);
}
