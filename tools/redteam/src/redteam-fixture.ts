/**
 * The setup a red-team suite file shares with the others: its private target started once, a
 * gateway in front of it with one connection, both stopped after the file, and one token per grant
 * (each attack opens its own session with it).
 */
import type { Grant } from './grant';
import { startMysqlTarget, type MysqlTarget } from './mysql-target';
import { startPostgresTarget, TARGET_DATABASE, TARGET_USER, type PostgresTarget } from './postgres-target';
import { startRedteamGateway, type RedteamGateway, type TargetSection } from './redteam-gateway';

export interface RedteamFixture<T> {
  /** The target (read it inside hooks and tests: it exists from `beforeAll` on). */
  readonly target: T;
  /** The gateway in front of it (from `beforeAll` on). */
  readonly gateway: RedteamGateway;
  /** A token for `grant`, the same one for the whole file. */
  token(grant: Grant): Promise<string>;
}

/**
 * Registers a `beforeAll` that starts the target and a gateway whose one connection is
 * `connection(target)`, and an `afterAll` that stops both.
 */
export function redteamFixture<T extends { stop(): Promise<void> }>(startTarget: () => Promise<T>, connection: (target: T) => TargetSection): RedteamFixture<T> {
  let target: T | undefined;
  let gateway: RedteamGateway | undefined;
  const tokens = new Map<Grant, Promise<string>>();
  beforeAll(async () => {
    target = await startTarget();
    gateway = await startRedteamGateway([connection(target)]);
  }, 60_000);
  afterAll(async () => {
    await gateway?.stop();
    await target?.stop();
  });
  const made = <V>(value: V | undefined, what: string): V => {
    if (value === undefined) throw new Error(`the ${what} exists only from beforeAll on`);
    return value;
  };
  return {
    get target() {
      return made(target, 'target');
    },
    get gateway() {
      return made(gateway, 'gateway');
    },
    token(grant) {
      let pending = tokens.get(grant);
      if (!pending) tokens.set(grant, (pending = made(gateway, 'gateway').token(grant)));
      return pending;
    },
  };
}

/** A private Postgres (logging every statement) behind the connection `name`. */
export function postgresRedteamFixture(name: string): RedteamFixture<PostgresTarget> {
  return redteamFixture(startPostgresTarget, (target) => ({
    name,
    protocol: 'postgres',
    target: `{ host: 127.0.0.1, port: ${target.server.port}, database: ${TARGET_DATABASE}, user: ${TARGET_USER.name}, password: ${TARGET_USER.password} }`,
  }));
}

/** A database of its own on the machine's MariaDB behind the connection `name` (over TLS). */
export function mysqlRedteamFixture(name: string): RedteamFixture<MysqlTarget> {
  return redteamFixture(startMysqlTarget, (target) => ({
    name,
    protocol: 'mysql',
    extra: '    tls: self-signed',
    target: `{ host: 127.0.0.1, port: 3306, database: ${target.database}, user: ${target.user}, password: ${target.password} }`,
  }));
}
