import { utils } from 'ssh2';

/** An ed25519 key pair in OpenSSH formats (private key PEM-like text, public key line). */
export interface Ed25519KeyPair {
  readonly privateKey: string;
  readonly publicKey: string;
}

/**
 * ssh2 1.17's `generateKeyPairSync('ed25519')` drops a leading zero byte of the public key (about one
 * key in 256), producing a 31-byte key that OpenSSH and ssh2 itself then reject. Generate again until
 * the public key blob has its full length (`string "ssh-ed25519"` + `string` of 32 bytes = 51 bytes).
 */
export function generateEd25519KeyPair(comment: string): Ed25519KeyPair {
  for (;;) {
    const pair = utils.generateKeyPairSync('ed25519', { comment });
    const blob = Buffer.from(pair.public.split(' ')[1] ?? '', 'base64');
    if (blob.length === 51) return { privateKey: pair.private, publicKey: pair.public };
  }
}
