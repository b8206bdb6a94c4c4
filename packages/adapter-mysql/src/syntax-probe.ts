/**
 * When Warden cannot parse a statement, the target is asked whether it can: COM_STMT_PREPARE
 * parses (and resolves names) without running anything, then COM_STMT_CLOSE drops the statement.
 * A statement the target rejects as a syntax error gets the target's own ERR packet, in the
 * client's own terms; one the target accepts is refused, because Warden cannot analyse it.
 * https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_com_stmt_prepare.html
 */
import type { Classification } from '@warden/core';
import { PayloadWriter } from './packet-codec';
import { Command } from './protocol';

/** ER_PARSE_ERROR and ER_SYNTAX_ERROR: the target could not read the statement either. */
const SYNTAX_ERRORS: ReadonlySet<number> = new Set([1064, 1149]);

/** Whether a refused command is worth asking the target about: one statement Warden's parser could not read. */
export function wantsSyntaxProbe(classification: Classification): boolean {
  const only = classification.statementCount === 1 ? classification.statements[0] : undefined;
  return only !== undefined && only.action === 'unknown' && (only.note?.startsWith('parse error') ?? false);
}

export function isSyntaxError(code: number): boolean {
  return SYNTAX_ERRORS.has(code);
}

/** COM_STMT_PREPARE of the client's statement bytes, as a new command (sequence id 0). */
export function prepareProbePacket(statement: Buffer): Buffer {
  return new PayloadWriter().u8(Command.COM_STMT_PREPARE).bytes(statement).packet(0);
}

/** COM_STMT_CLOSE of the probe's statement id; the target does not answer it. */
export function closeProbePacket(statementId: number): Buffer {
  return new PayloadWriter().u8(Command.COM_STMT_CLOSE).u32(statementId).packet(0);
}
