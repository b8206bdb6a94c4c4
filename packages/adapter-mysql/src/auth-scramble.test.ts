import { constants, generateKeyPairSync, privateDecrypt } from 'node:crypto';
import path from 'node:path';
import { cachingSha2Proof, nativePasswordProof, rsaEncryptedPassword } from './auth-scramble';

// mysql2's own client implementations, as an independent reference (behind its exports map).
const mysql2Lib = path.join(path.dirname(require.resolve('mysql2')), 'lib');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const auth41 = require(path.join(mysql2Lib, 'auth_41.js')) as { calculateToken(password: string, scramble1: Buffer, scramble2: Buffer): Buffer };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const sha2 = require(path.join(mysql2Lib, 'auth_plugins', 'caching_sha2_password.js')) as { calculateToken(password: string, scramble: Buffer): Buffer };

const nonce = Buffer.from('0123456789abcdefghij');

describe('auth scrambles', () => {
  it('computes mysql_native_password like mysql2', () => {
    expect(nativePasswordProof('s3cret', nonce)).toEqual(auth41.calculateToken('s3cret', nonce.subarray(0, 8), nonce.subarray(8)));
    expect(nativePasswordProof('', nonce)).toHaveLength(0);
  });

  it('computes caching_sha2_password like mysql2', () => {
    expect(cachingSha2Proof('s3cret', nonce)).toEqual(sha2.calculateToken('s3cret', nonce));
  });

  it('encrypts the password for caching_sha2_password full authentication without TLS', () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const encrypted = rsaEncryptedPassword('s3cret', nonce, publicKey.export({ type: 'spki', format: 'pem' }).toString());
    const plain = privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING }, encrypted);
    const unmasked = Buffer.from(plain.map((byte, i) => byte ^ nonce[i % nonce.length]!));
    expect(unmasked.toString()).toBe('s3cret\0');
  });
});
