/**
 * `warden kubeconfig`: writes a kubeconfig for a Kubernetes connection whose user runs an exec
 * credential plugin (`warden token … --exec-credential`), the convention kubectl and client
 * libraries expect (https://kubernetes.io/docs/reference/access-authn-authz/authentication/#client-go-credential-plugins):
 * kubectl asks for a fresh token whenever the last one expired.
 */
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import type { CliIo } from './cli';
import { loadConfigFile } from './config/load-config';

export const KUBECONFIG_USAGE = `  warden kubeconfig --connection NAME [--server URL] [--config FILE] [--data-dir DIR] [--ca FILE]
               [--namespace NS] [--out FILE] [--command PATH] [--dev --subject NAME --groups A,B [--kind K]]
                                        write a kubeconfig whose user runs \`warden token --exec-credential\`
`;

/** The ExecCredential API version kubectl 1.22+ speaks. */
export const EXEC_CREDENTIAL_API_VERSION = 'client.authentication.k8s.io/v1';

/** What `warden token --exec-credential` prints. */
export function execCredential(token: string, expiresAt: Date): string {
  return `${JSON.stringify({ apiVersion: EXEC_CREDENTIAL_API_VERSION, kind: 'ExecCredential', status: { token, expirationTimestamp: expiresAt.toISOString().replace(/\.\d+Z$/, 'Z') } })}\n`;
}

export async function kubeconfigCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      connection: { type: 'string' },
      server: { type: 'string' },
      config: { type: 'string' },
      'data-dir': { type: 'string' },
      ca: { type: 'string' },
      namespace: { type: 'string' },
      out: { type: 'string' },
      command: { type: 'string', default: 'warden' },
      dev: { type: 'boolean', default: false },
      subject: { type: 'string' },
      groups: { type: 'string' },
      kind: { type: 'string' },
    },
    strict: true,
  });
  const name = values.connection;
  if (!name) {
    io.err(`warden kubeconfig: --connection is required\n\n${KUBECONFIG_USAGE}`);
    return 2;
  }
  let server = values.server;
  let dataDir = values['data-dir'] === undefined ? undefined : path.resolve(values['data-dir']);
  if (values.config) {
    const { config } = loadConfigFile(values.config);
    const connection = config.connections.find((candidate) => candidate.name === name);
    if (!connection || connection.protocol !== 'kubernetes') {
      io.err(`warden kubeconfig: ${values.config} has no kubernetes connection "${name}"\n`);
      return 2;
    }
    const [host, port] = [connection.listen.slice(0, connection.listen.lastIndexOf(':')), connection.listen.slice(connection.listen.lastIndexOf(':') + 1)];
    server ??= `https://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${port}`;
    dataDir ??= path.resolve(path.dirname(path.resolve(values.config)), config.dataDir);
  }
  if (!server) {
    io.err('warden kubeconfig: --server (or --config) is required\n');
    return 2;
  }
  dataDir ??= path.resolve('.warden');
  // The gateway's certificate: given, or the self-signed one it keeps in its data directory.
  const caFile = values.ca ?? path.join(dataDir, `${name}.tls.crt`);
  const ca = existsSync(caFile) ? readFileSync(caFile) : undefined;
  if (values.ca && !ca) {
    io.err(`warden kubeconfig: cannot read ${values.ca}\n`);
    return 2;
  }

  const tokenArgs = ['token', '--exec-credential'];
  if (values.dev) {
    if (!values.subject) {
      io.err('warden kubeconfig: --dev needs --subject\n');
      return 2;
    }
    tokenArgs.push('--dev', '--subject', values.subject, '--data-dir', dataDir);
    if (values.groups) tokenArgs.push('--groups', values.groups);
    if (values.kind) tokenArgs.push('--kind', values.kind);
  }
  const [command, ...commandArgs] = values.command.split(' ').filter(Boolean);
  const entry = `warden-${name}`;
  const kubeconfig = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: entry, cluster: { server, ...(ca ? { 'certificate-authority-data': ca.toString('base64') } : {}) } }],
    users: [
      {
        name: entry,
        user: { exec: { apiVersion: EXEC_CREDENTIAL_API_VERSION, command, args: [...commandArgs, ...tokenArgs], interactiveMode: 'Never', provideClusterInfo: false } },
      },
    ],
    contexts: [{ name: entry, context: { cluster: entry, user: entry, ...(values.namespace ? { namespace: values.namespace } : {}) } }],
    'current-context': entry,
  };
  const text = stringify(kubeconfig);
  if (values.out) {
    await writeFile(values.out, text, { mode: 0o600 });
    io.err(`wrote ${values.out}; use it with: KUBECONFIG=${values.out} kubectl get pods\n`);
  } else {
    io.out(text);
  }
  return 0;
}
