import { WardenError } from '@warden/core';
import { generateEd25519KeyPair } from './ed25519-key-pair';
import { parseSshTarget } from './ssh-target';

const base = { host: '127.0.0.1', user: 'warden', password: 'x', hostKey: `SHA256:${'A'.repeat(43)}` };

function configError(raw: unknown): WardenError {
  try {
    parseSshTarget(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(WardenError);
    return error as WardenError;
  }
  throw new Error('parseSshTarget accepted the input');
}

describe('parseSshTarget', () => {
  it('defaults: no live masking, no bound public keys', () => {
    expect(parseSshTarget(base)).toMatchObject({ maskLiveOutput: false, publicKeys: [] });
    expect(parseSshTarget({ ...base, maskLiveOutput: true }).maskLiveOutput).toBe(true);
    expect(configError({ ...base, maskLiveOutput: 'yes' }).path).toEqual(['maskLiveOutput']);
  });

  it('binds public keys to identities (kind agent by default), normalising the key line', () => {
    const key = generateEd25519KeyPair('ci');
    const target = parseSshTarget({ ...base, publicKeys: [{ publicKey: key.publicKey, identity: { subject: 'ci-bot', groups: ['ops'] } }] });
    expect(target.publicKeys).toEqual([{ publicKey: key.publicKey.split(' ').slice(0, 2).join(' '), identity: { subject: 'ci-bot', groups: ['ops'], kind: 'agent' } }]);
  });

  it('refuses malformed bindings with the path of the field', () => {
    const key = generateEd25519KeyPair('ci');
    const entry = (overrides: Record<string, unknown>) => ({ ...base, publicKeys: [{ publicKey: key.publicKey, identity: { subject: 'ci-bot', groups: [] }, ...overrides }] });
    expect(configError(entry({ publicKey: 'ssh-ed25519 not-base64!' })).path).toEqual(['publicKeys', 0, 'publicKey']);
    expect(configError(entry({ publicKey: key.privateKey })).message).toMatch(/not a private key/);
    expect(configError(entry({ identity: { subject: '', groups: [] } })).path).toEqual(['publicKeys', 0, 'identity', 'subject']);
    expect(configError(entry({ identity: { subject: 'a', kind: 'robot' } })).path).toEqual(['publicKeys', 0, 'identity', 'kind']);
    expect(configError(entry({ identity: { subject: 'a', groups: 'ops' } })).path).toEqual(['publicKeys', 0, 'identity', 'groups']);
    expect(configError(entry({ extra: 1 })).path).toEqual(['publicKeys', 0, 'extra']);
    const twice = { ...base, publicKeys: [{ publicKey: key.publicKey, identity: { subject: 'a' } }, { publicKey: key.publicKey, identity: { subject: 'b' } }] };
    expect(configError(twice).message).toMatch(/already bound in publicKeys\[0\]/);
  });
});
