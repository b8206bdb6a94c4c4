import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { TlsMaterial } from '@warden/core';
import { generate } from 'selfsigned';

/**
 * A self-signed certificate for development, kept in the data directory so that clients that pin
 * it keep working across restarts.
 */
export async function selfSignedTls(dataDir: string, name: string): Promise<TlsMaterial> {
  const certFile = path.join(dataDir, `${name}.tls.crt`);
  const keyFile = path.join(dataDir, `${name}.tls.key`);
  try {
    return { cert: await readFile(certFile, 'utf8'), key: await readFile(keyFile, 'utf8') };
  } catch {
    const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
      keySize: 2048,
      algorithm: 'sha256',
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] }],
    });
    await writeFile(keyFile, pems.private, { mode: 0o600 });
    await writeFile(certFile, pems.cert, { mode: 0o644 });
    return { cert: pems.cert, key: pems.private };
  }
}
