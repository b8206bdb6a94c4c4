import type { AccessLevel } from '../adapter';
import type { Action, Classification, Decision, Identity, Protocol, StatementClass } from '../events';
import { compileObjectGlob } from './glob';
import type { GrantConfig, PolicyConfig, RuleConfig, RuleEffect } from './policy-config';

/** What each access level lets through before rules are consulted. */
const ACCESS_ALLOWS: Readonly<Record<AccessLevel, ReadonlySet<Action>>> = {
  'read-only': new Set<Action>(['read', 'transaction', 'session', 'connect']),
  'read-write': new Set<Action>(['read', 'write', 'transaction', 'session', 'connect']),
  full: new Set<Action>(['read', 'write', 'ddl', 'admin', 'exec', 'transaction', 'session', 'connect']),
};

/** The facts a decision depends on besides the command itself. */
export interface DecisionContext {
  readonly identity: Identity;
  readonly connection: string;
  readonly protocol: Protocol;
  readonly access: AccessLevel;
}

interface CompiledRule {
  readonly config: RuleConfig;
  readonly test: (context: DecisionContext, statement: StatementClass, text: string) => boolean;
}

/**
 * Grants and rules, compiled once. `decide` is pure and synchronous: the same context, classification
 * and text always give the same decision.
 *
 * Order of evaluation, per statement (the first refusal refuses the whole command):
 * 1. `unknown` statements are blocked unless a rule names `unknown` and allows it (fail closed);
 * 2. the first matching rule, when it blocks, blocks (naming itself);
 * 3. the grant's access level is the ceiling: what it does not allow is blocked;
 * 4. otherwise the first matching rule decides (allow or review); no matching rule allows.
 */
export class PolicyEngine {
  private readonly grants: readonly GrantConfig[];
  private readonly rules: readonly CompiledRule[];

  constructor(config: PolicyConfig) {
    this.grants = config.grants;
    this.rules = config.rules.map(compileRule);
  }

  /** The strongest access level any grant gives this identity on this connection, or undefined. */
  accessFor(identity: Identity, connection: string): AccessLevel | undefined {
    let best: AccessLevel | undefined;
    for (const grant of this.grants) {
      if (grant.connection !== connection) continue;
      const byGroup = grant.groups?.some((group) => identity.groups.includes(group)) ?? false;
      const bySubject = grant.identities?.includes(identity.subject) ?? false;
      if (!byGroup && !bySubject) continue;
      if (best === undefined || ACCESS_RANK[grant.access] > ACCESS_RANK[best]) best = grant.access;
    }
    return best;
  }

  decide(context: DecisionContext, classification: Classification, text: string): Decision {
    let review: Decision | undefined;
    for (const statement of classification.statements) {
      const decision = this.decideStatement(context, statement, text);
      if (decision.effect === 'block') return decision;
      if (decision.effect === 'review' && review === undefined) review = decision;
    }
    return review ?? { effect: 'allow' };
  }

  private decideStatement(context: DecisionContext, statement: StatementClass, text: string): Decision {
    const rule = this.rules.find((candidate) => candidate.test(context, statement, text))?.config;
    if (statement.action === 'unknown') {
      // Only a rule that names `unknown` explicitly, on a connection with full access, lets an
      // unclassifiable statement through; a broad allow rule never does by accident.
      const explicitlyAllowed = rule?.effect === 'allow' && listOf(rule.match.action)?.includes('unknown') && context.access === 'full';
      if (explicitlyAllowed) return { effect: 'allow', rule: rule.name };
      if (rule && rule.effect !== 'allow') return ruleDecision(rule, statement);
      const why = statement.note ? ` (${statement.note})` : '';
      return block('fail-closed', `Warden could not classify the statement${why}; it is refused`);
    }
    // A block rule names itself even when the grant would refuse too: its reason is the useful one.
    if (rule?.effect === 'block') return ruleDecision(rule, statement);
    // The grant is the ceiling: rules can refuse or hold within it, never widen it.
    if (!ACCESS_ALLOWS[context.access].has(statement.action)) {
      return block(`grant:${context.access}`, `${context.access} access does not allow ${statement.action} statements`);
    }
    return rule ? ruleDecision(rule, statement) : { effect: 'allow' };
  }
}

function listOf<T>(value: T | readonly T[] | undefined): readonly T[] | undefined {
  return value === undefined ? undefined : Array.isArray(value) ? (value as readonly T[]) : [value as T];
}

const ACCESS_RANK: Readonly<Record<AccessLevel, number>> = { 'read-only': 0, 'read-write': 1, full: 2 };

function block(rule: string, reason: string): Decision {
  return { effect: 'block', rule, reason };
}

function ruleDecision(rule: RuleConfig, statement: StatementClass): Decision {
  const effect: RuleEffect = rule.effect;
  if (effect === 'allow') return { effect: 'allow', rule: rule.name };
  const reason = rule.reason ?? `${statement.action} statement refused by rule "${rule.name}"`;
  if (effect === 'block') return block(rule.name, reason);
  // Approvals are decided by the approvals service; the policy only says the command needs one.
  return { effect: 'review', rule: rule.name, requestId: '', approvers: rule.approvers ?? [], reason };
}

function compileRule(config: RuleConfig): CompiledRule {
  const m = config.match;
  const tests: Array<(context: DecisionContext, statement: StatementClass, text: string) => boolean> = [];
  const connections = listOf(m.connection);
  if (connections) tests.push((c) => connections.includes(c.connection));
  const protocols = listOf(m.protocol);
  if (protocols) tests.push((c) => protocols.includes(c.protocol));
  const actions = listOf(m.action);
  if (actions) tests.push((_c, s) => actions.includes(s.action));
  if (m.groups) {
    const groups = m.groups;
    tests.push((c) => c.identity.groups.some((g) => groups.includes(g)));
  }
  if (m.identities) {
    const identities = m.identities;
    tests.push((c) => identities.includes(c.identity.subject));
  }
  if (m.kind) {
    const kind = m.kind;
    tests.push((c) => c.identity.kind === kind);
  }
  if (m.bulk !== undefined) {
    const bulk = m.bulk;
    tests.push((_c, s) => s.bulk === bulk);
  }
  if (m.objects) {
    const globs = m.objects.map(compileObjectGlob);
    tests.push((_c, s) => s.objects.some((name) => globs.some((glob) => glob(name))));
  }
  if (m.text !== undefined) {
    const pattern = new RegExp(m.text, 'i');
    tests.push((_c, _s, text) => pattern.test(text));
  }
  return { config, test: (c, s, t) => tests.every((test) => test(c, s, t)) };
}
