import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { MaskingPolicy, WardenError } from '@warden/core';
import { loadSqlParsers, redactPostgresLiterals } from '@warden/sql';
import type { GatewayConfig } from './config/config-schema';

const KEY_FILE = 'masking.key';

/**
 * The masking policy for the configured connections, or undefined when no connection masks.
 * The key comes from `maskingKey`, or from a random key kept in the data directory (created once,
 * mode 0600): it must stay the same across restarts so that hashed values keep joining.
 */
export async function createMaskingPolicy(config: GatewayConfig, dataDir: string): Promise<MaskingPolicy | undefined> {
  if (config.masking.length === 0) return undefined;
  const key = config.maskingKey ? Buffer.from(config.maskingKey, 'utf8') : await loadOrCreateKey(dataDir);
  await loadSqlParsers();
  return new MaskingPolicy({
    key,
    connections: config.masking,
    literalRedactors: { postgres: redactPostgresLiterals },
  });
}

async function loadOrCreateKey(dataDir: string): Promise<Buffer> {
  const file = path.join(dataDir, KEY_FILE);
  try {
    const key = Buffer.from((await readFile(file, 'utf8')).trim(), 'base64');
    if (key.length < 32) throw new WardenError('config', `${file} holds a masking key shorter than 32 bytes`);
    return key;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const key = randomBytes(32);
  // `wx`: two gateways starting on one data directory must not overwrite each other's key.
  await writeFile(file, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' }).catch(async (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
  return Buffer.from((await readFile(file, 'utf8')).trim(), 'base64');
}
