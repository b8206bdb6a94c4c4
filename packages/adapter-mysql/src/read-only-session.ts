/**
 * What makes the target session of a read-only grant read-only (defence in depth behind
 * classification): run at login, and again after each COM_RESET_CONNECTION, which resets the
 * session's transaction characteristics to the server's defaults.
 * https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_com_reset_connection.html
 */
export const READ_ONLY_SETUP = 'SET SESSION TRANSACTION READ ONLY';

