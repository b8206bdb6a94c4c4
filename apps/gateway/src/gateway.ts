import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import {
  DevIssuer,
  FileAuditLog,
  GatewayCore,
  PolicyEngine,
  TokenVerifier,
  WardenError,
  type Adapter,
  type AuditSink,
  type Clock,
  type IssuerConfig,
  type ListenAddress,
  type ConnectionSpec,
  type Logger,
  systemClock,
} from '@warden/core';
import { ADAPTERS } from './adapters';
import type { GatewayConfig } from './config/config-schema';
import type { LoadedConfig } from './config/load-config';
import { selfSignedTls } from './tls-material';
import { VERSION } from './version';

export interface RunningGateway {
  /** The bound address of each connection's listener, by connection name. */
  readonly addresses: ReadonlyMap<string, ListenAddress>;
  readonly dataDir: string;
  readonly audit: AuditSink;
  stop(): Promise<void>;
}

export interface StartGatewayOptions {
  readonly log: Logger;
  readonly clock?: Clock;
  /** Resolve a relative data directory against this (the config file's directory). */
  readonly baseDir?: string;
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

  const specs = await connectionSpecs(loaded, dataDir);
  const verifier = await createVerifier(config, dataDir, clock);
  const audit = await FileAuditLog.open({ dir: dataDir, clock });
  const core = new GatewayCore({
    verifier,
    policy: new PolicyEngine({ grants: config.grants, rules: config.rules }),
    audit,
    connections: new Map(specs.map((spec) => [spec.name, { protocol: spec.protocol }])),
    log: options.log,
    clock,
  });

  const adapters: Adapter[] = [];
  const addresses = new Map<string, ListenAddress>();
  try {
    for (const spec of specs) {
      const factory = ADAPTERS.get(spec.protocol)!;
      const adapter = factory.create({ connection: spec, gateway: core, log: options.log.child({ connection: spec.name }), clock });
      addresses.set(spec.name, await adapter.start());
      adapters.push(adapter);
    }
  } catch (error) {
    await Promise.all(adapters.map((adapter) => adapter.stop()));
    await audit.close();
    throw error;
  }
  await audit.append({ type: 'gateway.start', version: VERSION, connections: specs.map((spec) => spec.name) });

  let stopping: Promise<void> | undefined;
  return {
    addresses,
    dataDir,
    audit,
    stop: () =>
      (stopping ??= (async () => {
        await Promise.all(adapters.map((adapter) => adapter.stop()));
        await audit.append({ type: 'gateway.stop', version: VERSION, connections: specs.map((spec) => spec.name) }).catch(() => undefined);
        await audit.close();
      })()),
  };
}

async function connectionSpecs(loaded: LoadedConfig, dataDir: string): Promise<ConnectionSpec[]> {
  const specs: ConnectionSpec[] = [];
  for (const [index, connection] of loaded.config.connections.entries()) {
    const factory = ADAPTERS.get(connection.protocol);
    if (!factory) {
      throw loaded.locate(['connections', index, 'protocol'], `no adapter for protocol "${connection.protocol}" (available: ${[...ADAPTERS.keys()].join(', ')})`);
    }
    let target: unknown;
    try {
      target = factory.parseTarget(connection.target);
    } catch (error) {
      if (error instanceof WardenError && error.code === 'config') throw loaded.locate(['connections', index, 'target', ...(error.path ?? [])], error.message);
      throw error;
    }
    const separator = connection.listen.lastIndexOf(':');
    const host = connection.listen.slice(0, separator).replace(/^\[|\]$/g, '');
    const port = Number(connection.listen.slice(separator + 1));
    const tls = connection.tls === 'self-signed' ? await selfSignedTls(dataDir, connection.name) : connection.tls;
    specs.push({
      name: connection.name,
      protocol: connection.protocol,
      listen: { host, port },
      target,
      allowInsecureAuth: connection.allowInsecureAuth,
      ...(tls ? { tls } : {}),
    });
  }
  return specs;
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
  return new TokenVerifier({ issuers, clock, localKeys });
}
