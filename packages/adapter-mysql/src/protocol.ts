/**
 * MySQL client/server protocol constants.
 * https://dev.mysql.com/doc/dev/mysql-server/latest/PAGE_PROTOCOL.html
 */

/** https://dev.mysql.com/doc/dev/mysql-server/latest/group__group__cs__capabilities__flags.html */
export const Capability = {
  LongPassword: 0x1,
  FoundRows: 0x2,
  LongFlag: 0x4,
  ConnectWithDb: 0x8,
  NoSchema: 0x10,
  Compress: 0x20,
  Odbc: 0x40,
  LocalFiles: 0x80,
  IgnoreSpace: 0x100,
  Protocol41: 0x200,
  Interactive: 0x400,
  Ssl: 0x800,
  IgnoreSigpipe: 0x1000,
  Transactions: 0x2000,
  Reserved: 0x4000,
  SecureConnection: 0x8000,
  MultiStatements: 0x10000,
  MultiResults: 0x20000,
  PsMultiResults: 0x40000,
  PluginAuth: 0x80000,
  ConnectAttrs: 0x100000,
  PluginAuthLenencClientData: 0x200000,
  CanHandleExpiredPasswords: 0x400000,
  SessionTrack: 0x800000,
  DeprecateEof: 0x1000000,
  OptionalResultsetMetadata: 0x2000000,
  QueryAttributes: 0x8000000,
} as const;

/**
 * What Warden offers clients. Left out on purpose: COMPRESS (Warden must read every command),
 * LOCAL_FILES (LOAD DATA LOCAL reads the client's files), SESSION_TRACK, QUERY_ATTRIBUTES and
 * OPTIONAL_RESULTSET_METADATA (they change packet layouts Warden reads), IGNORE_SPACE (it
 * changes how the server reads names), and MariaDB's extended capabilities.
 */
export const WARDEN_CAPABILITIES =
  Capability.LongPassword |
  Capability.FoundRows |
  Capability.LongFlag |
  Capability.ConnectWithDb |
  Capability.Odbc |
  Capability.Protocol41 |
  Capability.Interactive |
  Capability.IgnoreSigpipe |
  Capability.Transactions |
  Capability.Reserved |
  Capability.SecureConnection |
  Capability.MultiStatements |
  Capability.MultiResults |
  Capability.PsMultiResults |
  Capability.PluginAuth |
  Capability.ConnectAttrs |
  Capability.PluginAuthLenencClientData |
  Capability.DeprecateEof;

/** Capabilities that change the framing of what the target sends: client and target must agree. */
export const FRAMING_CAPABILITIES = Capability.DeprecateEof | Capability.MultiResults | Capability.PsMultiResults | Capability.MultiStatements;

/** https://dev.mysql.com/doc/dev/mysql-server/latest/my__command_8h.html */
export const Command = {
  COM_QUIT: 0x01,
  COM_INIT_DB: 0x02,
  COM_QUERY: 0x03,
  COM_FIELD_LIST: 0x04,
  COM_STATISTICS: 0x09,
  COM_PROCESS_KILL: 0x0c,
  COM_PING: 0x0e,
  COM_CHANGE_USER: 0x11,
  COM_STMT_PREPARE: 0x16,
  COM_STMT_EXECUTE: 0x17,
  COM_STMT_SEND_LONG_DATA: 0x18,
  COM_STMT_CLOSE: 0x19,
  COM_STMT_RESET: 0x1a,
  COM_SET_OPTION: 0x1b,
  COM_STMT_FETCH: 0x1c,
  COM_RESET_CONNECTION: 0x1f,
} as const;

/** First payload byte of generic response packets. */
export const PacketHeader = {
  OK: 0x00,
  AuthMoreData: 0x01,
  LocalInfile: 0xfb,
  EOF: 0xfe,
  ERR: 0xff,
} as const;

/** https://dev.mysql.com/doc/dev/mysql-server/latest/mysql__com_8h.html (SERVER_STATUS_*) */
export const ServerStatus = {
  InTransaction: 0x1,
  Autocommit: 0x2,
  MoreResultsExist: 0x8,
  CursorExists: 0x40,
  /** The OK packet carries session-state changes (CLIENT_SESSION_TRACK). */
  SessionStateChanged: 0x4000,
} as const;

/** Error codes Warden sends. https://dev.mysql.com/doc/mysql-errors/8.0/en/server-error-reference.html */
export const ErrorCode = {
  /** ER_ACCESS_DENIED_ERROR, SQLSTATE 28000 */
  AccessDenied: 1045,
  /** ER_BAD_DB_ERROR, SQLSTATE 42000 */
  BadDb: 1049,
  /** ER_UNKNOWN_COM_ERROR, SQLSTATE 08S01 */
  UnknownCommand: 1047,
  /** ER_TABLEACCESS_DENIED_ERROR, SQLSTATE 42000: used for every policy refusal. */
  CommandDenied: 1142,
  /** ER_SERVER_SHUTDOWN, SQLSTATE 08S01 */
  ServerShutdown: 1053,
  /** ER_HANDSHAKE_ERROR, SQLSTATE 08S01 */
  HandshakeError: 1043,
  /** ER_CON_COUNT_ERROR, SQLSTATE 08004: too many connections (a listener or identity limit). */
  TooManyConnections: 1040,
  /** ER_NET_PACKET_TOO_LARGE, SQLSTATE 08S01 */
  PacketTooLarge: 1153,
  /** ER_NOT_SUPPORTED_YET, SQLSTATE 42000 */
  NotSupported: 1235,
  /** CR_CONN_HOST_ERROR-like: the target cannot be reached. ER_CON_COUNT_ERROR's neighbour, 08S01. */
  TargetUnavailable: 2003,
  /** ER_UNKNOWN_ERROR, SQLSTATE HY000 */
  Unknown: 1105,
  /** ER_QUERY_INTERRUPTED, SQLSTATE 70100: a result cut at a row budget. */
  QueryInterrupted: 1317,
  /** ER_NO_SUCH_THREAD, SQLSTATE HY000: KILL of a connection id the caller may not see. */
  NoSuchThread: 1094,
  /** ER_CONNECTION_KILLED, SQLSTATE 70100 */
  ConnectionKilled: 1927,
  /** ER_UNKNOWN_STMT_HANDLER, SQLSTATE HY000: EXECUTE of a prepared statement name the session does not have. */
  UnknownStmtHandler: 1243,
  /** ER_CLIENT_INTERACTION_TIMEOUT, SQLSTATE HY000: the session was idle for the idle timeout. */
  ClientInteractionTimeout: 4031,
} as const;

/**
 * Column types of ColumnDefinition41 (enum_field_types).
 * https://dev.mysql.com/doc/dev/mysql-server/latest/field__types_8h.html
 */
export const ColumnType = {
  DECIMAL: 0x00,
  TINY: 0x01,
  SHORT: 0x02,
  LONG: 0x03,
  FLOAT: 0x04,
  DOUBLE: 0x05,
  NULL: 0x06,
  TIMESTAMP: 0x07,
  LONGLONG: 0x08,
  INT24: 0x09,
  DATE: 0x0a,
  TIME: 0x0b,
  DATETIME: 0x0c,
  YEAR: 0x0d,
  NEWDATE: 0x0e,
  VARCHAR: 0x0f,
  BIT: 0x10,
  TIMESTAMP2: 0x11,
  DATETIME2: 0x12,
  TIME2: 0x13,
  JSON: 0xf5,
  NEWDECIMAL: 0xf6,
  ENUM: 0xf7,
  SET: 0xf8,
  TINY_BLOB: 0xf9,
  MEDIUM_BLOB: 0xfa,
  LONG_BLOB: 0xfb,
  BLOB: 0xfc,
  VAR_STRING: 0xfd,
  STRING: 0xfe,
  GEOMETRY: 0xff,
} as const;

/** Column definition flags. https://dev.mysql.com/doc/dev/mysql-server/latest/group__group__cs__column__definition__flags.html */
export const ColumnFlag = {
  Unsigned: 0x20,
  Binary: 0x80,
} as const;

/** The `binary` character set: values are bytes, not text. */
export const BINARY_COLLATION = 63;

export const AuthPlugin = {
  CachingSha2: 'caching_sha2_password',
  ClearPassword: 'mysql_clear_password',
  NativePassword: 'mysql_native_password',
} as const;

/** caching_sha2_password's AuthMoreData codes. */
export const CachingSha2 = {
  RequestPublicKey: 0x02,
  FastAuthSuccess: 0x03,
  PerformFullAuthentication: 0x04,
} as const;

/** utf8mb4_general_ci: what Warden announces and what it uses towards the target by default. */
export const DEFAULT_COLLATION = 45;

/** Largest payload of one physical packet; a payload this long continues in the next packet. */
export const MAX_PACKET_PAYLOAD = 0xffffff;
