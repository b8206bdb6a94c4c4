import type { ClientInfo, Credential, Session } from './adapter';
import { MemoryAuditSink } from './audit/memory-audit-sink';
import type { Clock } from './clock';
import { WardenError } from './errors';
import type { Action, Classification, CommandInput, Identity } from './events';
import { GatewayCore, type IdentityVerifier } from './gateway-core';
import type { Logger } from './log';
import { silentLogger } from './log';
import { MaskingPolicy } from './masking/masking-policy';
import { PolicyEngine } from './policy/policy-engine';
import type { RuleConfig } from './policy/policy-config';

const NOW = new Date('2025-03-01T12:00:00.000Z');
const clock: Clock = { now: () => NOW };

const alice: Identity = { subject: 'alice', issuer: 'https://idp.example', groups: ['clinicians'], kind: 'human', name: 'Alice', expiresAt: new Date('2030-01-01T00:00:00Z') };
const stranger: Identity = { subject: 'stranger', issuer: 'https://idp.example', groups: ['visitors'], kind: 'human', expiresAt: new Date('2030-01-01T00:00:00Z') };

/** A JWT-shaped token with an unverifiable signature: `decodeJwt` reads it, no verifier accepts it. */
function unsignedJwt(claims: Record<string, unknown>): string {
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${b64({ alg: 'ES256', typ: 'JWT' })}.${b64(claims)}.c2lnbmF0dXJl`;
}

/** A verifier that knows two tokens and refuses the rest the way TokenVerifier does. */
function fakeVerifier(): IdentityVerifier & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    verify(token: string): Promise<Identity> {
      calls.push(token);
      if (token === 'token-alice') return Promise.resolve(alice);
      if (token === 'token-stranger') return Promise.resolve(stranger);
      if (token === 'token-crash') return Promise.reject(new Error('JWKS endpoint returned 500'));
      return Promise.reject(new WardenError('unauthenticated', 'the token signature is invalid'));
    },
  };
}

/** A logger that keeps what it was told, to check that tokens never reach it. */
function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const logger: Logger & { lines: string[] } = {
    lines,
    info: (message, fields) => void lines.push(JSON.stringify({ level: 'info', message, ...fields })),
    warn: (message, fields) => void lines.push(JSON.stringify({ level: 'warn', message, ...fields })),
    error: (message, fields) => void lines.push(JSON.stringify({ level: 'error', message, ...fields })),
    child: () => logger,
  };
  return logger;
}

function classification(action: Action, objects: readonly string[] = []): Classification {
  return { action, objects, bulk: false, statementCount: 1, statements: [{ action, objects, bulk: false }] };
}

function command(text: string, action: Action, objects: readonly string[] = []): CommandInput {
  return { text, classification: classification(action, objects) };
}

const client: ClientInfo = { address: '10.0.0.7:51234', claimedUser: 'alice@clinic', application: 'psql', tls: true };
const bearer = (token: string): Credential => ({ kind: 'bearer', token });

function setup(options: { rules?: readonly RuleConfig[]; log?: Logger; masking?: MaskingPolicy } = {}) {
  const audit = new MemoryAuditSink({ clock });
  const verifier = fakeVerifier();
  const policy = new PolicyEngine({
    grants: [
      { connection: 'clinic-db', groups: ['clinicians'], access: 'read-write' },
      { connection: 'billing-db', identities: ['bob'], access: 'full' },
    ],
    rules: options.rules ?? [
      { name: 'no-ssn-table', match: { objects: ['ssn_registry'] }, effect: 'block', reason: 'the SSN registry is off limits' },
      { name: 'review-bulk-deletes', match: { action: 'write', text: '^delete' }, effect: 'review', approvers: ['leads'] },
    ],
  });
  const core = new GatewayCore({
    verifier,
    policy,
    audit,
    connections: new Map([
      ['clinic-db', { protocol: 'postgres' }],
      ['billing-db', { protocol: 'postgres' }],
    ]),
    log: options.log ?? silentLogger,
    clock,
    ...(options.masking ? { masking: options.masking } : {}),
  });
  return { core, audit, verifier };
}

async function rejection(promise: Promise<unknown>): Promise<WardenError> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WardenError);
  return error as WardenError;
}

describe('GatewayCore.admit', () => {
  it('opens a session and records session.start with the identity and access', async () => {
    const { core, audit } = setup();
    const session = await core.admit('clinic-db', bearer('token-alice'), client);
    expect(session).toMatchObject({ identity: alice, connection: 'clinic-db', access: 'read-write' });
    expect(session.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(audit.records).toHaveLength(1);
    expect(audit.ofType('session.start')).toEqual([
      expect.objectContaining({
        type: 'session.start',
        sessionId: session.id,
        identity: alice,
        connection: 'clinic-db',
        protocol: 'postgres',
        clientAddress: '10.0.0.7:51234',
        clientApplication: 'psql',
        access: 'read-write',
        seq: 1,
      }),
    ]);
  });

  it('leaves clientApplication out when the client sent none', async () => {
    const { core, audit } = setup();
    await core.admit('clinic-db', bearer('token-alice'), { address: '127.0.0.1:5000', tls: false });
    expect(audit.ofType('session.start')[0]).not.toHaveProperty('clientApplication');
  });

  it('gives each session its own id', async () => {
    const { core } = setup();
    const [a, b] = await Promise.all([core.admit('clinic-db', bearer('token-alice'), client), core.admit('clinic-db', bearer('token-alice'), client)]);
    expect(a.id).not.toBe(b.id);
  });

  it('refuses a bad token as unauthenticated and records auth.failure with the unverified subject', async () => {
    const { core, audit } = setup();
    const token = unsignedJwt({ sub: 'mallory', iss: 'https://evil.example' });
    const error = await rejection(core.admit('clinic-db', bearer(token), client));
    expect(error).toMatchObject({ code: 'unauthenticated', message: 'the token signature is invalid' });
    expect(audit.records).toEqual([
      expect.objectContaining({
        type: 'auth.failure',
        connection: 'clinic-db',
        protocol: 'postgres',
        clientAddress: '10.0.0.7:51234',
        claimedUser: 'alice@clinic',
        subject: 'mallory',
        code: 'unauthenticated',
        reason: 'the token signature is invalid',
      }),
    ]);
    expect(JSON.stringify(audit.records)).not.toContain(token);
  });

  it('records no subject when the token is not a decodable JWT', async () => {
    const { core, audit } = setup();
    const error = await rejection(core.admit('clinic-db', bearer('not-a-jwt'), { address: '10.0.0.8:1', tls: false }));
    expect(error.code).toBe('unauthenticated');
    const [failure] = audit.ofType('auth.failure');
    expect(failure).toBeDefined();
    expect(failure).not.toHaveProperty('subject');
    expect(failure).not.toHaveProperty('claimedUser');
  });

  it('records no subject when the JWT has a non-string sub, and cuts a long one to 200 characters', async () => {
    const { core, audit } = setup();
    await rejection(core.admit('clinic-db', bearer(unsignedJwt({ sub: 42 })), client));
    await rejection(core.admit('clinic-db', bearer(unsignedJwt({ sub: 'x'.repeat(1000) })), client));
    const failures = audit.ofType('auth.failure');
    expect(failures[0]).not.toHaveProperty('subject');
    expect(failures[1]!.subject).toBe('x'.repeat(200));
  });

  it('turns a verifier crash into unauthenticated with a generic reason', async () => {
    const log = recordingLogger();
    const { core, audit } = setup({ log });
    const error = await rejection(core.admit('clinic-db', bearer('token-crash'), client));
    expect(error).toMatchObject({ code: 'unauthenticated', message: 'the credential could not be verified' });
    expect(audit.ofType('auth.failure')[0]).toMatchObject({ reason: 'the credential could not be verified' });
    expect(log.lines.some((line) => line.includes('JWKS endpoint returned 500'))).toBe(true);
    expect(log.lines.join('\n')).not.toContain('token-crash');
  });

  it('refuses an identity without a grant as forbidden and records auth.failure', async () => {
    const { core, audit } = setup();
    const error = await rejection(core.admit('clinic-db', bearer('token-stranger'), client));
    expect(error).toMatchObject({ code: 'forbidden', message: 'stranger has no grant for connection clinic-db' });
    expect(audit.records).toEqual([
      expect.objectContaining({ type: 'auth.failure', subject: 'stranger', code: 'forbidden', reason: 'stranger has no grant for connection clinic-db', connection: 'clinic-db' }),
    ]);
  });

  it('a grant on another connection does not admit', async () => {
    const { core } = setup();
    expect((await rejection(core.admit('billing-db', bearer('token-alice'), client))).code).toBe('forbidden');
  });

  it('refuses an unknown connection as internal without calling the verifier', async () => {
    const { core, audit, verifier } = setup();
    expect((await rejection(core.admit('nope', bearer('token-alice'), client))).code).toBe('internal');
    expect(verifier.calls).toEqual([]);
    expect(audit.records).toEqual([]);
  });

  it('fails closed when the audit sink has failed: audit-unavailable, and the token is not even verified', async () => {
    const { core, audit, verifier } = setup();
    audit.fail('disk full');
    const error = await rejection(core.admit('clinic-db', bearer('token-alice'), client));
    expect(error.code).toBe('audit-unavailable');
    expect(verifier.calls).toEqual([]);
    expect(audit.records).toEqual([]);
  });
});

describe('GatewayCore.admitIdentity (identities from credentials Warden issued)', () => {
  it('opens a session for the identity without calling the token verifier, with the same grant and audit', async () => {
    const { core, audit, verifier } = setup();
    const session = await core.admitIdentity('clinic-db', alice, client);
    expect(session).toMatchObject({ identity: alice, connection: 'clinic-db', access: 'read-write' });
    expect(verifier.calls).toEqual([]);
    expect(audit.ofType('session.start')).toEqual([expect.objectContaining({ sessionId: session.id, identity: alice, access: 'read-write' })]);
  });

  it('refuses an identity without a grant as forbidden and records auth.failure', async () => {
    const { core, audit } = setup();
    const error = await rejection(core.admitIdentity('clinic-db', stranger, client));
    expect(error).toMatchObject({ code: 'forbidden', message: 'stranger has no grant for connection clinic-db' });
    expect(audit.ofType('auth.failure')).toEqual([expect.objectContaining({ subject: 'stranger', code: 'forbidden' })]);
  });

  it('refuses an identity whose credential has expired as unauthenticated and records it', async () => {
    const { core, audit } = setup();
    const expired: Identity = { ...alice, expiresAt: new Date(NOW.getTime() - 1000) };
    const error = await rejection(core.admitIdentity('clinic-db', expired, client));
    expect(error).toMatchObject({ code: 'unauthenticated', message: 'the credential has expired' });
    expect(audit.ofType('auth.failure')).toEqual([expect.objectContaining({ subject: 'alice', code: 'unauthenticated', reason: 'the credential has expired' })]);
    expect(audit.ofType('session.start')).toEqual([]);
  });
});

describe('GatewayCore audit redaction', () => {
  it('redacts detected values from the objects of a command\'s classification, as from its text; policy decides on the original', async () => {
    const masking = new MaskingPolicy({ key: Buffer.alloc(32, 1), connections: [{ connection: 'clinic-db', detect: ['ssn'] }] });
    const { core, audit } = setup({ masking });
    const session = await core.admit('clinic-db', bearer('token-alice'), client);
    const input = command('printf %s 412-55-7301', 'read', ['printf', 'printf %s 412-55-7301']);
    const ruling = await session.decide(input);
    await ruling.durable;
    expect(ruling.command.classification).toBe(input.classification);
    const [recorded] = audit.ofType('command');
    expect(JSON.stringify(recorded)).not.toContain('412-55-7301');
    expect(recorded!.classification.objects).toEqual(['printf', expect.stringMatching(/^printf %s \[phi:[0-9a-f]+\]$/)]);
    expect(recorded!.classification.statements[0]!.objects[1]).toBe(recorded!.classification.objects[1]);
  });
});

describe('GatewayCore.recordRefusal (credentials an adapter refused itself)', () => {
  it('records auth.failure with the reason, the claimed user and the unverified subject, and opens no session', async () => {
    const { core, audit } = setup();
    await core.recordRefusal('clinic-db', client, 'certificate serial 42 was not issued by this Warden', 'mallory');
    expect(audit.ofType('auth.failure')).toEqual([
      expect.objectContaining({
        connection: 'clinic-db',
        protocol: 'postgres',
        clientAddress: client.address,
        claimedUser: 'alice@clinic',
        code: 'unauthenticated',
        reason: 'certificate serial 42 was not issued by this Warden',
        subject: 'mallory',
      }),
    ]);
    expect(audit.ofType('session.start')).toEqual([]);
    await core.recordRefusal('clinic-db', { address: '10.0.0.8:1', tls: true }, 'no public key offered is bound to an identity');
    expect(audit.ofType('auth.failure')[1]).not.toHaveProperty('subject');
  });

  it('rejects with audit-unavailable when the audit log has failed, and for an unknown connection', async () => {
    const { core, audit } = setup();
    await expect(core.recordRefusal('no-such-db', client, 'x')).rejects.toMatchObject({ code: 'internal' });
    audit.fail('disk full');
    await expect(core.recordRefusal('clinic-db', client, 'x')).rejects.toMatchObject({ code: 'audit-unavailable' });
  });
});

describe('Session', () => {
  async function admitted(options: Parameters<typeof setup>[0] = {}): Promise<{ session: Session; audit: MemoryAuditSink }> {
    const { core, audit } = setup(options);
    const session = await core.admit('clinic-db', bearer('token-alice'), client);
    return { session, audit };
  }

  describe('refuse (an adapter\'s refusal for a protocol reason)', () => {
    it('records a refused command under the protocol rule, numbered in order with decided ones', async () => {
      const { session: alices, audit: log } = await admitted();
      await alices.decide(command('select 1', 'read'));
      const ruling = alices.refuse({ text: 'Execute portal "ghost"', classification: classification('unknown'), detail: { message: 'Execute' } }, 'portal "ghost" does not exist');
      await alices.decide(command('select 2', 'read'));
      expect(ruling.decision).toEqual({ effect: 'block', rule: 'protocol', reason: 'portal "ghost" does not exist' });
      expect(ruling.command.seq).toBe(2);
      await expect(ruling.durable).resolves.toBeUndefined();
      expect(log.ofType('command').map((r) => [r.commandSeq, r.text, r.decision.effect])).toEqual([
        [1, 'select 1', 'allow'],
        [2, 'Execute portal "ghost"', 'block'],
        [3, 'select 2', 'allow'],
      ]);
      expect(log.ofType('command')[1]).toMatchObject({ detail: { message: 'Execute' }, decision: { rule: 'protocol', reason: 'portal "ghost" does not exist' } });
    });

    it('redacts the text as decide does', async () => {
      const { session, audit } = await admitted({ masking: new MaskingPolicy({ key: Buffer.alloc(32, 1), connections: [{ connection: 'clinic-db', detect: ['ssn'] }] }) });
      session.refuse(command("EXECUTE ghost('123-45-6789')", 'read'), 'prepared statement "ghost" does not exist');
      expect(JSON.stringify(audit.ofType('command'))).not.toContain('123-45-6789');
    });

    it('throws audit-unavailable once the audit log has failed (the adapter then fails closed)', async () => {
      const { session, audit } = await admitted();
      audit.fail('disk full');
      expect(() => session.refuse(command('Execute portal "x"', 'unknown'), 'portal "x" does not exist')).toThrow(expect.objectContaining({ code: 'audit-unavailable' }));
    });
  });

  describe('decide', () => {
    it('allows, resolves durable, and records a command with commandSeq 1 and the decision', async () => {
      const { session, audit } = await admitted();
      const input: CommandInput = { ...command('select * from patients', 'read', ['patients']), detail: { message: 'Query' } };
      const ruling = await session.decide(input);
      expect(ruling.decision).toEqual({ effect: 'allow' });
      await expect(ruling.durable).resolves.toBeUndefined();
      expect(ruling.command).toEqual({ ...input, sessionId: session.id, seq: 1, protocol: 'postgres', connection: 'clinic-db', at: NOW });
      expect(audit.ofType('command')).toEqual([
        expect.objectContaining({
          type: 'command',
          sessionId: session.id,
          commandSeq: 1,
          text: 'select * from patients',
          classification: input.classification,
          decision: { effect: 'allow' },
          detail: { message: 'Query' },
        }),
      ]);
    });

    it('numbers commands 1, 2, 3 in the order they were submitted', async () => {
      const { session, audit } = await admitted();
      const rulings = [await session.decide(command('select 1', 'read')), await session.decide(command('begin', 'transaction')), await session.decide(command('select 2', 'read'))];
      expect(rulings.map((r) => r.command.seq)).toEqual([1, 2, 3]);
      expect(audit.ofType('command').map((r) => [r.commandSeq, r.text])).toEqual([
        [1, 'select 1'],
        [2, 'begin'],
        [3, 'select 2'],
      ]);
    });

    it('sequences are per session', async () => {
      const { core, audit } = setup();
      const one = await core.admit('clinic-db', bearer('token-alice'), client);
      const two = await core.admit('clinic-db', bearer('token-alice'), client);
      await one.decide(command('select 1', 'read'));
      await two.decide(command('select 1', 'read'));
      await one.decide(command('select 2', 'read'));
      expect(audit.ofType('command').map((r) => [r.sessionId === one.id ? 'one' : 'two', r.commandSeq])).toEqual([
        ['one', 1],
        ['two', 1],
        ['one', 2],
      ]);
    });

    it('blocks what the policy blocks and records the block', async () => {
      const { session, audit } = await admitted();
      const ruling = await session.decide(command('drop table patients', 'ddl', ['patients']));
      expect(ruling.decision).toEqual({ effect: 'block', rule: 'grant:read-write', reason: 'read-write access does not allow ddl statements' });
      await ruling.durable;
      expect(audit.ofType('command')[0]).toMatchObject({ decision: ruling.decision });
    });

    it('turns a review into a block whose reason says approvals are not enabled', async () => {
      const { session, audit } = await admitted();
      const ruling = await session.decide(command('delete from visits', 'write', ['visits']));
      expect(ruling.decision).toEqual({
        effect: 'block',
        rule: 'review-bulk-deletes',
        reason: 'write statement refused by rule "review-bulk-deletes": it requires an approval, and approvals are not enabled on this gateway',
      });
      await ruling.durable;
      expect(audit.ofType('command')[0]!.decision).toEqual(ruling.decision);
    });

    it('fails closed when the audit sink has failed: decide rejects with audit-unavailable and nothing is recorded', async () => {
      const { session, audit } = await admitted();
      audit.fail('disk full');
      expect((await rejection(session.decide(command('select 1', 'read')))).code).toBe('audit-unavailable');
      expect(audit.ofType('command')).toEqual([]);
    });

    it('durable rejects with audit-unavailable when the write fails after the decision', async () => {
      // A file log learns that a write failed only after `append` was called: `failed` is still
      // false when `decide` checks it, so the failure reaches the adapter through `durable`.
      const { core, audit } = setup();
      const session = await core.admit('clinic-db', bearer('token-alice'), client);
      const append = jest.spyOn(audit, 'append').mockImplementationOnce(() => Promise.reject(new WardenError('audit-unavailable', 'write failed: ENOSPC')));
      const ruling = await session.decide(command('select 1', 'read'));
      expect(ruling.decision).toEqual({ effect: 'allow' });
      await expect(ruling.durable).rejects.toMatchObject({ code: 'audit-unavailable' });
      expect(append).toHaveBeenCalledTimes(1);
    });

    it('rejects after the session ended', async () => {
      const { session } = await admitted();
      await session.end('client-closed');
      expect((await rejection(session.decide(command('select 1', 'read')))).code).toBe('protocol');
    });
  });

  describe('recordResult and recordEvent', () => {
    it('recordResult writes a result record for the command', async () => {
      const { session, audit } = await admitted();
      const ruling = await session.decide(command('select * from patients', 'read', ['patients']));
      session.recordResult(ruling.command.seq, { rows: 3, durationMs: 12, status: 'SELECT 3', masked: { ssn: 3 } });
      await Promise.resolve();
      expect(audit.ofType('result')).toEqual([
        expect.objectContaining({ type: 'result', sessionId: session.id, commandSeq: 1, summary: { rows: 3, durationMs: 12, status: 'SELECT 3', masked: { ssn: 3 } } }),
      ]);
    });

    it('recordResult keeps the target error', async () => {
      const { session, audit } = await admitted();
      session.recordResult(1, { rows: 0, durationMs: 1, error: { code: '42P01', message: 'relation "x" does not exist' } });
      expect(audit.ofType('result')[0]!.summary.error).toEqual({ code: '42P01', message: 'relation "x" does not exist' });
    });

    it('recordResult and recordEvent do not throw when the sink has failed', async () => {
      const { session, audit } = await admitted();
      audit.fail('disk full');
      expect(() => session.recordResult(1, { rows: 1, durationMs: 1 })).not.toThrow();
      expect(() => session.recordEvent('cancel')).not.toThrow();
      await new Promise((resolve) => setImmediate(resolve));
    });

    it('recordEvent writes a session.event', async () => {
      const { session, audit } = await admitted();
      session.recordEvent('cancel', { processId: 42 });
      session.recordEvent('tls');
      expect(audit.ofType('session.event')).toEqual([
        expect.objectContaining({ sessionId: session.id, name: 'cancel', detail: { processId: 42 } }),
        expect.not.objectContaining({ detail: expect.anything() }),
      ]);
    });
  });

  describe('end', () => {
    it('writes one session.end with totals: commands, blocked, rows', async () => {
      const { session, audit } = await admitted();
      const first = await session.decide(command('select * from patients', 'read', ['patients']));
      session.recordResult(first.command.seq, { rows: 5, durationMs: 3 });
      await session.decide(command('select * from ssn_registry', 'read', ['ssn_registry']));
      await session.decide(command('delete from visits', 'write', ['visits']));
      const fourth = await session.decide(command('update visits set x = 1 where id = 2', 'write', ['visits']));
      session.recordResult(fourth.command.seq, { rows: 1, durationMs: 2 });
      await session.end('client-closed');
      expect(audit.ofType('session.end')).toEqual([
        expect.objectContaining({ type: 'session.end', sessionId: session.id, reason: 'client-closed', totals: { commands: 4, blocked: 2, rows: 6 } }),
      ]);
    });

    it('is idempotent: later calls return the same promise and write nothing more', async () => {
      const { session, audit } = await admitted();
      const first = session.end('client-closed');
      const second = session.end('error', 'socket reset');
      expect(second).toBe(first);
      await Promise.all([first, second, session.end('shutdown')]);
      expect(audit.ofType('session.end')).toEqual([expect.objectContaining({ reason: 'client-closed', totals: { commands: 0, blocked: 0, rows: 0 } })]);
      expect(audit.ofType('session.end')[0]).not.toHaveProperty('error');
    });

    it('records the error text when given', async () => {
      const { session, audit } = await admitted();
      await session.end('error', 'target closed the connection');
      expect(audit.ofType('session.end')[0]).toMatchObject({ reason: 'error', error: 'target closed the connection' });
    });

    it('resolves (and logs) when the end cannot be recorded', async () => {
      const log = recordingLogger();
      const { session, audit } = await admitted({ log });
      audit.fail('disk full');
      await expect(session.end('shutdown')).resolves.toBeUndefined();
      expect(log.lines.some((line) => line.includes('session end not audited'))).toBe(true);
    });
  });
});
