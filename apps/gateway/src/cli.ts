import path from 'node:path';
import { parseArgs } from 'node:util';
import { DevIssuer, createJsonLogger, WardenError, type IdentityKind } from '@warden/core';
import { loadConfigFile } from './config/load-config';
import { embeddedConfig, startEmbeddedClinic } from './embedded-demo';
import { startGateway, type RunningGateway } from './gateway';
import { APPROVALS_USAGE, approvalsCommand } from './approvals-command';
import { POLICY_TEST_USAGE, policyTest } from './policy-test-command';
import { SSH_LOGIN_USAGE, sshCommand } from './ssh-login-command';
import { AUDIT_USAGE, EVIDENCE_USAGE, auditCommand, evidenceCommand } from './evidence/audit-command';
import { SESSIONS_USAGE, replayCommand, sessionsCommand } from './evidence/sessions-command';
import { KUBECONFIG_USAGE, execCredential, kubeconfigCommand } from './kubeconfig-command';
import { DOCTOR_USAGE, doctorCommand } from './doctor-command';

const USAGE = `warden — identity-aware gateway

Usage:
  warden serve [--config FILE]          run the gateway (without --config: the embedded demo)
  warden token --dev --subject NAME --groups A,B [--kind agent|human] [--ttl SECONDS]
               [--actor NAME] [--data-dir DIR] [--exec-credential]
                                        print a token from the local development issuer
${AUDIT_USAGE}${EVIDENCE_USAGE}${SESSIONS_USAGE}${POLICY_TEST_USAGE}${APPROVALS_USAGE}${SSH_LOGIN_USAGE}${KUBECONFIG_USAGE}${DOCTOR_USAGE}
Options:
  --data-dir DIR   the gateway's data directory (default: .warden)
  -h, --help       show this help
`;

/** Exit codes: 0 success, 1 failure (e.g. a log that does not verify), 2 usage or configuration error. */
export async function runCli(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'serve':
        return await serve(rest, io);
      case 'token':
        return await token(rest, io);
      case 'audit':
        return await audit(rest, io);
      case 'evidence':
        return await evidenceCommand(rest, io);
      case 'sessions':
        return await sessionsCommand(rest, io);
      case 'replay':
        return await replayCommand(rest, io);
      case 'policy':
        return await policy(rest, io);
      case 'approvals':
        return await approvalsCommand(rest, io);
      case 'ssh':
        return await sshCommand(rest, io);
      case 'kubeconfig':
        return await kubeconfigCommand(rest, io);
      case 'doctor':
        return await doctorCommand(rest, io);
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        io.out(USAGE);
        return command === undefined ? 2 : 0;
      default:
        io.err(`warden: unknown command "${command}"\n\n${USAGE}`);
        return 2;
    }
  } catch (error) {
    if (error instanceof WardenError && error.code === 'config') {
      io.err(`warden: configuration error: ${error.message}\n`);
      return 2;
    }
    if (error instanceof TypeError && (error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`warden: ${error.message}\n\n${USAGE}`);
      return 2;
    }
    io.err(`warden: ${(error as Error).message}\n`);
    return 1;
  }
}

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** Resolves when the process is asked to stop (SIGINT/SIGTERM). */
  stopSignal(): Promise<string>;
}

const processIo: CliIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  stopSignal: () =>
    new Promise((resolve) => {
      process.once('SIGINT', () => resolve('SIGINT'));
      process.once('SIGTERM', () => resolve('SIGTERM'));
    }),
};

async function serve(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args: [...args], options: { config: { type: 'string' }, 'data-dir': { type: 'string' } }, strict: true });
  // Listen for SIGTERM from the start: one that arrives while the gateway starts must still stop it
  // cleanly (final audit record and checkpoint), not kill the process with the default action.
  const stopRequested = io.stopSignal();
  const log = createJsonLogger((line) => io.err(line));
  let gateway: RunningGateway;
  let stopEmbedded: (() => Promise<void>) | undefined;
  if (values.config) {
    const loaded = loadConfigFile(values.config);
    gateway = await startGateway(loaded, { log, baseDir: path.dirname(path.resolve(values.config)) });
  } else {
    const dataDir = path.resolve(values['data-dir'] ?? '.warden');
    const port = Number(process.env['WARDEN_DEMO_PORT'] ?? 15432);
    const adminPort = Number(process.env['WARDEN_DEMO_ADMIN_PORT'] ?? 15480);
    io.err('Starting the embedded demo: a synthetic clinic database (PGlite) and the development token issuer…\n');
    const clinic = await startEmbeddedClinic();
    stopEmbedded = clinic.stop;
    try {
      gateway = await startGateway(embeddedConfig(clinic, port, dataDir, adminPort), { log });
    } catch (error) {
      await clinic.stop();
      throw error;
    }
    const address = gateway.addresses.get('clinic')!;
    const dataDirArgument = dataDir === path.resolve('.warden') ? '' : ` --data-dir ${JSON.stringify(dataDir)}`;
    io.out(`
Warden is running the embedded demo.
  clinic database (synthetic patients) behind Warden at ${address.host}:${address.port}
  audit log in ${dataDir}/audit.log

Connect as an AI agent with read-only access:

  PGPASSWORD=$(npx warden token --dev --subject agent-1 --groups coding-agents${dataDirArgument}) psql "host=127.0.0.1 port=${address.port} user=agent-1 dbname=clinic sslmode=require"

Then try:  SELECT full_name, dob FROM patients LIMIT 5;   and   DROP TABLE patients;

A clinician's DELETE of a patient needs a clinical lead's approval:

  PGPASSWORD=$(npx warden token --dev --subject nurse-1 --groups clinicians${dataDirArgument}) psql "host=127.0.0.1 port=${address.port} user=nurse-1 dbname=clinic sslmode=require" -c "DELETE FROM patients WHERE id = 7"
  export WARDEN_TOKEN=$(npx warden token --dev --subject dr-lee --groups clinical-leads --kind human${dataDirArgument}) WARDEN_ADMIN_URL=${gateway.admin?.url ?? ''}
  npx warden approvals list   then   npx warden approvals approve <id>   and run the DELETE again

Verify the audit log:  npx warden audit verify${dataDirArgument}
Stop with Ctrl-C.
`);
  }
  const signal = await stopRequested;
  log.info('stopping', { signal });
  await gateway.stop();
  await stopEmbedded?.();
  return 0;
}

async function token(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      dev: { type: 'boolean', default: false },
      subject: { type: 'string' },
      groups: { type: 'string', default: '' },
      kind: { type: 'string' },
      ttl: { type: 'string', default: '3600' },
      actor: { type: 'string' },
      'data-dir': { type: 'string', default: '.warden' },
      /** Print a client.authentication.k8s.io ExecCredential (for kubectl's exec plugin) instead of the bare token. */
      'exec-credential': { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (!values.dev) {
    io.err('warden token: only --dev tokens are available; for a real identity, get a token from your OIDC provider\n');
    return 2;
  }
  if (!values.subject) {
    io.err('warden token: --subject is required\n');
    return 2;
  }
  const kind = values.kind ?? 'agent';
  if (kind !== 'agent' && kind !== 'human') {
    io.err('warden token: --kind is agent or human\n');
    return 2;
  }
  const ttlSeconds = Number(values.ttl);
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) {
    io.err('warden token: --ttl is a positive number of seconds\n');
    return 2;
  }
  const issuer = await DevIssuer.loadOrCreate(path.resolve(values['data-dir']));
  const groups = values.groups.split(',').map((group) => group.trim()).filter(Boolean);
  const jwt = await issuer.issue({
    subject: values.subject,
    groups,
    kind: kind as IdentityKind,
    ttlSeconds,
    ...(values.actor ? { actor: values.actor } : {}),
  });
  io.out(values['exec-credential'] ? execCredential(jwt, new Date(Date.now() + ttlSeconds * 1000)) : `${jwt}\n`);
  return 0;
}

/** `warden audit …`: see evidence/audit-command.ts. */
function audit(args: readonly string[], io: CliIo): Promise<number> {
  return auditCommand(args, io);
}

async function policy(args: readonly string[], io: CliIo): Promise<number> {
  const [subcommand, ...rest] = args;
  if (subcommand !== 'test') {
    io.err(`warden policy: unknown subcommand "${subcommand ?? ''}" (available: test)\n`);
    return 2;
  }
  return policyTest(rest, io);
}
