/**
 * The shape of an SSH attack and how one runs: one ssh2 session through Warden per attack, its
 * steps in order (exec lines, lines typed at a shell, sftp calls, forwarding requests), each
 * answer kept for the expectation. What the attack did to the target is read off the file system
 * by the test (the private sshd runs on this machine), not off Warden's answers.
 */
import { collectChannelOutput } from '@warden/testing';
import { Client, type ClientChannel, type SFTPWrapper } from 'ssh2';

/** The issue-20 classes of SSH attacks. */
export type SshAttackClass = 'exec-denylist' | 'interpreters' | 'environment' | 'forwarding' | 'sftp-paths' | 'shell-lines' | 'read-only-grant';

/**
 * Placeholders in any string of a step: `{{canary}}` a file the `rm` rule protects (outside the
 * protected folder), `{{protected}}` the sftp-protected folder (holds `secret.txt`), `{{open}}` a
 * scratch folder emptied after each attack, `{{marker}}` a path that must never be created,
 * `{{payload}}` a script that creates the marker, `{{dir}}` the area holding all of them.
 */
export type SftpCall =
  | { readonly call: 'writeFile'; readonly path: string; readonly data?: string }
  | { readonly call: 'appendFile'; readonly path: string; readonly data?: string }
  | { readonly call: 'unlink' | 'rmdir' | 'mkdir' | 'readFile' | 'stat' | 'lstat' | 'readlink' | 'realpath'; readonly path: string }
  | { readonly call: 'chmod'; readonly path: string; readonly mode: number }
  | { readonly call: 'symlink'; readonly target: string; readonly path: string }
  | { readonly call: 'rename' | 'posixRename' | 'hardlink'; readonly from: string; readonly to: string }
  /** Opens `path` with `flags`, then (if given) fchmod/fsetstat or writes through that handle. */
  | { readonly call: 'handle'; readonly path: string; readonly flags: 'r' | 'r+' | 'w' | 'wx' | 'a'; readonly fchmod?: number; readonly write?: string; readonly ftruncate?: boolean };

export type SshStep =
  | { readonly exec: string; readonly stdin?: string; readonly env?: Readonly<Record<string, string>>; readonly x11?: boolean }
  | { readonly shell: readonly string[] }
  | { readonly sftp: SftpCall }
  | { readonly forward: 'direct-tcpip' | 'tcpip-forward' | 'streamlocal-out' | 'streamlocal-in'; readonly host?: string; readonly port?: number | 'sshd'; readonly socket?: string }
  | { readonly agentExec: string };

/**
 * - `refused`: Warden answered the payload step with its refusal (an exec's exit status 126 and
 *   `Warden:` on stderr; an sftp status whose message starts `Warden:`; a forwarding request that
 *   fails), and the target shows no effect.
 * - `no-effect`: whatever the answers, the target shows no effect (the attack's content is dropped
 *   or disarmed rather than refused, e.g. an environment variable that is not passed).
 */
export type SshExpectation = 'refused' | 'no-effect';

export interface SshAttack {
  /** kebab-case, named after the bypass it tries. */
  readonly id: string;
  readonly class: SshAttackClass;
  readonly grant: 'full' | 'read-only';
  readonly steps: readonly SshStep[];
  /** The step `refused` is about; default the last. */
  readonly payload?: number;
  readonly expect: SshExpectation;
  /** Output of any step that proves the attack worked (e.g. the loader's message for LD_PRELOAD). */
  readonly outputMustNotMatch?: RegExp;
  /** Set while the fix has not landed (skipped, listed): the issue and why, in one line. */
  readonly pending?: `issue-20: ${string}`;
}

export interface SshAnswer {
  /** An exec's or shell's exit status, undefined for other steps. */
  readonly code?: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The error of a request Warden or the target refused. */
  readonly error?: string;
}

export interface SshPlaces {
  readonly canary: string;
  readonly protected: string;
  readonly open: string;
  readonly marker: string;
  readonly payload: string;
  readonly dir: string;
  /** `{{protected}}` relative to the login's home directory (sftp resolves relative paths there). */
  readonly relprotected: string;
  readonly sshdPort: number;
}

export function fill(text: string, places: SshPlaces): string {
  return text.replace(/\{\{(canary|protected|open|marker|payload|dir|relprotected)\}\}/g, (_all, name: Exclude<keyof SshPlaces, 'sshdPort'>) => places[name]);
}

export function connectSsh(port: number, token: string, options: { agent?: string } = {}): Promise<Client> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    client.once('ready', () => resolve(client));
    client.once('error', reject);
    client.connect({
      host: '127.0.0.1',
      port,
      username: 'redteam',
      password: token,
      readyTimeout: 10_000,
      // Password only: with an agent offered (the agent-forwarding attack), ssh2 would try its keys first.
      authHandler: ['password'],
      ...(options.agent ? { agent: options.agent, agentForward: true } : {}),
    });
  });
}

function channelResult(stream: ClientChannel, input?: string): Promise<SshAnswer> {
  const output = collectChannelOutput(stream);
  if (input !== undefined) stream.end(input);
  return output;
}

function execStep(client: Client, command: string, options: { stdin?: string; env?: NodeJS.ProcessEnv; x11?: boolean }): Promise<SshAnswer> {
  return new Promise((resolve) => {
    client.exec(command, { ...(options.env ? { env: options.env } : {}), ...(options.x11 ? { x11: true } : {}) }, (error, stream) => {
      if (error) return resolve({ stdout: '', stderr: '', error: error.message });
      void channelResult(stream, options.stdin ?? '').then(resolve);
    });
  });
}

/** Types each line at a shell (pty), then `exit`, and waits for the shell to end. */
function shellStep(client: Client, lines: readonly string[]): Promise<SshAnswer> {
  return new Promise((resolve) => {
    client.shell({ term: 'dumb', cols: 200, rows: 40 }, (error, stream) => {
      if (error) return resolve({ stdout: '', stderr: '', error: error.message });
      const result = channelResult(stream);
      // One write per line, as a user types them; the shell reads them in order.
      for (const line of lines) stream.write(`${line}\r`);
      stream.write('exit\r');
      void result.then(resolve);
    });
  });
}

const sftpOf = (client: Client) => new Promise<SFTPWrapper>((resolve, reject) => client.sftp((error, sftp) => (error ? reject(error) : resolve(sftp))));

function sftpStep(sftp: SFTPWrapper, call: SftpCall, places: SshPlaces): Promise<SshAnswer> {
  const path = 'path' in call ? fill(call.path, places) : '';
  return new Promise((resolve) => {
    const done = (error?: Error | null, value?: unknown) =>
      resolve({ stdout: value === undefined ? '' : Buffer.isBuffer(value) ? value.toString() : JSON.stringify(value), stderr: '', ...(error ? { error: error.message } : {}) });
    switch (call.call) {
      case 'writeFile':
        return sftp.writeFile(path, call.data ?? 'attack\n', done);
      case 'appendFile':
        return sftp.appendFile(path, call.data ?? 'attack\n', done);
      case 'readFile':
        return sftp.readFile(path, done);
      case 'unlink':
      case 'rmdir':
      case 'mkdir':
      case 'stat':
      case 'lstat':
      case 'readlink':
      case 'realpath':
        return sftp[call.call](path, done);
      case 'chmod':
        return sftp.chmod(path, call.mode, done);
      case 'symlink':
        // ssh2 sends OpenSSH's (swapped) argument order for OpenSSH servers: targetPath, linkPath.
        return sftp.symlink(fill(call.target, places), path, done);
      case 'rename':
        return sftp.rename(fill(call.from, places), fill(call.to, places), done);
      case 'posixRename':
        return sftp.ext_openssh_rename(fill(call.from, places), fill(call.to, places), done);
      case 'hardlink':
        return sftp.ext_openssh_hardlink(fill(call.from, places), fill(call.to, places), done);
      case 'handle':
        return sftp.open(path, call.flags, (error, handle) => {
          if (error) return done(error);
          const close = (first?: Error | null) => sftp.close(handle, () => done(first));
          if (call.fchmod !== undefined) return sftp.fchmod(handle, call.fchmod, close);
          if (call.ftruncate) return sftp.fsetstat(handle, { size: 0 }, close);
          if (call.write !== undefined) return sftp.write(handle, Buffer.from(call.write), 0, Buffer.byteLength(call.write), 0, close);
          return close();
        });
    }
  });
}

function forwardStep(client: Client, step: Extract<SshStep, { forward: string }>, places: SshPlaces): Promise<SshAnswer> {
  return new Promise((resolve) => {
    const answer = (error?: Error | null, detail = '') => resolve({ stdout: detail, stderr: '', ...(error ? { error: error.message || 'refused' } : {}) });
    const opened = (error: Error | undefined, channel?: ClientChannel) => {
      channel?.destroy();
      answer(error, channel ? 'opened' : '');
    };
    switch (step.forward) {
      case 'direct-tcpip':
        return client.forwardOut('127.0.0.1', 0, step.host ?? '127.0.0.1', step.port === 'sshd' ? places.sshdPort : (step.port ?? 22), opened);
      case 'tcpip-forward':
        return client.forwardIn(step.host ?? '127.0.0.1', step.port === 'sshd' || step.port === undefined ? 0 : step.port, (error, port) => answer(error, error ? '' : `listening on ${port}`));
      case 'streamlocal-out':
        return client.openssh_forwardOutStreamLocal(fill(step.socket ?? '', places), opened);
      case 'streamlocal-in':
        return client.openssh_forwardInStreamLocal(fill(step.socket ?? '', places), (error) => answer(error, error ? '' : 'listening'));
    }
  });
}

/** Runs the attack's steps in one session; a step's failure is an answer, not an exception. */
export async function runSshAttack(attack: SshAttack, options: { port: number; token: string; places: SshPlaces; agent?: string }): Promise<SshAnswer[]> {
  const usesAgent = attack.steps.some((step) => 'agentExec' in step);
  const client = await connectSsh(options.port, options.token, usesAgent && options.agent ? { agent: options.agent } : {});
  const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
  const answers: SshAnswer[] = [];
  let sftp: SFTPWrapper | undefined;
  try {
    for (const step of attack.steps) {
      if ('exec' in step) answers.push(await execStep(client, fill(step.exec, options.places), { ...(step.stdin === undefined ? {} : { stdin: fill(step.stdin, options.places) }), ...(step.env ? { env: Object.fromEntries(Object.entries(step.env).map(([name, value]) => [name, fill(value, options.places)])) } : {}), ...(step.x11 ? { x11: true } : {}) }));
      else if ('agentExec' in step) answers.push(await execStep(client, fill(step.agentExec, options.places), {}));
      else if ('shell' in step) answers.push(await shellStep(client, step.shell.map((line) => fill(line, options.places))));
      else if ('sftp' in step) {
        try {
          sftp ??= await sftpOf(client);
          answers.push(await sftpStep(sftp, step.sftp, options.places));
        } catch (error) {
          answers.push({ stdout: '', stderr: '', error: (error as Error).message });
        }
      } else answers.push(await forwardStep(client, step, options.places));
    }
  } finally {
    client.end();
    await closed;
  }
  return answers;
}

/** Whether an answer is Warden's refusal, as the client sees it. */
export function refusedByWarden(step: SshStep, answer: SshAnswer): boolean {
  if ('shell' in step) return /Warden: /.test(answer.stdout) || answer.error !== undefined;
  if ('exec' in step || 'agentExec' in step) return (answer.code === 126 && /^Warden: /m.test(answer.stderr)) || answer.error !== undefined;
  if ('sftp' in step) return answer.error !== undefined && /^Warden: /.test(answer.error);
  return answer.error !== undefined;
}
