import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { defaultKeyId, FileAuditReader, parsePublicKey, SIGNING_KEY_FILE, WardenError, type AccessLevel, type AuditLogReader } from '@warden/core';
import type { KeyObject } from 'node:crypto';
import { loadConfigFile } from '../config/load-config';

/** Where a gateway keeps its evidence, from `--config FILE` or `--data-dir DIR` (default `.warden`). */
export interface EvidenceContext {
  readonly dataDir: string;
  /** The log's first segment (`<dataDir>/audit.log`); later segments are in `<dataDir>/audit/`. */
  readonly logPath: string;
  readonly checkpointsPath: string;
  /** The configured segment size (`audit.segmentBytes`), for a CLI that appends. */
  readonly segmentBytes?: number;
  /** The configured grants, when a config was given: the report names the grants that allowed each session. */
  readonly grants?: readonly ConfiguredGrant[];
  readonly recordingsDir: string;
  /** The configured key id (`audit.keyId`), if any. */
  readonly keyId?: string;
  /** The file witness of checkpoints, when configured. */
  readonly witnessFile?: string;
  /** The admin API of the running gateway, when configured (`admin.listen`). */
  readonly adminUrl?: string;
}

export interface ConfiguredGrant {
  readonly connection: string;
  readonly groups?: readonly string[] | undefined;
  readonly identities?: readonly string[] | undefined;
  readonly access: AccessLevel;
}

/** Read access to the log the context names (its segmented files). */
export function auditReader(context: EvidenceContext): AuditLogReader {
  return new FileAuditReader(context.logPath);
}

export interface ContextArgs {
  readonly config?: string | undefined;
  readonly 'data-dir'?: string | undefined;
}

export const CONTEXT_OPTIONS = {
  config: { type: 'string' },
  'data-dir': { type: 'string' },
} as const;

export function evidenceContext(args: ContextArgs): EvidenceContext {
  if (args.config) {
    const { config } = loadConfigFile(args.config);
    const baseDir = path.dirname(path.resolve(args.config));
    const dataDir = path.resolve(baseDir, args['data-dir'] ?? config.dataDir);
    const witness = config.audit.checkpoint.witness;
    const admin = config.admin;
    return {
      ...paths(dataDir),
      ...(config.audit.keyId ? { keyId: config.audit.keyId } : {}),
      segmentBytes: config.audit.segmentBytes,
      grants: config.grants.map((grant) => ({ connection: grant.connection, groups: grant.groups, identities: grant.identities, access: grant.access })),
      ...(witness && 'file' in witness ? { witnessFile: path.resolve(baseDir, witness.file) } : {}),
      ...(admin ? { adminUrl: `${admin.tls ? 'https' : 'http'}://${admin.listen}` } : {}),
    };
  }
  return paths(path.resolve(args['data-dir'] ?? '.warden'));
}

function paths(dataDir: string): Pick<EvidenceContext, 'dataDir' | 'logPath' | 'checkpointsPath' | 'recordingsDir'> {
  return { dataDir, logPath: path.join(dataDir, 'audit.log'), checkpointsPath: path.join(dataDir, 'checkpoints.log'), recordingsDir: path.join(dataDir, 'recordings') };
}

/**
 * The keys to trust, by key id: `--public-key FILE` when given (an auditor's copy, obtained out of
 * band), else the public half of the data directory's signing key. Both the derived id and the
 * configured / `--key-id` id map to it.
 */
export async function trustedKeys(context: EvidenceContext, publicKeyFile?: string, keyId?: string): Promise<Map<string, KeyObject>> {
  let key: KeyObject;
  if (publicKeyFile) {
    key = parsePublicKey(await readFile(publicKeyFile, 'utf8'));
  } else {
    const file = path.join(context.dataDir, SIGNING_KEY_FILE);
    if (!existsSync(file)) return new Map();
    key = parsePublicKey(await readFile(file, 'utf8'));
  }
  const keys = new Map([[defaultKeyId(key), key]]);
  for (const id of [context.keyId, keyId]) if (id) keys.set(id, key);
  return keys;
}

export function usageError(message: string): WardenError {
  return new WardenError('config', message);
}
