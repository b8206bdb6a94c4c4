/**
 * Fixtures for caching_sha2_password's RSA key exchange: one RSA key per size, generated once and
 * kept in the temp directory for every later run (8192 bits take seconds to generate), and the
 * machine's first non-loopback IPv4 address (Warden lets loopback clients log in with
 * mysql_clear_password, so the RSA exchange is only seen from another address).
 */
import { generateKeyPair } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { networkInterfaces, tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const generate = promisify(generateKeyPair);

/** Path of a PEM RSA private key of `bits` bits, shared by test runs. */
export async function sharedRsaKeyFile(bits: number): Promise<string> {
  const file = path.join(tmpdir(), `warden-test-mysql-rsa-${bits}.pem`);
  try {
    await readFile(file, 'utf8');
    return file;
  } catch {
    const pair = await generate('rsa', { modulusLength: bits, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
    // Written aside and renamed: a test file running at the same time never reads half a key.
    const partial = `${file}.${process.pid}`;
    await writeFile(partial, pair.privateKey, { mode: 0o600 });
    await rename(partial, file);
    return file;
  }
}

/** The first non-internal IPv4 address of this machine; the RSA tests need one. */
export function nonLoopbackAddress(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) if (address.family === 'IPv4' && !address.internal) return address.address;
  }
  throw new Error('these tests need a non-loopback IPv4 address on the machine (loopback clients never use the RSA exchange)');
}
