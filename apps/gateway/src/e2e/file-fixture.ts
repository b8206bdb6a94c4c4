/**
 * What a test file sets up once for all its tests: values its `beforeAll` makes, and the common
 * case of a gateway in front of a fresh database, undone in `afterAll`.
 */

/** A value the test file's `beforeAll` makes; reading it before then (at module load) is a mistake in the test, said plainly. */
export class MadeInBeforeAll<T> {
  private value: T | undefined;

  constructor(private readonly what: string) {}

  set(value: T): T {
    this.value = value;
    return value;
  }

  get(): T {
    if (this.value === undefined) throw new Error(`the ${this.what} exists only from beforeAll on`);
    return this.value;
  }

  /** For `afterAll`, which also runs when `beforeAll` failed half-way. */
  getIfMade(): T | undefined {
    return this.value;
  }
}

export interface DatabaseGatewayFixture<D extends { readonly name: string }, G> {
  /** The test file's fresh database (read it inside hooks and tests: it exists from `beforeAll` on). */
  readonly database: D;
  /** The gateway in front of it (from `beforeAll` on, after `prepare`). */
  readonly gateway: G;
}

/**
 * Registers a `beforeAll` that creates a database, runs `prepare` on it and starts a gateway in
 * front of it, and an `afterAll` that stops the gateway and drops the database.
 */
export function databaseGatewayFixture<D extends { readonly name: string; drop(): Promise<void> }, G extends { stop(): Promise<void> }>(parts: {
  readonly createDatabase: () => Promise<D>;
  readonly prepare?: () => Promise<void>;
  readonly startGateway: (database: string) => Promise<G>;
}): DatabaseGatewayFixture<D, G> {
  const database = new MadeInBeforeAll<D>('test database');
  const gateway = new MadeInBeforeAll<G>('gateway');
  beforeAll(async () => {
    const { name } = database.set(await parts.createDatabase());
    await parts.prepare?.();
    gateway.set(await parts.startGateway(name));
  }, 60_000);
  afterAll(async () => {
    await gateway.getIfMade()?.stop();
    await database.getIfMade()?.drop();
  });
  return {
    get database() {
      return database.get();
    },
    get gateway() {
      return gateway.get();
    },
  };
}
