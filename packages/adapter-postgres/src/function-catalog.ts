import type net from 'node:net';
import { WardenError, type AccessLevel, type Classification, type StatementClass } from '@warden/core';
import { classifyPostgres, formatQualifiedName, parseOperatorName, parseQualifiedName, strongerAction } from '@warden/sql';
import { serialize } from 'pg-protocol';
import type { BackendMessage } from 'pg-protocol/dist/messages';
import { Parser } from 'pg-protocol/dist/parser';
import type { PostgresTarget } from './postgres-target';
import { functionRefusal } from './read-only-functions';
import { RelationDefinitions, type PolicyRow, type Relation, type RelationRow } from './relation-definitions';
import { settingVerdict, type SettingVerdict, type TargetSettings } from './setting-contexts';
import { connectTarget } from './target-connection';

/** Changes made to functions outside Warden are seen after at most this long. */
const CATALOG_TTL_MS = 60_000;
/** A name missing from the catalog reloads it, but not more often than this (a client could send made-up names). */
const MISSING_RELOAD_MS = 200;
/** After a failed load, statements that call functions fail at once for this long instead of waiting on the target again. */
const FAILED_RETRY_MS = 5_000;
const QUERY_TIMEOUT_MS = 10_000;
/** Views over views deeper than this are not followed: a read of one is `unknown`. */
const MAX_VIEW_DEPTH = 16;

/**
 * One row per function (pg_proc) and one per operator with the function it runs (pg_operator.oprcode).
 * The catalog is read with Warden's own credentials, so it holds what the target has, whoever asks.
 */
const CATALOG_QUERY =
  // An aggregate is always marked immutable: what it runs are its support functions, so it is as
  // volatile as the most volatile of them.
  // on_row: callable as `row.name` (one argument, maybe more with defaults, that a row fits).
  `SELECT n.nspname, p.proname, CASE WHEN p.prokind = 'a' THEN coalesce((SELECT CASE WHEN bool_or(f.provolatile = 'v') THEN 'v' WHEN bool_or(f.provolatile = 's') THEN 's' ELSE 'i' END ` +
  `FROM pg_catalog.pg_aggregate a JOIN pg_catalog.pg_proc f ON f.oid IN (a.aggtransfn, a.aggfinalfn, a.aggcombinefn, a.aggserialfn, a.aggdeserialfn, a.aggmtransfn, a.aggminvtransfn, a.aggmfinalfn) ` +
  `WHERE a.aggfnoid = p.oid), 'v') ELSE p.provolatile::text END, p.pronargs >= 1 AND p.pronargs - p.pronargdefaults <= 1 AND ` +
  `coalesce(t.typtype = 'c' OR t.typname IN ('record', 'any', 'anyelement', 'anynonarray', 'anycompatible', 'anycompatiblenonarray'), false), p.oid ` +
  `FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace LEFT JOIN pg_catalog.pg_type t ON t.oid = p.proargtypes[0];` +
  `SELECT n.nspname, o.oprname, fn.nspname, f.proname, f.provolatile FROM pg_catalog.pg_operator o ` +
  `JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace JOIN pg_catalog.pg_proc f ON f.oid = o.oprcode ` +
  `JOIN pg_catalog.pg_namespace fn ON fn.oid = f.pronamespace;` +
  // Who may change each setting (setting-contexts.ts): names compare case-insensitively.
  `SELECT lower(name), context FROM pg_catalog.pg_settings;` +
  // Modules that may define settings later in a session, under their own name as prefix.
  `SELECT lower(name) FROM pg_catalog.pg_available_extensions UNION SELECT lower(lanname) FROM pg_catalog.pg_language;` +
  // Relations a statement may read, with what reading them runs (relation-definitions.ts): view
  // definitions, and the USING expressions of SELECT and ALL policies (row security).
  `SELECT n.nspname, c.relname, c.relkind, CASE WHEN c.relkind = 'v' THEN pg_catalog.pg_get_viewdef(c.oid) END FROM pg_catalog.pg_class c ` +
  `JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S');` +
  `SELECT n.nspname, c.relname, pg_catalog.pg_get_expr(p.polqual, p.polrelid) FROM pg_catalog.pg_policy p JOIN pg_catalog.pg_class c ON c.oid = p.polrelid ` +
  `JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE p.polcmd IN ('r', '*') AND p.polqual IS NOT NULL`;

/** A function as the catalog has it: where it lives, and its volatility (`i`, `s`, `v`). */
interface Routine {
  readonly schema: string;
  readonly name: string;
  readonly volatility: string;
  /** Callable in functional notation, `row.name`. */
  readonly onRow?: boolean;
  /** pg_proc.oid: the fast-path interface calls functions by it. */
  readonly oid?: number;
}

/** An operator's schema and the function it runs. */
interface OperatorRoutine extends Routine {
  readonly operatorSchema: string;
}

/** What the catalog says of one name a statement calls: fine, why not, or that it does not know it. */
type NameVerdict = { readonly kind: 'fine' } | { readonly kind: 'refused'; readonly note: string } | { readonly kind: 'missing' };

const FINE: NameVerdict = { kind: 'fine' };
const MISSING: NameVerdict = { kind: 'missing' };

class Snapshot {
  private readonly verdicts = new Map<string, NameVerdict>();
  /** Judged classifications of this snapshot: classifications are cached and frozen, so the same text is judged once. */
  readonly judged = new WeakMap<Classification, Classification>();

  private readonly byOid = new Map<number, Routine>();

  constructor(
    readonly loadedAt: number,
    private readonly functions: ReadonlyMap<string, readonly Routine[]>,
    private readonly operators: ReadonlyMap<string, readonly OperatorRoutine[]>,
    /** The target's settings with their `pg_settings.context`, and the modules that may add more. */
    private readonly targetSettings: TargetSettings,
    /** The target's relations, with what reading a view or a table with policies runs. */
    readonly relations: RelationDefinitions,
  ) {
    for (const routines of functions.values()) for (const routine of routines) if (routine.oid !== undefined) this.byOid.set(routine.oid, routine);
  }

  /** The function a fast-path FunctionCall names by OID, judged; undefined when the catalog does not hold it. */
  fastPath(oid: number): { readonly routine: Routine; readonly refusal: string | undefined } | undefined {
    const routine = this.byOid.get(oid);
    return routine && { routine, refusal: functionRefusal(routine.schema, routine.name, routine.volatility) };
  }

  function(written: string): NameVerdict {
    const key = `f:${written}`;
    let verdict = this.verdicts.get(key);
    if (verdict === undefined) {
      const name = parseQualifiedName(written);
      // Unqualified: any schema (search_path decides at run time), any overload.
      const routines = name === undefined ? [] : (this.functions.get(name.name) ?? []).filter((routine) => name.schema === undefined || routine.schema === name.schema);
      verdict = judgeRoutines(routines);
      this.verdicts.set(key, verdict);
    }
    return verdict;
  }

  /** The first of `names` (settings a statement changes) that only a superuser may change or the target does not have. */
  settings(names: readonly string[]): SettingVerdict {
    for (const name of names) {
      const verdict = settingVerdict(name, this.targetSettings);
      if (verdict.kind !== 'fine') return verdict;
    }
    return { kind: 'fine' };
  }

  /** Verdicts of relations a statement names directly (nested ones are judged again in their context). */
  readonly relationVerdicts = new Map<Relation, StatementVerdict>();

  /** A `row.name` selection: fine when no function of that name can take a row (it is a column). */
  rowField(written: string): NameVerdict {
    const key = `r:${written}`;
    let verdict = this.verdicts.get(key);
    if (verdict === undefined) {
      const name = parseQualifiedName(written);
      const routines = name === undefined ? [] : (this.functions.get(name.name) ?? []).filter((routine) => routine.onRow === true);
      verdict = routines.length === 0 ? FINE : judgeRoutines(routines);
      this.verdicts.set(key, verdict);
    }
    return verdict;
  }

  operator(written: string): NameVerdict {
    const key = `o:${written}`;
    let verdict = this.verdicts.get(key);
    if (verdict === undefined) {
      const name = parseOperatorName(written);
      const routines = name === undefined ? [] : (this.operators.get(name.name) ?? []).filter((routine) => name.schema === undefined || routine.operatorSchema === name.schema);
      verdict = judgeRoutines(routines);
      this.verdicts.set(key, verdict);
    }
    return verdict;
  }
}

function judgeRoutines(routines: readonly Routine[]): NameVerdict {
  if (routines.length === 0) return MISSING;
  for (const routine of routines) {
    const refusal = functionRefusal(routine.schema, routine.name, routine.volatility);
    if (refusal !== undefined) return { kind: 'refused', note: refusal };
  }
  return FINE;
}

/**
 * The target's functions and operators with their volatility, shared by every session on one
 * target, so that a `read` is a read only when everything it calls is (see `read-only-functions.ts`);
 * and its settings with who may change them (see `setting-contexts.ts`).
 * Loaded on a short-lived read-only connection with Warden's credentials; reloaded after a TTL, after
 * `invalidate` (DDL through Warden), and once when a statement names a function it does not know.
 */
export class FunctionCatalog {
  private snapshot: Snapshot | undefined;
  private loading: { readonly startedAt: number; readonly snapshot: Promise<Snapshot> } | undefined;
  private invalidatedAt = 0;
  private failedAt = -Infinity;
  private failure: string | undefined;

  constructor(
    /** Reads the catalog; the snapshot carries `startedAt` as its time (what changed during the load may be missing). */
    private readonly load: (startedAt: number) => Promise<Snapshot>,
    private readonly now: () => number = Date.now,
  ) {}

  /** Forget what is known: functions may have been created, replaced or dropped. */
  invalidate(): void {
    this.invalidatedAt = this.now();
  }

  /**
   * The classification with every `read` statement judged by what it calls: a statement calling a
   * function outside the allowlist becomes `write`; one calling a name the catalog does not hold
   * (after one reload), or any function while the catalog cannot be loaded, becomes `unknown` below
   * `full` access (`write` on full access, whose grant allows that, so that rules on writes still see it).
   * A statement that changes a setting whose context is not `user` becomes `admin`; one that
   * changes a setting the target does not have (after one reload) becomes `unknown` below `full`
   * (see `setting-contexts.ts`). Synchronous (no promise) when the catalog at hand answers.
   */
  judge(classification: Classification, access: AccessLevel): Classification | Promise<Classification> {
    if (!classification.statements.some(needsCatalog)) return classification;
    const snapshot = this.fresh();
    if (snapshot !== undefined) {
      const judged = this.judgeWith(snapshot, classification, access, false);
      if (judged !== undefined) return judged;
    }
    return this.judgeAfterLoad(snapshot, classification, access);
  }

  /**
   * A fast-path FunctionCall of the function with OID `oid`, classified as a SELECT of it would be:
   * `read` for a function a read may call, `write` otherwise, `unknown` (`write` on full access)
   * for an OID the catalog does not hold after one reload, or when the catalog cannot be read.
   */
  judgeFastPath(oid: number, access: AccessLevel): Classification | Promise<Classification> {
    const snapshot = this.fresh();
    const known = snapshot?.fastPath(oid);
    if (known !== undefined) return fastPathClassification(known.routine, known.refusal);
    return (async () => {
      let loaded: Snapshot;
      try {
        loaded = snapshot !== undefined && this.now() - snapshot.loadedAt < MISSING_RELOAD_MS ? snapshot : await this.reload();
      } catch (error) {
        return single({ action: access === 'full' ? 'write' : 'unknown', objects: [], bulk: false, note: `fast-path function call, and the target's function catalog could not be read (${(error as Error).message})` });
      }
      const found = loaded.fastPath(oid);
      if (found !== undefined) return fastPathClassification(found.routine, found.refusal);
      return single({ action: access === 'full' ? 'write' : 'unknown', objects: [], bulk: false, note: `fast-path call of function OID ${oid}, which the target's catalog does not hold` });
    })();
  }

  private async judgeAfterLoad(stale: Snapshot | undefined, classification: Classification, access: AccessLevel): Promise<Classification> {
    let snapshot: Snapshot;
    try {
      // A fresh snapshot missed a name: reload once (the function may be new), unless it just was.
      snapshot = stale !== undefined && this.now() - stale.loadedAt < MISSING_RELOAD_MS ? stale : await this.reload();
    } catch (error) {
      return unavailable(classification, access, (error as Error).message);
    }
    return this.judgeWith(snapshot, classification, access, true) ?? classification;
  }

  /** The judged classification, or undefined when a name is missing and `final` is false (reload first). */
  private judgeWith(snapshot: Snapshot, classification: Classification, access: AccessLevel, final: boolean): Classification | undefined {
    const memo = snapshot.judged.get(classification);
    if (memo !== undefined) return memo;
    let changed = false;
    /** The judgement depends on more than the snapshot (a missing name, the access level): not memoised. */
    let uncached = false;
    const statements: StatementClass[] = [];
    for (const original of classification.statements) {
      let statement = original;
      if (statement.settings !== undefined) {
        const verdict = snapshot.settings(statement.settings);
        if (verdict.kind === 'missing' && !final) return undefined;
        uncached ||= verdict.kind === 'missing' || verdict.kind === 'unknown';
        // Raised on full access too, so that rules on admin commands see it.
        if (verdict.kind === 'refused') statement = { ...statement, action: strongerAction(statement.action, 'admin'), note: verdict.note };
        else if (verdict.kind !== 'fine' && access !== 'full') statement = { ...statement, action: 'unknown', note: verdict.note };
      }
      if (needsFunctionCatalog(statement)) {
        const verdict = judgeStatement(snapshot, statement, []);
        if (verdict.kind === 'missing' && !final) return undefined;
        // A missing relation is fine once reloaded (a table the target will say does not exist), but asked again next time.
        uncached ||= verdict.kind === 'missing' || verdict.kind === 'missing-relation' || verdict.kind === 'unknown';
        if (verdict.kind === 'refused') statement = { ...statement, action: 'write', note: verdict.note };
        else if (verdict.kind === 'missing-relation' && !final) return undefined;
        else if (verdict.kind === 'missing') statement = { ...statement, action: access === 'full' ? 'write' : 'unknown', note: `calls ${verdict.name}, which the target's catalog does not hold` };
        else if (verdict.kind === 'unknown') statement = { ...statement, action: access === 'full' ? 'write' : 'unknown', note: verdict.note };
      }
      changed ||= statement !== original;
      statements.push(statement);
    }
    const judged = changed ? withStatements(classification, statements) : classification;
    // A missing name is asked again next time: the function may exist by then.
    if (!uncached) snapshot.judged.set(classification, judged);
    return judged;
  }

  /** The snapshot when it is current: loaded, younger than the TTL, and loaded after the last invalidation. */
  private fresh(): Snapshot | undefined {
    const snapshot = this.snapshot;
    if (snapshot === undefined) return undefined;
    const now = this.now();
    if (now - snapshot.loadedAt > CATALOG_TTL_MS || snapshot.loadedAt <= this.invalidatedAt) return undefined;
    return snapshot;
  }

  private reload(): Promise<Snapshot> {
    // A load on its way is shared, unless it started before the last invalidation (it may miss the change).
    if (this.loading && this.loading.startedAt > this.invalidatedAt) return this.loading.snapshot;
    if (this.now() - this.failedAt < FAILED_RETRY_MS) return Promise.reject(new WardenError('target-unavailable', this.failure ?? 'catalog unavailable'));
    const startedAt = this.now();
    // Settled later than `loading` below is assigned: the callbacks can compare with it.
    const snapshot = this.load(startedAt).then(
      (loaded) => {
        if (this.loading === loading) this.loading = undefined;
        // Two loads can overlap (one started after an invalidation): the later one is kept.
        if (this.snapshot === undefined || loaded.loadedAt >= this.snapshot.loadedAt) this.snapshot = loaded;
        return loaded;
      },
      (error: unknown) => {
        if (this.loading === loading) this.loading = undefined;
        this.failedAt = this.now();
        this.failure = (error as Error).message;
        throw error;
      },
    );
    const loading = { startedAt, snapshot };
    this.loading = loading;
    return snapshot;
  }
}

/** A snapshot from catalog rows (for the loader and for tests). */
export function catalogSnapshot(
  loadedAt: number,
  functions: ReadonlyArray<readonly [schema: string, name: string, volatility: string, onRow?: boolean, oid?: number]>,
  operators: ReadonlyArray<readonly [schema: string, operator: string, functionSchema: string, functionName: string, volatility: string]>,
  settings: ReadonlyArray<readonly [name: string, context: string]> = [],
  modules: readonly string[] = [],
  relations: readonly RelationRow[] = [],
  policies: readonly PolicyRow[] = [],
): Snapshot {
  const byName = new Map<string, Routine[]>();
  for (const [schema, name, volatility, onRow, oid] of functions) {
    const list = byName.get(name) ?? [];
    list.push({ schema, name, volatility, ...(onRow ? { onRow } : {}), ...(oid === undefined ? {} : { oid }) });
    byName.set(name, list);
  }
  const byOperator = new Map<string, OperatorRoutine[]>();
  for (const [operatorSchema, operator, schema, name, volatility] of operators) {
    const list = byOperator.get(operator) ?? [];
    list.push({ operatorSchema, schema, name, volatility });
    byOperator.set(operator, list);
  }
  const contexts = new Map(settings.map(([name, context]) => [name.toLowerCase(), context]));
  return new Snapshot(loadedAt, byName, byOperator, { contexts, modules: new Set(modules.map((module) => module.toLowerCase())) }, new RelationDefinitions(relations, policies));
}

function needsCatalog(statement: StatementClass): boolean {
  return statement.settings !== undefined || needsFunctionCatalog(statement);
}

/**
 * A `read` is a read only when what it calls is, and what the relations it reads run (views,
 * row-security policies): a statement already stronger needs no look-up.
 */
function needsFunctionCatalog(statement: StatementClass): boolean {
  return statement.action === 'read' && (statement.functions !== undefined || statement.operators !== undefined || statement.rowFields !== undefined || statement.objects.length > 0);
}

/**
 * A statement's verdict: a missing function or operator says which; a missing relation (reload
 * once, then it is a table the target will not find); `unknown` when a view cannot be analysed.
 */
type StatementVerdict =
  | Exclude<NameVerdict, { readonly kind: 'missing' }>
  | { readonly kind: 'missing'; readonly name: string }
  | { readonly kind: 'missing-relation'; readonly name: string }
  | { readonly kind: 'unknown'; readonly note: string };

/** `trail`: the views being judged that led here (outermost first), for the depth limit and cycles. */
function judgeStatement(snapshot: Snapshot, statement: StatementClass, trail: readonly Relation[]): StatementVerdict {
  for (const name of statement.functions ?? []) {
    const verdict = snapshot.function(name);
    if (verdict.kind !== 'fine') return verdict.kind === 'missing' ? { kind: 'missing', name: `function ${name}` } : verdict;
  }
  for (const name of statement.operators ?? []) {
    const verdict = snapshot.operator(name);
    if (verdict.kind !== 'fine') return verdict.kind === 'missing' ? { kind: 'missing', name: `operator ${name}` } : verdict;
  }
  for (const name of statement.rowFields ?? []) {
    const verdict = snapshot.rowField(name);
    if (verdict.kind === 'refused') return verdict;
  }
  let missingRelation: StatementVerdict | undefined;
  for (const object of statement.objects) {
    const relations = snapshot.relations.resolve(object);
    if (relations === undefined) {
      missingRelation ??= { kind: 'missing-relation', name: object };
      continue;
    }
    // Unqualified: every relation of that name counts, as for functions.
    for (const relation of relations) {
      const verdict = judgeRelation(snapshot, relation, trail);
      if (verdict.kind === 'missing-relation') missingRelation ??= verdict;
      else if (verdict.kind !== 'fine') return verdict;
    }
  }
  return missingRelation ?? { kind: 'fine' };
}

/**
 * A relation judged by what reading it runs: each text (its view definition, its policies)
 * classified as a statement and judged like one, views it reads in turn included.
 */
function judgeRelation(snapshot: Snapshot, relation: Relation, trail: readonly Relation[]): StatementVerdict {
  // Reading a foreign table runs its wrapper, which Warden cannot see into: file_fdw runs a shell program on each read.
  if (relation.kind === 'f') return { kind: 'refused', note: `reads foreign table ${formatQualifiedName([relation.schema, relation.name])}, which runs its foreign-data wrapper (file_fdw can run a program)` };
  if (relation.runs.length === 0) return { kind: 'fine' };
  // A name can resolve back to a view being judged (unqualified names match every schema): it is judged already.
  if (trail.includes(relation)) return { kind: 'fine' };
  // Nested verdicts are not kept: one reached through a cycle cut above lacks what the cut left out.
  const memo = trail.length === 0 ? snapshot.relationVerdicts.get(relation) : undefined;
  if (memo !== undefined) return memo;
  const what = `${relation.kind === 'v' ? 'view' : 'table'} ${formatQualifiedName([relation.schema, relation.name])}`;
  let verdict: StatementVerdict = { kind: 'fine' };
  if (trail.length >= MAX_VIEW_DEPTH) {
    verdict = { kind: 'unknown', note: `reads ${what}, nested in views more than ${MAX_VIEW_DEPTH} deep` };
  } else {
    for (const text of relation.runs) {
      verdict = judgeRun(snapshot, text, [...trail, relation]);
      if (verdict.kind === 'refused' || verdict.kind === 'unknown') verdict = { ...verdict, note: `reads ${what}, which ${verdict.note}` };
      if (verdict.kind !== 'fine') break;
    }
  }
  if (trail.length === 0 && verdict.kind !== 'missing' && verdict.kind !== 'missing-relation') snapshot.relationVerdicts.set(relation, verdict);
  return verdict;
}

/** One view definition or policy expression (`SELECT expr`), judged as a read statement. */
function judgeRun(snapshot: Snapshot, text: string, trail: readonly Relation[]): StatementVerdict {
  const { statements } = classifyPostgres(text);
  const statement = statements[0];
  if (statements.length !== 1 || statement === undefined || statement.action === 'unknown') {
    return { kind: 'unknown', note: `runs SQL Warden cannot analyse${statement?.note ? ` (${statement.note})` : ''}` };
  }
  // A view can lock rows (FOR UPDATE) or be anything else a read is not.
  if (statement.action !== 'read') return { kind: 'refused', note: `is a ${statement.action}${statement.note ? ` (${statement.note})` : ''}` };
  return judgeStatement(snapshot, statement, trail);
}

/**
 * Without a catalog: statements that call functions, read relations (any may be a view), or
 * change settings, cannot be judged; operators and row fields alone are let through (operators are built-in almost always, row
 * fields columns). A setting change on full access stays as it is (full access may change any).
 */
function unavailable(classification: Classification, access: AccessLevel, why: string): Classification {
  let changed = false;
  const statements = classification.statements.map((statement): StatementClass => {
    if (statement.settings !== undefined && access !== 'full') {
      changed = true;
      return { ...statement, action: 'unknown', note: `changes settings, and the target's settings could not be read (${why})` };
    }
    if (statement.action !== 'read') return statement;
    changed = statement.functions !== undefined || statement.objects.length > 0 || changed;
    if (statement.functions !== undefined) return { ...statement, action: access === 'full' ? 'write' : 'unknown', note: `calls functions, and the target's function catalog could not be read (${why})` };
    // A relation may be a view that calls anything.
    if (statement.objects.length > 0) return { ...statement, action: access === 'full' ? 'write' : 'unknown', note: `reads relations that may be views, and the target's catalog could not be read (${why})` };
    return statement;
  });
  return changed ? withStatements(classification, statements) : classification;
}

/**
 * A fast-path call judged as `SELECT schema.name()` would be: by name (lo_import reads a server
 * file: admin; set_config with arguments Warden cannot see: admin), then by the catalog.
 */
function fastPathClassification(routine: Routine, refusal: string | undefined): Classification {
  const name = formatQualifiedName([routine.schema, routine.name]);
  const byName = classifyPostgres(`SELECT ${name}()`).statements[0];
  const byCatalog = refusal === undefined ? 'read' : 'write';
  const action = strongerAction(byName?.action ?? 'unknown', byCatalog);
  const note = action === byCatalog ? (refusal ?? `fast-path call of ${name}`) : `fast-path call of ${name}${byName?.note ? `: ${byName.note}` : ''}`;
  return single({ action, objects: [], bulk: false, note, functions: [name] });
}

function single(statement: StatementClass): Classification {
  return { action: statement.action, objects: [], bulk: false, statementCount: 1, statements: [statement] };
}

function withStatements(classification: Classification, statements: readonly StatementClass[]): Classification {
  let action = statements.length === 0 ? classification.action : statements[0]!.action;
  for (const statement of statements) action = strongerAction(action, statement.action);
  return { ...classification, action, statements };
}

/** Reads the target's catalog on a connection of its own, closed right after. */
async function loadCatalog(target: PostgresTarget, startedAt: number): Promise<Snapshot> {
  const connection = await connectTarget({
    target,
    parameters: { application_name: 'warden-function-catalog', default_transaction_read_only: 'on', statement_timeout: String(QUERY_TIMEOUT_MS) },
    timeoutMs: Math.min(target.connectTimeoutMs, QUERY_TIMEOUT_MS),
  });
  const { socket } = connection;
  try {
    const [functions, operators, settings, modules, relations, policies] = await query(socket, CATALOG_QUERY);
    return catalogSnapshot(
      startedAt,
      (functions ?? []).map((row) => [row[0]!, row[1]!, row[2]!, row[3] === 't', Number(row[4])] as const),
      (operators ?? []).map((row) => [row[0]!, row[1]!, row[2]!, row[3]!, row[4]!] as const),
      (settings ?? []).map((row) => [row[0]!, row[1]!] as const),
      (modules ?? []).map((row) => row[0]!),
      (relations ?? []).map((row): RelationRow => (row[3] == null ? [row[0]!, row[1]!, row[2]!] : [row[0]!, row[1]!, row[2]!, row[3]])),
      (policies ?? []).map((row) => [row[0]!, row[1]!, row[2]!] as const),
    );
  } finally {
    socket.end(serialize.end());
    socket.destroy();
  }
}

/** One simple Query: the rows of each result set, as text. */
function query(socket: net.Socket, text: string): Promise<string[][][]> {
  return new Promise((resolve, reject) => {
    const parser = new Parser();
    const sets: string[][][] = [];
    let failure: string | undefined;
    const timer = setTimeout(() => finish(new WardenError('target-unavailable', 'the function catalog query timed out')), QUERY_TIMEOUT_MS);
    const finish = (error?: Error): void => {
      clearTimeout(timer);
      socket.removeListener('data', onData);
      socket.removeListener('close', onClose);
      socket.removeListener('error', onError);
      if (error) reject(error);
      else resolve(sets);
    };
    const onData = (chunk: Buffer): void =>
      parser.parse(chunk, (message: BackendMessage) => {
        if (message.name === 'rowDescription') sets.push([]);
        else if (message.name === 'dataRow') sets[sets.length - 1]?.push((message as unknown as { fields: string[] }).fields);
        else if (message.name === 'error') failure ??= (message as unknown as { message: string }).message;
        else if (message.name === 'readyForQuery') finish(failure === undefined ? undefined : new WardenError('target-unavailable', `the function catalog query failed: ${failure}`));
      });
    const onClose = (): void => finish(new WardenError('target-unavailable', 'the function catalog connection closed'));
    const onError = (error: Error): void => finish(new WardenError('target-unavailable', `the function catalog connection failed: ${error.message}`));
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.on('error', onError);
    socket.write(serialize.query(text));
  });
}

const catalogs = new Map<string, FunctionCatalog>();

/** The catalog shared by every session on one target (one cache, loaded on demand). */
export function functionCatalogFor(target: PostgresTarget): FunctionCatalog {
  const key = JSON.stringify([target.host, target.port, target.database, target.user]);
  let catalog = catalogs.get(key);
  if (!catalog) {
    catalog = new FunctionCatalog((startedAt) => loadCatalog(target, startedAt));
    catalogs.set(key, catalog);
  }
  return catalog;
}
