/**
 * The evidence bundle `warden audit export` writes and `warden audit check-bundle` verifies offline:
 *
 *   manifest.json        format, filters, the signed checkpoint, every file's SHA-256, the summary
 *   README.md            the same summary for a human: who accessed what when, blocks, approvals
 *   report.html          the auditor's report by HIPAA control (see `evidence-report.ts`); printable
 *   records.jsonl        the selected audit records, exactly as stored (each hashes to itself)
 *   proofs.jsonl         per record: its RFC 6962 inclusion proof in the checkpoint's tree
 *   checkpoints.json     the checkpoint the proofs use and the latest one, with a consistency proof
 *   public-key.pem       the gateway's checkpoint key (check against a copy obtained out of band)
 *   recordings/          the recordings the selected records name
 *
 * Only records under a signed checkpoint are exported: a record after the latest checkpoint cannot
 * be proven yet (the export says how many were left out).
 */
import type { KeyObject } from 'node:crypto';
import { copyFile, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  buildConsistencyProof,
  buildInclusionProof,
  checkConsistencyProof,
  checkInclusionProof,
  defaultKeyId,
  loadOrCreateSigningKey,
  parsePublicKey,
  readCheckpoints,
  readLeaves,
  recordingOf,
  sha256OfFile,
  signedPart,
  verifyAuditEvidence,
  verifyCheckpointSignature,
  type AuditRecord,
  type Checkpoint,
  type ConsistencyProofDocument,
} from '@warden/core';
import { auditReader, trustedKeys, type ConfiguredGrant, type EvidenceContext } from './evidence-context';
import { renderReport, type BundleIntegrity, type LogVerificationSummary } from './evidence-report';

export const BUNDLE_FORMAT = 'warden-evidence-bundle/v1';

export interface ExportFilter {
  readonly since: string;
  readonly until: string;
  readonly identity?: string | undefined;
}

export interface BundleSummary {
  readonly sessions: readonly { session: string; subject: string; kind: string; connection: string; protocol: string; access: string; start: string; end?: string }[];
  /** Objects (tables, resources) each identity's allowed commands touched, with masked value counts by kind. */
  readonly access: readonly { subject: string; connection: string; object: string; commands: number; first: string; last: string }[];
  readonly masked: Readonly<Record<string, number>>;
  readonly blocked: readonly { time: string; subject: string; connection: string; text: string; rule?: string; reason: string }[];
  readonly approvals: readonly { requestId: string; requestedBy: string; rule: string; approvers: readonly string[]; outcome?: string; decidedBy?: string; reason?: string; time: string }[];
  readonly evidenceReads: readonly { time: string; by: string; action: string }[];
}

export interface Manifest {
  readonly format: typeof BUNDLE_FORMAT;
  readonly createdAt: string;
  readonly filter: ExportFilter;
  readonly records: number;
  readonly seqRange?: readonly [number, number];
  /** Records in the window that no checkpoint covers yet, left out. */
  readonly notYetCheckpointed: number;
  readonly keyId: string;
  readonly checkpoint: Checkpoint;
  readonly files: Readonly<Record<string, string>>;
  readonly summary: BundleSummary;
  /** `warden audit verify` of the whole log at export time. */
  readonly logVerification?: LogVerificationSummary;
  /** The bundle's own checks at export time (`check-bundle` repeats them). */
  readonly integrity?: BundleIntegrity;
  /** The configured grants, when the export was given the config: the report names the grant behind each session. */
  readonly grants?: readonly ConfiguredGrant[];
}

export async function exportBundle(context: EvidenceContext, filter: ExportFilter, out: string): Promise<Manifest> {
  const since = Date.parse(filter.since);
  const until = Date.parse(filter.until);
  const { checkpoints } = await readCheckpoints(context.checkpointsPath);
  const key = await loadOrCreateSigningKey(context.dataDir, context.keyId);
  const latest = [...checkpoints].reverse().find((checkpoint) => verifyCheckpointSignature(checkpoint, key.publicKey));
  if (!latest) throw new Error(`no valid signed checkpoint in ${context.checkpointsPath} yet: nothing can be proven`);

  // Which sessions and approval requests belong to the identity (records name the session, not the subject).
  const sessionsOf = new Set<string>();
  const requestsOf = new Set<string>();
  const selected: AuditRecord[] = [];
  let notYetCheckpointed = 0;
  for await (const item of auditReader(context).read()) {
    if (item.kind !== 'line' || !item.terminated) continue;
    let record: AuditRecord;
    try {
      record = JSON.parse(item.bytes.toString('utf8')) as AuditRecord;
    } catch {
      continue; // `warden audit verify` (run below) reports it
    }
    if (record.type === 'session.start' && (!filter.identity || record.identity.subject === filter.identity)) sessionsOf.add(record.sessionId);
    if (record.type === 'approval.requested' && sessionsOf.has(record.sessionId)) requestsOf.add(record.requestId);
    const time = Date.parse(record.time);
    if (time < since || time >= until) continue;
    if (filter.identity && !belongsTo(record, filter.identity, sessionsOf, requestsOf)) continue;
    if (record.seq > latest.size) notYetCheckpointed++;
    else selected.push(record);
  }
  const logVerification = await verifyLog(context);

  await mkdir(path.join(out, 'recordings'), { recursive: true, mode: 0o700 });
  const leaves = await readLeaves(auditReader(context), latest.size);
  const checkpoint = signedPart(latest);
  const proofs = selected.map((record) => buildInclusionProof(leaves, record, checkpoint));
  const first = checkpoints.find((c) => c.size >= (selected.at(-1)?.seq ?? 1) && verifyCheckpointSignature(c, key.publicKey));
  const consistency: ConsistencyProofDocument | undefined = first && first.size < latest.size ? buildConsistencyProof(leaves, first.size, latest.size) : undefined;

  await writeFile(path.join(out, 'records.jsonl'), selected.map((record) => `${JSON.stringify(record)}\n`).join(''));
  await writeFile(path.join(out, 'proofs.jsonl'), proofs.map((proof) => `${JSON.stringify({ seq: proof.record.seq, leafIndex: proof.leafIndex, path: proof.path })}\n`).join(''));
  await writeFile(path.join(out, 'checkpoints.json'), `${JSON.stringify({ checkpoint, ...(first && consistency ? { earliestCovering: signedPart(first), consistency } : {}) }, null, 2)}\n`);
  await writeFile(path.join(out, 'public-key.pem'), key.publicKey.export({ type: 'spki', format: 'pem' }).toString());
  for (const record of selected) {
    const recording = recordingOf(record);
    if (recording) await copyFile(path.join(context.recordingsDir, path.basename(recording.file)), path.join(out, 'recordings', path.basename(recording.file)));
  }
  const summary = summarize(selected);
  const integrity = await checkIntegrity(selected, proofs, checkpoint, key.publicKey, first && consistency ? { earliest: first, consistency } : undefined, path.join(out, 'recordings'));
  const dataFiles = await hashFiles(out);
  const draft: Manifest = {
    format: BUNDLE_FORMAT,
    createdAt: new Date().toISOString(),
    filter,
    records: selected.length,
    ...(selected.length ? { seqRange: [selected[0]!.seq, selected.at(-1)!.seq] as const } : {}),
    notYetCheckpointed,
    keyId: key.keyId,
    checkpoint,
    files: dataFiles,
    summary,
    logVerification,
    integrity,
    ...(context.grants ? { grants: context.grants } : {}),
  };
  await writeFile(path.join(out, REPORT_FILE), renderReport(draft, selected));
  const manifest: Manifest = { ...draft, files: { ...dataFiles, [REPORT_FILE]: (await sha256OfFile(path.join(out, REPORT_FILE)))! } };
  await writeFile(path.join(out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  await writeFile(path.join(out, 'README.md'), readme(manifest));
  return manifest;
}

export const REPORT_FILE = 'report.html';

/** `warden audit verify` over the whole log, for the report. */
async function verifyLog(context: EvidenceContext): Promise<LogVerificationSummary> {
  const result = await verifyAuditEvidence({ logPath: context.logPath, reader: auditReader(context), checkpointFiles: [context.checkpointsPath], publicKeys: await trustedKeys(context), recordingsDir: context.recordingsDir });
  const latest = result.checkpoints.at(-1);
  // A gateway appending while the log is read leaves an unterminated last line: a write in flight, not damage.
  const inFlight = !result.ok && result.problems.length === 1 && (result.firstBad?.reason.startsWith('the last line has no newline') ?? false);
  return {
    ok: result.ok || inFlight,
    records: result.records,
    segments: result.segments,
    lastHash: result.lastHash,
    checkpoints: result.checkpoints.length,
    ...(latest ? { latestCheckpoint: { size: latest.size, time: latest.time, keyId: latest.keyId } } : {}),
    recordings: result.recordings.length,
    problems: inFlight ? [] : result.problems.slice(0, 50),
    ...(inFlight ? { inFlight } : {}),
  };
}

/** The checks `check-bundle` makes, made once at export for the report. */
async function checkIntegrity(
  records: readonly AuditRecord[],
  proofs: readonly { readonly leafIndex: number; readonly path: readonly string[] }[],
  checkpoint: Checkpoint,
  key: KeyObject,
  consistency: { readonly earliest: Checkpoint; readonly consistency: ConsistencyProofDocument } | undefined,
  recordingsDir: string,
): Promise<BundleIntegrity> {
  let proofsValid = 0;
  let chainLinks = 0;
  let chainLinksValid = 0;
  const recordings: BundleIntegrity['recordings'][number][] = [];
  for (const [index, record] of records.entries()) {
    const proof = proofs[index];
    if (proof && checkInclusionProof({ format: 'warden-audit-inclusion-proof/v1', record, leafIndex: proof.leafIndex, checkpoint, path: proof.path }, key).ok) proofsValid++;
    const previous = records[index - 1];
    if (previous && record.seq === previous.seq + 1) {
      chainLinks++;
      if (record.prev === previous.hash) chainLinksValid++;
    }
    const recording = recordingOf(record);
    if (recording) recordings.push({ file: path.basename(recording.file), sessionId: recording.sessionId, seq: recording.seq, sha256: recording.sha256, matches: (await sha256OfFile(path.join(recordingsDir, path.basename(recording.file)))) === recording.sha256 });
  }
  return {
    signatureValid: verifyCheckpointSignature(checkpoint, key),
    proofsValid,
    proofsChecked: records.length,
    chainLinks,
    chainLinksValid,
    ...(consistency ? { consistency: { from: consistency.earliest.size, to: checkpoint.size, ok: checkConsistencyProof(consistency.consistency, consistency.earliest, checkpoint) } } : {}),
    recordings,
  };
}

function belongsTo(record: AuditRecord, identity: string, sessions: ReadonlySet<string>, requests: ReadonlySet<string>): boolean {
  if ('sessionId' in record && sessions.has(record.sessionId)) return true;
  if ('requestId' in record && requests.has(record.requestId)) return true;
  if ((record.type === 'approval.decided' || record.type === 'approval.refused') && record.by === identity) return true;
  return record.type === 'auth.failure' && record.subject === identity;
}

function summarize(records: readonly AuditRecord[]): BundleSummary {
  const sessions = new Map<string, { session: string; subject: string; kind: string; connection: string; protocol: string; access: string; start: string; end?: string }>();
  const access = new Map<string, { subject: string; connection: string; object: string; commands: number; first: string; last: string }>();
  const masked: Record<string, number> = {};
  const blocked: BundleSummary['blocked'][number][] = [];
  const approvals = new Map<string, { requestId: string; requestedBy: string; rule: string; approvers: readonly string[]; outcome?: string; decidedBy?: string; reason?: string; time: string }>();
  const evidenceReads: BundleSummary['evidenceReads'][number][] = [];
  for (const record of records) {
    switch (record.type) {
      case 'session.start':
        sessions.set(record.sessionId, { session: record.sessionId, subject: record.identity.subject, kind: record.identity.kind, connection: record.connection, protocol: record.protocol, access: record.access, start: record.time });
        break;
      case 'session.end': {
        const session = sessions.get(record.sessionId);
        if (session) session.end = record.time;
        break;
      }
      case 'command': {
        const session = sessions.get(record.sessionId);
        const subject = session?.subject ?? '(session started before the window)';
        const connection = session?.connection ?? '?';
        if (record.decision.effect === 'allow') {
          for (const object of record.classification.objects) {
            const key = `${subject}\u0000${connection}\u0000${object}`;
            const entry = access.get(key) ?? { subject, connection, object, commands: 0, first: record.time, last: record.time };
            entry.commands++;
            entry.last = record.time;
            access.set(key, entry);
          }
        } else {
          blocked.push({ time: record.time, subject, connection, text: record.text, ...(record.decision.rule ? { rule: record.decision.rule } : {}), reason: record.decision.reason });
        }
        break;
      }
      case 'result':
        for (const [kind, count] of Object.entries(record.summary.masked ?? {})) masked[kind] = (masked[kind] ?? 0) + count;
        break;
      case 'approval.requested':
        approvals.set(record.requestId, { requestId: record.requestId, requestedBy: record.subject, rule: record.rule, approvers: record.approvers, time: record.time });
        break;
      case 'approval.decided': {
        const approval = approvals.get(record.requestId) ?? { requestId: record.requestId, requestedBy: '?', rule: '?', approvers: [], time: record.time };
        approvals.set(record.requestId, { ...approval, outcome: record.outcome, decidedBy: record.by, ...(record.reason ? { reason: record.reason } : {}) });
        break;
      }
      case 'evidence.read':
        evidenceReads.push({ time: record.time, by: record.by, action: record.action });
        break;
      default:
        break;
    }
  }
  return { sessions: [...sessions.values()], access: [...access.values()], masked, blocked, approvals: [...approvals.values()], evidenceReads };
}

function readme(manifest: Manifest): string {
  const { summary } = manifest;
  const lines = [
    `# Warden evidence bundle`,
    '',
    `Window ${manifest.filter.since} – ${manifest.filter.until}${manifest.filter.identity ? `, identity ${manifest.filter.identity}` : ''}. ` +
      `${manifest.records} audit records${manifest.seqRange ? ` (seq ${manifest.seqRange[0]}–${manifest.seqRange[1]})` : ''}, each proven to be in the log signed by ${manifest.keyId} ` +
      `at ${manifest.checkpoint.size} records (${manifest.checkpoint.time}).${manifest.notYetCheckpointed ? ` ${manifest.notYetCheckpointed} later records were not yet under a checkpoint and are not included.` : ''}`,
    '',
    'Verify offline: `warden audit check-bundle DIR --public-key <the gateway key, obtained separately>`.',
    '',
    '## Access (45 CFR 164.312(b) audit controls; 164.308(a)(1)(ii)(D) activity review)',
    '',
    ...(summary.sessions.length ? summary.sessions.map((s) => `- ${s.start}: ${s.subject} (${s.kind}) on ${s.connection} [${s.protocol}, ${s.access}]${s.end ? `, until ${s.end}` : ''}`) : ['- no sessions']),
    '',
    '## Objects accessed (allowed commands)',
    '',
    ...(summary.access.length ? summary.access.map((a) => `- ${a.subject} → ${a.connection}/${a.object}: ${a.commands} commands, ${a.first} – ${a.last}`) : ['- none']),
    '',
    `Masked values by kind: ${Object.entries(summary.masked).map(([kind, count]) => `${kind} ${count}`).join(', ') || 'none'}.`,
    '',
    '## Blocked or held commands',
    '',
    ...(summary.blocked.length ? summary.blocked.map((b) => `- ${b.time}: ${b.subject} on ${b.connection}: \`${b.text.replace(/`/g, "'").slice(0, 200)}\` — ${b.rule ? `rule "${b.rule}": ` : ''}${b.reason}`) : ['- none']),
    '',
    '## Approvals',
    '',
    ...(summary.approvals.length ? summary.approvals.map((a) => `- ${a.time}: ${a.requestId} by ${a.requestedBy} (rule "${a.rule}", approvers ${a.approvers.join(', ')}): ${a.outcome ? `${a.outcome} by ${a.decidedBy}${a.reason ? ` — ${a.reason}` : ''}` : 'not decided in the window'}`) : ['- none']),
    '',
    '## Reads of the evidence',
    '',
    ...(summary.evidenceReads.length ? summary.evidenceReads.map((r) => `- ${r.time}: ${r.by} ${r.action}`) : ['- none']),
    '',
    '## Integrity (45 CFR 164.312(c)(1))',
    '',
    `Each record's SHA-256 covers its content and the previous record's hash; its inclusion proof leads to the Merkle root the gateway signed with Ed25519. Files: ${Object.keys(manifest.files).length}, each listed in manifest.json with its SHA-256.`,
    '',
  ];
  return lines.join('\n');
}

async function hashFiles(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const name of ['records.jsonl', 'proofs.jsonl', 'checkpoints.json', 'public-key.pem']) files[name] = (await sha256OfFile(path.join(dir, name)))!;
  for (const name of (await readdir(path.join(dir, 'recordings'))).sort()) files[`recordings/${name}`] = (await sha256OfFile(path.join(dir, 'recordings', name)))!;
  return files;
}

export interface BundleCheck {
  readonly ok: boolean;
  readonly records: number;
  readonly problems: readonly string[];
  readonly keySource: 'given' | 'bundled';
}

/** Verify a bundle with nothing but its files (and, preferably, a public key obtained separately). */
export async function checkBundle(dir: string, publicKeyText?: string): Promise<BundleCheck> {
  const problems: string[] = [];
  const manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as Manifest;
  if (manifest.format !== BUNDLE_FORMAT) return { ok: false, records: 0, problems: [`unknown bundle format '${String(manifest.format)}'`], keySource: 'bundled' };
  const key = parsePublicKey(publicKeyText ?? (await readFile(path.join(dir, 'public-key.pem'), 'utf8')));
  for (const [name, sha256] of Object.entries(manifest.files)) {
    const actual = await sha256OfFile(path.join(dir, name));
    if (actual !== sha256) problems.push(`${name} ${actual === undefined ? 'is missing' : 'was altered (SHA-256 differs from the manifest)'}`);
  }
  const listed = new Set(Object.keys(manifest.files));
  if (!listed.has(REPORT_FILE) && (await sha256OfFile(path.join(dir, REPORT_FILE))) !== undefined) problems.push(`${REPORT_FILE} is not in the manifest`);
  for (const name of await readdir(path.join(dir, 'recordings')).catch(() => [] as string[])) if (!listed.has(`recordings/${name}`)) problems.push(`recordings/${name} is not in the manifest`);

  const { checkpoint, earliestCovering, consistency } = JSON.parse(await readFile(path.join(dir, 'checkpoints.json'), 'utf8')) as { checkpoint: Checkpoint; earliestCovering?: Checkpoint; consistency?: ConsistencyProofDocument };
  if (!verifyCheckpointSignature(checkpoint, key)) problems.push(`the checkpoint (size ${checkpoint.size}) is not signed by ${publicKeyText ? 'the given key' : 'the bundled key'} (${defaultKeyId(key)})`);
  if (JSON.stringify(signedPart(manifest.checkpoint)) !== JSON.stringify(signedPart(checkpoint))) problems.push('the manifest names another checkpoint than checkpoints.json');
  if (earliestCovering && consistency) {
    if (!verifyCheckpointSignature(earliestCovering, key)) problems.push(`the earlier checkpoint (size ${earliestCovering.size}) is not validly signed`);
    else if (!checkConsistencyProof(consistency, earliestCovering, checkpoint)) problems.push(`the log at ${checkpoint.size} records is not an extension of the log at ${earliestCovering.size} records (consistency proof fails)`);
  }

  const recordLines = (await readFile(path.join(dir, 'records.jsonl'), 'utf8')).split('\n').filter(Boolean);
  const proofLines = (await readFile(path.join(dir, 'proofs.jsonl'), 'utf8')).split('\n').filter(Boolean);
  if (recordLines.length !== proofLines.length) problems.push(`${recordLines.length} records but ${proofLines.length} proofs`);
  if (recordLines.length !== manifest.records) problems.push(`the manifest says ${manifest.records} records, records.jsonl holds ${recordLines.length}`);
  let previous: AuditRecord | undefined;
  const records: AuditRecord[] = [];
  for (const [index, line] of recordLines.entries()) {
    const record = JSON.parse(line) as AuditRecord;
    records.push(record);
    const proof = JSON.parse(proofLines[index] ?? '{}') as { leafIndex?: number; path?: string[] };
    const checked = checkInclusionProof({ format: 'warden-audit-inclusion-proof/v1', record, leafIndex: proof.leafIndex, checkpoint, path: proof.path }, key);
    if (!checked.ok) problems.push(`record ${record.seq ?? `#${index + 1}`}: ${checked.reason}`);
    if (previous && record.seq === previous.seq + 1 && record.prev !== previous.hash) problems.push(`record ${record.seq} does not follow record ${previous.seq}`);
    if (previous && record.seq <= previous.seq) problems.push(`record ${record.seq} is out of order`);
    const recording = recordingOf(record);
    if (recording) {
      const actual = await sha256OfFile(path.join(dir, 'recordings', path.basename(recording.file)));
      if (actual !== recording.sha256) problems.push(`recording ${recording.file} (record ${record.seq}) ${actual === undefined ? 'is missing' : 'does not match its SHA-256 in the audit log'}`);
    }
    previous = record;
  }
  // The summaries are derived from the proven records: recompute them rather than trust them.
  if (JSON.stringify(summarize(records)) !== JSON.stringify(manifest.summary)) problems.push('the summary in manifest.json does not match the records');
  else if ((await readFile(path.join(dir, 'README.md'), 'utf8').catch(() => '')) !== readme(manifest)) problems.push('README.md does not match manifest.json');
  else if (listed.has(REPORT_FILE)) {
    // The report is derived from the manifest and the proven records: rebuild it rather than trust it.
    const { [REPORT_FILE]: _report, ...dataFiles } = manifest.files;
    if ((await readFile(path.join(dir, REPORT_FILE), 'utf8').catch(() => '')) !== renderReport({ ...manifest, files: dataFiles }, records)) problems.push(`${REPORT_FILE} does not match manifest.json and the records`);
  }
  return { ok: problems.length === 0, records: recordLines.length, problems, keySource: publicKeyText ? 'given' : 'bundled' };
}
