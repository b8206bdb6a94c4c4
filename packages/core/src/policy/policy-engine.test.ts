import type { AccessLevel } from '../adapter';
import type { Action, Classification, Decision, Identity, IdentityKind, Protocol, StatementClass } from '../events';
import type { GrantConfig, PolicyConfig, RuleConfig } from './policy-config';
import { PolicyEngine, type DecisionContext } from './policy-engine';

function identity(subject: string, groups: readonly string[] = [], kind: IdentityKind = 'human'): Identity {
  return { subject, issuer: 'https://idp.example', groups, kind, expiresAt: new Date('2030-01-01T00:00:00Z') };
}

function statement(action: Action, objects: readonly string[] = [], extra: Partial<StatementClass> = {}): StatementClass {
  return { action, objects, bulk: false, ...extra };
}

/** A classification of the given statements; the aggregate fields are not what policy reads. */
function classification(...statements: StatementClass[]): Classification {
  return {
    action: statements[0]?.action ?? 'read',
    objects: statements.flatMap((s) => s.objects),
    bulk: statements.some((s) => s.bulk),
    statementCount: statements.length,
    statements,
  };
}

const alice = identity('alice', ['clinicians']);
const bob = identity('bob', ['analysts', 'oncall']);
const ci = identity('ci-bot', ['deployers'], 'agent');

function context(overrides: Partial<DecisionContext> = {}): DecisionContext {
  return { identity: alice, connection: 'clinic-db', protocol: 'postgres', access: 'full', ...overrides };
}

function engine(rules: readonly RuleConfig[] = [], grants: readonly GrantConfig[] = []): PolicyEngine {
  const config: PolicyConfig = { grants, rules };
  return new PolicyEngine(config);
}

describe('PolicyEngine.accessFor', () => {
  const grants: GrantConfig[] = [
    { connection: 'clinic-db', groups: ['clinicians'], access: 'read-only' },
    { connection: 'clinic-db', groups: ['analysts'], access: 'read-write' },
    { connection: 'clinic-db', identities: ['alice'], access: 'read-write' },
    { connection: 'clinic-db', groups: ['oncall'], access: 'full' },
    { connection: 'billing-db', groups: ['clinicians'], access: 'full' },
    { connection: 'billing-db', identities: ['carol'], access: 'read-only' },
    { connection: 'deploy-db', groups: ['deployers'], identities: ['dave'], access: 'read-write' },
  ];
  const policy = engine([], grants);

  const cases: readonly (readonly [string, Identity, string, AccessLevel | undefined])[] = [
    ['strongest grant wins (group read-only + subject read-write)', alice, 'clinic-db', 'read-write'],
    ['strongest grant wins (group read-write + group full)', bob, 'clinic-db', 'full'],
    ['by group alone', identity('erin', ['clinicians']), 'clinic-db', 'read-only'],
    ['by subject alone', identity('carol'), 'billing-db', 'read-only'],
    ['grants on another connection are ignored', identity('carol'), 'clinic-db', undefined],
    ['a full grant on another connection does not leak', identity('erin', ['clinicians']), 'deploy-db', undefined],
    ['no matching group or subject → undefined', identity('mallory', ['visitors']), 'clinic-db', undefined],
    ['no groups at all → undefined', identity('nobody'), 'clinic-db', undefined],
    ['a grant with groups and identities matches by either (group)', ci, 'deploy-db', 'read-write'],
    ['a grant with groups and identities matches by either (subject)', identity('dave'), 'deploy-db', 'read-write'],
    ['unknown connection → undefined', alice, 'nope', undefined],
    ['a group named like a subject does not match by subject', identity('x', ['alice']), 'clinic-db', undefined],
  ];

  it.each(cases)('%s', (_name, who, connection, expected) => {
    expect(policy.accessFor(who, connection)).toBe(expected);
  });

  it('the order of grants does not matter', () => {
    const reversed = engine([], [...grants].reverse());
    for (const [, who, connection, expected] of cases) expect(reversed.accessFor(who, connection)).toBe(expected);
  });

  it('no grants → undefined for everyone', () => {
    expect(engine().accessFor(alice, 'clinic-db')).toBeUndefined();
  });
});

describe('PolicyEngine.decide', () => {
  describe('access levels, no rules', () => {
    const actions: readonly Action[] = ['read', 'transaction', 'session', 'connect', 'write', 'ddl', 'admin', 'exec'];
    const allowed: Readonly<Record<AccessLevel, readonly Action[]>> = {
      'read-only': ['read', 'transaction', 'session', 'connect'],
      'read-write': ['read', 'transaction', 'session', 'connect', 'write'],
      full: ['read', 'transaction', 'session', 'connect', 'write', 'ddl', 'admin', 'exec'],
    };
    const cases = (Object.keys(allowed) as AccessLevel[]).flatMap((access) => actions.map((action) => [access, action, allowed[access].includes(action)] as const));

    it.each(cases)('%s access, %s statement → allowed: %s', (access, action, allow) => {
      const decision = engine().decide(context({ access }), classification(statement(action)), 'sql');
      if (allow) expect(decision).toEqual({ effect: 'allow' });
      else expect(decision).toEqual({ effect: 'block', rule: `grant:${access}`, reason: `${access} access does not allow ${action} statements` });
    });
  });

  describe('statements that can turn read-only mode off', () => {
    const lifting = statement('transaction', [], { note: 'READ WRITE overrides default_transaction_read_only', disablesReadOnly: true });
    const cases: readonly (readonly [string, AccessLevel, readonly RuleConfig[], Decision])[] = [
      ['read-only access refuses it, naming the grant', 'read-only', [], { effect: 'block', rule: 'grant:read-only', reason: 'read-only access does not allow turning read-only mode off' }],
      ['an allow rule cannot let it through on read-only access', 'read-only', [{ name: 'tx-ok', match: { action: 'transaction' }, effect: 'allow' }], expect.objectContaining({ effect: 'block', rule: 'grant:read-only' })],
      ['a block rule still names itself first', 'read-only', [{ name: 'no-tx', match: { action: 'transaction' }, effect: 'block', reason: 'no' }], { effect: 'block', rule: 'no-tx', reason: 'no' }],
      ['read-write access allows it', 'read-write', [], { effect: 'allow' }],
      ['full access allows it', 'full', [], { effect: 'allow' }],
    ];

    it.each(cases)('%s', (_name, access, rules, expected) => {
      expect(engine(rules).decide(context({ access }), classification(lifting), 'BEGIN READ WRITE')).toEqual(expected);
    });

    it('one such statement refuses a whole read-only command', () => {
      const decision = engine().decide(context({ access: 'read-only' }), classification(statement('read'), statement('session', [], { disablesReadOnly: true })), 'sql');
      expect(decision).toMatchObject({ effect: 'block', rule: 'grant:read-only' });
    });
  });

  describe('statements that change how the server lexes text', () => {
    const lexing = statement('session', [], { note: 'sets standard_conforming_strings', changesLexing: true });
    const reason = (access: AccessLevel): string => `${access} access does not allow this statement (sets standard_conforming_strings): Warden cannot analyse statements under that setting`;
    const cases: readonly (readonly [string, AccessLevel, readonly RuleConfig[], Decision])[] = [
      ['read-only access refuses it, naming the grant', 'read-only', [], { effect: 'block', rule: 'grant:read-only', reason: reason('read-only') }],
      ['read-write access refuses it, naming the grant', 'read-write', [], { effect: 'block', rule: 'grant:read-write', reason: reason('read-write') }],
      ['an allow rule cannot let it through below full', 'read-write', [{ name: 'session-ok', match: { action: 'session' }, effect: 'allow' }], expect.objectContaining({ effect: 'block', rule: 'grant:read-write' })],
      ['full access allows it', 'full', [], { effect: 'allow' }],
    ];

    it.each(cases)('%s', (_name, access, rules, expected) => {
      expect(engine(rules).decide(context({ access }), classification(lexing), 'SET standard_conforming_strings = off')).toEqual(expected);
    });
  });

  describe('unknown statements', () => {
    const unknown = statement('unknown', [], { note: 'parse error: syntax error at or near "frob"' });
    const allowUnknown: RuleConfig = { name: 'allow-unknown', match: { action: 'unknown' }, effect: 'allow' };

    const cases: readonly (readonly [string, AccessLevel, readonly RuleConfig[], Decision])[] = [
      [
        'blocked fail-closed with full access and no rules',
        'full',
        [],
        { effect: 'block', rule: 'fail-closed', reason: 'Warden could not classify the statement (parse error: syntax error at or near "frob"); it is refused' },
      ],
      ['allowed by an allow rule naming unknown, with full access', 'full', [allowUnknown], { effect: 'allow', rule: 'allow-unknown' }],
      ['allowed by an allow rule listing unknown among actions, with full access', 'full', [{ name: 'lenient', match: { action: ['read', 'unknown'] }, effect: 'allow' }], { effect: 'allow', rule: 'lenient' }],
      ['not allowed by that rule with read-write access', 'read-write', [allowUnknown], expect.objectContaining({ effect: 'block', rule: 'fail-closed' })],
      ['not allowed by that rule with read-only access', 'read-only', [allowUnknown], expect.objectContaining({ effect: 'block', rule: 'fail-closed' })],
      ['not allowed by a broad allow rule that does not name unknown', 'full', [{ name: 'everything', match: {}, effect: 'allow' }], expect.objectContaining({ effect: 'block', rule: 'fail-closed' })],
      [
        'not allowed by an allow rule naming other actions (it does not match)',
        'full',
        [{ name: 'reads', match: { action: 'read' }, effect: 'allow' }],
        expect.objectContaining({ effect: 'block', rule: 'fail-closed' }),
      ],
      [
        'not allowed when the first matching rule is a broad allow, even if a later rule names unknown',
        'full',
        [{ name: 'everything', match: {}, effect: 'allow' }, allowUnknown],
        expect.objectContaining({ effect: 'block', rule: 'fail-closed' }),
      ],
      [
        'a matching block rule names itself',
        'full',
        [{ name: 'no-unknown', match: { action: 'unknown' }, effect: 'block', reason: 'nope' }],
        { effect: 'block', rule: 'no-unknown', reason: 'nope' },
      ],
      [
        'a matching review rule asks for review',
        'full',
        [{ name: 'review-unknown', match: { action: 'unknown' }, effect: 'review', approvers: ['dba'] }],
        { effect: 'review', rule: 'review-unknown', requestId: '', approvers: ['dba'], reason: 'unknown statement refused by rule "review-unknown"' },
      ],
    ];

    it.each(cases)('%s', (_name, access, rules, expected) => {
      expect(engine(rules).decide(context({ access }), classification(unknown), 'frob the table')).toEqual(expected);
    });

    it('the fail-closed reason leaves out the note when there is none', () => {
      expect(engine().decide(context(), classification(statement('unknown')), 'x')).toEqual({
        effect: 'block',
        rule: 'fail-closed',
        reason: 'Warden could not classify the statement; it is refused',
      });
    });
  });

  describe('rules and the grant ceiling', () => {
    const cases: readonly (readonly [string, AccessLevel, readonly RuleConfig[], StatementClass, Decision])[] = [
      [
        'a block rule names itself even when the grant would refuse too',
        'read-only',
        [{ name: 'no-drop', match: { action: 'ddl' }, effect: 'block', reason: 'DDL goes through migrations' }],
        statement('ddl', ['public.patients']),
        { effect: 'block', rule: 'no-drop', reason: 'DDL goes through migrations' },
      ],
      [
        'a block rule without a reason gets a default one naming it',
        'full',
        [{ name: 'no-writes', match: { action: 'write' }, effect: 'block' }],
        statement('write'),
        { effect: 'block', rule: 'no-writes', reason: 'write statement refused by rule "no-writes"' },
      ],
      [
        'an allow rule cannot widen read-only to write',
        'read-only',
        [{ name: 'allow-writes', match: { action: 'write' }, effect: 'allow' }],
        statement('write'),
        { effect: 'block', rule: 'grant:read-only', reason: 'read-only access does not allow write statements' },
      ],
      [
        'an allow rule cannot widen read-write to ddl',
        'read-write',
        [{ name: 'allow-all', match: {}, effect: 'allow' }],
        statement('ddl'),
        { effect: 'block', rule: 'grant:read-write', reason: 'read-write access does not allow ddl statements' },
      ],
      [
        'a review rule on what the grant refuses is a grant block, not a review',
        'read-only',
        [{ name: 'review-writes', match: { action: 'write' }, effect: 'review', approvers: ['leads'] }],
        statement('write'),
        { effect: 'block', rule: 'grant:read-only', reason: 'read-only access does not allow write statements' },
      ],
      ['an allow rule within the grant allows, naming itself', 'read-only', [{ name: 'reads-ok', match: { action: 'read' }, effect: 'allow' }], statement('read'), { effect: 'allow', rule: 'reads-ok' }],
      ['no matching rule within the grant → allow without a rule', 'read-write', [{ name: 'other', match: { action: 'ddl' }, effect: 'block' }], statement('write'), { effect: 'allow' }],
      [
        'a review rule returns review with its approvers and reason',
        'read-write',
        [{ name: 'bulk-review', match: { action: 'write', bulk: true }, effect: 'review', approvers: ['leads', 'dba'], reason: 'bulk writes need a second pair of eyes' }],
        statement('write', ['public.patients'], { bulk: true }),
        { effect: 'review', rule: 'bulk-review', requestId: '', approvers: ['leads', 'dba'], reason: 'bulk writes need a second pair of eyes' },
      ],
      [
        'a review rule without approvers reviews with an empty approver list',
        'full',
        [{ name: 'review', match: { action: 'ddl' }, effect: 'review' }],
        statement('ddl'),
        { effect: 'review', rule: 'review', requestId: '', approvers: [], reason: 'ddl statement refused by rule "review"' },
      ],
    ];

    it.each(cases)('%s', (_name, access, rules, stmt, expected) => {
      expect(engine(rules).decide(context({ access }), classification(stmt), 'sql')).toEqual(expected);
    });
  });

  describe('commands of several statements', () => {
    const noDeletes: RuleConfig = { name: 'no-deletes-on-patients', match: { action: 'write', objects: ['patients'] }, effect: 'block' };
    const reviewDdl: RuleConfig = { name: 'review-ddl', match: { action: 'ddl' }, effect: 'review', approvers: ['dba'] };
    const policy = engine([noDeletes, reviewDdl]);

    const cases: readonly (readonly [string, AccessLevel, StatementClass[], Decision])[] = [
      ['all statements allowed → allow', 'read-only', [statement('transaction'), statement('read'), statement('transaction')], { effect: 'allow' }],
      [
        'one statement over the grant blocks the whole command',
        'read-only',
        [statement('read'), statement('write', ['public.visits']), statement('read')],
        { effect: 'block', rule: 'grant:read-only', reason: 'read-only access does not allow write statements' },
      ],
      [
        'one statement blocked by a rule blocks the whole command',
        'full',
        [statement('read'), statement('write', ['public.patients'])],
        { effect: 'block', rule: 'no-deletes-on-patients', reason: 'write statement refused by rule "no-deletes-on-patients"' },
      ],
      [
        'the first refusal is the one reported',
        'read-only',
        [statement('ddl'), statement('write', ['public.patients'])],
        { effect: 'block', rule: 'grant:read-only', reason: 'read-only access does not allow ddl statements' },
      ],
      ['a block after a review still blocks', 'full', [statement('ddl'), statement('write', ['patients'])], expect.objectContaining({ effect: 'block', rule: 'no-deletes-on-patients' })],
      ['a review and allowed statements → review', 'full', [statement('read'), statement('ddl'), statement('read')], expect.objectContaining({ effect: 'review', rule: 'review-ddl' })],
      ['an unknown statement among allowed ones blocks', 'full', [statement('read'), statement('unknown')], expect.objectContaining({ effect: 'block', rule: 'fail-closed' })],
      ['no statements (an empty query) → allow', 'read-only', [], { effect: 'allow' }],
    ];

    it.each(cases)('%s', (_name, access, statements, expected) => {
      expect(policy.decide(context({ access }), classification(...statements), 'sql')).toEqual(expected);
    });
  });

  describe('rule matching', () => {
    /** Decides one statement with a single block rule; true when the rule matched. */
    function matches(match: RuleConfig['match'], overrides: { context?: Partial<DecisionContext>; statement?: StatementClass; text?: string } = {}): boolean {
      const rule: RuleConfig = { name: 'probe', match, effect: 'block' };
      const decision = engine([rule]).decide(context(overrides.context), classification(overrides.statement ?? statement('read', ['public.patients'])), overrides.text ?? 'select * from public.patients');
      return decision.effect === 'block' && decision.rule === 'probe';
    }

    type Case = readonly [string, RuleConfig['match'], Parameters<typeof matches>[1], boolean];
    const cases: readonly Case[] = [
      ['an empty match matches everything', {}, {}, true],
      // connection
      ['connection, same', { connection: 'clinic-db' }, {}, true],
      ['connection, other', { connection: 'billing-db' }, {}, false],
      ['connection list, any', { connection: ['billing-db', 'clinic-db'] }, {}, true],
      ['connection list, none', { connection: ['billing-db', 'deploy-db'] }, {}, false],
      // protocol
      ['protocol, same', { protocol: 'postgres' }, {}, true],
      ['protocol, other', { protocol: 'mysql' }, {}, false],
      ['protocol list', { protocol: ['mysql', 'postgres'] }, {}, true],
      ['protocol, other context', { protocol: 'postgres' }, { context: { protocol: 'ssh' as Protocol } }, false],
      // action
      ['action, same', { action: 'read' }, {}, true],
      ['action, other', { action: 'write' }, {}, false],
      ['action list, any', { action: ['write', 'read'] }, {}, true],
      ['action list, none', { action: ['write', 'ddl'] }, {}, false],
      // groups
      ['groups, member', { groups: ['clinicians'] }, {}, true],
      ['groups, any of several', { groups: ['admins', 'clinicians'] }, {}, true],
      ['groups, not a member', { groups: ['admins'] }, {}, false],
      ['groups, identity with several groups', { groups: ['oncall'] }, { context: { identity: bob } }, true],
      ['groups, identity without groups', { groups: ['clinicians'] }, { context: { identity: identity('loner') } }, false],
      // identities
      ['identities, the subject', { identities: ['alice'] }, {}, true],
      ['identities, another subject', { identities: ['bob'] }, {}, false],
      ['identities, a group name is not a subject', { identities: ['clinicians'] }, {}, false],
      // kind
      ['kind human, human', { kind: 'human' }, {}, true],
      ['kind agent, human', { kind: 'agent' }, {}, false],
      ['kind agent, agent', { kind: 'agent' }, { context: { identity: ci } }, true],
      // bulk
      ['bulk true, bulk statement', { bulk: true }, { statement: statement('write', ['public.patients'], { bulk: true }) }, true],
      ['bulk true, filtered statement', { bulk: true }, { statement: statement('write', ['public.patients']) }, false],
      ['bulk false, filtered statement', { bulk: false }, { statement: statement('write', ['public.patients']) }, true],
      ['bulk false, bulk statement', { bulk: false }, { statement: statement('write', [], { bulk: true }) }, false],
      // objects
      ['objects, bare name matches schema-qualified', { objects: ['patients'] }, {}, true],
      ['objects, bare name matches bare', { objects: ['patients'] }, { statement: statement('read', ['patients']) }, true],
      ['objects, qualified name', { objects: ['public.patients'] }, {}, true],
      ['objects, other schema', { objects: ['billing.patients'] }, {}, false],
      ['objects, glob within a part', { objects: ['public.pat*'] }, {}, true],
      ['objects, glob within a part, no match', { objects: ['public.vis*'] }, {}, false],
      ['objects, ** matches anything', { objects: ['**'] }, {}, true],
      ['objects, ** needs an object', { objects: ['**'] }, { statement: statement('read', []) }, false],
      ['objects, any pattern of several', { objects: ['visits', 'patients'] }, {}, true],
      ['objects, any object of several', { objects: ['visits'] }, { statement: statement('read', ['public.patients', 'public.visits']) }, true],
      ['objects, case-insensitive', { objects: ['PATIENTS'] }, {}, true],
      ['objects, no partial name', { objects: ['patient'] }, {}, false],
      // text
      ['text regex', { text: 'from\\s+public\\.patients' }, {}, true],
      ['text regex, case-insensitive', { text: 'SELECT \\* FROM' }, {}, true],
      ['text regex, no match', { text: 'pg_sleep' }, {}, false],
      ['text regex, unanchored', { text: 'patients' }, { text: 'select 1; select * from patients' }, true],
      ['text regex, anchored', { text: '^select \\*' }, { text: 'with x as (select 1) select * from patients' }, false],
      // AND across fields
      ['all fields match', { connection: 'clinic-db', protocol: 'postgres', action: 'read', groups: ['clinicians'], identities: ['alice'], kind: 'human', bulk: false, objects: ['patients'], text: 'patients' }, {}, true],
      ['one field of several does not match', { connection: 'clinic-db', action: 'read', groups: ['admins'], objects: ['patients'] }, {}, false],
    ];

    it.each(cases)('%s → %s', (_name, match, overrides, expected) => {
      expect(matches(match, overrides)).toBe(expected);
    });

    it('the same text regex matches again (no lastIndex state)', () => {
      const policy = engine([{ name: 'sleepy', match: { text: 'pg_sleep' }, effect: 'block' }]);
      for (let i = 0; i < 3; i++) {
        expect(policy.decide(context(), classification(statement('read')), 'select pg_sleep(1)')).toMatchObject({ effect: 'block', rule: 'sleepy' });
      }
    });
  });

  describe('first match wins', () => {
    const cases: readonly (readonly [string, readonly RuleConfig[], Decision])[] = [
      [
        'an earlier allow shadows a later block',
        [
          { name: 'dba-ok', match: { groups: ['clinicians'] }, effect: 'allow' },
          { name: 'no-patients', match: { objects: ['patients'] }, effect: 'block' },
        ],
        { effect: 'allow', rule: 'dba-ok' },
      ],
      [
        'an earlier block shadows a later allow',
        [
          { name: 'no-patients', match: { objects: ['patients'] }, effect: 'block' },
          { name: 'dba-ok', match: { groups: ['clinicians'] }, effect: 'allow' },
        ],
        { effect: 'block', rule: 'no-patients', reason: 'read statement refused by rule "no-patients"' },
      ],
      [
        'an earlier review shadows a later block',
        [
          { name: 'review-patients', match: { objects: ['patients'] }, effect: 'review', approvers: ['leads'] },
          { name: 'no-patients', match: { objects: ['patients'] }, effect: 'block' },
        ],
        expect.objectContaining({ effect: 'review', rule: 'review-patients' }),
      ],
      [
        'a non-matching earlier rule is skipped',
        [
          { name: 'visits', match: { objects: ['visits'] }, effect: 'allow' },
          { name: 'no-patients', match: { objects: ['patients'] }, effect: 'block' },
        ],
        expect.objectContaining({ effect: 'block', rule: 'no-patients' }),
      ],
    ];

    it.each(cases)('%s', (_name, rules, expected) => {
      expect(engine(rules).decide(context(), classification(statement('read', ['public.patients'])), 'select * from public.patients')).toEqual(expected);
    });
  });

  describe('a command allowed by rules names the first allowing rule', () => {
    const policy = engine([
      { name: 'reads-ok', match: { action: 'read' }, effect: 'allow' },
      { name: 'tx-ok', match: { action: 'transaction' }, effect: 'allow' },
    ]);
    it.each([
      ['the only statement', [statement('read')], { effect: 'allow', rule: 'reads-ok' }],
      ['the first statement with a rule', [statement('session'), statement('transaction'), statement('read')], { effect: 'allow', rule: 'tx-ok' }],
      ['none: no rule', [statement('session')], { effect: 'allow' }],
    ] as const)('%s', (_name, statements, expected) => {
      expect(policy.decide(context(), classification(...statements), 'sql')).toEqual(expected);
    });
  });

  describe('rollout mode (audit-only rules)', () => {
    const auditBlock: RuleConfig = { name: 'no-bulk', match: { action: 'write', bulk: true }, effect: 'block', reason: 'bulk writes are refused', mode: 'audit-only' };
    const bulkWrite = statement('write', ['patients'], { bulk: true });
    const cases: readonly (readonly [string, AccessLevel, readonly RuleConfig[], StatementClass[], Decision])[] = [
      [
        'an audit-only block lets the statement through and says it would have blocked',
        'read-write',
        [auditBlock],
        [bulkWrite],
        { effect: 'allow', wouldHave: { effect: 'block', rule: 'no-bulk', reason: 'bulk writes are refused' } },
      ],
      [
        'the decision is what the enforced rules after it make',
        'read-write',
        [auditBlock, { name: 'writes-ok', match: { action: 'write' }, effect: 'allow' }],
        [bulkWrite],
        { effect: 'allow', rule: 'writes-ok', wouldHave: { effect: 'block', rule: 'no-bulk', reason: 'bulk writes are refused' } },
      ],
      [
        'an audit-only rule never weakens an enforced block after it',
        'read-write',
        [{ ...auditBlock, name: 'audit-allow', effect: 'allow' }, { name: 'enforced-no-bulk', match: { bulk: true }, effect: 'block', reason: 'no' }],
        [bulkWrite],
        { effect: 'block', rule: 'enforced-no-bulk', reason: 'no', wouldHave: { effect: 'allow', rule: 'audit-allow' } },
      ],
      [
        'an audit-only review says it would have held the command',
        'read-write',
        [{ name: 'review-writes', match: { action: 'write' }, effect: 'review', approvers: ['leads'], mode: 'audit-only' }],
        [statement('write', ['patients'])],
        { effect: 'allow', wouldHave: { effect: 'review', rule: 'review-writes', approvers: ['leads'], reason: 'write statement refused by rule "review-writes"' } },
      ],
      ['an audit-only rule that does not match leaves no trace', 'read-write', [auditBlock], [statement('write', ['patients'])], { effect: 'allow' }],
      [
        'a review by other approvers is a different outcome',
        'read-write',
        [
          { name: 'audit-review', match: { action: 'write' }, effect: 'review', approvers: ['security'], mode: 'audit-only' },
          { name: 'review', match: { action: 'write' }, effect: 'review', approvers: ['leads'] },
        ],
        [statement('write')],
        {
          effect: 'review',
          rule: 'review',
          requestId: '',
          approvers: ['leads'],
          reason: 'write statement refused by rule "review"',
          wouldHave: { effect: 'review', rule: 'audit-review', approvers: ['security'], reason: 'write statement refused by rule "audit-review"' },
        },
      ],
      [
        'an enforced rule before it shadows it (as it would when enforced)',
        'read-write',
        [{ name: 'writes-ok', match: { action: 'write' }, effect: 'allow' }, auditBlock],
        [bulkWrite],
        { effect: 'allow', rule: 'writes-ok' },
      ],
      [
        'no trace when enforcing it would have the same effect',
        'read-write',
        [{ name: 'audit-reads', match: { action: 'read' }, effect: 'allow', mode: 'audit-only' }, { name: 'reads', match: { action: 'read' }, effect: 'allow' }],
        [statement('read')],
        { effect: 'allow', rule: 'reads' },
      ],
      [
        'the grant ceiling is enforced whatever the mode',
        'read-only',
        [{ name: 'audit-allow-writes', match: { action: 'write' }, effect: 'allow', mode: 'audit-only' }],
        [statement('write')],
        { effect: 'block', rule: 'grant:read-only', reason: 'read-only access does not allow write statements' },
      ],
      [
        'one audit-only block among several statements: the command is allowed, and would have been blocked',
        'read-write',
        [auditBlock],
        [statement('read'), bulkWrite, statement('read')],
        { effect: 'allow', wouldHave: { effect: 'block', rule: 'no-bulk', reason: 'bulk writes are refused' } },
      ],
      [
        'an enforced block in a later statement still blocks; a block either way leaves no trace',
        'read-write',
        [auditBlock, { name: 'no-ddl', match: { action: 'ddl' }, effect: 'block', reason: 'no ddl' }],
        [bulkWrite, statement('ddl')],
        { effect: 'block', rule: 'no-ddl', reason: 'no ddl' },
      ],
      [
        'an audit-only rule on an unknown statement cannot let it through',
        'full',
        [{ name: 'audit-unknown', match: { action: 'unknown' }, effect: 'block', mode: 'audit-only' }],
        [statement('unknown')],
        { effect: 'block', rule: 'fail-closed', reason: 'Warden could not classify the statement; it is refused' },
      ],
      [
        'an audit-only allow of unknown statements cannot let them through either',
        'full',
        [{ name: 'audit-unknown', match: { action: 'unknown' }, effect: 'allow', mode: 'audit-only' }],
        [statement('unknown')],
        { effect: 'block', rule: 'fail-closed', reason: 'Warden could not classify the statement; it is refused', wouldHave: { effect: 'allow', rule: 'audit-unknown' } },
      ],
      [
        'an explicit enforce mode is the default behaviour',
        'read-write',
        [{ ...auditBlock, mode: 'enforce' }],
        [bulkWrite],
        { effect: 'block', rule: 'no-bulk', reason: 'bulk writes are refused' },
      ],
    ];

    it.each(cases)('%s', (_name, access, rules, statements, expected) => {
      expect(engine(rules).decide(context({ access }), classification(...statements), 'sql')).toEqual(expected);
    });
  });

  describe('the connection default effect (no rule matches)', () => {
    function withDefault(effect: 'allow' | 'block' | 'review', rules: readonly RuleConfig[] = []): PolicyEngine {
      return new PolicyEngine({ grants: [], rules, connectionDefaults: { 'clinic-db': { effect, ...(effect === 'review' ? { approvers: ['dba'] } : {}) } } });
    }
    const cases: readonly (readonly [string, PolicyEngine, Partial<DecisionContext>, StatementClass, Decision])[] = [
      ['allow', withDefault('allow'), {}, statement('write'), { effect: 'allow' }],
      ['block', withDefault('block'), {}, statement('write'), { effect: 'block', rule: 'default:clinic-db', reason: 'no rule allows this write statement on connection "clinic-db"' }],
      [
        'review',
        withDefault('review'),
        {},
        statement('read'),
        { effect: 'review', rule: 'default:clinic-db', requestId: '', approvers: ['dba'], reason: 'no rule matches this read statement on connection "clinic-db"; it needs an approval' },
      ],
      ['a matching allow rule wins over a block default', withDefault('block', [{ name: 'reads', match: { action: 'read' }, effect: 'allow' }]), {}, statement('read'), { effect: 'allow', rule: 'reads' }],
      ['a block default on another connection does not apply', withDefault('block'), { connection: 'billing-db' }, statement('write'), { effect: 'allow' }],
      ['the grant refuses before the default is consulted', withDefault('review'), { access: 'read-only' }, statement('write'), expect.objectContaining({ effect: 'block', rule: 'grant:read-only' })],
      ['unknown statements stay fail-closed with an allow default', withDefault('allow'), {}, statement('unknown'), expect.objectContaining({ effect: 'block', rule: 'fail-closed' })],
      [
        'an audit-only rule over a block default: blocked by the default, would have been allowed',
        withDefault('block', [{ name: 'try-reads', match: { action: 'read' }, effect: 'allow', mode: 'audit-only' }]),
        {},
        statement('read'),
        { effect: 'block', rule: 'default:clinic-db', reason: 'no rule allows this read statement on connection "clinic-db"', wouldHave: { effect: 'allow', rule: 'try-reads' } },
      ],
    ];

    it.each(cases)('%s', (_name, policy, overrides, stmt, expected) => {
      expect(policy.decide(context({ access: 'read-write', ...overrides }), classification(stmt), 'sql')).toEqual(expected);
    });
  });

  it('is deterministic: the same input gives the same decision', () => {
    const policy = engine([{ name: 'review-writes', match: { action: 'write' }, effect: 'review', approvers: ['leads'] }]);
    const input = classification(statement('write', ['public.patients']));
    expect(policy.decide(context(), input, 'update patients set x = 1 where id = 2')).toEqual(policy.decide(context(), input, 'update patients set x = 1 where id = 2'));
  });
});

describe('column rules', () => {
  const block: RuleConfig = { name: 'no-ssn', match: { columns: ['patients.ssn'] }, effect: 'block', reason: 'no SSNs' };
  const allow: RuleConfig = { name: 'ok-names', match: { columns: ['patients.full_name'] }, effect: 'allow' };

  it('matches the columns the classifier names, stars included', () => {
    const policy = engine([block]);
    const decide = (columns: readonly string[]) => policy.decide(context(), classification(statement('read', ['patients'], { columns })), 'x').effect;
    expect(decide(['patients.ssn'])).toBe('block');
    expect(decide(['public.patients.ssn'])).toBe('block');
    expect(decide(['patients.*'])).toBe('block');
    expect(decide(['patients.full_name'])).toBe('allow');
    expect(decide([])).toBe('allow');
  });

  it('fails closed where the classifier cannot name columns: refusing rules match the tables they name', () => {
    const policy = engine([block]);
    expect(policy.decide(context(), classification(statement('read', ['patients'])), 'x').effect).toBe('block');
    expect(policy.decide(context(), classification(statement('read', ['notes'])), 'x').effect).toBe('allow');
  });

  it('never lets an allow rule match unknown columns', () => {
    const policy = engine([allow], []);
    expect(policy.decide(context(), classification(statement('read', ['patients'])), 'x')).toEqual({ effect: 'allow' });
    expect(policy.decide(context(), classification(statement('read', ['patients'], { columns: ['patients.full_name'] })), 'x')).toEqual({ effect: 'allow', rule: 'ok-names' });
  });
});
