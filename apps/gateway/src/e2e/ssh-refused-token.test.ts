/**
 * A refused token over SSH ends in a clear failure, never a hang: the real OpenSSH client driven
 * by a script that answers only password prompts (what sshpass does) is told why and exits 255
 * within seconds, and Warden reads one token per connection.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { readAuditRecords, run, type ProcessResult } from './harness';
import { sshdTarget, sshGatewayFixture } from './ssh-gateway-fixture';

const fixture = sshGatewayFixture(
  (sshd) => `
connections:
  - { name: box, protocol: ssh, listen: 127.0.0.1:0, target: { ${sshdTarget(sshd)}, connectTimeoutMs: 5000 } }
grants:
  - { connection: box, groups: [ops], access: full }`,
);

interface ScriptedLogin extends ProcessResult {
  readonly ms: number;
  /** Every prompt OpenSSH handed the script, in order. */
  readonly prompts: string[];
}

/**
 * The real `ssh` with an SSH_ASKPASS script that behaves like sshpass: it answers a prompt that
 * mentions a password with `secret` and never answers any other prompt (it waits, as sshpass does).
 */
async function scriptedSsh(user: string, secret: string, preferred: string): Promise<ScriptedLogin> {
  const name = Math.random().toString(36).slice(2);
  const askpass = path.join(fixture.dataDir, `askpass-${name}.sh`);
  const prompts = path.join(fixture.dataDir, `prompts-${name}.txt`);
  await writeFile(
    askpass,
    `#!/bin/sh\nprintf '%s\\n' "$1" >> '${prompts}'\ncase "$1" in *assword*) printf '%s\\n' '${secret}' ;; *) exec sleep 30 ;; esac\n`,
    { mode: 0o700 },
  );
  const started = Date.now();
  const result = await run(
    'ssh',
    [
      '-F', '/dev/null',
      '-o', 'StrictHostKeyChecking=no',
      '-o', 'UserKnownHostsFile=/dev/null',
      '-o', 'PubkeyAuthentication=no',
      '-o', `PreferredAuthentications=${preferred}`,
      '-o', 'LogLevel=INFO',
      '-p', String(fixture.port),
      `${user}@127.0.0.1`,
      'echo logged-in',
    ],
    { env: { SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', DISPLAY: ':0' }, timeoutMs: 15_000 },
  );
  const ms = Date.now() - started;
  const asked = (await readFile(prompts, 'utf8').catch(() => '')).split('\n').filter(Boolean);
  return { ...result, ms, prompts: asked };
}

async function failuresFor(user: string): Promise<number> {
  const records = await readAuditRecords<{ type: string; claimedUser?: string }>(fixture.dataDir);
  return records.filter((record) => record.type === 'auth.failure' && record.claimedUser === user).length;
}

describe('a refused token over SSH (sshpass hang)', () => {
  it('fails a wrong token sent as the password at once, with the reason and exit 255, reading it once', async () => {
    const result = await scriptedSsh('pat', 'not-a-token', 'password,keyboard-interactive');
    expect(result.code).toBe(255);
    expect(result.ms).toBeLessThan(5000);
    expect(result.stderr).toContain('Warden: credential is not a JWT');
    expect(result.stderr).toContain('Permission denied');
    expect(result.stdout).toBe('');
    // One password prompt: OpenSSH neither re-asks the password nor asks a keyboard-interactive question.
    expect(result.prompts).toHaveLength(1);
    expect(result.prompts[0]).toMatch(/password/i);
    expect(await failuresFor('pat')).toBe(1);
  });

  it('fails a wrong token given at the keyboard-interactive prompt (OpenSSH\'s default order) the same way', async () => {
    const expired = await fixture.dev.issue({ subject: 'alice', groups: ['ops'], ttlSeconds: 60, now: new Date(Date.now() - 3_600_000) });
    const result = await scriptedSsh('kim', expired, 'keyboard-interactive,password');
    expect(result.code).toBe(255);
    expect(result.ms).toBeLessThan(5000);
    expect(result.stderr).toMatch(/Warden: token expired at/);
    expect(result.stderr).toContain('Permission denied');
    expect(result.prompts).toEqual(['(kim@127.0.0.1) Warden access token (as password): ']);
    expect(await failuresFor('kim')).toBe(1);
  });

  it('records a token given as the SSH user name only as a sha256 prefix (token-as-user-name leak)', async () => {
    const token = await fixture.dev.issue({ subject: 'alice', groups: ['ops'] });
    const result = await scriptedSsh(token, 'not-a-token', 'password');
    expect(result.code).toBe(255);
    const records = await readAuditRecords<{ type: string; claimedUser?: string }>(fixture.dataDir);
    expect(records.filter((record) => record.type === 'auth.failure').at(-1)).toMatchObject({ claimedUser: expect.stringMatching(/^sha256:[0-9a-f]{12}$/) });
    const audit = JSON.stringify(records);
    expect(audit).not.toContain(token.split('.')[1]!);
    expect(audit).not.toContain(token.split('.')[2]!);
  });

  it('admits a good token from a script that answers only password prompts, in either order', async () => {
    const token = await fixture.dev.issue({ subject: 'alice', groups: ['ops'] });
    for (const preferred of ['keyboard-interactive,password', 'password,keyboard-interactive']) {
      const result = await scriptedSsh('alice', token, preferred);
      expect(result).toMatchObject({ code: 0, stdout: 'logged-in\n' });
      expect(result.prompts).toHaveLength(1);
    }
  });
});
