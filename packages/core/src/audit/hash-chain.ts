import { hash } from 'node:crypto';
import { WardenError } from '../errors';
import type { AuditEvent, AuditRecord } from './audit-event';
import { canonicalJson } from './canonical-json';

/** The `prev` of the first record: there is nothing before it. */
export const GENESIS_HASH = '0'.repeat(64);

/** A record before its hash is known: the event plus its place in the chain. */
export type UnhashedAuditRecord = AuditEvent & {
  readonly seq: number;
  readonly time: string;
  readonly prev: string;
};

/**
 * SHA-256 (hex) over the canonical JSON of a record without its `hash`. The hash covers `prev`, so
 * each record commits to the whole log before it.
 *
 * A `hash` property, if the argument carries one (a record parsed from the log), is left out, so
 * that verifiers can pass a stored record as it is.
 */
export function hashRecord(record: UnhashedAuditRecord): string {
  let input: object = record;
  if (Object.hasOwn(record, 'hash')) {
    const { hash: _stored, ...rest } = record as UnhashedAuditRecord & { readonly hash?: unknown };
    input = rest;
  }
  return sha256Hex(canonicalJson(input));
}

function sha256Hex(text: string): string {
  // The one-shot hash: a third of the cost of createHash().update().digest() on a record.
  return hash('sha256', text, 'hex');
}

/** Record fields owned by the chain; an event carrying one would overwrite or corrupt it. */
const CHAIN_FIELDS = ['seq', 'time', 'prev', 'hash'] as const;

/**
 * A record ready to store, and its line in the log: the canonical JSON that was hashed with `hash`
 * added as the last member, plus a newline. (Appending it saves serializing the record twice; a
 * verifier parses the line and recomputes the canonical form, so the member order does not matter.)
 */
export interface SealedRecord {
  readonly record: AuditRecord;
  readonly line: string;
}

/**
 * Give an event its place in the chain. Shared by every sink so that they all hash alike. Throws a
 * `WardenError('internal')` when the event cannot be recorded as it is (a chain field in the event,
 * a value with no JSON form); that is the caller's bug, not a failure of the store.
 */
export function sealRecord(event: AuditEvent, seq: number, time: string, prev: string): SealedRecord {
  for (const field of CHAIN_FIELDS) {
    if (Object.hasOwn(event, field)) {
      throw new WardenError('internal', `an audit event must not carry '${field}': it is a field of the audit record`);
    }
  }
  try {
    // Object.assign, not `{ ...event, seq }`: on Node 20 a spread followed by more properties
    // builds a fresh hidden class per object (~10 µs per record, measured), on every append.
    const unhashed: UnhashedAuditRecord = Object.assign({}, event, { seq, time, prev });
    const body = canonicalJson(unhashed);
    const hash = sha256Hex(body);
    const record: AuditRecord = Object.assign({}, unhashed, { hash });
    return { record, line: `${body.slice(0, -1)},"hash":"${hash}"}\n` };
  } catch (error) {
    throw new WardenError('internal', `the audit event cannot be serialized: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}
