/**
 * The embedded default that `npm start` runs: PGlite behind the gateway, the development issuer,
 * TLS — exercised with the real psql exactly as the README and the start-up banner tell a newcomer.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DevIssuer, silentLogger } from '@warden/core';
import { approvalsCommand } from '../approvals-command';
import { embeddedConfig, startEmbeddedClinic, type EmbeddedClinic } from '../embedded-demo';
import { startGateway, type RunningGateway } from '../gateway';
import { run } from './harness';

let clinic: EmbeddedClinic;
let gateway: RunningGateway;
let dataDir: string;
let dev: DevIssuer;
let port: number;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'warden-demo-'));
  clinic = await startEmbeddedClinic();
  gateway = await startGateway(embeddedConfig(clinic, 0, dataDir, 0), { log: silentLogger });
  port = gateway.addresses.get('clinic')!.port;
  dev = await DevIssuer.loadOrCreate(dataDir);
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  await clinic?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

async function psql(subject: string, groups: string[], sql: string) {
  const token = await dev.issue({ subject, groups });
  return run('psql', [`host=127.0.0.1 port=${port} user=${subject} dbname=clinic sslmode=require`, '-X', '-c', sql], { env: { PGPASSWORD: token, PGCONNECT_TIMEOUT: '10' } });
}

describe('the embedded demo', () => {
  it('serves the synthetic clinic over TLS to an agent with a dev token', async () => {
    const result = await psql('agent-1', ['coding-agents'], 'SELECT count(*) AS patients FROM patients');
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/patients\s*\n-+\n\s*200\n/);
  });

  it('shows the agent patients\' initials, never their full names (names are identifiers); clinicians see the names', async () => {
    const raw = await psql('nurse-1', ['clinicians'], 'SELECT full_name FROM patients WHERE id = 7');
    const name = raw.stdout.split('\n')[2]!.trim();
    expect(name).toMatch(/^\S+ \S+$/);
    const agent = await psql('agent-1', ['coding-agents'], 'SELECT full_name, upper(full_name) AS shouting FROM patients WHERE id = 7');
    expect(agent.stderr).toBe('');
    expect(agent.stdout).not.toContain(name);
    expect(agent.stdout).not.toContain(name.toUpperCase());
    expect(agent.stdout.split('\n')[2]).toContain(`${name[0]}.`);
  });

  it('masks PHI for the agent (dates to the year, SSNs, e-mail, DOBs in free text); clinicians see the DOB', async () => {
    const agent = await psql('agent-1', ['coding-agents'], "SELECT dob, ssn, email, notes FROM patients WHERE id = 7");
    expect(agent.stderr).toBe('');
    const row = agent.stdout.split('\n')[2]!;
    expect(row).toContain('1957-01-01');
    expect(row).not.toContain('1957-08-08');
    expect(row).not.toContain('907-17-1007');
    expect(row).not.toMatch(/hana\.ames7@example\.test/i);
    const clinician = await psql('nurse-1', ['clinicians'], 'SELECT dob FROM patients WHERE id = 7');
    expect(clinician.stdout).toContain('1957-08-08');
  });

  it('blocks DDL and writes for the agent, naming the rules', async () => {
    const ddl = await psql('agent-1', ['coding-agents'], 'DROP TABLE patients');
    expect(ddl.stderr).toContain('ERROR:  Warden: schema changes are reserved for the dba group');
    expect(ddl.stderr).toContain('DETAIL:  rule "no-ddl-outside-dba"');
    const write = await psql('agent-1', ['coding-agents'], 'DELETE FROM patients WHERE id = 1');
    expect(write.stderr).toContain('rule "grant:read-only"');
  });

  it('holds a clinician’s patient DELETE for a clinical lead, who approves it with the CLI', async () => {
    const held = await psql('nurse-1', ['clinicians'], 'DELETE FROM patients WHERE id = 7');
    const id = /apr_[0-9a-f]+/.exec(held.stderr)?.[0];
    expect(id).toBeDefined();
    const lead = await dev.issue({ subject: 'dr-lee', groups: ['clinical-leads'], kind: 'human' });
    const err: string[] = [];
    const code = await approvalsCommand(['approve', id!, '--url', gateway.admin!.url, '--token', lead], { out: () => undefined, err: (text) => void err.push(text) });
    expect({ code, err }).toEqual({ code: 0, err: [] });
    const again = await psql('nurse-1', ['clinicians'], 'DELETE FROM patients WHERE id = 7');
    expect(again.stderr).toBe('');
    expect(again.stdout).toContain('DELETE 1');
  });
});
