/**
 * `warden ssh login CONNECTION`: exchanges the caller's OIDC token for a short-lived SSH user
 * certificate (admin API `POST /v1/ssh/certificate`) and writes the key pair and certificate where
 * `ssh` finds them: OpenSSH cuts passwords at 1023 bytes, and OIDC tokens are often longer.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { generateUserKeyPair } from '@warden/adapter-ssh';

export const SSH_LOGIN_USAGE = `  warden ssh login CONNECTION [--out FILE] [--url URL] [--token TOKEN]
                                        exchange your OIDC token for a short-lived SSH
                                        certificate; writes FILE (default ~/.ssh/warden-CONNECTION),
                                        FILE.pub and FILE-cert.pub and prints the ssh command
`;

interface Io {
  out(text: string): void;
  err(text: string): void;
}

interface CertificateResponse {
  readonly certificate: string;
  readonly serial: string;
  readonly principal: string;
  readonly validBefore: string;
  readonly listen: { readonly host: string; readonly port: number } | null;
  readonly error?: { readonly message?: string };
}

/** Exit 0 on success, 1 when refused or unreachable, 2 on usage errors. */
export async function sshCommand(args: readonly string[], io: Io, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [subcommand, ...rest] = args;
  if (subcommand !== 'login') {
    io.err(`warden ssh: unknown subcommand "${subcommand ?? ''}" (available: login)\n`);
    return 2;
  }
  const { values, positionals } = parseArgs({
    args: rest,
    options: { url: { type: 'string' }, token: { type: 'string' }, out: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  const connection = positionals[0];
  if (!connection || !/^[A-Za-z0-9._-]+$/.test(connection)) {
    io.err('warden ssh login: the ssh connection name is required (letters, digits, . _ -)\n');
    return 2;
  }
  const base = (values.url ?? env['WARDEN_ADMIN_URL'] ?? 'http://127.0.0.1:15480').replace(/\/+$/, '');
  const token = values.token ?? env['WARDEN_TOKEN'];
  if (!token) {
    io.err('warden ssh login: an OIDC access token is required (--token or WARDEN_TOKEN)\n');
    return 2;
  }
  const keyFile = path.resolve(values.out ?? path.join(env['HOME'] ?? homedir(), '.ssh', `warden-${connection}`));
  const pair = generateUserKeyPair(`warden-${connection}`);

  let response: Response;
  try {
    response = await fetch(`${base}/v1/ssh/certificate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ connection, publicKey: pair.publicKey }),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (error) {
    io.err(`warden ssh login: cannot reach the admin API at ${base}: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
  const payload = (await response.json().catch(() => ({}))) as Partial<CertificateResponse>;
  if (!response.ok || typeof payload.certificate !== 'string') {
    io.err(`warden ssh login: ${payload.error?.message ?? `the admin API answered ${response.status}`}\n`);
    return 1;
  }

  await mkdir(path.dirname(keyFile), { recursive: true, mode: 0o700 });
  // Write each file whole under a temp name first: `ssh` never sees a half-written key.
  const put = async (file: string, text: string, mode: number) => {
    const temp = `${file}.tmp-${process.pid}`;
    await writeFile(temp, text.endsWith('\n') ? text : `${text}\n`, { mode });
    await rename(temp, file);
  };
  await put(keyFile, pair.privateKey, 0o600);
  await put(`${keyFile}.pub`, pair.publicKey, 0o644);
  await put(`${keyFile}-cert.pub`, payload.certificate, 0o644);

  const adminHost = new URL(base).hostname.replace(/^\[|\]$/g, '');
  const listen = payload.listen ?? null;
  const host = listen === null || listen.host === '0.0.0.0' || listen.host === '::' ? adminHost : listen.host;
  const user = /^[A-Za-z0-9._-]+$/.test(payload.principal ?? '') ? payload.principal! : 'warden';
  io.err(`certificate ${payload.serial ?? '?'} for ${payload.principal ?? '?'} on ${connection}, valid until ${payload.validBefore ?? '?'}\n`);
  io.err(`wrote ${keyFile}, ${keyFile}.pub, ${keyFile}-cert.pub\n`);
  io.out(`ssh -i ${shellQuote(keyFile)}${listen ? ` -p ${listen.port}` : ''} ${user}@${host.includes(':') ? `[${host}]` : host}\n`);
  return 0;
}

function shellQuote(text: string): string {
  return /^[A-Za-z0-9._/~-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}
