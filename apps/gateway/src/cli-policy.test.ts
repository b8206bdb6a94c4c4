/**
 * `warden policy test`, run through the CLI entry point (`runCli`) on real configuration files.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli, type CliIo } from './cli';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'warden-policy-test-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

// The target is a port nothing listens on, and the data directory is never created: the command
// must decide without either.
const CONFIG = (extra: { connection?: string; rules?: string } = {}) => `
dataDir: ./state
identity:
  devIssuer: true
  issuers:
    - issuer: https://login.example.com
      audience: warden
      agentGroups: [coding-agents]
connections:
  - name: clinic
    protocol: postgres
    listen: 127.0.0.1:0
    target: { host: 127.0.0.1, port: 1, database: clinic, user: warden }
${extra.connection ?? ''}
grants:
  - { connection: clinic, groups: [coding-agents], access: read-only }
  - { connection: clinic, groups: [clinicians], access: read-write }
  - { connection: clinic, groups: [dba], access: full }
rules:
  - name: no-ddl
    match: { connection: clinic, action: ddl, groups: [clinicians] }
    effect: block
    reason: schema changes go through migrations
  - name: phi-deletes-need-review
    match: { action: write, objects: [patients] }
    effect: review
    approvers: [security-officers]
  - name: no-bulk-notes
    match: { action: write, objects: [notes], bulk: true }
    effect: block
    mode: audit-only
  - name: dba-reads
    match: { groups: [dba], action: read }
    effect: allow
${extra.rules ?? ''}
`;

async function writeConfig(name: string, text: string): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, text);
  return file;
}

async function cli(args: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = { out: (text) => void (out += text), err: (text) => void (err += text), stopSignal: () => new Promise(() => undefined) };
  const code = await runCli(args, io);
  return { code, out, err };
}

describe('warden policy test', () => {
  let config: string;
  beforeAll(async () => {
    config = await writeConfig('warden.yaml', CONFIG());
  });

  const policyTest = (who: readonly string[], sql: string) => cli(['policy', 'test', '--config', config, ...who, '--connection', 'clinic', sql]);

  it('allows a read on a read-only grant and prints access, classification and decision', async () => {
    const result = await policyTest(['--as', 'agent-1', '--groups', 'coding-agents'], 'SELECT * FROM patients WHERE id = 1');
    expect(result).toEqual({
      code: 0,
      err: '',
      out: [
        'connection: clinic (postgres)',
        'identity:   agent-1 (agent), groups: coding-agents',
        'access:     read-only',
        'statement 1: read on patients',
        'decision:   allow (no rule matched: the connection default)',
        '',
      ].join('\n'),
    });
  });

  it('blocks a write on a read-only grant, naming the grant (exit 1)', async () => {
    const result = await policyTest(['--as', 'agent-1', '--groups', 'coding-agents'], 'DELETE FROM patients');
    expect(result.code).toBe(1);
    expect(result.out).toContain('statement 1: write on patients (bulk)\n');
    expect(result.out).toContain('decision:   block by rule "grant:read-only": read-only access does not allow write statements\n');
  });

  it('refuses turning read-only mode off on a read-only grant', async () => {
    const result = await policyTest(['--as', 'agent-1', '--groups', 'coding-agents'], 'BEGIN READ WRITE');
    expect(result.code).toBe(1);
    expect(result.out).toContain('statement 1: transaction (turns read-only mode off) — READ WRITE overrides default_transaction_read_only\n');
    expect(result.out).toContain('decision:   block by rule "grant:read-only": read-only access does not allow turning read-only mode off\n');
  });

  it('names the rule that blocks', async () => {
    const result = await policyTest(['--as', 'nurse-1', '--groups', 'clinicians'], 'DROP TABLE patients');
    expect(result.code).toBe(1);
    expect(result.out).toContain('identity:   nurse-1 (human), groups: clinicians\n');
    expect(result.out).toContain('access:     read-write\n');
    expect(result.out).toContain('decision:   block by rule "no-ddl": schema changes go through migrations\n');
  });

  it('reports a review with its approvers (exit 1)', async () => {
    const result = await policyTest(['--as', 'nurse-1', '--groups', 'clinicians'], 'DELETE FROM patients WHERE id = 1');
    expect(result.code).toBe(1);
    expect(result.out).toContain('decision:   review by rule "phi-deletes-need-review" (approvers: security-officers): write statement refused by rule "phi-deletes-need-review"\n');
  });

  it('names the allowing rule', async () => {
    const result = await policyTest(['--as', 'ops', '--groups', 'dba'], 'SELECT 1');
    expect(result.code).toBe(0);
    expect(result.out).toContain('decision:   allow by rule "dba-reads"\n');
  });

  it('shows what an audit-only rule would have done, and allows (exit 0)', async () => {
    const result = await policyTest(['--as', 'nurse-1', '--groups', 'clinicians'], 'DELETE FROM notes');
    expect(result.code).toBe(0);
    expect(result.out).toContain('decision:   allow (no rule matched: the connection default)\n');
    expect(result.out).toContain('would have: block by rule "no-bulk-notes": write statement refused by rule "no-bulk-notes" (if the audit-only rules were enforced)\n');
  });

  it('prints each statement of a multi-statement command; one refusal refuses the whole', async () => {
    const result = await policyTest(['--as', 'nurse-1', '--groups', 'clinicians'], 'SELECT * FROM a; UPDATE notes SET body = 1 WHERE id = 2; DROP TABLE b');
    expect(result.code).toBe(1);
    expect(result.out).toContain('statement 1: read on a\nstatement 2: write on notes\nstatement 3: ddl on b\n');
    expect(result.out).toContain('decision:   block by rule "no-ddl"');
  });

  it('refuses what does not parse, fail-closed', async () => {
    const result = await policyTest(['--as', 'ops', '--groups', 'dba'], 'DEL/**/ETE FROM patients');
    expect(result.code).toBe(1);
    expect(result.out).toContain('statement 1: unknown — parse error: syntax error at or near "DEL"\n');
    expect(result.out).toContain('decision:   block by rule "fail-closed"');
  });

  it('--kind overrides the agent groups', async () => {
    const result = await policyTest(['--as', 'agent-1', '--groups', 'coding-agents', '--kind', 'human'], 'SELECT 1');
    expect(result.out).toContain('identity:   agent-1 (human), groups: coding-agents\n');
  });

  it('says when the identity has no grant (exit 1)', async () => {
    const result = await policyTest(['--as', 'visitor'], 'SELECT 1');
    expect(result.code).toBe(1);
    expect(result.out).toContain('access:     none: no grant for this identity on clinic; the session is refused at login\n');
  });

  it('touches neither the target nor the data directory', async () => {
    await policyTest(['--as', 'nurse-1', '--groups', 'clinicians'], 'DELETE FROM notes');
    expect(existsSync(path.join(dir, 'state'))).toBe(false);
  });

  it('applies the connection default effect', async () => {
    const file = await writeConfig(
      'strict.yaml',
      CONFIG({ connection: '    defaultEffect: review\n    defaultApprovers: [leads]' }),
    );
    const result = await cli(['policy', 'test', '--config', file, '--as', 'nurse-1', '--groups', 'clinicians', '--connection', 'clinic', 'UPDATE notes SET body = 1 WHERE id = 2']);
    expect(result.code).toBe(1);
    expect(result.out).toContain('decision:   review by rule "default:clinic" (approvers: leads)');
  });

  describe('usage and configuration errors exit 2', () => {
    it.each([
      ['no --config', ['policy', 'test', '--as', 'a', 'SELECT 1'], /--config is required/],
      ['no --as', ['policy', 'test', '--config', 'x.yaml', 'SELECT 1'], /--as is required/],
      ['no statement', ['policy', 'test', '--config', 'x.yaml', '--as', 'a'], /exactly one statement/],
      ['two statements', ['policy', 'test', '--config', 'x.yaml', '--as', 'a', 'SELECT 1', 'SELECT 2'], /exactly one statement/],
      ['a bad --kind', ['policy', 'test', '--config', 'x.yaml', '--as', 'a', '--kind', 'robot', 'SELECT 1'], /--kind is agent or human/],
      ['an unknown option', ['policy', 'test', '--config', 'x.yaml', '--as', 'a', '--frob', 'SELECT 1'], /Unknown option '--frob'/],
      ['an unknown subcommand', ['policy', 'frob'], /unknown subcommand "frob"/],
      ['a missing file', ['policy', 'test', '--config', '/nonexistent/warden.yaml', '--as', 'a', 'SELECT 1'], /configuration error: \/nonexistent\/warden.yaml: cannot read: ENOENT/],
    ] as const)('%s', async (_name, args, message) => {
      const result = await cli(args);
      expect(result.code).toBe(2);
      expect(result.err).toMatch(message);
      expect(result.out).toBe('');
    });

    it('an unknown connection', async () => {
      const result = await cli(['policy', 'test', '--config', config, '--as', 'a', '--connection', 'nope', 'SELECT 1']);
      expect(result.code).toBe(2);
      expect(result.err).toContain('no connection named "nope" (available: clinic)');
    });

    it('a rule with a bad mode, naming the file and line', async () => {
      const file = await writeConfig('bad-mode.yaml', CONFIG({ rules: '  - name: x\n    match: {}\n    effect: block\n    mode: shadow' }));
      const result = await cli(['policy', 'test', '--config', file, '--as', 'a', 'SELECT 1']);
      expect(result.code).toBe(2);
      expect(result.err).toMatch(/bad-mode\.yaml:\d+:\d+: rules\[4\]\.mode: Invalid option: expected one of "enforce"\|"audit-only"/);
    });

    it('a review default without approvers, naming the file and line', async () => {
      const file = await writeConfig('bad-default.yaml', CONFIG({ connection: '    defaultEffect: review' }));
      const result = await cli(['policy', 'test', '--config', file, '--as', 'a', 'SELECT 1']);
      expect(result.code).toBe(2);
      expect(result.err).toMatch(/bad-default\.yaml:\d+:\d+: connections\[0\]\.defaultApprovers: defaultEffect review needs defaultApprovers/);
    });

    it('an invalid target, as warden serve would report it', async () => {
      const file = await writeConfig('bad-target.yaml', CONFIG().replace('port: 1,', 'port: 99999,'));
      const result = await cli(['policy', 'test', '--config', file, '--as', 'a', 'SELECT 1']);
      expect(result.code).toBe(2);
      expect(result.err).toMatch(/bad-target\.yaml:\d+:\d+: connections\[0\]\.target/);
    });
  });

  it('is listed in the CLI usage', async () => {
    const result = await cli(['--help']);
    expect(result.out).toContain('warden policy test --config FILE --as SUBJECT');
  });
});
