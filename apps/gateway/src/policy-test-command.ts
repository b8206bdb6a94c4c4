import { parseArgs } from 'node:util';
import { PolicyEngine, WardenError, type Classification, type Decision, type Identity, type IdentityKind, type StatementClass, type WouldHaveDecision } from '@warden/core';
import { classifyPostgres, loadSqlParsers } from '@warden/sql';
import { ADAPTERS } from './adapters';
import { loadConfigFile, type LoadedConfig } from './config/load-config';
import { policyConfigOf } from './config/policy-config-of';

export const POLICY_TEST_USAGE = `  warden policy test --config FILE --as SUBJECT [--groups A,B] [--kind agent|human]
               [--connection NAME] "STATEMENT"
                                        show how the policy decides a statement (touches no
                                        target and no audit log); exit 0 allowed, 1 blocked or
                                        held for review
`;

/** What the command needs to print and return; `CliIo` satisfies it. */
export interface PolicyTestIo {
  out(text: string): void;
  err(text: string): void;
}

/** How each protocol's commands are classified, as its adapter does it. */
const CLASSIFIERS: Readonly<Record<string, { readonly load: () => Promise<void>; readonly classify: (text: string) => Classification }>> = {
  postgres: { load: loadSqlParsers, classify: classifyPostgres },
};

/**
 * `warden policy test`: loads and validates the configuration, classifies the statement with the
 * connection protocol's classifier and prints the grant's access level, each statement's
 * classification and the decision with the rule that made it. Exit codes: 0 allowed, 1 blocked or
 * held for review (or no grant), 2 usage or configuration error.
 */
export async function policyTest(args: readonly string[], io: PolicyTestIo): Promise<number> {
  const usage = (message: string): number => {
    io.err(`warden policy test: ${message}\n\nUsage:\n${POLICY_TEST_USAGE}`);
    return 2;
  };
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      options: {
        config: { type: 'string' },
        as: { type: 'string' },
        groups: { type: 'string', default: '' },
        kind: { type: 'string' },
        connection: { type: 'string' },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) return usage((error as Error).message);
    throw error;
  }
  const { values, positionals } = parsed;
  if (!values.config) return usage('--config is required');
  if (!values.as) return usage('--as is required (the subject to decide for)');
  if (positionals.length !== 1 || positionals[0]!.trim() === '') return usage('give exactly one statement to decide, in quotes');
  if (values.kind !== undefined && values.kind !== 'agent' && values.kind !== 'human') return usage('--kind is agent or human');
  const text = positionals[0]!;

  const loaded = loadConfigFile(values.config);
  validateTargets(loaded);
  const { config } = loaded;
  const connection = values.connection === undefined && config.connections.length === 1 ? config.connections[0]! : config.connections.find((candidate) => candidate.name === values.connection);
  if (!connection) {
    const names = config.connections.map((candidate) => candidate.name).join(', ');
    return usage(values.connection === undefined ? `--connection is required (one of: ${names})` : `no connection named "${values.connection}" (available: ${names})`);
  }
  const classifier = CLASSIFIERS[connection.protocol];
  if (!classifier) return usage(`no statement classifier for protocol "${connection.protocol}"`);

  const groups = values.groups.split(',').map((group) => group.trim()).filter(Boolean);
  // Without --kind, the same rule the token verifier applies: a member of an agent group is an agent.
  const agentGroups = new Set(config.identity.issuers.flatMap((issuer) => issuer.agentGroups ?? []));
  const kind: IdentityKind = (values.kind as IdentityKind | undefined) ?? (groups.some((group) => agentGroups.has(group)) ? 'agent' : 'human');
  const identity: Identity = { subject: values.as, issuer: 'warden policy test', groups, kind, expiresAt: new Date(Date.now() + 3_600_000) };

  const policy = new PolicyEngine(policyConfigOf(config));
  io.out(`connection: ${connection.name} (${connection.protocol})\n`);
  io.out(`identity:   ${identity.subject} (${kind}), groups: ${groups.length > 0 ? groups.join(', ') : '(none)'}\n`);
  const access = policy.accessFor(identity, connection.name);
  if (access === undefined) {
    io.out(`access:     none: no grant for this identity on ${connection.name}; the session is refused at login\n`);
    io.out('decision:   block (no grant)\n');
    return 1;
  }
  io.out(`access:     ${access}\n`);

  await classifier.load();
  const classification = classifier.classify(text);
  classification.statements.forEach((statement, index) => io.out(`statement ${index + 1}: ${describeStatement(statement)}\n`));
  if (classification.statementCount === 0) io.out('statements: none (an empty command)\n');

  const decision = policy.decide({ identity, connection: connection.name, protocol: connection.protocol, access }, classification, text);
  io.out(`decision:   ${describeDecision(decision)}\n`);
  if (decision.wouldHave) io.out(`would have: ${describeDecision(decision.wouldHave)} (if the audit-only rules were enforced)\n`);
  return decision.effect === 'allow' ? 0 : 1;
}

/** The checks `warden serve` makes before listening that need no network: protocols and targets. */
function validateTargets(loaded: LoadedConfig): void {
  loaded.config.connections.forEach((connection, index) => {
    const factory = ADAPTERS.get(connection.protocol);
    if (!factory) throw loaded.locate(['connections', index, 'protocol'], `no adapter for protocol "${connection.protocol}" (available: ${[...ADAPTERS.keys()].join(', ')})`);
    try {
      factory.parseTarget(connection.target);
    } catch (error) {
      if (error instanceof WardenError && error.code === 'config') throw loaded.locate(['connections', index, 'target', ...(error.path ?? [])], error.message);
      throw error;
    }
  });
}

function describeStatement(statement: StatementClass): string {
  const parts: string[] = [statement.action];
  if (statement.objects.length > 0) parts.push(`on ${statement.objects.join(', ')}`);
  if (statement.bulk) parts.push('(bulk)');
  if (statement.disablesReadOnly) parts.push('(turns read-only mode off)');
  if (statement.note) parts.push(`— ${statement.note}`);
  return parts.join(' ');
}

function describeDecision(decision: Decision | WouldHaveDecision): string {
  switch (decision.effect) {
    case 'allow':
      return decision.rule === undefined ? 'allow (no rule matched: the connection default)' : `allow by rule "${decision.rule}"`;
    case 'block':
      return `block by rule "${decision.rule}": ${decision.reason}`;
    case 'review':
      return `review by rule "${decision.rule}" (approvers: ${decision.approvers.join(', ') || 'none'}): ${decision.reason}`;
  }
}
