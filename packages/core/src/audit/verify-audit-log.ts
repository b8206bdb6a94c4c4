import { WardenError } from '../errors';
import { checkAuditLine } from './audit-line';
import type { AuditLogReader } from './audit-store';
import { FileAuditReader } from './file-segments';
import { GENESIS_HASH } from './hash-chain';

/** The outcome of checking a whole log file. */
export type AuditVerification =
  | {
      readonly ok: true;
      readonly records: number;
      /** Hash of the last record (`GENESIS_HASH` for an empty log); compare it with a checkpoint. */
      readonly lastHash: string;
    }
  | {
      readonly ok: false;
      /** Valid records before the problem. */
      readonly records: number;
      readonly firstBad: {
        /** The seq expected at that position. */
        readonly seq: number;
        /** 1-based line number (0 when there is no file). */
        readonly line: number;
        readonly reason: string;
      };
    };

/**
 * Check every record of a log file: each line parses, its hash matches its content, its seq is the
 * next one and its `prev` is the previous record's hash. That detects an altered, removed, inserted
 * or reordered record and a torn tail. It cannot detect a log cut short at a record boundary or a
 * chain recomputed from the altered record on; signed checkpoints of `lastHash` cover those.
 *
 * Reads the log (every segment, in order) as a stream, so a large log is never held in memory;
 * stops at the first problem. Lines are split on LF bytes (as written), not with `readline`, which
 * also splits on CR and cannot tell whether the last line had its newline.
 *
 * @example
 * const result = await verifyAuditLog('/var/lib/warden/audit/audit.log');
 * if (!result.ok) console.error(`line ${result.firstBad.line}: ${result.firstBad.reason}`);
 */
export async function verifyAuditLog(filePath: string, reader: AuditLogReader = new FileAuditReader(filePath)): Promise<AuditVerification> {
  let records = 0;
  let prevHash = GENESIS_HASH;
  let segments = 0;

  const bad = (reason: string): AuditVerification => ({ ok: false, records, firstBad: { seq: records + 1, line: records + 1, reason } });
  const where = (item: { readonly where: string }): string => (segments > 1 ? ` (in ${item.where})` : '');

  try {
    let lastSegment = 0;
    for await (const item of reader.read()) {
      if (item.kind === 'gap') return bad(item.reason);
      if (item.segment !== lastSegment) {
        segments++;
        lastSegment = item.segment;
      }
      if (!item.terminated) {
        // Bytes after a segment's last newline: a write that was cut short, even if they happen to parse.
        const result = checkAuditLine(item.bytes);
        if (!result.ok) return bad(`${result.reason}${where(item)}`);
        return { ok: false, records, firstBad: { seq: records + 1, line: records + 1, reason: `the last line has no newline (torn write)${where(item)}` } };
      }
      const result = checkAuditLine(item.bytes);
      if (!result.ok) return bad(`${result.reason}${where(item)}`);
      const expected = records + 1;
      const { seq, prev, hash } = result.record;
      if (seq > expected) return bad(`seq ${expected} expected, found ${seq} (record missing or reordered)${where(item)}`);
      if (seq < expected) return bad(`seq ${expected} expected, found ${seq} (record inserted or reordered)${where(item)}`);
      if (prev !== prevHash) return bad(`prev does not match the previous record hash${where(item)}`);
      records = expected;
      prevHash = hash;
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ok: false, records: 0, firstBad: { seq: 1, line: 0, reason: `no audit log at ${filePath}` } };
    throw new WardenError('audit-unavailable', `cannot read the audit log at ${filePath}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  return { ok: true, records, lastHash: prevHash };
}
