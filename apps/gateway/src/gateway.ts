import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import {
  ApprovalService,
  DEFAULT_LIMITS,
  DevIssuer,
  FileApprovalStore,
  FileAuditLog,
  GatewayCore,
  PolicyEngine,
  TokenVerifier,
  WardenError,
  toWardenError,
  type Adapter,
  type AdapterFactory,
  type ApprovalSettings,
  type AuditCheckpointOptions,
  type AuditSink,
  type Clock,
  type GatewayLimits,
  type IssuerConfig,
  type ListenAddress,
  type ConnectionSpec,
  type Logger,
  loadOrCreateSigningKey,
  systemClock,
} from '@warden/core';
import { SshCertificateAuthority, type SshTarget } from '@warden/adapter-ssh';
import { startAdminServer, type AdminServer } from './admin/admin-server';
import type { SshCertificateIssuer } from './admin/ssh-certificate-endpoint';
import { approvalWebhook } from './admin/approval-webhook';
import { ADAPTERS } from './adapters';
import { warnOfSuperuserTargets } from './target-account-check';
import { checkpointWitness } from './evidence/checkpoint-witness';
import { evidenceReadHandler } from './evidence/evidence-read';
import type { GatewayConfig } from './config/config-schema';
import type { LoadedConfig } from './config/load-config';
import { policyConfigOf } from './config/policy-config-of';
import { createMaskingPolicy } from './masking-setup';
import { selfSignedTls } from './tls-material';
import { VERSION } from './version';

export interface RunningGateway {
  /** The bound address of each connection's listener, by connection name. */
  readonly addresses: ReadonlyMap<string, ListenAddress>;
  readonly dataDir: string;
  readonly audit: AuditSink;
  readonly approvals: ApprovalService;
  /** The admin HTTP API, when configured (`admin.listen`). */
  readonly admin?: { readonly address: ListenAddress; readonly url: string };
  stop(): Promise<void>;
}

export interface StartGatewayOptions {
  readonly log: Logger;
  readonly clock?: Clock;
  /** Resolve a relative data directory against this (the config file's directory). */
  readonly baseDir?: string;
  /** TEST-ONLY: replaces the adapter registry (e.g. an adapter with a deliberately wrong classifier). */
  readonly adapters?: ReadonlyMap<string, AdapterFactory<unknown>>;
  /** TEST-ONLY: wraps the audit sink sessions and approvals write to (e.g. one whose next write fails, to prove fail-closed end to end). */
  readonly wrapAudit?: (audit: AuditSink) => AuditSink;
}

/**
 * Start every configured connection. Fails before listening if any part of the configuration is
 * invalid; once started, each listener runs until `stop`.
 */
export async function startGateway(loaded: LoadedConfig, options: StartGatewayOptions): Promise<RunningGateway> {
  const { config } = loaded;
  const clock = options.clock ?? systemClock;
  const dataDir = path.resolve(options.baseDir ?? process.cwd(), config.dataDir);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });

  const registry = options.adapters ?? ADAPTERS;
  const specs = await connectionSpecs(loaded, dataDir, registry);
  const verifier = await createVerifier(config, dataDir, clock);
  const audit = await FileAuditLog.open({
    dir: dataDir,
    clock,
    durability: config.audit.durability,
    syncIntervalMs: config.audit.syncIntervalMs,
    segmentBytes: config.audit.segmentBytes,
    lockOwner: `the warden gateway (version ${VERSION})`,
    checkpoints: await checkpointOptions(config, dataDir, options),
  });
  const sink = options.wrapAudit ? options.wrapAudit(audit) : audit;
  const limits = limitsOf(config);
  const approvals = await ApprovalService.open({
    store: new FileApprovalStore(dataDir),
    audit: sink,
    log: options.log.child({ component: 'approvals' }),
    clock,
    rules: approvalRules(config),
    maxPendingPerIdentity: limits.maxPendingApprovalsPerIdentity,
    ...(config.approvals.defaults ? { defaults: withoutUndefined(config.approvals.defaults) } : {}),
    ...(config.approvals.webhook ? { onRequested: approvalWebhook(config.approvals.webhook) } : {}),
  });
  const policy = new PolicyEngine(policyConfigOf(config));
  const core = new GatewayCore({
    verifier,
    approvals,
    policy,
    audit: sink,
    connections: new Map(specs.map((spec) => [spec.name, { protocol: spec.protocol }])),
    log: options.log,
    clock,
    masking: await createMaskingPolicy(config, dataDir),
    limits,
    recordings: { dir: path.join(dataDir, 'recordings'), resultBytesPerCommand: config.recording.resultBytesPerCommand },
  });

  const adapters: Adapter[] = [];
  const addresses = new Map<string, ListenAddress>();
  let admin: AdminServer | undefined;
  try {
    if (config.admin) {
      const { host, port } = parseListen(config.admin.listen);
      const tls = config.admin.tls === 'self-signed' ? await selfSignedTls(dataDir, 'admin') : config.admin.tls;
      const sshCertificates = sshCertificateIssuer(specs, dataDir, { policy, addresses, clock, audit, log: options.log.child({ component: 'ssh-ca' }) });
      admin = await startAdminServer({ listen: { host, port }, verifier, approvals, log: options.log.child({ component: 'admin' }), ...(tls ? { tls } : {}), ...(sshCertificates ? { sshCertificates } : {}), evidenceRead: evidenceReadHandler(audit) });
    }
    for (const spec of specs) {
      const factory = registry.get(spec.protocol)!;
      const adapter = factory.create({ connection: spec, gateway: core, log: options.log.child({ connection: spec.name }), clock, dataDir, limits });
      addresses.set(spec.name, await adapter.start());
      adapters.push(adapter);
    }
  } catch (error) {
    await Promise.all(adapters.map((adapter) => adapter.stop()));
    await admin?.stop();
    approvals.close();
    await audit.close();
    throw error;
  }
  await audit.append({ type: 'gateway.start', version: VERSION, connections: specs.map((spec) => spec.name) });
  // In the background: a target that is down must not delay or fail the start.
  void warnOfSuperuserTargets(config, specs, registry, options.log);

  let stopping: Promise<void> | undefined;
  return {
    addresses,
    dataDir,
    audit,
    approvals,
    ...(admin ? { admin: { address: admin.address, url: admin.url } } : {}),
    stop: () =>
      (stopping ??= (async () => {
        await admin?.stop();
        approvals.close();
        // Every adapter drains (commands in flight finish, up to limits.drainTimeoutSeconds) and
        // ends its sessions before the log gets its last record and is closed; one adapter that
        // fails to stop does not leave the log open.
        const stopped = await Promise.allSettled(adapters.map((adapter) => adapter.stop()));
        for (const result of stopped) if (result.status === 'rejected') options.log.error('an adapter did not stop cleanly', { error: toWardenError(result.reason).message });
        await audit.append({ type: 'gateway.stop', version: VERSION, connections: specs.map((spec) => spec.name) }).catch(() => undefined);
        await audit.close();
      })()),
  };
}

async function connectionSpecs(loaded: LoadedConfig, dataDir: string, registry: ReadonlyMap<string, AdapterFactory<unknown>>): Promise<ConnectionSpec[]> {
  const targets = parseConnectionTargets(loaded, registry);
  const specs: ConnectionSpec[] = [];
  for (const [index, connection] of loaded.config.connections.entries()) {
    const { host, port } = parseListen(connection.listen);
    const tls = connection.tls === 'self-signed' ? await selfSignedTls(dataDir, connection.name) : connection.tls;
    specs.push({
      name: connection.name,
      protocol: connection.protocol,
      listen: { host, port },
      target: targets[index]!.target,
      allowInsecureAuth: connection.allowInsecureAuth,
      ...(tls ? { tls } : {}),
    });
  }
  return specs;
}

/**
 * Each connection's target, validated by its protocol's adapter (`parseTarget`); an unknown
 * protocol or an invalid target is a config error located in the file.
 */
export function parseConnectionTargets(loaded: LoadedConfig, registry: ReadonlyMap<string, AdapterFactory<unknown>>): { readonly name: string; readonly protocol: string; readonly target: unknown }[] {
  return loaded.config.connections.map((connection, index) => {
    const factory = registry.get(connection.protocol);
    if (!factory) {
      throw loaded.locate(['connections', index, 'protocol'], `no adapter for protocol "${connection.protocol}" (available: ${[...registry.keys()].join(', ')})`);
    }
    try {
      return { name: connection.name, protocol: connection.protocol, target: factory.parseTarget(connection.target) };
    } catch (error) {
      if (error instanceof WardenError && error.code === 'config') throw loaded.locate(['connections', index, 'target', ...(error.path ?? [])], error.message);
      throw error;
    }
  });
}

async function createVerifier(config: GatewayConfig, dataDir: string, clock: Clock): Promise<TokenVerifier> {
  const issuers: IssuerConfig[] = [...config.identity.issuers];
  const localKeys = new Map<string, { keys: ReturnType<DevIssuer['publicJwks']>['keys'] }>();
  if (config.identity.devIssuer) {
    const dev = await DevIssuer.loadOrCreate(dataDir);
    issuers.push(dev.issuerConfig());
    localKeys.set(dev.issuerConfig().issuer, dev.publicJwks());
  }
  if (issuers.length === 0) throw new WardenError('config', 'identity: no token issuer is configured (add identity.issuers, or devIssuer: true for development)');
  return new TokenVerifier({ issuers, clock, localKeys, maxLifetimeSeconds: config.identity.maxTokenLifetimeSeconds });
}

/** `warden ssh login`'s certificate issuer, when any connection is `ssh`. */
function sshCertificateIssuer(
  specs: readonly ConnectionSpec[],
  dataDir: string,
  with_: { policy: PolicyEngine; addresses: ReadonlyMap<string, ListenAddress>; clock: Clock; audit: AuditSink; log: Logger },
): SshCertificateIssuer | undefined {
  const ssh = specs.filter((spec) => spec.protocol === 'ssh');
  if (ssh.length === 0) return undefined;
  let authority: Promise<SshCertificateAuthority> | undefined;
  return {
    connections: new Map(ssh.map((spec) => [spec.name, { maxCertificateSeconds: (spec.target as SshTarget).maxCertificateSeconds }])),
    authority: () => (authority ??= SshCertificateAuthority.open(dataDir)),
    accessFor: (identity, connection) => with_.policy.accessFor(identity, connection),
    addressOf: (connection) => with_.addresses.get(connection),
    clock: with_.clock,
    audit: with_.audit,
    log: with_.log,
  };
}

/** Signed checkpoints: the key from the data directory, the cadence and witness from `audit.checkpoint`. */
async function checkpointOptions(config: GatewayConfig, dataDir: string, options: StartGatewayOptions): Promise<AuditCheckpointOptions> {
  const { checkpoint } = config.audit;
  const log = options.log.child({ component: 'audit' });
  return {
    key: await loadOrCreateSigningKey(dataDir, config.audit.keyId),
    everyRecords: checkpoint.everyRecords,
    everySeconds: checkpoint.everySeconds,
    ...(checkpoint.witness ? { witness: checkpointWitness(checkpoint.witness, options.baseDir ?? process.cwd()) } : {}),
    onError: (error) => log.error('audit checkpoint not written or not witnessed', { error: error.message }),
  };
}

function parseListen(listen: string): ListenAddress {
  const separator = listen.lastIndexOf(':');
  return { host: listen.slice(0, separator).replace(/^\[|\]$/g, ''), port: Number(listen.slice(separator + 1)) };
}

/** Approval settings by rule name: each `review` rule's own, and each connection default's. */
function approvalRules(config: GatewayConfig): Map<string, Partial<ApprovalSettings>> {
  const rules = new Map<string, Partial<ApprovalSettings>>();
  for (const rule of config.rules) if (rule.approval) rules.set(rule.name, withoutUndefined(rule.approval));
  return rules;
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined)) as Partial<T>;
}

/** The configured limits over the defaults (`limits:` in the YAML; every key optional). */
function limitsOf(config: GatewayConfig): GatewayLimits {
  const configured = config.limits ?? {};
  const { authFailures, ...rest } = configured;
  return {
    ...DEFAULT_LIMITS,
    ...withoutUndefined(rest),
    authFailures: { ...DEFAULT_LIMITS.authFailures, ...withoutUndefined(authFailures ?? {}) },
  };
}
