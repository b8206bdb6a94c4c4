import { isJsonNode, type JsonNode } from './statement-tree';
import { parsePostgres } from './postgres-parser';

/**
 * A table column a result value is computed from: `column` is `*` for the whole row (`p`,
 * `row_to_json(p)`, `p.*`). `schema` is absent when the statement does not name it.
 */
export interface LineageSource {
  readonly schema?: string;
  readonly table: string;
  readonly column: string;
}

/** What one result column derives from; `unknown` when Warden could not follow it (fail closed). */
export interface ColumnLineage {
  readonly sources: readonly LineageSource[];
  /**
   * Functions called on the way, as written (lower case, `schema.name` when qualified): a function's
   * body may read tables too. `?x` for `p.x`, which calls a function x(p) if the table has no column x.
   */
  readonly functions: readonly string[];
  readonly unknown: boolean;
}

/**
 * The lineage of a statement text's result columns. `columns` is per result column when Warden
 * could count them (one statement, no `*` over a table); otherwise undefined and every computed
 * column must be judged by `all`, the union of every column's lineage.
 */
export interface ResultLineage {
  readonly columns: readonly ColumnLineage[] | undefined;
  readonly all: ColumnLineage;
}

/** A lineage under construction: source keys (`schema\0table\0column`). */
interface Lin {
  readonly keys: Set<string>;
  readonly functions: Set<string>;
  unknown: boolean;
}

type Item =
  | { readonly kind: 'table'; readonly alias: string; readonly schema: string | undefined; readonly table: string }
  | { readonly kind: 'derived'; readonly alias: string; readonly shape: Shape }
  | { readonly kind: 'opaque'; readonly alias: string; readonly lin: Lin };

interface Scope {
  readonly items: Item[];
  readonly ctes: Map<string, Shape>;
  readonly parent: Scope | undefined;
}

/** A query's output: named columns (undefined when their number is unknown) and their union. */
interface Shape {
  readonly columns: Array<{ readonly name: string; readonly lin: Lin }> | undefined;
  readonly all: Lin;
}

const empty = (): Lin => ({ keys: new Set(), functions: new Set(), unknown: false });
const unknownLin = (): Lin => ({ keys: new Set(), functions: new Set(), unknown: true });

function merge(into: Lin, from: Lin): Lin {
  for (const key of from.keys) into.keys.add(key);
  for (const name of from.functions) into.functions.add(name);
  if (from.unknown) into.unknown = true;
  return into;
}

function sourceKey(schema: string | undefined, table: string, column: string): string {
  return `${schema ?? ''}\0${table}\0${column}`;
}

function str(node: unknown): string | undefined {
  if (!isJsonNode(node)) return undefined;
  const s = node['String'];
  return isJsonNode(s) && typeof s['sval'] === 'string' ? s['sval'] : undefined;
}

function child(node: unknown, key: string): JsonNode | undefined {
  if (!isJsonNode(node)) return undefined;
  const value = node[key];
  return isJsonNode(value) ? value : undefined;
}

function list(node: JsonNode | undefined, key: string): unknown[] {
  const value = node?.[key];
  return Array.isArray(value) ? value : [];
}

/**
 * Computes, from the parse tree alone, which table columns each result column of `sql` derives
 * from: through expressions, function calls, casts, aggregates, window functions, CASE, scalar,
 * ARRAY and derived subqueries, CTEs, set operations (column i of every branch), whole-row
 * references and constructors. A relation is taken to be a table by its name: a view is not
 * resolved to its tables yet. Statements Warden does not follow (FETCH, EXECUTE, …) are unknown.
 */
export function resultLineage(sql: string): ResultLineage {
  const parsed = parsePostgres(sql);
  if ('error' in parsed || parsed.statements.length === 0) return finish(undefined, unknownLin());
  const shapes: Shape[] = [];
  for (const raw of parsed.statements) {
    const stmt = (raw as unknown as { stmt?: JsonNode }).stmt;
    shapes.push(statementShape(stmt));
  }
  const all = empty();
  for (const shape of shapes) merge(all, shape.all);
  return finish(shapes.length === 1 ? shapes[0]!.columns : undefined, all);
}

function finish(columns: Shape['columns'], all: Lin): ResultLineage {
  return { columns: columns?.map((c) => exported(c.lin)), all: exported(all) };
}

function exported(lin: Lin): ColumnLineage {
  return {
    unknown: lin.unknown,
    functions: [...lin.functions],
    sources: [...lin.keys].map((key) => {
      const [schema, table, column] = key.split('\0') as [string, string, string];
      return schema === '' ? { table, column } : { schema, table, column };
    }),
  };
}

function statementShape(stmt: JsonNode | undefined): Shape {
  const root: Scope = { items: [], ctes: new Map(), parent: undefined };
  if (!stmt) return { columns: undefined, all: unknownLin() };
  const select = child(stmt, 'SelectStmt');
  if (select) return selectShape(select, root);
  for (const kind of ['InsertStmt', 'UpdateStmt', 'DeleteStmt']) {
    const write = child(stmt, kind);
    if (!write) continue;
    const returning = list(child(write, 'returningClause'), 'exprs').concat(list(write, 'returningList'));
    if (returning.length === 0) return { columns: [], all: empty() };
    const scope: Scope = { items: [], ctes: withCtes(child(write, 'withClause'), root), parent: undefined };
    const relation = child(write, 'relation');
    if (relation) addFrom({ RangeVar: relation }, scope);
    for (const from of list(write, kind === 'UpdateStmt' ? 'fromClause' : 'usingClause')) addFrom(from, scope);
    return targetShape(returning, scope);
  }
  // EXPLAIN and SHOW describe the statement or a setting, never table values.
  if (child(stmt, 'ExplainStmt') || child(stmt, 'VariableShowStmt')) return { columns: undefined, all: empty() };
  return { columns: undefined, all: unknownLin() };
}

function withCtes(withClause: JsonNode | undefined, outer: Scope): Map<string, Shape> {
  const ctes = new Map(outer.ctes);
  for (const node of list(withClause, 'ctes')) {
    const cte = child(node, 'CommonTableExpr');
    const name = typeof cte?.['ctename'] === 'string' ? cte['ctename'] : undefined;
    const query = child(child(cte, 'ctequery'), 'SelectStmt');
    if (!cte || !name) continue;
    const scope: Scope = { items: [], ctes, parent: outer.parent };
    let shape: Shape;
    if (!query) shape = { columns: undefined, all: unknownLin() };
    else if (withClause?.['recursive'] === true && query['op'] !== undefined && query['op'] !== 'SETOP_NONE') {
      // A recursive CTE: its non-recursive branch first, then the whole with itself in scope.
      const first = selectShape(branch(query, 'larg'), scope);
      ctes.set(name, renamed(first, cte));
      shape = selectShape(query, scope);
    } else shape = selectShape(query, scope);
    ctes.set(name, renamed(shape, cte));
  }
  return ctes;
}

/** `WITH x(a, b) AS …` and `(…) AS x(a, b)` rename the columns. */
function renamed(shape: Shape, holder: JsonNode | undefined): Shape {
  const names = list(holder, 'aliascolnames').concat(list(child(holder, 'alias'), 'colnames')).map(str);
  if (names.length === 0 || !shape.columns) return shape;
  return { all: shape.all, columns: shape.columns.map((c, i) => ({ name: names[i] ?? c.name, lin: c.lin })) };
}

/** A set operation's branch (libpg-query writes them without the `SelectStmt` wrapper). */
function branch(select: JsonNode, key: 'larg' | 'rarg'): JsonNode {
  const node = child(select, key);
  return child(node, 'SelectStmt') ?? node ?? {};
}

function selectShape(select: JsonNode, outer: Scope): Shape {
  const ctes = withCtes(child(select, 'withClause'), outer);
  const op = select['op'];
  if (op !== undefined && op !== 'SETOP_NONE') {
    const inner: Scope = { items: [], ctes, parent: outer.parent };
    const left = selectShape(branch(select, 'larg'), inner);
    const right = selectShape(branch(select, 'rarg'), inner);
    const all = merge(merge(empty(), left.all), right.all);
    if (!left.columns || !right.columns || left.columns.length !== right.columns.length) return { columns: undefined, all };
    return { all, columns: left.columns.map((c, i) => ({ name: c.name, lin: merge(merge(empty(), c.lin), right.columns![i]!.lin) })) };
  }
  const scope: Scope = { items: [], ctes, parent: outer.parent === undefined && outer.items.length === 0 ? undefined : outer };
  const values = list(select, 'valuesLists');
  if (values.length > 0) {
    const rows = values.map((row) => list(child(row, 'List'), 'items'));
    const width = rows[0]?.length ?? 0;
    const columns = Array.from({ length: width }, (_, i) => {
      const lin = empty();
      for (const row of rows) merge(lin, expression(row[i], scope));
      return { name: `column${i + 1}`, lin };
    });
    return { columns, all: columns.reduce((all, c) => merge(all, c.lin), empty()) };
  }
  for (const from of list(select, 'fromClause')) addFrom(from, scope);
  return targetShape(list(select, 'targetList'), scope);
}

function addFrom(node: unknown, scope: Scope): void {
  if (!isJsonNode(node)) return;
  const range = child(node, 'RangeVar');
  if (range) {
    const table = String(range['relname'] ?? '');
    const schema = typeof range['schemaname'] === 'string' ? range['schemaname'] : undefined;
    const aliasName = child(range, 'alias')?.['aliasname'];
    const alias = typeof aliasName === 'string' ? aliasName : table;
    const cte = schema === undefined ? scope.ctes.get(table) : undefined;
    if (cte) scope.items.push({ kind: 'derived', alias, shape: renamed(cte, range) });
    else scope.items.push({ kind: 'table', alias, schema, table });
    return;
  }
  const sub = child(node, 'RangeSubselect');
  if (sub) {
    const alias = String(child(sub, 'alias')?.['aliasname'] ?? '');
    const query = child(child(sub, 'subquery'), 'SelectStmt');
    // LATERAL subqueries see the items before them.
    const shape = query ? selectShape(query, sub['lateral'] === true ? scope : { items: [], ctes: scope.ctes, parent: scope.parent }) : { columns: undefined, all: unknownLin() };
    scope.items.push({ kind: 'derived', alias, shape: renamed(shape, sub) });
    return;
  }
  const join = child(node, 'JoinExpr');
  if (join) {
    addFrom(join['larg'], scope);
    addFrom(join['rarg'], scope);
    return;
  }
  const fn = child(node, 'RangeFunction');
  if (fn) {
    // A set-returning function's rows are computed from its arguments (like a scalar call).
    const alias = String(child(fn, 'alias')?.['aliasname'] ?? '');
    scope.items.push({ kind: 'opaque', alias, lin: expression(fn['functions'], scope) });
    return;
  }
  const sample = child(node, 'RangeTableSample');
  if (sample) {
    addFrom(sample['relation'], scope);
    return;
  }
  // XMLTABLE, JSON_TABLE, …: not followed.
  scope.items.push({ kind: 'opaque', alias: '', lin: unknownLin() });
}

function targetShape(targets: unknown[], scope: Scope): Shape {
  const columns: Array<{ name: string; lin: Lin }> | undefined = [];
  let known = true;
  const all = empty();
  for (const node of targets) {
    const target = child(node, 'ResTarget');
    const value = target?.['val'];
    const ref = child(value, 'ColumnRef');
    const fields = list(ref, 'fields');
    if (ref && isJsonNode(fields[fields.length - 1]) && 'A_Star' in (fields[fields.length - 1] as JsonNode)) {
      const items = fields.length === 1 ? scope.items : findItems(fields.slice(0, -1).map(str), scope);
      for (const item of items ?? []) {
        if (item.kind === 'derived' && item.shape.columns) columns.push(...item.shape.columns);
        else known = false;
        merge(all, itemLin(item));
      }
      if (!items) {
        known = false;
        all.unknown = true;
      }
      continue;
    }
    const lin = expression(value, scope);
    merge(all, lin);
    columns.push({ name: String(target?.['name'] ?? outputName(value)), lin });
  }
  return { columns: known ? columns : undefined, all };
}

function outputName(value: unknown): string {
  const ref = child(value, 'ColumnRef');
  if (ref) return str(list(ref, 'fields').at(-1)) ?? '?column?';
  const cast = child(value, 'TypeCast');
  if (cast) return outputName(cast['arg']);
  const call = child(value, 'FuncCall');
  if (call) return str(list(call, 'funcname').at(-1)) ?? '?column?';
  return '?column?';
}

function itemLin(item: Item): Lin {
  if (item.kind === 'table') return { keys: new Set([sourceKey(item.schema, item.table, '*')]), functions: new Set(), unknown: false };
  if (item.kind === 'derived') return merge(empty(), item.shape.all);
  return merge(empty(), item.lin);
}

/** The items a qualifier (`a`, `t`, `s.t`) names, innermost scope first; undefined when none does. */
function findItems(qualifier: Array<string | undefined>, scope: Scope | undefined): Item[] | undefined {
  if (qualifier.some((q) => q === undefined)) return undefined;
  const name = qualifier[qualifier.length - 1]!;
  const schema = qualifier.length > 1 ? qualifier[qualifier.length - 2] : undefined;
  for (let level = scope; level; level = level.parent) {
    const found = level.items.filter((item) => item.alias === name && (schema === undefined || (item.kind === 'table' && item.schema === schema)));
    if (found.length > 0) return found;
  }
  return undefined;
}

function columnOf(item: Item, column: string): Lin | undefined {
  if (item.kind === 'table') return { keys: new Set([sourceKey(item.schema, item.table, column)]), functions: new Set(), unknown: false };
  if (item.kind === 'opaque') return merge(empty(), item.lin);
  const match = item.shape.columns?.filter((c) => c.name === column);
  if (match && match.length > 0) return match.reduce((lin, c) => merge(lin, c.lin), empty());
  // Unknown columns (a `*` over a table inside): the whole derived table.
  return item.shape.columns ? undefined : merge(empty(), item.shape.all);
}

function columnRef(ref: JsonNode, scope: Scope): Lin {
  const fields = list(ref, 'fields');
  const last = fields[fields.length - 1];
  if (isJsonNode(last) && 'A_Star' in last) {
    const items = fields.length === 1 ? scope.items : findItems(fields.slice(0, -1).map(str), scope);
    if (!items) return unknownLin();
    return items.reduce((lin, item) => merge(lin, itemLin(item)), empty());
  }
  const names = fields.map(str);
  if (names.some((n) => n === undefined)) return unknownLin();
  if (names.length === 1) {
    const name = names[0]!;
    for (let level: Scope | undefined = scope; level; level = level.parent) {
      const lin = empty();
      let found = false;
      for (const item of level.items) {
        // `SELECT p FROM patients p` is the whole row; a column named like the alias would win, so take both.
        if (item.alias === name) {
          merge(lin, itemLin(item));
          found = true;
        }
        const column = item.kind === 'derived' && item.shape.columns && !item.shape.columns.some((c) => c.name === name) ? undefined : columnOf(item, name);
        if (column) {
          merge(lin, column);
          found = true;
        }
      }
      if (found) return lin;
    }
    return unknownLin();
  }
  // `a.col`, `s.t.col`, or `col.field` of a composite column.
  const items = findItems(names.slice(0, -1), scope);
  if (items) {
    const column = names[names.length - 1]!;
    const lin = items.reduce((found, item) => merge(found, columnOf(item, column) ?? unknownLin()), empty());
    // `p.x` is a call x(p) when the table has no column x: a function by that name, if one exists.
    // A name with a dot in it would read as schema-qualified (`"pg_catalog.f"` as pg_catalog.f): untraceable.
    if (items.some((item) => item.kind === 'table')) {
      if (column.includes('.')) lin.unknown = true;
      else lin.functions.add(`?${column}`);
    }
    return lin;
  }
  return columnRef({ fields: [fields[0]] }, scope);
}

/** Every column an expression reads, through whatever it is built of. */
function expression(node: unknown, scope: Scope): Lin {
  const lin = empty();
  visit(node, scope, lin);
  return lin;
}

function visit(node: unknown, scope: Scope, lin: Lin): void {
  if (Array.isArray(node)) {
    for (const item of node) visit(item, scope, lin);
    return;
  }
  if (!isJsonNode(node)) return;
  const ref = child(node, 'ColumnRef');
  if (ref) {
    merge(lin, columnRef(ref, scope));
    return;
  }
  const select = child(node, 'SelectStmt');
  if (select) {
    // A scalar, ARRAY, EXISTS or IN subquery: everything it outputs; it sees the outer items.
    merge(lin, selectShape(select, scope).all);
    return;
  }
  const call = child(node, 'FuncCall');
  if (call) {
    const name = list(call, 'funcname').map(str);
    // count(x) counts rows, not values.
    if (name.length === 1 && name[0] === 'count' && list(call, 'args').length <= 1 && !call['agg_filter']) return;
    // A part with a dot in it cannot be told from a qualified name once joined (`"pg_catalog.f"()` is public's, not pg_catalog's).
    if (name.some((part) => part === undefined || part.includes('.'))) lin.unknown = true;
    else lin.functions.add(name.join('.'));
  }
  for (const value of Object.values(node)) visit(value, scope, lin);
}
