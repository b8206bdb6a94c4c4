import type net from 'node:net';
import { WardenError } from '@warden/core';
import { serialize } from 'pg-protocol';
import type { BackendMessage } from 'pg-protocol/dist/messages';
import { Parser } from 'pg-protocol/dist/parser';
import type { PostgresTarget } from './postgres-target';
import { connectTarget } from './target-connection';

/** A result column's origin: RowDescription's table OID and attribute number, resolved. */
export interface ColumnName {
  readonly schema: string;
  readonly table: string;
  readonly column: string;
  /**
   * False when the relation is not an ordinary or partitioned table: PostgreSQL attributes a view's
   * column to the view, not to the table behind it, so a rule on the table would not match.
   */
  readonly ordinaryTable?: boolean;
}

/** A column as RowDescription describes it. */
export interface DescribedField {
  readonly name: string;
  readonly tableOid: number;
  readonly attnum: number;
  readonly typeOid: number;
  readonly format: number;
}

/**
 * Resolves table OIDs to names through a side connection to the target with Warden's own
 * credentials (read-only), once per OID, and caches the answer. The cache is dropped after a
 * schema change seen on any session (`invalidate`) and ages out, so that a renamed column cannot
 * keep an old name for long.
 */
export interface ColumnResolver {
  /** The cached name, `null` for a known table without that column, undefined when not cached. */
  cached(tableOid: number, attnum: number): ColumnName | null | undefined;
  /** Look up the tables (one catalog query) and cache them. */
  resolve(tableOids: readonly number[]): Promise<void>;
  /** The columns a query would return (Parse + Describe on the side connection), for COPY output. */
  describe(query: string): Promise<DescribedField[]>;
  invalidate(): void;
  /**
   * What a relation named in a statement is: `table` when every relation of that name (in that
   * schema, or in any schema when none is named) is an ordinary or partitioned table; `other` when
   * one is a view, a materialized view, a foreign table…; `missing` when none exists. Undefined when
   * not cached. Absent: nothing is known of relations (computed columns over them are refused).
   */
  relationKind?(schema: string | undefined, name: string): RelationKind | undefined;
  /** Look up relations by name (one catalog query) and cache what they are. */
  resolveRelations?(relations: ReadonlyArray<{ readonly schema?: string; readonly name: string }>): Promise<void>;
  /**
   * Whether a function called by name (`name` or `schema.name`) is `builtin` (every function of
   * that name is in pg_catalog: its body reads no table of the database), `user` (some other is),
   * or `missing`. Undefined when not cached.
   */
  functionKind?(name: string): FunctionKind | undefined;
  /** Look up functions by name (one catalog query) and cache what they are. */
  resolveFunctions?(names: readonly string[]): Promise<void>;
}

export type FunctionKind = 'builtin' | 'user' | 'missing';

export type RelationKind = 'table' | 'other' | 'missing';

/**
 * Whether a relation's columns are its own values, so a column rule on it is the one that applies:
 * an ordinary or partitioned table, or a system view (pg_catalog, information_schema: catalog data,
 * read by drivers and psql) other than the pg_stats views, which quote sampled column values.
 */
function readsLikeTable(schema: string, name: string, relkind: string): boolean {
  if (relkind === 'r' || relkind === 'p') return true;
  return (schema === 'pg_catalog' || schema === 'information_schema') && !name.startsWith('pg_stats');
}

const CACHE_TTL_MS = 60_000;
const IDLE_CLOSE_MS = 10_000;
const QUERY_TIMEOUT_MS = 10_000;

interface Request {
  readonly messages: Buffer;
  readonly resolve: (messages: BackendMessage[]) => void;
  readonly reject: (error: Error) => void;
}

class TargetColumnResolver implements ColumnResolver {
  private readonly tables = new Map<number, { readonly at: number; readonly columns: Map<number, ColumnName> }>();
  private socket: net.Socket | undefined;
  private connecting: Promise<net.Socket> | undefined;
  private readonly queue: Request[] = [];
  private busy = false;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(private readonly target: PostgresTarget) {}

  /** Relation name → the schemas and kinds (pg_class.relkind) of the relations so named. */
  private readonly relations = new Map<string, { readonly at: number; readonly found: ReadonlyArray<{ readonly schema: string; readonly relkind: string }> }>();

  relationKind(schema: string | undefined, name: string): RelationKind | undefined {
    const entry = this.relations.get(name);
    if (!entry || Date.now() - entry.at > CACHE_TTL_MS) return undefined;
    const found = schema === undefined ? entry.found : entry.found.filter((r) => r.schema === schema);
    if (found.length === 0) return 'missing';
    return found.every((r) => readsLikeTable(r.schema, name, r.relkind)) ? 'table' : 'other';
  }

  resolveRelations(relations: ReadonlyArray<{ readonly schema?: string; readonly name: string }>): Promise<void> {
    const names = [...new Set(relations.map((r) => r.name))].sort();
    if (names.length === 0) return Promise.resolve();
    return this.shared(`relations:${JSON.stringify(names)}`, () => this.lookUpRelations(names));
  }

  private async lookUpRelations(names: readonly string[]): Promise<void> {
    // Names come from client text: bound as parameters, never inlined.
    const placeholders = names.map((_, i) => `$${i + 1}`).join(', ');
    const messages = await this.request(
      Buffer.concat([
        serialize.parse({
          name: '',
          text: `SELECT n.nspname, c.relname, c.relkind::text FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relname IN (${placeholders})`,
          types: [],
        }),
        serialize.bind({ values: [...names] }),
        serialize.execute({}),
        serialize.sync(),
      ]),
    );
    const now = Date.now();
    const found = new Map<string, Array<{ schema: string; relkind: string }>>(names.map((name) => [name, []]));
    for (const message of messages) {
      if (message.name !== 'dataRow') continue;
      const [schema, name, relkind] = (message as unknown as { fields: string[] }).fields;
      found.get(name!)?.push({ schema: schema!, relkind: relkind! });
    }
    for (const [name, list] of found) this.relations.set(name, { at: now, found: list });
  }

  /** Function name → the schemas of the functions so named. */
  private readonly functions = new Map<string, { readonly at: number; readonly schemas: readonly string[] }>();

  functionKind(written: string): FunctionKind | undefined {
    const parts = written.split('.');
    const name = parts[parts.length - 1]!;
    const schema = parts.length > 1 ? parts[parts.length - 2] : undefined;
    const entry = this.functions.get(name);
    if (!entry || Date.now() - entry.at > CACHE_TTL_MS) return undefined;
    const schemas = schema === undefined ? entry.schemas : entry.schemas.filter((s) => s === schema);
    if (schemas.length === 0) return 'missing';
    return schemas.every((s) => s === 'pg_catalog') ? 'builtin' : 'user';
  }

  resolveFunctions(written: readonly string[]): Promise<void> {
    const names = [...new Set(written.map((w) => w.split('.').pop()!))].sort();
    if (names.length === 0) return Promise.resolve();
    return this.shared(`functions:${JSON.stringify(names)}`, () => this.lookUpFunctions(names));
  }

  private async lookUpFunctions(names: readonly string[]): Promise<void> {
    // Names come from client text: bound as parameters, never inlined.
    const placeholders = names.map((_, i) => `$${i + 1}`).join(', ');
    const messages = await this.request(
      Buffer.concat([
        serialize.parse({
          name: '',
          text: `SELECT DISTINCT n.nspname, p.proname FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace WHERE p.proname IN (${placeholders})`,
          types: [],
        }),
        serialize.bind({ values: [...names] }),
        serialize.execute({}),
        serialize.sync(),
      ]),
    );
    const now = Date.now();
    const found = new Map<string, string[]>(names.map((name) => [name, []]));
    for (const message of messages) {
      if (message.name !== 'dataRow') continue;
      const [schema, name] = (message as unknown as { fields: string[] }).fields;
      found.get(name!)?.push(schema!);
    }
    for (const [name, schemas] of found) this.functions.set(name, { at: now, schemas });
  }

  cached(tableOid: number, attnum: number): ColumnName | null | undefined {
    const table = this.tables.get(tableOid);
    if (!table || Date.now() - table.at > CACHE_TTL_MS) return undefined;
    return table.columns.get(attnum) ?? null;
  }

  /** Lookups on their way, by what they look up: sessions asking the same at once share one. */
  private readonly inFlight = new Map<string, Promise<unknown>>();

  resolve(tableOids: readonly number[]): Promise<void> {
    const oids = [...new Set(tableOids)].filter((oid) => Number.isInteger(oid) && oid > 0).sort((a, b) => a - b);
    if (oids.length === 0) return Promise.resolve();
    return this.shared(`oids:${oids.join(',')}`, () => this.lookUp(oids));
  }

  describe(query: string): Promise<DescribedField[]> {
    return this.shared(`describe:${query}`, () => this.describeNow(query));
  }

  private shared<T>(key: string, work: () => Promise<T>): Promise<T> {
    const running = this.inFlight.get(key) as Promise<T> | undefined;
    if (running) return running;
    const started = work().finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, started);
    return started;
  }

  private async lookUp(oids: readonly number[]): Promise<void> {
    // OIDs are integers from the wire, never client text: safe to inline.
    const messages = await this.request(
      serialize.query(
        `SELECT c.oid, n.nspname, c.relname, a.attnum, a.attname, c.relkind::text FROM pg_catalog.pg_class c ` +
          `JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace ` +
          `JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped ` +
          `WHERE c.oid IN (${oids.join(',')})`,
      ),
    );
    const now = Date.now();
    const found = new Map<number, Map<number, ColumnName>>(oids.map((oid) => [oid, new Map()]));
    for (const message of messages) {
      if (message.name !== 'dataRow') continue;
      const [oid, schema, table, attnum, column, relkind] = (message as unknown as { fields: string[] }).fields;
      found.get(Number(oid))?.set(Number(attnum), { schema: schema!, table: table!, column: column!, ordinaryTable: readsLikeTable(schema!, table!, relkind!) });
    }
    for (const [oid, columns] of found) this.tables.set(oid, { at: now, columns });
  }

  private async describeNow(query: string): Promise<DescribedField[]> {
    const messages = await this.request(
      Buffer.concat([serialize.parse({ name: '', text: query, types: [] }), serialize.describe({ type: 'S', name: '' }), serialize.sync()]),
    );
    const description = messages.find((m) => m.name === 'rowDescription') as
      | { fields: Array<{ name: string; tableID: number; columnID: number; dataTypeID: number; format: string }> }
      | undefined;
    if (!description) throw new WardenError('masking', 'the columns of a COPY could not be described');
    return description.fields.map((f) => ({ name: f.name, tableOid: f.tableID, attnum: f.columnID, typeOid: f.dataTypeID, format: 0 }));
  }

  invalidate(): void {
    this.tables.clear();
    this.relations.clear();
    this.functions.clear();
  }

  private request(messages: Buffer): Promise<BackendMessage[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ messages, resolve, reject });
      void this.pump();
    });
  }

  private async pump(): Promise<void> {
    if (this.busy) return;
    const request = this.queue.shift();
    if (!request) return;
    this.busy = true;
    clearTimeout(this.idleTimer);
    try {
      const socket = await this.connection();
      request.resolve(await exchange(socket, request.messages));
    } catch (error) {
      this.drop();
      request.reject(error instanceof WardenError ? error : new WardenError('masking', `column lookup failed: ${(error as Error).message}`, { cause: error }));
    } finally {
      this.busy = false;
      if (this.queue.length > 0) void this.pump();
      else this.idleTimer = setTimeout(() => this.drop(), IDLE_CLOSE_MS).unref();
    }
  }

  private connection(): Promise<net.Socket> {
    if (this.socket && !this.socket.destroyed) return Promise.resolve(this.socket);
    this.connecting ??= connectTarget({
      target: this.target,
      parameters: { application_name: 'warden-masking-catalog', default_transaction_read_only: 'on' },
      timeoutMs: QUERY_TIMEOUT_MS,
    }).then(
      (connection) => {
        this.connecting = undefined;
        this.socket = connection.socket;
        connection.socket.on('error', () => this.drop());
        connection.socket.on('close', () => this.drop());
        // A cache helper must never keep the process alive on its own.
        connection.socket.unref();
        return connection.socket;
      },
      (error: unknown) => {
        this.connecting = undefined;
        throw error;
      },
    );
    return this.connecting;
  }

  private drop(): void {
    const socket = this.socket;
    this.socket = undefined;
    socket?.destroy();
  }
}

/** Writes `messages` and collects the answers up to ReadyForQuery; an ErrorResponse rejects. */
function exchange(socket: net.Socket, messages: Buffer): Promise<BackendMessage[]> {
  return new Promise((resolve, reject) => {
    const parser = new Parser();
    const collected: BackendMessage[] = [];
    let error: Error | undefined;
    const timer = setTimeout(() => finish(new WardenError('masking', 'column lookup timed out')), QUERY_TIMEOUT_MS);
    const finish = (failure?: Error) => {
      clearTimeout(timer);
      socket.removeListener('data', onData);
      socket.removeListener('close', onClose);
      if (failure) reject(failure);
      else resolve(collected);
    };
    const onData = (chunk: Buffer) =>
      parser.parse(chunk, (message) => {
        if (message.name === 'error') error ??= new WardenError('masking', `column lookup failed: ${(message as unknown as { message: string }).message}`);
        else if (message.name === 'readyForQuery') finish(error);
        else collected.push(message);
      });
    const onClose = () => finish(new WardenError('masking', 'the column lookup connection closed'));
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.write(messages);
  });
}

const resolvers = new Map<string, ColumnResolver>();

/** The resolver shared by every session on one target (one cache, one side connection). */
export function columnResolverFor(target: PostgresTarget): ColumnResolver {
  const key = JSON.stringify([target.host, target.port, target.database, target.user]);
  let resolver = resolvers.get(key);
  if (!resolver) {
    resolver = new TargetColumnResolver(target);
    resolvers.set(key, resolver);
  }
  return resolver;
}
