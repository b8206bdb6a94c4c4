import type { AccessLevel } from '../adapter';
import type { Action, Classification, Decision, Identity, Protocol, StatementClass, WouldHaveDecision } from '../events';
import { compileColumnGlob, compileObjectGlob } from './glob';
import type { BudgetConfig, ConnectionDefault, GrantConfig, PolicyConfig, RuleConfig, RuleEffect } from './policy-config';

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
  readonly auditOnly: boolean;
  readonly test: (context: DecisionContext, statement: StatementClass, text: string) => boolean;
}

/** The rules one statement matches: the first of all, and the first that is enforced. */
interface Matched {
  readonly first: RuleConfig | undefined;
  readonly enforced: RuleConfig | undefined;
}

const DEFAULT_ALLOW: ConnectionDefault = { effect: 'allow' };

/**
 * Grants and rules, compiled once. `decide` is pure and synchronous: the same context, classification
 * and text always give the same decision.
 *
 * Order of evaluation, per statement (the first refusal refuses the whole command):
 * 1. `unknown` statements are blocked unless a rule names `unknown` and allows it (fail closed);
 * 2. the first matching rule, when it blocks, blocks (naming itself);
 * 3. the grant's access level is the ceiling: what it does not allow is blocked (a read-only grant
 *    also blocks statements that could turn the target session's read-only mode off);
 * 4. otherwise the first matching rule decides (allow or review); when no rule matches, the
 *    connection's default effect does (allow unless configured).
 *
 * Rules in `audit-only` mode are skipped when deciding. When the decision would have been different
 * with them enforced, that other decision rides along as `wouldHave`, for the audit log.
 */
export class PolicyEngine {
  private readonly grants: readonly GrantConfig[];
  private readonly rules: readonly CompiledRule[];
  private readonly defaults: Readonly<Record<string, ConnectionDefault>>;

  constructor(config: PolicyConfig) {
    this.grants = config.grants;
    this.rules = config.rules.map(compileRule);
    this.defaults = config.connectionDefaults ?? {};
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

  /**
   * The budget of the grant that gives this identity its access on the connection (the strongest
   * grant; among equals, the first), when it has one that applies to this identity.
   */
  budgetFor(identity: Identity, connection: string): BudgetConfig | undefined {
    let best: GrantConfig | undefined;
    for (const grant of this.grants) {
      if (grant.connection !== connection) continue;
      const byGroup = grant.groups?.some((group) => identity.groups.includes(group)) ?? false;
      const bySubject = grant.identities?.includes(identity.subject) ?? false;
      if (!byGroup && !bySubject) continue;
      if (best === undefined || ACCESS_RANK[grant.access] > ACCESS_RANK[best.access]) best = grant;
    }
    const budget = best?.budget;
    if (!budget) return undefined;
    return (budget.appliesTo ?? 'agents') === 'everyone' || identity.kind === 'agent' ? budget : undefined;
  }

  decide(context: DecisionContext, classification: Classification, text: string): Decision {
    const actual: Decision[] = [];
    // Only built once a statement matched an audit-only rule before any enforced one.
    let shadow: Decision[] | undefined;
    for (const statement of classification.statements) {
      const matched = this.match(context, statement, text);
      const decision = this.decideStatement(context, statement, matched.enforced);
      if (matched.first !== matched.enforced) {
        shadow ??= [...actual];
        shadow.push(this.decideStatement(context, statement, matched.first));
      } else {
        shadow?.push(decision);
      }
      actual.push(decision);
      // Without audit-only rules in play, the first refusal settles the command.
      if (decision.effect === 'block' && shadow === undefined) return decision;
    }
    const decision = combine(actual);
    if (shadow === undefined) return decision;
    const would = combine(shadow);
    return sameOutcome(would, decision) ? decision : { ...decision, wouldHave: outcomeOf(would) };
  }

  private match(context: DecisionContext, statement: StatementClass, text: string): Matched {
    let first: RuleConfig | undefined;
    for (const rule of this.rules) {
      if (!rule.test(context, statement, text)) continue;
      first ??= rule.config;
      if (!rule.auditOnly) return { first, enforced: rule.config };
    }
    return { first, enforced: undefined };
  }

  private decideStatement(context: DecisionContext, statement: StatementClass, rule: RuleConfig | undefined): Decision {
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
    // The target session of a read-only grant is read-only too; a statement that could turn that
    // off would let the next misjudged write through.
    if (statement.disablesReadOnly === true && context.access === 'read-only') {
      return block('grant:read-only', 'read-only access does not allow turning read-only mode off');
    }
    // Under such a setting the server reads the next statements differently from Warden (`'\'` does
    // not end a string): what Warden judged would not be what runs.
    if (statement.changesLexing === true && context.access !== 'full') {
      const what = statement.note ? ` (${statement.note})` : '';
      return block(`grant:${context.access}`, `${context.access} access does not allow this statement${what}: Warden cannot analyse statements under that setting`);
    }
    if (rule) return ruleDecision(rule, statement);
    return defaultDecision(context.connection, this.defaults[context.connection] ?? DEFAULT_ALLOW, statement);
  }
}

/** A command's decision from its statements': the first block, else the first review, else allow (naming the first allowing rule). */
function combine(decisions: readonly Decision[]): Decision {
  let review: Decision | undefined;
  let allow: Decision | undefined;
  for (const decision of decisions) {
    if (decision.effect === 'block') return decision;
    if (decision.effect === 'review') review ??= decision;
    else if (decision.rule !== undefined) allow ??= decision;
  }
  return review ?? allow ?? { effect: 'allow' };
}

/**
 * Whether enforcing the audit-only rules would change what happens to the command: another effect,
 * or a review by other approvers. Another rule refusing, or allowing, for its own reasons does not.
 */
function sameOutcome(a: Decision, b: Decision): boolean {
  return a.effect === b.effect && (a.effect !== 'review' || a.rule === b.rule);
}

function outcomeOf(decision: Decision): WouldHaveDecision {
  switch (decision.effect) {
    case 'allow':
      return decision.rule === undefined ? { effect: 'allow' } : { effect: 'allow', rule: decision.rule };
    case 'block':
      return { effect: 'block', rule: decision.rule, reason: decision.reason };
    case 'review':
      return { effect: 'review', rule: decision.rule, approvers: decision.approvers, reason: decision.reason };
  }
}

/** The rule name a connection's default effect decides under: `default:<connection>`. */
function defaultDecision(connection: string, fallback: ConnectionDefault, statement: StatementClass): Decision {
  if (fallback.effect === 'allow') return { effect: 'allow' };
  const rule = `default:${connection}`;
  if (fallback.effect === 'block') return block(rule, `no rule allows this ${statement.action} statement on connection "${connection}"`);
  return {
    effect: 'review',
    rule,
    requestId: '',
    approvers: fallback.approvers ?? [],
    reason: `no rule matches this ${statement.action} statement on connection "${connection}"; it needs an approval`,
  };
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
  if (m.columns) {
    const globs = m.columns.map(compileColumnGlob);
    // Where the classifier cannot name columns, a rule that refuses or holds matches any statement
    // on a table its patterns name (a bare column pattern: any table) — fail closed; an allow rule
    // never matches unknown columns.
    const tables = m.columns.map((pattern) => (pattern.includes('.') ? compileObjectGlob(pattern.slice(0, pattern.lastIndexOf('.'))) : () => true));
    const failClosed = config.effect !== 'allow';
    tests.push((_c, s) =>
      s.columns !== undefined ? s.columns.some((name) => globs.some((glob) => glob(name))) : failClosed && s.objects.some((name) => tables.some((table) => table(name))),
    );
  }
  if (m.text !== undefined) {
    const pattern = new RegExp(m.text, 'i');
    tests.push((_c, _s, text) => pattern.test(text));
  }
  return { config, auditOnly: config.mode === 'audit-only', test: (c, s, t) => tests.every((test) => test(c, s, t)) };
}
