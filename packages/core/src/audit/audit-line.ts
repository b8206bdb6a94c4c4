import type { AuditRecord } from './audit-event';
import { hashRecord, type UnhashedAuditRecord } from './hash-chain';

/**
 * What one line of the log says about itself, before its neighbours are looked at: does it parse,
 * is it shaped like a record, does its hash match its content. `unparseable` is kept apart because
 * it is the one defect a crash can cause (a torn write), so `open` may repair it at the tail.
 */
export type AuditLineCheck =
  | { readonly ok: true; readonly record: AuditRecord }
  | { readonly ok: false; readonly unparseable: boolean; readonly reason: string };

const HEX_64 = /^[0-9a-f]{64}$/;

/** `line` is the line's bytes without the newline. */
export function checkAuditLine(line: Buffer | string): AuditLineCheck {
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof line === 'string' ? line : line.toString('utf8'));
  } catch {
    return { ok: false, unparseable: true, reason: 'unparseable JSON' };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return { ok: false, unparseable: false, reason: 'not an audit record (not a JSON object)' };
  }
  const candidate = parsed as Record<string, unknown>;
  const problem =
    typeof candidate.seq !== 'number' || !Number.isSafeInteger(candidate.seq) || candidate.seq < 1
      ? 'seq'
      : typeof candidate.hash !== 'string' || !HEX_64.test(candidate.hash)
        ? 'hash'
        : typeof candidate.prev !== 'string' || !HEX_64.test(candidate.prev)
          ? 'prev'
          : typeof candidate.time !== 'string'
            ? 'time'
            : typeof candidate.type !== 'string'
              ? 'type'
              : undefined;
  if (problem) return { ok: false, unparseable: false, reason: `not an audit record ('${problem}' missing or invalid)` };

  // The shape is checked above; the event fields are covered by the hash, not validated one by one.
  const record = candidate as unknown as AuditRecord;
  if (hashRecord(record as UnhashedAuditRecord) !== record.hash) {
    return { ok: false, unparseable: false, reason: 'hash mismatch (record altered)' };
  }
  return { ok: true, record };
}
