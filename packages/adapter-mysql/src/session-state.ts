/**
 * Session-state tracking towards the target: Warden asks the target (CLIENT_SESSION_TRACK and
 * `session_track_system_variables`) to report every change of the settings that decide how it
 * reads statements (character set, sql_mode) and whether the session is read-only, reads those
 * reports from OK packets, and removes them before the packet reaches the client, which never
 * negotiated the capability with Warden.
 *
 * OK_Packet with CLIENT_SESSION_TRACK
 * (https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_basic_ok_packet.html):
 *   int<1> 0x00 (0xfe as a result terminator under CLIENT_DEPRECATE_EOF) | int<lenenc> affected rows
 *   | int<lenenc> last insert id | int<2> status | int<2> warnings
 *   | [string<lenenc> info]                       — present when anything follows
 *   | [string<lenenc> session state changes]      — when status has SERVER_SESSION_STATE_CHANGED
 * Session state changes: { int<1> type | string<lenenc> data }…; type 0 (SESSION_TRACK_SYSTEM_VARIABLES)
 * has data = string<lenenc> name | string<lenenc> value.
 * Without the capability servers send (MariaDB and MySQL's net_send_ok, whatever the spec's
 * string<EOF> says) and clients read: … | int<2> warnings | [string<lenenc> info], the info only
 * when it is not empty.
 */
import { PayloadReader, PayloadWriter } from './packet-codec';
import { ServerStatus } from './protocol';

/** session_track_system_variables' entry type. https://dev.mysql.com/doc/dev/mysql-server/latest/mysql__com_8h.html (enum_session_state_type) */
const SESSION_TRACK_SYSTEM_VARIABLES = 0;

/** The variables Warden follows; MariaDB (before 11.1) names the read-only one tx_read_only, MySQL 8 transaction_read_only. */
export function trackedVariables(serverVersion: string): readonly string[] {
  const readOnly = /mariadb/i.test(serverVersion) ? 'tx_read_only' : 'transaction_read_only';
  return ['character_set_client', 'character_set_connection', 'character_set_results', 'sql_mode', readOnly, 'autocommit'];
}

/**
 * `enable` switches tracking on; `report` makes the target report the current values at once
 * (assigning each variable its own value counts as a change). Other setup runs between the two,
 * so that the report holds the values the client's session starts with.
 *
 * `check` reports the settings that decide how statements are read, and may run inside a
 * transaction (the read-only flag may not be assigned there). MariaDB does not report a change
 * written `SET @@sql_mode = …` (no scope) although it makes it, so the relay runs `check` after a
 * command that may have changed one of them.
 */
export function sessionTrackingSetup(serverVersion: string): { readonly enable: string; readonly report: string; readonly check: string } {
  const variables = trackedVariables(serverVersion);
  const checked = variables.filter((name) => name !== 'autocommit' && name !== 'character_set_results');
  const assign = (names: readonly string[]): string => `SET ${names.map((name) => `SESSION ${name} = @@SESSION.${name}`).join(', ')}`;
  return {
    enable: `SET SESSION session_track_system_variables = '${variables.join(',')}'`,
    report: assign(checked),
    check: assign(checked.filter((name) => !name.endsWith('read_only'))),
  };
}

/**
 * Text that may change how the target reads statements (over-matching costs one round trip):
 * the names of the settings, in any spelling a SET can use.
 */
const READING_SETTING_NAMES = /sql_mode|character_set|collation_connection|names|charset|character\s+set/i;

export function mayChangeReading(text: string): boolean {
  return READING_SETTING_NAMES.test(text);
}

export interface OkSessionState {
  /** Variables the target reported changed, by lower-cased name, in the order reported. */
  readonly variables: ReadonlyMap<string, string>;
  /** The payload as a server sends it to a client without CLIENT_SESSION_TRACK; undefined when the packet needs no change. */
  readonly clientPayload: Buffer | undefined;
}

/** Reads the session-state part of one OK packet's payload `[start, end)` (header byte included). */
export function readOkSessionState(buffer: Buffer, start: number, end: number): OkSessionState {
  const reader = new PayloadReader(buffer, start, end);
  reader.u8();
  reader.lenenc();
  reader.lenenc();
  if (reader.remaining < 4) return { variables: NO_VARIABLES, clientPayload: undefined };
  const statusAt = reader.offset;
  const status = reader.u16();
  reader.u16();
  const fixedEnd = reader.offset;
  // Nothing after the warnings: the client reads the packet exactly as it is.
  if (reader.remaining === 0) return { variables: NO_VARIABLES, clientPayload: undefined };
  const info = reader.lenencBytes();
  // Without session-state changes the packet is already what a client without tracking reads.
  if ((status & ServerStatus.SessionStateChanged) === 0) return { variables: NO_VARIABLES, clientPayload: undefined };
  const variables = new Map<string, string>();
  const all = reader.lenencBytes();
  const entries = new PayloadReader(all, 0, all.length);
  while (entries.remaining > 0) {
    const type = entries.u8();
    const data = entries.lenencBytes();
    if (type !== SESSION_TRACK_SYSTEM_VARIABLES) continue;
    const entry = new PayloadReader(data, 0, data.length);
    const name = entry.lenencBytes().toString('utf8').toLowerCase();
    variables.set(name, entry.lenencBytes().toString('utf8'));
  }
  const writer = new PayloadWriter().bytes(buffer.subarray(start, statusAt)).u16(status & ~ServerStatus.SessionStateChanged).bytes(buffer.subarray(statusAt + 2, fixedEnd));
  if (info.length > 0) writer.lenencBytes(info);
  return { variables, clientPayload: writer.payload() };
}

const NO_VARIABLES: ReadonlyMap<string, string> = new Map();
