import { createHash, type KeyObject } from 'node:crypto';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { WardenError } from '../errors';
import type { AuditRecord } from './audit-event';
import { checkAuditLine } from './audit-line';
import { verifyCheckpointSignature, type Checkpoint } from './checkpoint';
import type { AuditLogItem, AuditLogReader } from './audit-store';
import { readCheckpoints, type CheckpointLine } from './checkpoint-log';
import { FileAuditReader } from './file-segments';
import { GENESIS_HASH } from './hash-chain';
import { IncrementalMerkleTree, leafHash } from './merkle-tree';

export interface EvidenceVerificationOptions {
  /** The log's first segment (`<dataDir>/audit.log`); its later segments are found from it. */
  readonly logPath: string;
  /** Another store's reader (a database); by default the segmented files at `logPath`. */
  readonly reader?: AuditLogReader;
  /** Files of checkpoints to check the log against: `checkpoints.log`, a witness's copy, a bundle's. */
  readonly checkpointFiles: readonly string[];
  /** Public keys by key id; a checkpoint naming another key id fails. */
  readonly publicKeys: ReadonlyMap<string, KeyObject>;
  /** Where recordings referenced by the log live; when absent, recordings are not checked. */
  readonly recordingsDir?: string;
  /** Only the first `size` records belong to the evidence (a bundle's segment ends there). */
  readonly expectedRecords?: number;
}

export interface RecordingReference {
  /** seq of the record that names the recording. */
  readonly seq: number;
  readonly sessionId: string;
  readonly file: string;
  readonly sha256: string;
}

export interface EvidenceVerification {
  readonly ok: boolean;
  /** Records that verified before the first problem (all of them when ok). */
  readonly records: number;
  readonly lastHash: string;
  /** The first record that is not what the chain, the tree or a recording says it must be. */
  readonly firstBad?: { readonly seq: number; readonly line: number; readonly reason: string; readonly segment?: string };
  /** How many segments the log was read from (gaps not counted). */
  readonly segments: number;
  /** Every problem found, the first record problem included (bad signatures, missing recordings, …). */
  readonly problems: readonly string[];
  /** Validly signed checkpoints the log was checked against, by size. */
  readonly checkpoints: readonly Checkpoint[];
  readonly recordings: readonly RecordingReference[];
}

/** The recording a record names, if it names one (`session.event` named `recording` with file and sha256). */
export function recordingOf(record: AuditRecord): RecordingReference | undefined {
  if (record.type !== 'session.event' || record.name !== 'recording') return undefined;
  const file = record.detail?.['file'];
  const sha256 = record.detail?.['sha256'];
  if (typeof file !== 'string' || typeof sha256 !== 'string') return undefined;
  return { seq: record.seq, sessionId: record.sessionId, file, sha256 };
}

/**
 * Everything `warden audit verify` checks, in one pass over the log:
 * - the hash chain (each record's hash, seq and prev), as `verifyAuditLog` does;
 * - every checkpoint's Ed25519 signature (a forged or altered checkpoint fails);
 * - the Merkle root of the first `size` records against every validly signed checkpoint — which
 *   catches a chain recomputed after an edit, and a log cut short below a checkpoint;
 * - each recording the log names: the file exists and its SHA-256 matches.
 * The log is streamed; memory is O(log n) for the tree plus the checkpoints and recording references.
 */
export async function verifyAuditEvidence(options: EvidenceVerificationOptions): Promise<EvidenceVerification> {
  const problems: string[] = [];
  const bySize = new Map<number, { checkpoint: CheckpointLine; source: string }>();
  for (const file of options.checkpointFiles) {
    let loaded;
    try {
      loaded = await readCheckpoints(file);
    } catch (error) {
      problems.push(`cannot read checkpoints from ${file}: ${(error as Error).message}`);
      continue;
    }
    problems.push(...loaded.problems.filter((problem) => !problem.endsWith('torn last line')));
    for (const [index, checkpoint] of loaded.checkpoints.entries()) {
      const where = `checkpoint ${index + 1} of ${file} (size ${checkpoint.size}, ${checkpoint.time})`;
      const key = options.publicKeys.get(checkpoint.keyId);
      if (!key) {
        problems.push(`${where}: signed with key '${checkpoint.keyId}', which is not a trusted key`);
        continue;
      }
      if (!verifyCheckpointSignature(checkpoint, key)) {
        problems.push(`${where}: the signature does not verify (forged or altered checkpoint)`);
        continue;
      }
      const seen = bySize.get(checkpoint.size);
      if (seen && seen.checkpoint.root !== checkpoint.root) {
        problems.push(`${where}: two validly signed checkpoints of size ${checkpoint.size} disagree on the root (${seen.source}) — the log was forked`);
        continue;
      }
      if (!seen) bySize.set(checkpoint.size, { checkpoint, source: where });
    }
  }
  const sizes = [...bySize.keys()].sort((a, b) => a - b);
  const checkpoints: Checkpoint[] = sizes.map((size) => bySize.get(size)!.checkpoint);

  const tree = new IncrementalMerkleTree();
  let records = 0;
  let prevHash = GENESIS_HASH;
  let nextCheckpoint = 0;
  let lastMatched = 0;
  let firstBad: EvidenceVerification['firstBad'];
  const recordings: RecordingReference[] = [];
  const limit = options.expectedRecords ?? Number.POSITIVE_INFINITY;

  let segments = 0;
  let lastSegment = 0;
  const segmentsSeen = new Set<number>();
  const reader = options.reader ?? new FileAuditReader(options.logPath);
  const nameOf = (segment: number): string => reader.segmentName?.(segment) ?? `segment ${segment}`;
  let rest: (AuditLogItem & { kind: 'line' }) | undefined;
  const multi = (): boolean => segmentsSeen.size > 1 || lastSegment > 1;

  const bad = (seq: number, reason: string, segment?: string): false => {
    firstBad = { seq, line: seq, reason, ...(segment ? { segment } : {}) };
    return false;
  };

  const visit = (item: AuditLogItem): boolean => {
    if (item.kind === 'gap') return bad(records + 1, item.reason, item.where);
    if (!segmentsSeen.has(item.segment)) {
      segmentsSeen.add(item.segment);
      segments++;
    }
    const firstOfSegment = item.segment !== lastSegment;
    const previousSegment = lastSegment;
    lastSegment = item.segment;
    if (!item.terminated) {
      rest = item;
      // Only the last segment's tail may be a write in flight; a later segment makes it damage.
      return item.lastSegment ? true : bad(records + 1, `the last line of ${item.where} has no newline (torn write), and a later segment follows it`, item.where);
    }
    const line = item.bytes;
    const expected = records + 1;
    const at = multi() ? ` (in ${item.where})` : '';
    if (records >= limit) return bad(records + 1, `a record after the ${limit} records this evidence covers`);
    const result = checkAuditLine(line);
    if (!result.ok) return bad(expected, `${result.reason}${at}`, item.where);
    const { seq, prev, hash } = result.record;
    if (firstOfSegment && previousSegment > 0 && (seq !== expected || prev !== prevHash)) {
      const previousName = nameOf(previousSegment);
      return bad(expected, `seq ${expected} expected, found ${seq} at the start of ${item.where}: ${previousName} was truncated or altered, or segments were removed or reordered`, item.where);
    }
    if (firstOfSegment && previousSegment === 0 && item.segment > 1 && seq !== expected) {
      return bad(expected, `seq ${expected} expected, found ${seq} at the start of ${item.where}`, item.where);
    }
    if (seq > expected) return bad(expected, `seq ${expected} expected, found ${seq} (record missing or reordered)${at}`, item.where);
    if (seq < expected) return bad(expected, `seq ${expected} expected, found ${seq} (record inserted or reordered)${at}`, item.where);
    if (prev !== prevHash) return bad(expected, `prev does not match the previous record hash${at}`, item.where);
    tree.append(leafHash(hash));
    records = expected;
    prevHash = hash;
    const recording = recordingOf(result.record);
    if (recording) recordings.push(recording);
    while (nextCheckpoint < sizes.length && sizes[nextCheckpoint]! <= records) {
      const checkpoint = checkpoints[nextCheckpoint]!;
      nextCheckpoint++;
      if (checkpoint.size !== records) continue; // size 0
      if (tree.root().toString('hex') !== checkpoint.root) {
        return bad(
          lastMatched + 1,
          `records ${lastMatched + 1}..${records} do not match the signed checkpoint of size ${records} (${checkpoint.time}): a record in that range was altered, removed, inserted or reordered and the chain recomputed`,
        );
      }
      lastMatched = records;
    }
    return true;
  };

  try {
    for await (const item of reader.read()) if (!visit(item)) break;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') throw new WardenError('audit-unavailable', `cannot read the audit log at ${reader.location}: ${(error as Error).message}`, { cause: error });
    firstBad = { seq: 1, line: 0, reason: `no audit log at ${reader.location}` };
  }
  if (!firstBad && rest) firstBad = { seq: records + 1, line: records + 1, reason: `the last line has no newline (torn write)${multi() ? ` (in ${rest.where})` : ''}`, segment: rest.where };
  const covered = sizes.at(-1) ?? 0;
  if (!firstBad && records < covered) {
    // The checkpoint says which segment its last record is in: name it when it is gone or cut short.
    const resumeSegment = bySize.get(covered)?.checkpoint.resume?.segment ?? 1;
    const missing = resumeSegment > lastSegment ? `; the checkpoint's last record is in ${nameOf(resumeSegment)}, which is missing or empty` : multi() ? ` (${nameOf(lastSegment)} was cut short)` : '';
    firstBad = { seq: records + 1, line: records + 1, reason: `the log ends after record ${records}, but a signed checkpoint covers ${covered} records: records ${records + 1}..${covered} were removed (log truncated)${missing}` };
  }
  if (!firstBad && options.expectedRecords !== undefined && records < options.expectedRecords) {
    firstBad = { seq: records + 1, line: records + 1, reason: `the log ends after record ${records}, ${options.expectedRecords} expected` };
  }
  if (firstBad) problems.unshift(`record ${firstBad.seq}: ${firstBad.reason}`);

  if (options.recordingsDir !== undefined) {
    for (const recording of recordings) {
      const file = path.join(options.recordingsDir, path.basename(recording.file));
      const actual = await sha256OfFile(file);
      if (actual === undefined) problems.push(`recording ${recording.file} (record ${recording.seq}, session ${recording.sessionId}) is missing`);
      else if (actual !== recording.sha256) problems.push(`recording ${recording.file} (record ${recording.seq}, session ${recording.sessionId}) was altered: its SHA-256 does not match the audit log`);
    }
  }
  return { ok: problems.length === 0, records, lastHash: prevHash, ...(firstBad ? { firstBad } : {}), segments, problems, checkpoints, recordings };
}

/** SHA-256 of a file, hex; undefined when it does not exist. */
export async function sha256OfFile(file: string): Promise<string | undefined> {
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) hash.update(chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  return hash.digest('hex');
}
