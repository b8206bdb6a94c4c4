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
  let sshd: PrivateSshd | undefined;
  let dataDir: string | undefined;
  let gateway: RunningGateway | undefined;
  let dev: DevIssuer | undefined;
  beforeAll(async () => {
    sshd = await startPrivateSshd();
    dataDir = await mkdtemp(path.join(tmpdir(), 'warden-ssh-e2e-'));
    const yaml = `
dataDir: ${JSON.stringify(dataDir)}
identity: { devIssuer: true }
${await configure(sshd)}
`;
    gateway = await startGateway(parseConfig(yaml, 'ssh-test.yaml'), { log: silentLogger });
    dev = await DevIssuer.loadOrCreate(dataDir);
  });
  afterAll(async () => {
    await gateway?.stop();
    await sshd?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });
  const started = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`the ${what} exists only from beforeAll on`);
    return value;
  };
  return {
    get sshd() {
      return started(sshd, 'sshd');
    },
    get dataDir() {
      return started(dataDir, 'data directory');
    },
    get gateway() {
      return started(gateway, 'gateway');
    },
    get dev() {
      return started(dev, 'development issuer');
    },
    get port() {
      return started(gateway, 'gateway').addresses.get('box')!.port;
    },
    auditRecords: () => readAuditRecords<AuditEntry>(started(dataDir, 'data directory')),
  };
}
