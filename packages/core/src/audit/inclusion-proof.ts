import type { KeyObject } from 'node:crypto';
import { WardenError } from '../errors';
import type { AuditRecord } from './audit-event';
import { checkAuditLine } from './audit-line';
import { isCheckpoint, verifyCheckpointSignature, type Checkpoint } from './checkpoint';
import { consistencyProof, inclusionProof, leafHash, verifyConsistency, verifyInclusion } from './merkle-tree';
import type { AuditLogReader } from './audit-store';
import { FileAuditReader } from './file-segments';

/** A log given by its first segment's path, or any store's reader. */
function readerOf(log: string | AuditLogReader): AuditLogReader {
  return typeof log === 'string' ? new FileAuditReader(log) : log;
}

/**
 * A self-contained proof that one record is in the log a gateway signed: the record as stored, its
 * place, the signed checkpoint and the audit path. Anyone with the gateway's public key can check
 * it; nothing else of the log is needed.
 */
export interface InclusionProofDocument {
  readonly format: 'warden-audit-inclusion-proof/v1';
  readonly record: AuditRecord;
  /** 0-based: `record.seq - 1`. */
  readonly leafIndex: number;
  readonly checkpoint: Checkpoint;
  /** RFC 6962 audit path, hex, leaf to root. */
  readonly path: readonly string[];
}

/** The leaf hashes of the log's first `limit` records (all by default), after checking each line's own hash and seq. */
export async function readLeaves(log: string | AuditLogReader, limit = Number.POSITIVE_INFINITY): Promise<Buffer[]> {
  const leaves: Buffer[] = [];
  let problem: string | undefined;
  for await (const item of readerOf(log).read()) {
    if (leaves.length >= limit || (item.kind === 'line' && !item.terminated)) break;
    if (item.kind === 'gap') {
      problem = `record ${leaves.length + 1}: ${item.reason}`;
      break;
    }
    const checked = checkAuditLine(item.bytes);
    if (!checked.ok || checked.record.seq !== leaves.length + 1) {
      problem = `record ${leaves.length + 1}: ${checked.ok ? `found seq ${checked.record.seq}` : checked.reason}`;
      break;
    }
    leaves.push(leafHash(checked.record.hash));
  }
  if (problem) throw new WardenError('audit-unavailable', `the audit log does not verify (${problem}); run \`warden audit verify\``);
  return leaves;
}

/** Read one record by seq. */
export async function readRecord(log: string | AuditLogReader, seq: number): Promise<AuditRecord | undefined> {
  let count = 0;
  for await (const item of readerOf(log).read()) {
    if (item.kind === 'gap' || !item.terminated) return undefined;
    count++;
    if (count < seq) continue;
    const checked = checkAuditLine(item.bytes);
    return checked.ok && checked.record.seq === seq ? checked.record : undefined;
  }
  return undefined;
}

export function buildInclusionProof(leaves: readonly Buffer[], record: AuditRecord, checkpoint: Checkpoint): InclusionProofDocument {
  const leafIndex = record.seq - 1;
  if (record.seq > checkpoint.size) throw new WardenError('not-found', `record ${record.seq} is not covered by the checkpoint of size ${checkpoint.size}`);
  const path = inclusionProof(leaves, leafIndex, checkpoint.size);
  return { format: 'warden-audit-inclusion-proof/v1', record, leafIndex, checkpoint, path: path.map((node) => node.toString('hex')) };
}

export type ProofCheck = { readonly ok: true; readonly record: AuditRecord; readonly checkpoint: Checkpoint } | { readonly ok: false; readonly reason: string };

/** Check a proof with the public key alone: the record's own hash, the signature, and the audit path to the signed root. */
export function checkInclusionProof(document: unknown, publicKey: KeyObject): ProofCheck {
  if (document === null || typeof document !== 'object') return { ok: false, reason: 'not a proof document' };
  const proof = document as Partial<InclusionProofDocument>;
  if (proof.format !== 'warden-audit-inclusion-proof/v1') return { ok: false, reason: `unknown format '${String(proof.format)}'` };
  if (!isCheckpoint(proof.checkpoint)) return { ok: false, reason: 'the checkpoint is malformed' };
  if (!Array.isArray(proof.path) || !proof.path.every((node) => typeof node === 'string' && /^[0-9a-f]{64}$/.test(node))) return { ok: false, reason: 'the path is malformed' };
  const checked = checkAuditLine(JSON.stringify(proof.record ?? null));
  if (!checked.ok) return { ok: false, reason: `the record: ${checked.reason}` };
  if (proof.leafIndex !== checked.record.seq - 1) return { ok: false, reason: `the leaf index ${String(proof.leafIndex)} is not the record's place (seq ${checked.record.seq})` };
  if (!verifyCheckpointSignature(proof.checkpoint, publicKey)) return { ok: false, reason: 'the checkpoint signature does not verify with this public key' };
  const included = verifyInclusion(
    leafHash(checked.record.hash),
    proof.leafIndex,
    proof.checkpoint.size,
    proof.path.map((node) => Buffer.from(node, 'hex')),
    Buffer.from(proof.checkpoint.root, 'hex'),
  );
  if (!included) return { ok: false, reason: `the record is not at index ${proof.leafIndex} of the signed tree of ${proof.checkpoint.size} records` };
  return { ok: true, record: checked.record, checkpoint: proof.checkpoint };
}

/** A consistency proof between two checkpoints, hex, as a bundle carries it. */
export interface ConsistencyProofDocument {
  readonly from: number;
  readonly to: number;
  readonly path: readonly string[];
}

export function buildConsistencyProof(leaves: readonly Buffer[], from: number, to: number): ConsistencyProofDocument {
  return { from, to, path: consistencyProof(leaves, from, to).map((node) => node.toString('hex')) };
}

export function checkConsistencyProof(proof: ConsistencyProofDocument, older: Checkpoint, newer: Checkpoint): boolean {
  if (proof.from !== older.size || proof.to !== newer.size) return false;
  return verifyConsistency(older.size, newer.size, proof.path.map((node) => Buffer.from(node, 'hex')), Buffer.from(older.root, 'hex'), Buffer.from(newer.root, 'hex'));
}
