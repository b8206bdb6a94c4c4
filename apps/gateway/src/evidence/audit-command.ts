import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import {
  buildInclusionProof,
  checkInclusionProof,
  loadOrCreateSigningKey,
  parsePublicKey,
  readCheckpoints,
  readLeaves,
  readRecord,
  signedPart,
  verifyAuditEvidence,
  verifyCheckpointSignature,
  type Checkpoint,
} from '@warden/core';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { extractBundleArchive, writeBundleArchive } from './bundle-archive';
import { checkBundle, exportBundle, REPORT_FILE } from './evidence-bundle';
import { auditReader, CONTEXT_OPTIONS, evidenceContext, trustedKeys, usageError } from './evidence-context';
import { READER_OPTIONS, recordEvidenceRead } from './evidence-read';

export const AUDIT_USAGE = `  warden audit verify [--config FILE | --data-dir DIR] [--public-key KEY] [--witness FILE]
                                        check the hash chain, the Merkle tree against every signed
                                        checkpoint, the signatures, and every recording's SHA-256
  warden audit prove --record N [--checkpoint K] [--config FILE | --data-dir DIR]
                                        print an inclusion proof (JSON) of record N in checkpoint K
                                        (1-based, in checkpoints.log order; default the latest)
  warden audit check-proof FILE --public-key KEY
                                        verify an inclusion proof with the public key alone
  warden audit public-key [--format pem|jwk] [--config FILE | --data-dir DIR]
                                        print the gateway's checkpoint signing key (public half)
  warden audit export …                 the same as \`warden evidence export\`
  warden audit check-bundle DIR [--public-key KEY]
                                        verify a bundle offline
`;

export const EVIDENCE_USAGE = `  warden evidence export --since ISO --until ISO [--identity X] --out DIR|FILE.tar [--as NAME | --token T]
                                        write a self-contained evidence bundle: records with
                                        inclusion proofs, checkpoints, key, recordings, and
                                        report.html by HIPAA control (164.312(b), 164.312(c)(1),
                                        164.308(a)(1)(ii)(D)); --config names the grants in it
  warden evidence check-bundle DIR|FILE.tar [--public-key KEY]
                                        verify a bundle offline (report.html included)
`;

/** \`warden evidence …\`: export and check bundles (\`warden audit export | check-bundle\` are aliases). */
export async function evidenceCommand(args: readonly string[], io: Io): Promise<number> {
  const [subcommand, ...rest] = args;
  if (subcommand === 'export') return exportCommand(rest, io, 'evidence');
  if (subcommand === 'check-bundle') return checkBundleCommand(rest, io);
  io.err(`warden evidence: unknown subcommand "${subcommand ?? ''}" (available: export, check-bundle)\n`);
  return 2;
}

interface Io {
  out(text: string): void;
  err(text: string): void;
}

/** `warden audit …`. Exit 0 when everything verifies, 1 when something does not, 2 on usage errors. */
export async function auditCommand(args: readonly string[], io: Io, more: Readonly<Record<string, (args: readonly string[], io: Io) => Promise<number>>> = {}): Promise<number> {
  const [subcommand, ...rest] = args;
  switch (subcommand) {
    case 'verify':
      return verify(rest, io);
    case 'prove':
      return prove(rest, io);
    case 'check-proof':
      return checkProof(rest, io);
    case 'public-key':
      return publicKey(rest, io);
    case 'export':
      return exportCommand(rest, io);
    case 'check-bundle':
      return checkBundleCommand(rest, io);
    default: {
      const extra = subcommand === undefined ? undefined : more[subcommand];
      if (extra) return extra(rest, io);
      io.err(`warden audit: unknown subcommand "${subcommand ?? ''}" (available: ${['verify', 'prove', 'check-proof', 'public-key', 'export', 'check-bundle', ...Object.keys(more)].join(', ')})\n`);
      return 2;
    }
  }
}

async function verify(args: readonly string[], io: Io): Promise<number> {
  const { values } = parseArgs({ args: [...args], options: { ...CONTEXT_OPTIONS, 'public-key': { type: 'string' }, 'key-id': { type: 'string' }, witness: { type: 'string', multiple: true } }, strict: true });
  const context = evidenceContext(values);
  const keys = await trustedKeys(context, values['public-key'], values['key-id']);
  const witnessFiles = [...(context.witnessFile ? [context.witnessFile] : []), ...(values.witness ?? [])];
  const result = await verifyAuditEvidence({ logPath: context.logPath, reader: auditReader(context), checkpointFiles: [context.checkpointsPath, ...witnessFiles], publicKeys: keys, recordingsDir: context.recordingsDir });
  const last = result.checkpoints.at(-1);
  const checkpoints = last ? `${result.checkpoints.length} signed checkpoints (latest: ${last.size} records at ${last.time}, key ${last.keyId})` : 'no signed checkpoint';
  if (result.ok) {
    io.out(`audit log ${context.logPath}: OK, ${result.records} records, head ${result.lastHash}; ${checkpoints}; ${result.recordings.length} recordings match${result.segments > 1 ? `; ${result.segments} segments` : ''}\n`);
    if (last && last.size < result.records) io.out(`  records ${last.size + 1}..${result.records} are chained but not yet under a signed checkpoint\n`);
    return 0;
  }
  if (result.firstBad) {
    io.out(`audit log ${context.logPath}: FAILED at record ${result.firstBad.seq} (line ${result.firstBad.line}): ${result.firstBad.reason}; ${Math.min(result.records, result.firstBad.seq - 1)} records before it verify\n`);
  } else {
    io.out(`audit log ${context.logPath}: FAILED; the ${result.records} records verify, but:\n`);
  }
  for (const problem of result.problems.slice(result.firstBad ? 1 : 0)) io.out(`  - ${problem}\n`);
  return 1;
}

async function prove(args: readonly string[], io: Io): Promise<number> {
  const { values } = parseArgs({ args: [...args], options: { ...CONTEXT_OPTIONS, record: { type: 'string' }, checkpoint: { type: 'string' } }, strict: true });
  const seq = Number(values.record);
  if (!Number.isSafeInteger(seq) || seq < 1) throw usageError('warden audit prove: --record N is required (a record number, 1-based)');
  const context = evidenceContext(values);
  const { checkpoints } = await readCheckpoints(context.checkpointsPath);
  if (checkpoints.length === 0) {
    io.err(`warden audit prove: ${context.checkpointsPath} holds no checkpoint yet\n`);
    return 1;
  }
  let checkpoint: Checkpoint | undefined;
  if (values.checkpoint !== undefined) {
    const index = Number(values.checkpoint);
    checkpoint = Number.isSafeInteger(index) && index >= 1 ? checkpoints[index - 1] : undefined;
    if (!checkpoint) throw usageError(`warden audit prove: --checkpoint is 1..${checkpoints.length}`);
  } else {
    checkpoint = checkpoints.at(-1);
  }
  if (!checkpoint || seq > checkpoint.size) {
    io.err(`warden audit prove: record ${seq} is not covered by ${values.checkpoint ? `checkpoint ${values.checkpoint}` : 'the latest checkpoint'} (size ${checkpoint?.size ?? 0}); the next checkpoint will cover it\n`);
    return 1;
  }
  const log = auditReader(context);
  const record = await readRecord(log, seq);
  if (!record) {
    io.err(`warden audit prove: record ${seq} is not in ${context.logPath}\n`);
    return 1;
  }
  const leaves = await readLeaves(log, checkpoint.size);
  const proof = buildInclusionProof(leaves, record, signedPart(checkpoint));
  // A proof only helps if it proves against a root the gateway really signed.
  const keys = await trustedKeys(context);
  const key = keys.get(checkpoint.keyId);
  if (key && (!verifyCheckpointSignature(checkpoint, key) || !checkInclusionProof(proof, key).ok)) {
    io.err(`warden audit prove: the log does not match checkpoint ${values.checkpoint ?? checkpoints.length}; run \`warden audit verify\`\n`);
    return 1;
  }
  io.out(`${JSON.stringify(proof, null, 2)}\n`);
  return 0;
}

async function checkProof(args: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({ args: [...args], options: { 'public-key': { type: 'string' } }, allowPositionals: true, strict: true });
  const [file] = positionals;
  if (!file || !values['public-key']) throw usageError('warden audit check-proof FILE --public-key KEY: both are required');
  const key = parsePublicKey(await readFile(values['public-key'], 'utf8'));
  let document: unknown;
  try {
    document = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    io.out(`proof ${file}: FAILED: not JSON (${(error as Error).message})\n`);
    return 1;
  }
  const result = checkInclusionProof(document, key);
  if (!result.ok) {
    io.out(`proof ${file}: FAILED: ${result.reason}\n`);
    return 1;
  }
  const { record, checkpoint } = result;
  io.out(`proof ${file}: OK, record ${record.seq} (${record.type}, ${record.time}) is in the audit log signed by ${checkpoint.keyId} at ${checkpoint.size} records (${checkpoint.time})\n`);
  return 0;
}

async function publicKey(args: readonly string[], io: Io): Promise<number> {
  const { values } = parseArgs({ args: [...args], options: { ...CONTEXT_OPTIONS, format: { type: 'string', default: 'pem' } }, strict: true });
  if (values.format !== 'pem' && values.format !== 'jwk') throw usageError('warden audit public-key: --format is pem or jwk');
  const context = evidenceContext(values);
  const key = await loadOrCreateSigningKey(context.dataDir, context.keyId);
  if (values.format === 'jwk') io.out(`${JSON.stringify({ ...key.publicKey.export({ format: 'jwk' }), kid: key.keyId, use: 'sig', alg: 'EdDSA' })}\n`);
  else io.out(key.publicKey.export({ type: 'spki', format: 'pem' }).toString());
  return 0;
}

async function exportCommand(args: readonly string[], io: Io, command = 'audit'): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: { ...CONTEXT_OPTIONS, ...READER_OPTIONS, since: { type: 'string' }, until: { type: 'string' }, identity: { type: 'string' }, out: { type: 'string' } },
    strict: true,
  });
  if (!values.since || !values.until || !values.out) throw usageError(`warden ${command} export: --since, --until and --out are required`);
  for (const time of [values.since, values.until]) if (Number.isNaN(Date.parse(time))) throw usageError(`'${time}' is not an ISO-8601 time`);
  const context = evidenceContext(values);
  const filter = { since: values.since, until: values.until, ...(values.identity ? { identity: values.identity } : {}) };
  await recordEvidenceRead(context, 'export', { ...filter, out: values.out }, values);
  // `--out NAME.tar`: the bundle as one archive file; otherwise a directory.
  const archive = values.out.endsWith('.tar');
  const dir = archive ? await mkdtemp(path.join(path.dirname(path.resolve(values.out)), '.warden-bundle-')) : values.out;
  let manifest;
  try {
    manifest = await exportBundle(context, filter, dir);
    if (archive) await writeBundleArchive(dir, values.out);
  } finally {
    if (archive) await rm(dir, { recursive: true, force: true });
  }
  io.out(
    `evidence bundle ${values.out}: ${manifest.records} records${manifest.seqRange ? ` (seq ${manifest.seqRange[0]}..${manifest.seqRange[1]})` : ''} under the checkpoint of ${manifest.checkpoint.size} records, ` +
      `${Object.keys(manifest.files).filter((name) => name.startsWith('recordings/')).length} recordings` +
      `${manifest.notYetCheckpointed ? `; ${manifest.notYetCheckpointed} records not yet under a checkpoint were left out` : ''}\n`,
  );
  io.out(
    `  report: ${archive ? `${REPORT_FILE} in the archive` : path.join(values.out, REPORT_FILE)}; the whole log ${manifest.logVerification?.ok ? 'verified' : 'FAILED verification'} at export (${manifest.logVerification?.records ?? 0} records)` +
      `${manifest.logVerification?.ok ? '' : `: ${manifest.logVerification?.problems[0] ?? ''}`}\n`,
  );
  return 0;
}

async function checkBundleCommand(args: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({ args: [...args], options: { 'public-key': { type: 'string' } }, allowPositionals: true, strict: true });
  const [dir] = positionals;
  if (!dir) throw usageError('warden audit check-bundle DIR|FILE.tar: the bundle directory or archive is required');
  const publicKey = values['public-key'] ? await readFile(values['public-key'], 'utf8') : undefined;
  let result;
  if ((await stat(dir)).isFile()) {
    const extracted = await mkdtemp(path.join(tmpdir(), 'warden-bundle-check-'));
    try {
      await extractBundleArchive(dir, extracted);
      result = await checkBundle(extracted, publicKey);
    } catch (error) {
      result = { ok: false as const, records: 0, problems: [(error as Error).message], keySource: 'bundled' as const };
    } finally {
      await rm(extracted, { recursive: true, force: true });
    }
  } else result = await checkBundle(dir, publicKey);
  if (result.ok) {
    io.out(`evidence bundle ${dir}: OK, ${result.records} records proven${result.keySource === 'bundled' ? ' (with the key inside the bundle: pass --public-key with a copy obtained separately to rule out a substituted key)' : ''}\n`);
    return 0;
  }
  io.out(`evidence bundle ${dir}: FAILED\n${result.problems.map((problem) => `  - ${problem}\n`).join('')}`);
  return 1;
}
