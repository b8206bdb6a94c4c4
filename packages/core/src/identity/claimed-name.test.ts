import { createHash } from 'node:crypto';
import type { ClientInfo } from '../adapter';
import { MemoryAuditSink } from '../audit/memory-audit-sink';
import type { Clock } from '../clock';
import { WardenError } from '../errors';
import type { Identity } from '../events';
import { GatewayCore } from '../gateway-core';
import type { Logger } from '../log';
import { PolicyEngine } from '../policy/policy-engine';
import { looksLikeToken, safeClaimedName } from './claimed-name';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
/** JWT-shaped, as a user would paste it into the user-name field. */
const pastedToken = `${b64({ alg: 'ES256', typ: 'JWT', kid: 'k1' })}.${b64({ sub: 'alice', groups: ['clinicians'], exp: 1_900_000_000 })}.${'s1gnatur3'.repeat(9)}`;
const expectedHash = `sha256:${createHash('sha256').update(pastedToken).digest('hex').slice(0, 12)}`;

describe('safeClaimedName', () => {
  it('keeps ordinary user names, dotted and e-mail ones too', () => {
    for (const name of ['alice', 'agent-1', 'alice@clinic.example', 'john.q.public', 'root', 'svc_reporting', 'a'.repeat(256)]) {
      expect(looksLikeToken(name)).toBe(false);
      expect(safeClaimedName(name)).toBe(name);
    }
  });

  it('replaces a JWT, an eyJ-prefixed fragment and anything over 256 bytes by a short SHA-256 prefix', () => {
    expect(safeClaimedName(pastedToken)).toBe(expectedHash);
    expect(safeClaimedName(` ${pastedToken}\n`)).toMatch(/^sha256:[0-9a-f]{12}$/);
    // Cut by a client's user-name length limit (MySQL's 32 bytes, say): still recognised by its header.
    expect(safeClaimedName(pastedToken.slice(0, 32))).toMatch(/^sha256:[0-9a-f]{12}$/);
    // An opaque (non-JWT) access token is long.
    expect(safeClaimedName('x'.repeat(257))).toMatch(/^sha256:[0-9a-f]{12}$/);
    // Bytes, not characters: 86 three-byte characters are 258 bytes.
    expect(safeClaimedName('€'.repeat(86))).toMatch(/^sha256:[0-9a-f]{12}$/);
    // A JWE (five segments) and an unsigned JWS (empty signature).
    expect(looksLikeToken(`${pastedToken.split('.').slice(0, 2).join('.')}..iv_iv_iv_iv.tag`)).toBe(true);
    expect(looksLikeToken(`${pastedToken.split('.').slice(0, 2).join('.')}.`)).toBe(true);
  });
});

describe('GatewayCore never stores or logs a token given as the user name', () => {
  const clock: Clock = { now: () => new Date('2025-03-01T12:00:00.000Z') };
  const alice: Identity = { subject: 'alice', issuer: 'https://idp.example', groups: ['clinicians'], kind: 'human', expiresAt: new Date('2030-01-01T00:00:00Z') };

  function setup() {
    const audit = new MemoryAuditSink({ clock });
    const lines: string[] = [];
    const log: Logger = {
      info: (message, fields) => void lines.push(JSON.stringify({ message, ...fields })),
      warn: (message, fields) => void lines.push(JSON.stringify({ message, ...fields })),
      error: (message, fields) => void lines.push(JSON.stringify({ message, ...fields })),
      child: () => log,
    };
    const core = new GatewayCore({
      verifier: { verify: (token) => (token === 'good' ? Promise.resolve(alice) : Promise.reject(new WardenError('unauthenticated', 'token signature does not verify'))) },
      policy: new PolicyEngine({ grants: [{ connection: 'clinic-db', groups: ['clinicians'], access: 'read-write' }], rules: [] }),
      audit,
      connections: new Map([['clinic-db', { protocol: 'postgres' }]]),
      log,
      clock,
    });
    const stored = (): string => JSON.stringify(audit.records) + lines.join('\n');
    return { core, audit, stored };
  }

  const client: ClientInfo = { address: '10.0.0.7:51234', claimedUser: pastedToken, application: pastedToken.slice(0, 40), tls: true };

  it('admits as before, with the hash in place of the claimed user name (token-as-user-name leak)', async () => {
    const { core, audit, stored } = setup();
    const session = await core.admit('clinic-db', { kind: 'bearer', token: 'good' }, client);
    expect(session.identity.subject).toBe('alice');
    expect(audit.ofType('session.start')[0]).toMatchObject({ clientApplication: expect.stringMatching(/^sha256:/) });
    expect(stored()).not.toContain(pastedToken.split('.')[1]!);
    expect(stored()).not.toContain('eyJ');
  });

  it('refuses as before and records only the hash (token-as-user-name leak)', async () => {
    const { core, audit, stored } = setup();
    await expect(core.admit('clinic-db', { kind: 'bearer', token: 'bad' }, client)).rejects.toMatchObject({ code: 'unauthenticated' });
    expect(audit.ofType('auth.failure')[0]).toMatchObject({ claimedUser: expectedHash, reason: 'token signature does not verify' });
    expect(stored()).not.toContain('eyJ');
  });

  it('sanitises what an adapter passes to recordRefusal, the claimed subject too', async () => {
    const { core, audit, stored } = setup();
    await core.recordRefusal('clinic-db', client, 'the public key is bound to no identity', pastedToken);
    expect(audit.ofType('auth.failure')[0]).toMatchObject({ claimedUser: expectedHash, subject: expectedHash });
    expect(stored()).not.toContain('eyJ');
  });
});
