import { functionAction } from './function-actions';
import { formatOperatorName, formatQualifiedName } from './qualified-name';
import { settingChange } from './setting-change';
import { isPostgresSystemRelation } from './system-relations';

/** A parse-tree node as libpg-query's JSON has it: `{ SelectStmt: {...} }`, or a node's fields. */
export type JsonNode = { readonly [key: string]: unknown };

/** What one walk over a statement's parse tree found. */
export interface TreeFindings {
  /** Relations in order of appearance, de-duplicated, references to CTEs left out. */
  readonly objects: string[];
  /** The first call of a `DANGEROUS_FUNCTIONS` member. */
  adminCall: string | undefined;
  /** The first call of a `WRITE_FUNCTIONS` member. */
  writeCall: string | undefined;
  /** The first call that can turn read-only mode off (`set_config('transaction_read_only', 'off', …)`). */
  readOnlyCall: string | undefined;
  /** The first call that makes the server lex text differently (`set_config('client_encoding', 'SJIS', …)`). */
  lexingCall: string | undefined;
  /** A WITH clause holds an INSERT, UPDATE, DELETE or MERGE. */
  modifyingCte: boolean;
  /** A FOR UPDATE / FOR SHARE clause (it locks rows, which a read-only transaction refuses). */
  rowLocks: boolean;
  /** An UPDATE or DELETE without WHERE, or an INSERT fed by a query. */
  bulkWrite: boolean;
  /** Every relation named that may be a system catalog's (see `isPostgresSystemRelation`), as `objects` writes it. */
  readonly systemRelations: string[];
  /**
   * System catalog relations the statement writes: the target of an INSERT, UPDATE, DELETE or MERGE
   * (in a WITH clause too), a TRUNCATE, a COPY FROM, a LOCK stronger than ACCESS SHARE.
   */
  readonly systemWrites: string[];
  /** Every table reference with the alias it is known by (CTE references left out). */
  readonly tables: TableRef[];
  /** Every column reference: its qualifier parts (alias or table, maybe schema) and name or `*`. */
  readonly columnRefs: ColumnReference[];
  /** CTE names seen anywhere: a qualifier naming one is not a table. */
  readonly cteNames: string[];
  /** Every function called by name, as written (`lower`, `pg_catalog.lower`), de-duplicated. */
  readonly functions: string[];
  /** Every operator used by name (`+`, `pg_catalog.~`), de-duplicated; BETWEEN counts as `>=` and `<=`. */
  readonly operators: string[];
  /** Names selected from a row (`t.x`, `(row).x`): a column, or else a call `x(row)`. */
  readonly rowFields: string[];
  /** Settings `set_config` calls change by a constant name, lower case, de-duplicated. */
  readonly settings: string[];
  /**
   * `set_config(name, …)` calls in `SELECT … FROM pg_settings WHERE name = 'x'` (what pg_dump
   * sends): the name argument can only be `x`.
   */
  readonly pinnedSettings: Map<JsonNode, string>;
}

interface TableRef {
  readonly name: string;
  readonly relname: string;
  readonly alias: string | undefined;
}

interface ColumnReference {
  readonly qualifier: readonly string[];
  readonly column: string;
  /** For INSERT/UPDATE targets: the statement's own relation. */
  readonly target?: TableRef;
}

/** CTE names visible at a point of the tree; undefined (not an empty array) keeps the common case free. */
type CteScope = readonly string[] | undefined;

const MODIFYING = ['InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt'];

export function isJsonNode(value: unknown): value is JsonNode {
  return typeof value === 'object' && value !== null;
}

/**
 * Walks the whole tree once. It is generic (every object, every array) rather than per node type
 * so that no clause is forgotten: a relation or a function call in a place nobody thought of is
 * still found.
 */
export function scanStatementTree(statement: JsonNode): TreeFindings {
  const found: TreeFindings = {
    objects: [],
    adminCall: undefined,
    writeCall: undefined,
    readOnlyCall: undefined,
    lexingCall: undefined,
    modifyingCte: false,
    rowLocks: false,
    bulkWrite: false,
    systemRelations: [],
    systemWrites: [],
    tables: [],
    columnRefs: [],
    cteNames: [],
    functions: [],
    operators: [],
    rowFields: [],
    settings: [],
    pinnedSettings: new Map(),
  };
  walk(statement, undefined, found);
  return found;
}

/**
 * The columns a statement touches, as `table.column` (`schema.table.column` when qualified in the
 * SQL; `table.*` for a star), where the text lets them be known. A qualified reference resolves
 * through the aliases of the statement's tables; an unqualified one is attributed to every table
 * of the statement (it belongs to one of them), which errs towards matching column rules.
 * References to subquery or CTE columns by their alias are left out.
 */
export function resolveColumns(found: TreeFindings): string[] {
  const columns: string[] = [];
  const add = (table: TableRef, column: string): void => {
    const name = `${table.name}.${column}`;
    if (!columns.includes(name)) columns.push(name);
  };
  for (const reference of found.columnRefs) {
    if (reference.target) {
      add(reference.target, reference.column);
      continue;
    }
    const { qualifier } = reference;
    if (qualifier.length === 0) {
      const name = reference.column.toLowerCase();
      for (const table of found.tables) {
        add(table, reference.column);
        // `SELECT p FROM patients p`: a bare table name or alias is the whole row, every column.
        if ((table.alias ?? table.relname).toLowerCase() === name) add(table, '*');
      }
      continue;
    }
    const last = qualifier[qualifier.length - 1]!.toLowerCase();
    const schema = qualifier.length >= 2 ? qualifier[qualifier.length - 2]!.toLowerCase() : undefined;
    for (const table of found.tables) {
      const known = table.alias !== undefined ? table.alias.toLowerCase() === last && schema === undefined : table.relname.toLowerCase() === last;
      const schemaMatches = schema === undefined || table.name.toLowerCase() === `${schema}.${last}`;
      if (known && schemaMatches) add(table, reference.column);
    }
  }
  return columns;
}

function walk(node: JsonNode, scope: CteScope, found: TreeFindings): void {
  if (Array.isArray(node)) {
    for (const item of node as unknown[]) if (isJsonNode(item)) walk(item, scope, found);
    return;
  }
  // A RangeVar in a typed field (`relation`, `into.rel`, …) is unwrapped. Those fields are DML
  // targets and DDL subjects, which PostgreSQL never resolves against CTEs: `WITH patients AS (…)
  // DELETE FROM patients` deletes from the table.
  if (typeof node.relname === 'string') {
    addRelation(node, undefined, found);
    return;
  }
  let inner = scope;
  if (isJsonNode(node.withClause)) inner = walkWithClause(node.withClause, scope, found);
  if (node.lockingClause !== undefined) found.rowLocks = true;
  for (const key in node) {
    // A constant holds no relation and no call; its value is read only by rules that need it
    // (classify-postgres watches those reads to know whether an analysis depends on values).
    if (key === 'A_Const') continue;
    const child = node[key];
    if (!isJsonNode(child) || key === 'withClause') continue;
    switch (key) {
      case 'RangeVar':
        // Wrapped RangeVars are FROM items (and GRANT/TRUNCATE/LOCK lists): these may name a CTE.
        addRelation(child, inner, found);
        continue;
      case 'FuncCall':
      case 'funccall':
        noteCall(child, found);
        break;
      case 'ColumnRef':
        noteColumnRef(child, found);
        continue;
      case 'A_Expr':
        noteOperator(child.name, found, child.kind);
        break;
      case 'SubLink':
        noteOperator(child.operName, found);
        break;
      case 'SortBy':
        noteOperator(child.useOp, found);
        break;
      case 'A_Indirection':
        for (const item of Array.isArray(child.indirection) ? (child.indirection as unknown[]) : []) {
          const field = isJsonNode(item) && isJsonNode(item.String) ? item.String.sval : undefined;
          if (typeof field === 'string') noteRowField(field, found);
        }
        break;
      case 'SelectStmt':
        notePinnedSettings(child, found);
        break;
      case 'UpdateStmt':
      case 'DeleteStmt':
        // No WHERE, or one that names no column (`WHERE 1 = 1`, `WHERE true`): every row.
        if (child.whereClause === undefined || !mentionsColumn(child.whereClause)) found.bulkWrite = true;
        if (key === 'UpdateStmt') noteTargetColumns(child, child.targetList, found);
        noteSettingsWrite(child, found);
        noteSystemWrite(child.relation, found);
        break;
      case 'InsertStmt':
        noteTargetColumns(child, child.cols, found);
        if (isQueryInsert(child)) found.bulkWrite = true;
        noteSettingsWrite(child, found);
        noteSystemWrite(child.relation, found);
        break;
      case 'MergeStmt':
        noteSettingsWrite(child, found);
        noteSystemWrite(child.relation, found);
        break;
      case 'CopyStmt':
        if (child.is_from === true) noteSystemWrite(child.relation, found);
        break;
      case 'TruncateStmt':
        for (const item of Array.isArray(child.relations) ? (child.relations as unknown[]) : []) noteSystemWrite(isJsonNode(item) ? item.RangeVar : undefined, found);
        break;
      case 'LockStmt':
        // ACCESS SHARE (mode 1) is what every SELECT takes; any stronger mode blocks other sessions.
        if (child.mode !== 1) for (const item of Array.isArray(child.relations) ? (child.relations as unknown[]) : []) noteSystemWrite(isJsonNode(item) ? item.RangeVar : undefined, found);
        break;
    }
    walk(child, inner, found);
  }
}

/** Whether an expression refers to any column (without reading constants' values). */
function mentionsColumn(node: unknown): boolean {
  if (!isJsonNode(node)) return false;
  if (Array.isArray(node)) return (node as unknown[]).some(mentionsColumn);
  for (const key in node) {
    if (key === 'ColumnRef') return true;
    if (key === 'A_Const') continue;
    if (mentionsColumn(node[key])) return true;
  }
  return false;
}

/**
 * A CTE is visible in the statement's body, in the CTEs after it, and (WITH RECURSIVE) in all
 * CTEs of its list. Outside that scope the same name is a table: `WITH patients AS (SELECT * FROM
 * patients) …` reads the table, and must report it.
 */
function walkWithClause(withClause: JsonNode, scope: CteScope, found: TreeFindings): CteScope {
  const ctes = withClause.ctes;
  if (!Array.isArray(ctes)) return scope;
  const defined: JsonNode[] = [];
  const names: string[] = [];
  for (const item of ctes as unknown[]) {
    const cte = isJsonNode(item) ? item.CommonTableExpr : undefined;
    if (isJsonNode(cte) && typeof cte.ctename === 'string') {
      defined.push(cte);
      names.push(cte.ctename);
    }
  }
  const all = scope === undefined ? names : [...scope, ...names];
  const recursive = withClause.recursive === true;
  defined.forEach((cte, index) => {
    const query = cte.ctequery;
    if (isJsonNode(query) && MODIFYING.some((type) => type in query)) found.modifyingCte = true;
    walk(cte, recursive ? all : [...(scope ?? []), ...names.slice(0, index)], found);
  });
  return all;
}

function addRelation(rangeVar: JsonNode, scope: CteScope, found: TreeFindings): void {
  const relname = rangeVar.relname;
  if (typeof relname !== 'string') return;
  const schema = rangeVar.schemaname;
  // A catalog name (`db.schema.table`) can only be the current database, so it adds nothing.
  if (typeof schema !== 'string' && scope?.includes(relname)) {
    if (!found.cteNames.includes(relname)) found.cteNames.push(relname);
    return;
  }
  const name = typeof schema === 'string' ? `${schema}.${relname}` : relname;
  if (!found.objects.includes(name)) found.objects.push(name);
  if (isPostgresSystemRelation(typeof schema === 'string' ? schema : undefined, relname) && !found.systemRelations.includes(name)) found.systemRelations.push(name);
  const aliasNode = rangeVar.alias;
  const alias = isJsonNode(aliasNode) && typeof aliasNode.aliasname === 'string' ? aliasNode.aliasname : undefined;
  if (!found.tables.some((table) => table.name === name && table.alias === alias)) found.tables.push({ name, relname, alias });
}

/** `ColumnRef.fields`: name parts (`String`) ending in a column name or `A_Star`. */
function noteColumnRef(columnRef: JsonNode, found: TreeFindings): void {
  const fields = columnRef.fields;
  if (!Array.isArray(fields) || fields.length === 0) return;
  const parts: string[] = [];
  for (const field of fields as unknown[]) {
    if (isJsonNode(field) && isJsonNode(field.String) && typeof field.String.sval === 'string') parts.push(field.String.sval);
    else if (isJsonNode(field) && field.A_Star !== undefined) parts.push('*');
    else return;
  }
  const column = parts[parts.length - 1]!;
  found.columnRefs.push({ qualifier: parts.slice(0, -1), column });
  if (parts.length >= 2 && column !== '*') noteRowField(column, found);
}

/**
 * PostgreSQL reads `t.x` as a call `x(t)` when `t` has no column `x` (functional notation, see
 * "Function Call Syntax" in the manual): the name is kept for the adapter to look up as a function.
 */
function noteRowField(name: string, found: TreeFindings): void {
  const written = formatQualifiedName([name]);
  if (!found.rowFields.includes(written)) found.rowFields.push(written);
}

/** The columns an INSERT lists or an UPDATE sets: columns of the statement's own relation. */
function noteTargetColumns(statement: JsonNode, targets: unknown, found: TreeFindings): void {
  const relation = statement.relation;
  if (!isJsonNode(relation) || typeof relation.relname !== 'string' || !Array.isArray(targets)) return;
  const schema = relation.schemaname;
  const target: TableRef = { name: typeof schema === 'string' ? `${schema}.${relation.relname}` : relation.relname, relname: relation.relname, alias: undefined };
  for (const item of targets as unknown[]) {
    const resTarget = isJsonNode(item) && isJsonNode(item.ResTarget) ? item.ResTarget : undefined;
    if (resTarget && typeof resTarget.name === 'string') found.columnRefs.push({ qualifier: [], column: resTarget.name, target });
  }
}

/** The `String` parts of a name list (`funcname`, an operator's `name`), or undefined if any part is something else. */
function nameParts(list: unknown): string[] | undefined {
  if (!Array.isArray(list) || list.length === 0) return undefined;
  const parts: string[] = [];
  for (const item of list as unknown[]) {
    const value = isJsonNode(item) && isJsonNode(item.String) ? item.String.sval : undefined;
    if (typeof value !== 'string') return undefined;
    parts.push(value);
  }
  return parts;
}

/** A_Expr kinds whose `name` is not an operator: BETWEEN compares with `>=` and `<=`. */
const BETWEEN_KINDS: ReadonlySet<unknown> = new Set(['AEXPR_BETWEEN', 'AEXPR_NOT_BETWEEN', 'AEXPR_BETWEEN_SYM', 'AEXPR_NOT_BETWEEN_SYM']);

function noteOperator(name: unknown, found: TreeFindings, kind?: unknown): void {
  const add = (operator: string): void => {
    if (!found.operators.includes(operator)) found.operators.push(operator);
  };
  if (BETWEEN_KINDS.has(kind)) {
    add('>=');
    add('<=');
    return;
  }
  const parts = nameParts(name);
  if (parts) add(formatOperatorName(parts));
}

/**
 * The shape of a setting name. An unqualified `pg_settings` may be the session's own temporary
 * table, whose `name` may be `char(n)`: then `name = 'role '` matches a stored `role`, and the
 * set_config call gets `role` (the cast to text drops the padding) while Warden judged `role `.
 * A name without spaces compares equal only to itself.
 */
const SETTING_NAME = /^[A-Za-z0-9_.$]+$/;

/** Marks the set_config calls of `SELECT set_config(name, …) FROM pg_settings WHERE name = 'x'` with `x`. */
function notePinnedSettings(select: JsonNode, found: TreeFindings): void {
  const from = select.fromClause;
  if (!Array.isArray(from) || from.length !== 1 || !isJsonNode(from[0])) return;
  const relation = (from[0] as JsonNode).RangeVar;
  if (!isJsonNode(relation) || relation.relname !== 'pg_settings' || relation.alias !== undefined) return;
  if (relation.schemaname !== undefined && relation.schemaname !== 'pg_catalog') return;
  const where = isJsonNode(select.whereClause) ? select.whereClause.A_Expr : undefined;
  if (!isJsonNode(where) || where.kind !== 'AEXPR_OP' || nameParts(where.name)?.join('.') !== '=' || !isSettingsNameColumn(where.lexpr)) return;
  const setting = stringConstant(where.rexpr);
  if (setting === undefined || !SETTING_NAME.test(setting) || !Array.isArray(select.targetList)) return;
  for (const item of select.targetList as unknown[]) {
    const target = isJsonNode(item) && isJsonNode(item.ResTarget) ? item.ResTarget : undefined;
    const call = target && isJsonNode(target.val) ? target.val.FuncCall : undefined;
    if (!isJsonNode(call)) continue;
    const args = Array.isArray(call.args) ? (call.args as unknown[]) : [];
    if (isSettingsNameColumn(args[0])) found.pinnedSettings.set(call, setting);
  }
}

/** `name` or `pg_settings.name`: the view's own column (no other relation is in scope). */
function isSettingsNameColumn(node: unknown): boolean {
  const reference = isJsonNode(node) && isJsonNode(node.ColumnRef) ? node.ColumnRef : undefined;
  const parts = reference ? nameParts(reference.fields)?.join('.') : undefined;
  return parts === 'name' || parts === 'pg_settings.name';
}

function noteCall(funcCall: JsonNode, found: TreeFindings): void {
  const parts = nameParts(funcCall.funcname);
  if (parts === undefined) return;
  const name = parts[parts.length - 1]!;
  const written = formatQualifiedName(parts);
  if (!found.functions.includes(written)) found.functions.push(written);
  if (name.toLowerCase() === 'set_config') {
    noteSetConfig(funcCall, found);
    return;
  }
  const action = functionAction(name);
  if (action === 'admin') found.adminCall ??= name;
  else if (action === 'write') found.writeCall ??= name;
}

/**
 * `set_config(name, value, is_local)` is a SET in function form: judged like one when the name is
 * a constant, `admin` when it is not (an expression could name any setting, `role` included).
 */
function noteSetConfig(funcCall: JsonNode, found: TreeFindings): void {
  const args = Array.isArray(funcCall.args) ? (funcCall.args as unknown[]) : [];
  const setting = stringConstant(args[0]) ?? found.pinnedSettings.get(funcCall);
  if (setting === undefined) {
    found.adminCall ??= 'set_config';
    return;
  }
  const lower = setting.toLowerCase();
  if (!found.settings.includes(lower)) found.settings.push(lower);
  // A value computed by the statement (`set_config('application_name', ssn, false)`) copies data
  // into session state that SHOW, current_setting() and ParameterStatus hand back unmasked.
  if (!isSuppliedValue(args[1])) found.adminCall ??= `set_config of ${lower} to a computed value (it would carry column values into a setting, read back unmasked)`;
  const change = settingChange(setting, args[1]);
  if (change.kind === 'admin') found.adminCall ??= `set_config on ${lower}`;
  else if (change.kind === 'disables-read-only') found.readOnlyCall ??= `set_config on ${lower}`;
  else if (change.kind === 'changes-lexing') found.lexingCall ??= `set_config on ${lower}`;
}

/**
 * Notes a written relation (a RangeVar) when it may be a system catalog's. A CTE of the same name
 * does not hide it: PostgreSQL never resolves a write target against CTEs.
 */
function noteSystemWrite(relation: unknown, found: TreeFindings): void {
  if (!isJsonNode(relation) || typeof relation.relname !== 'string') return;
  const schema = typeof relation.schemaname === 'string' ? relation.schemaname : undefined;
  if (!isPostgresSystemRelation(schema, relation.relname)) return;
  const name = schema === undefined ? relation.relname : `${schema}.${relation.relname}`;
  if (!found.systemWrites.includes(name)) found.systemWrites.push(name);
}

/** A value the client supplies as written: a constant or a bound parameter, possibly cast. */
function isSuppliedValue(node: unknown): boolean {
  if (!isJsonNode(node)) return false;
  if (node.A_Const !== undefined || node.ParamRef !== undefined) return true;
  const cast = node.TypeCast;
  return isJsonNode(cast) && isSuppliedValue(cast.arg);
}

/** Writing the `pg_settings` view calls set_config (through its rules) with any name and value. */
function noteSettingsWrite(statement: JsonNode, found: TreeFindings): void {
  const relation = statement.relation;
  if (isJsonNode(relation) && typeof relation.relname === 'string' && relation.relname.toLowerCase() === 'pg_settings') {
    found.adminCall ??= 'set_config through pg_settings';
  }
}

/** The text of a string literal (an `A_Const` with `sval`), or undefined for anything else. */
export function stringConstant(node: unknown): string | undefined {
  const constant = isJsonNode(node) && isJsonNode(node.A_Const) ? node.A_Const : undefined;
  const value = constant && isJsonNode(constant.sval) ? constant.sval.sval : undefined;
  return typeof value === 'string' ? value : undefined;
}

/** INSERT … SELECT (any query but a plain VALUES list). */
function isQueryInsert(insert: JsonNode): boolean {
  const select = insert.selectStmt;
  if (!isJsonNode(select)) return false;
  const body = select.SelectStmt;
  return !(isJsonNode(body) && body.valuesLists !== undefined);
}
