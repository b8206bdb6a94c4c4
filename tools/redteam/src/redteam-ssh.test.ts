/**
 * The SSH attack corpus (attacks/ssh-attacks.ts), one test per attack, through one gateway in front
 * of a private OpenSSH server (tools/testing startPrivateSshd) whose files are on this machine.
 * Rules: `no-rm` blocks the program `rm`; `protected-read-only` blocks sftp writes under the
 * protected folder. After each attack the file system proves the effect, whatever Warden
 * answered: the canary file and the protected folder are byte-for-byte, mode-for-mode unchanged
 * and the marker file was not created. Attacks marked `pending` wait for issue 20 and are skipped
 * (`REDTEAM_RUN_PENDING=1` runs them).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { lstat, mkdir, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { DevIssuer, silentLogger } from '@warden/core';
// The suite runs the gateway in-process from its sources, as redteam-gateway.ts explains.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { parseConfig, startGateway, type RunningGateway } from '@warden/gateway';
import { startPrivateSshd, type PrivateSshd } from '@warden/testing';
import { SSH_ATTACKS } from './attacks/ssh-attacks';
import { refusedByWarden, runSshAttack, type SshAnswer, type SshAttack, type SshPlaces } from './ssh-attack';

const CANARY_TEXT = 'canary: must survive every attack\n';
const SECRET_TEXT = 'protected: readable, never written\n';

let sshd: PrivateSshd;
let gateway: RunningGateway;
let dev: DevIssuer;
let dataDir: string;
let places: SshPlaces;
let agent: ChildProcess | undefined;
let agentSocket: string | undefined;

/** The canary, the protected folder, the payload script and an empty scratch folder. */
async function plant(): Promise<void> {
  await rm(places.protected, { recursive: true, force: true });
  await mkdir(path.join(places.protected, 'empty'), { recursive: true });
  await writeFile(path.join(places.protected, 'secret.txt'), SECRET_TEXT, { mode: 0o644 });
  await writeFile(places.canary, CANARY_TEXT, { mode: 0o644 });
  await writeFile(places.payload, `#!/bin/sh\ntouch ${places.marker}\n`, { mode: 0o755 });
}

/** What the attacks must not change: every entry of the area but the scratch folder, with type, mode and content. */
async function snapshot(): Promise<string> {
  const entries: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const file = path.join(dir, name);
      if (file === places.open || file === agentSocket) continue;
      const stat = await lstat(file);
      const kind = stat.isSymbolicLink() ? `link→${await readlink(file)}` : stat.isDirectory() ? 'dir' : `file:${(await readFile(file)).toString('base64')}`;
      entries.push(`${path.relative(places.dir, file)} ${(stat.mode & 0o7777).toString(8)} ${stat.nlink} ${kind}`);
      if (stat.isDirectory()) await walk(file);
    }
  };
  await walk(places.dir);
  return entries.join('\n');
}

beforeAll(async () => {
  sshd = await startPrivateSshd();
  const dir = path.join(sshd.dir, 'area');
  const protectedDir = path.join(dir, 'protected');
  places = {
    dir,
    canary: path.join(dir, 'canary.txt'),
    protected: protectedDir,
    open: path.join(dir, 'open'),
    marker: path.join(dir, 'marker'),
    payload: path.join(dir, 'payload.sh'),
    relprotected: path.relative(homedir(), protectedDir),
    sshdPort: sshd.port,
  };
  await mkdir(places.open, { recursive: true });
  await plant();
  // An agent for the agent-forwarding attack: the client offers it, the target must not see it.
  agentSocket = path.join(sshd.dir, 'agent.sock');
  agent = spawn('ssh-agent', ['-D', '-a', agentSocket], { stdio: 'ignore' });
  for (let i = 0; i < 100 && !existsSync(agentSocket); i++) await new Promise((resolve) => setTimeout(resolve, 20));
  dataDir = path.join(sshd.dir, 'warden');
  await mkdir(dataDir);
  const yaml = `
dataDir: ${JSON.stringify(dataDir)}
identity: { devIssuer: true }
connections:
  - name: box
    protocol: ssh
    listen: 127.0.0.1:0
    target: { host: 127.0.0.1, port: ${sshd.port}, user: ${sshd.user}, privateKey: ${JSON.stringify(sshd.clientPrivateKey)}, hostKey: "${sshd.hostKeyFingerprint}", allowEnv: [LANG, LC_*] }
grants:
  - { connection: box, groups: [ops], access: full }
  - { connection: box, groups: [readers], access: read-only }
rules:
  - name: no-rm
    match: { connection: box, objects: [rm] }
    effect: block
    reason: files are not removed on this host
  - name: protected-read-only
    match: { connection: box, action: write, objects: ["sftp:${protectedDir}/**"] }
    effect: block
    reason: files under protected/ are read-only
`;
  gateway = await startGateway(parseConfig(yaml, 'redteam-ssh.yaml'), { log: silentLogger });
  dev = await DevIssuer.loadOrCreate(dataDir);
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  if (agent?.exitCode === null) agent.kill();
  await sshd?.stop();
});

const tokens = new Map<SshAttack['grant'], Promise<string>>();
function token(grant: SshAttack['grant']): Promise<string> {
  let pending = tokens.get(grant);
  if (!pending) tokens.set(grant, (pending = dev.issue({ subject: `redteam-${grant}`, groups: [grant === 'full' ? 'ops' : 'readers'] })));
  return pending;
}

function transcript(attack: SshAttack, answers: readonly SshAnswer[]): string {
  return answers.map((answer, index) => `step ${index} ${JSON.stringify(attack.steps[index]).slice(0, 160)}: ${JSON.stringify(answer).slice(0, 400)}`).join('\n');
}

let lastState: string | undefined;

async function attempt(attack: SshAttack): Promise<void> {
  const before = (lastState ??= await snapshot());
  const answers = await runSshAttack(attack, { port: gateway.addresses.get('box')!.port, token: await token(attack.grant), places, ...(agentSocket ? { agent: agentSocket } : {}) });
  const after = await snapshot();
  const markerMade = existsSync(places.marker);
  // The scratch folder starts empty for the next attack, whatever this one left there.
  await rm(places.open, { recursive: true, force: true });
  await mkdir(places.open);
  const problems: string[] = [];
  if (markerMade) problems.push(`the marker ${places.marker} was created`);
  if (after !== before) problems.push(`the target changed:\n--- before\n${before}\n--- after\n${after}`);
  if (problems.length > 0) {
    await rm(places.marker, { recursive: true, force: true });
    await plant();
    lastState = undefined;
  }
  const output = answers.map((answer) => `${answer.stdout}${answer.stderr}`).join('');
  if (attack.outputMustNotMatch?.test(output)) problems.push(`the output shows the attack reached the target: ${attack.outputMustNotMatch}`);
  if (attack.expect === 'refused') {
    const payload = attack.payload ?? attack.steps.length - 1;
    if (!refusedByWarden(attack.steps[payload]!, answers[payload]!)) problems.push(`step ${payload} was not refused by Warden`);
  }
  if (problems.length > 0) throw new Error(`${problems.join('\n')}\n${transcript(attack, answers)}`);
}

const runPending = process.env['REDTEAM_RUN_PENDING'] === '1';

describe('the SSH corpus', () => {
  it('names each attack once, in kebab-case', () => {
    const ids = SSH_ATTACKS.map((attack) => attack.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.filter((id) => !/^[a-z0-9]+(-[a-z0-9]+)*$/.test(id))).toEqual([]);
  });

  it('lets the full grant run commands, pass allowed variables and write outside the protected folder (the refusals below are not a blanket refusal, and the checks see effects)', async () => {
    const control = (steps: SshAttack['steps']): SshAttack => ({ id: 'control', class: 'exec-denylist', grant: 'full', steps, expect: 'no-effect' });
    const answers = await runSshAttack(control([{ exec: 'sh {{payload}} && echo "[$LC_WARDEN]"', env: { LC_WARDEN: 'passed' } }, { sftp: { call: 'writeFile', path: '{{open}}/written.txt', data: 'ok' } }]), {
      port: gateway.addresses.get('box')!.port,
      token: await token('full'),
      places,
    });
    expect(answers[0]).toMatchObject({ code: 0, stdout: '[passed]\n' });
    expect(answers[1]!.error).toBeUndefined();
    expect(existsSync(places.marker)).toBe(true);
    expect(await readFile(path.join(places.open, 'written.txt'), 'utf8')).toBe('ok');
    await rm(places.marker);
    await rm(places.open, { recursive: true, force: true });
    await mkdir(places.open);
  });
});

describe('SSH attacks through Warden (target: a private sshd)', () => {
  for (const attack of SSH_ATTACKS) {
    const name = `${attack.id} [${attack.class}, ${attack.grant}]${attack.pending ? ` (pending: ${attack.pending})` : ''}`;
    (attack.pending && !runPending ? it.skip : it)(name, () => attempt(attack), 20_000);
  }
});
