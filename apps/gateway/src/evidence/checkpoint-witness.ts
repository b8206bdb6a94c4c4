import { open } from 'node:fs/promises';
import path from 'node:path';
import { WardenError, type Checkpoint } from '@warden/core';

export type WitnessConfig = { readonly file: string } | { readonly url: string; readonly headers?: Readonly<Record<string, string>> | undefined };

/** How long a webhook witness may take before the checkpoint counts as not witnessed. */
const WEBHOOK_TIMEOUT_MS = 10_000;

/**
 * An external witness of checkpoints: somewhere an attacker who can rewrite the data directory
 * cannot also rewrite. A file witness appends one JSON line per checkpoint (and fsyncs it) — put it
 * on another volume or an append-only mount; a webhook receives each checkpoint as a JSON POST.
 */
export function checkpointWitness(config: WitnessConfig, baseDir: string): (checkpoint: Checkpoint) => Promise<void> {
  if ('file' in config) {
    const file = path.resolve(baseDir, config.file);
    return async (checkpoint) => {
      const handle = await open(file, 'a', 0o600);
      try {
        await handle.write(`${JSON.stringify(checkpoint)}\n`);
        await handle.datasync();
      } finally {
        await handle.close();
      }
    };
  }
  return async (checkpoint) => {
    const response = await fetch(config.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...config.headers },
      body: JSON.stringify({ type: 'warden.audit.checkpoint', checkpoint }),
      signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
    });
    if (!response.ok) throw new WardenError('audit-unavailable', `the checkpoint witness ${new URL(config.url).origin} answered HTTP ${response.status}`);
  };
}
