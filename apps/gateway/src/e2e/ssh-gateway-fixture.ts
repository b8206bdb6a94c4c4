/**
 * The usual setup of an SSH end-to-end test file, once: a private sshd, a gateway in front of it
 * with the configuration the file writes, the gateway's development issuer and its audit log.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DevIssuer, silentLogger } from '@warden/core';
import { startPrivateSshd, type PrivateSshd } from '@warden/testing';
import { parseConfig } from '../config/load-config';
import { startGateway, type RunningGateway } from '../gateway';
import { MadeInBeforeAll } from './file-fixture';
import { readAuditRecords } from './harness';

/** An audit record as stored, its fields by name. */
export interface AuditEntry {
  readonly type: string;
  readonly [field: string]: unknown;
}

export interface SshGatewayFixture {
  readonly sshd: PrivateSshd;
  /** The gateway's data directory (audit log, CA, keys); removed after the file's tests. */
  readonly dataDir: string;
  readonly gateway: RunningGateway;
  /** The gateway's development issuer, for tokens. */
  readonly dev: DevIssuer;
  /** Where connection `box` listens. */
  readonly port: number;
  /** The audit log's records so far. */
  auditRecords(): Promise<AuditEntry[]>;
}

/** The fields of an ssh connection's `target: { … }` that reach `sshd`: address, user, key, host key. */
export function sshdTarget(sshd: PrivateSshd): string {
  return `host: 127.0.0.1, port: ${sshd.port}, user: ${sshd.user}, privateKey: ${JSON.stringify(sshd.clientPrivateKey)}, hostKey: "${sshd.hostKeyFingerprint}"`;
}

/**
 * A private sshd and a gateway in front of it for the tests of one file: registers a `beforeAll`
 * that starts the sshd, asks `configure` for the gateway's YAML below `dataDir:` and
 * `identity: { devIssuer: true }` (connections, with one named `box`; grants; rules; `admin:`) and
 * starts the gateway, and an `afterAll` that stops both and removes the data directory.
 *
 *   const fixture = sshGatewayFixture((sshd) => `
 *   connections:
 *     - { name: box, protocol: ssh, listen: 127.0.0.1:0, target: { ${sshdTarget(sshd)} } }
 *   grants:
 *     - { connection: box, groups: [ops], access: full }`);
 */
export function sshGatewayFixture(configure: (sshd: PrivateSshd) => string | Promise<string>): SshGatewayFixture {
  const sshd = new MadeInBeforeAll<PrivateSshd>('sshd');
  const dataDir = new MadeInBeforeAll<string>('data directory');
  const gateway = new MadeInBeforeAll<RunningGateway>('gateway');
  const dev = new MadeInBeforeAll<DevIssuer>('development issuer');
  beforeAll(async () => {
    const server = sshd.set(await startPrivateSshd());
    const directory = dataDir.set(await mkdtemp(path.join(tmpdir(), 'warden-ssh-e2e-')));
    const yaml = `
dataDir: ${JSON.stringify(directory)}
identity: { devIssuer: true }
${await configure(server)}
`;
    gateway.set(await startGateway(parseConfig(yaml, 'ssh-test.yaml'), { log: silentLogger }));
    dev.set(await DevIssuer.loadOrCreate(directory));
  });
  afterAll(async () => {
    await gateway.getIfMade()?.stop();
    await sshd.getIfMade()?.stop();
    const directory = dataDir.getIfMade();
    if (directory) await rm(directory, { recursive: true, force: true });
  });
  return {
    get sshd() {
      return sshd.get();
    },
    get dataDir() {
      return dataDir.get();
    },
    get gateway() {
      return gateway.get();
    },
    get dev() {
      return dev.get();
    },
    get port() {
      return gateway.get().addresses.get('box')!.port;
    },
    auditRecords: () => readAuditRecords<AuditEntry>(dataDir.get()),
  };
}
