import { PayloadWriter } from './packet-codec';
import { Command } from './protocol';

/**
 * What makes the target session of a read-only grant read-only (defence in depth behind
 * classification): run at login, and again after each COM_RESET_CONNECTION, which resets the
 * session's transaction characteristics to the server's defaults.
 * https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_com_reset_connection.html
 */
export const READ_ONLY_SETUP = 'SET SESSION TRANSACTION READ ONLY';

/** COM_QUERY with `READ_ONLY_SETUP`, as a new command (sequence id 0). */
export function readOnlySetupPacket(): Buffer {
  return new PayloadWriter().u8(Command.COM_QUERY).bytes(READ_ONLY_SETUP).packet(0);
}
