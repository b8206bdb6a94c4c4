import { constants, generateKeyPairSync, publicEncrypt } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { rsaEncryptedPassword } from './auth-scramble';
import { loadOrCreateRsaKey, RsaKeyExchange } from './rsa-key-exchange';

const NONCE = Buffer.from('abcdefghijklmnopqrst');

describe('RsaKeyExchange', () => {
  const key = new RsaKeyExchange(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey);

  it('recovers a token encrypted the way clients do, up to the longest that fits', () => {
    const longest = 'x'.repeat(key.maxTokenBytes);
    for (const token of ['eyJ.a.b', longest]) {
      expect(key.decryptToken(rsaEncryptedPassword(token, NONCE, key.publicKeyPem.toString()), NONCE)).toEqual({ token: Buffer.from(token) });
    }
    expect(() => rsaEncryptedPassword(`${longest}x`, NONCE, key.publicKeyPem.toString())).toThrow(/too large/);
  });

  it('keeps a ciphertext whose last byte is zero whole', () => {
    let ciphertext: Buffer;
    do ciphertext = rsaEncryptedPassword('tok', NONCE, key.publicKeyPem.toString());
    while (ciphertext[ciphertext.length - 1] !== 0);
    expect(key.decryptToken(ciphertext, NONCE)).toEqual({ token: Buffer.from('tok') });
  });

  it('says why a ciphertext is refused', () => {
    expect(key.decryptToken(Buffer.alloc(100), NONCE)).toEqual({ refused: expect.stringContaining("is 100 bytes; Warden's 2048-bit key makes 256") });
    expect(key.decryptToken(Buffer.alloc(256, 1), NONCE)).toEqual({ refused: expect.stringContaining('does not decrypt') });
    const withoutNul = publicEncrypt({ key: key.publicKeyPem, padding: constants.RSA_PKCS1_OAEP_PADDING }, Buffer.from('tok'));
    expect(key.decryptToken(withoutNul, NONCE)).toEqual({ refused: expect.stringContaining('not a NUL-terminated') });
  });
});

describe('loadOrCreateRsaKey', () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'warden-rsa-'));
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('generates the key once into the data directory and reuses it', async () => {
    const generated: string[] = [];
    const first = await loadOrCreateRsaKey({ dataDir, connection: 'clinic-my', bits: 2048, onGenerate: (file) => generated.push(file) });
    const second = await loadOrCreateRsaKey({ dataDir, connection: 'clinic-my', bits: 2048, onGenerate: (file) => generated.push(file) });
    const file = path.join(dataDir, 'mysql', 'clinic-my_rsa_2048_key.pem');
    expect(generated).toEqual([file]);
    expect(second.publicKeyPem).toEqual(first.publicKeyPem);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readFile(path.join(dataDir, 'mysql', 'clinic-my_rsa_2048_key.pub.pem'))).toEqual(first.publicKeyPem);
  });

  it('uses a configured key file and refuses one outside 2048 to 8192 bits', async () => {
    const good = path.join(dataDir, 'good.pem');
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
    await writeFile(good, pair.privateKey);
    expect((await loadOrCreateRsaKey({ dataDir, connection: 'c', bits: 8192, keyFile: good })).publicKeyPem.toString()).toBe(pair.publicKey);
    const small = path.join(dataDir, 'small.pem');
    await writeFile(small, generateKeyPairSync('rsa', { modulusLength: 1024, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } }).privateKey);
    await expect(loadOrCreateRsaKey({ dataDir, connection: 'c', bits: 8192, keyFile: small })).rejects.toThrow(/2048 to 8192 bits/);
    const ec = path.join(dataDir, 'ec.pem');
    await writeFile(ec, generateKeyPairSync('ec', { namedCurve: 'P-256', privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } }).privateKey);
    await expect(loadOrCreateRsaKey({ dataDir, connection: 'c', bits: 8192, keyFile: ec })).rejects.toThrow(/must be an RSA private key/);
  });
});
