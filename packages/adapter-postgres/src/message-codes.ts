/**
 * PostgreSQL wire protocol v3 constants.
 * https://www.postgresql.org/docs/current/protocol-message-formats.html
 */

/** Untyped startup-phase request codes (the int32 after the length). */
export const StartupCode = {
  ProtocolVersion3: 196608, // 3.0; the minor version is the low 16 bits
  CancelRequest: 80877102,
  SSLRequest: 80877103,
  GSSENCRequest: 80877104,
} as const;

/** Message type bytes sent by the client. */
export const FrontendCode = {
  Bind: 0x42, // 'B'
  Close: 0x43, // 'C'
  CopyData: 0x64, // 'd'
  CopyDone: 0x63, // 'c'
  CopyFail: 0x66, // 'f'
  Describe: 0x44, // 'D'
  Execute: 0x45, // 'E'
  Flush: 0x48, // 'H'
  FunctionCall: 0x46, // 'F'
  Parse: 0x50, // 'P'
  PasswordMessage: 0x70, // 'p' (also SASLInitialResponse, SASLResponse, GSSResponse)
  Query: 0x51, // 'Q'
  Sync: 0x53, // 'S'
  Terminate: 0x58, // 'X'
} as const;

/** Message type bytes sent by the server. */
export const BackendCode = {
  Authentication: 0x52, // 'R'
  BackendKeyData: 0x4b, // 'K'
  BindComplete: 0x32, // '2'
  CloseComplete: 0x33, // '3'
  CommandComplete: 0x43, // 'C'
  CopyData: 0x64, // 'd'
  CopyDone: 0x63, // 'c'
  CopyInResponse: 0x47, // 'G'
  CopyOutResponse: 0x48, // 'H'
  CopyBothResponse: 0x57, // 'W'
  DataRow: 0x44, // 'D'
  EmptyQueryResponse: 0x49, // 'I'
  ErrorResponse: 0x45, // 'E'
  FunctionCallResponse: 0x56, // 'V'
  NegotiateProtocolVersion: 0x76, // 'v'
  NoData: 0x6e, // 'n'
  NoticeResponse: 0x4e, // 'N'
  NotificationResponse: 0x41, // 'A'
  ParameterDescription: 0x74, // 't'
  ParameterStatus: 0x53, // 'S'
  ParseComplete: 0x31, // '1'
  PortalSuspended: 0x73, // 's'
  ReadyForQuery: 0x5a, // 'Z'
  RowDescription: 0x54, // 'T'
} as const;

/** Authentication request subtypes (the int32 after an 'R' message's length). */
export const AuthenticationCode = {
  Ok: 0,
  CleartextPassword: 3,
  MD5Password: 5,
  SASL: 10,
  SASLContinue: 11,
  SASLFinal: 12,
} as const;

/** SQLSTATE codes Warden sends. https://www.postgresql.org/docs/current/errcodes-appendix.html */
export const SqlState = {
  ConnectionFailure: '08006',
  ProtocolViolation: '08P01',
  InvalidAuthorizationSpecification: '28000',
  InvalidPassword: '28P01',
  InvalidSqlStatementName: '26000',
  InvalidCursorName: '34000',
  InsufficientPrivilege: '42501',
  DuplicatePreparedStatement: '42P05',
  InvalidCatalogName: '3D000',
  TooManyConnections: '53300',
  ProgramLimitExceeded: '54000',
  ObjectNotInPrerequisiteState: '55000',
  AdminShutdown: '57P01',
  IdleSessionTimeout: '57P05',
  InternalError: 'XX000',
  SystemError: '58000',
} as const;
