import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { generateEd25519KeyPair } from './ed25519-key-pair';

/**
 * Warden's own SSH host key for one connection: generated once (ed25519) into
 * `<dataDir>/ssh/<connection>_host_ed25519_key` and reused, so that clients' known_hosts entries
 * stay valid across restarts.
 */
export async function loadOrCreateHostKey(dataDir: string, connection: string): Promise<string> {
  const dir = path.join(dataDir, 'ssh');
  const file = path.join(dir, `${connection}_host_ed25519_key`);
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const pair = generateEd25519KeyPair(`warden ${connection}`);
  // `wx`: if another process created the key meanwhile, use theirs rather than overwrite it.
  try {
    await writeFile(file, pair.privateKey, { mode: 0o600, flag: 'wx' });
    await writeFile(`${file}.pub`, `${pair.publicKey}\n`, { mode: 0o644 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return readFile(file, 'utf8');
}

/**
 * The OpenSSH fingerprint (`SHA256:` + unpadded base64 of the SHA-256 of the key blob), as
 * `ssh-keygen -lf` prints it.
 */
export function fingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}
