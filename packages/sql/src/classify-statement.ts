import type { Action, StatementClass } from '@warden/core';
import { ACTION_STRENGTH } from './action-strength';
import { booleanConstant } from './boolean-constant';
import { settingChange } from './setting-change';
import { STATEMENT_ACTIONS } from './statement-kinds';
import { isJsonNode, resolveColumns, scanStatementTree } from './statement-tree';
import { isPostgresOwnTemporarySchema, isPostgresSystemRelation } from './system-relations';
import type { JsonNode } from './statement-tree';

/** What the statement's own node type says, before the walk over its whole tree. */
interface Verdict {
  readonly action: Action;
  readonly bulk?: boolean;
  readonly note?: string;
  /** Names the walk cannot find as RangeVars (`DROP TABLE` lists plain names). */
  readonly objects?: readonly string[];
  /** Executes nothing (EXPLAIN without ANALYZE): what its inner statement would do does not count. */
  readonly inert?: boolean;
  /** Can turn off the target session's read-only mode (see `StatementClass.disablesReadOnly`). */
  readonly disablesReadOnly?: true;
  /** Makes the server lex later statements differently from Warden (see `StatementClass.changesLexing`). */
  readonly changesLexing?: true;
  /** The setting a SET or RESET changes (see `StatementClass.settings`). */
  readonly setting?: string;
}

type Judge = (fields: JsonNode) => Verdict;

const READ: Verdict = { action: 'read' };

const TEMPORARY_TABLE: Verdict = { action: 'write', note: 'creates a temporary table' };

/**
 * Whether a RangeVar names a temporary relation: `CREATE TEMP …` (relpersistence 't') or one
 * created in the session's own temporary schema (`pg_temp`, `pg_temp_N`).
 */
function isTemporary(relation: unknown): boolean {
  if (!isJsonNode(relation)) return false;
  if (relation.relpersistence === 't') return true;
  const schema = relation.schemaname;
  return typeof schema === 'string' && isPostgresOwnTemporarySchema(schema);
}

/** Object types whose CREATE is `admin` (see STATEMENT_ACTIONS); DROP and RENAME follow. */
const ADMIN_OBJECT_TYPES: ReadonlySet<string> = new Set([
  'OBJECT_ROLE',
  'OBJECT_DATABASE',
  'OBJECT_TABLESPACE',
  'OBJECT_POLICY',
  'OBJECT_EXTENSION',
  'OBJECT_LANGUAGE',
  'OBJECT_EVENT_TRIGGER',
  'OBJECT_ACCESS_METHOD',
  'OBJECT_FDW',
  'OBJECT_FOREIGN_SERVER',
  'OBJECT_PUBLICATION',
  'OBJECT_SUBSCRIPTION',
]);

const RELATION_OBJECT_TYPES: ReadonlySet<string> = new Set([
  'OBJECT_TABLE',
  'OBJECT_VIEW',
  'OBJECT_MATVIEW',
  'OBJECT_INDEX',
  'OBJECT_SEQUENCE',
  'OBJECT_FOREIGN_TABLE',
]);

/** ALTER TABLE subcommands that change who may see the rows rather than the schema. */
const ADMIN_TABLE_COMMANDS: ReadonlySet<string> = new Set([
  'AT_ChangeOwner',
  'AT_EnableRowSecurity',
  'AT_DisableRowSecurity',
  'AT_ForceRowSecurity',
  'AT_NoForceRowSecurity',
]);

const JUDGES: Readonly<Record<string, Judge>> = {
  SelectStmt: (select) => (select.intoClause === undefined ? READ : isJsonNode(select.intoClause) && isTemporary(select.intoClause.rel) ? TEMPORARY_TABLE : { action: 'ddl', note: 'SELECT INTO creates a table' }),
  // A temporary table lives and dies with the session and changes no schema others see: a write.
  // One that INHERITS from (or is a partition of) another table joins that table's schema: DDL.
  CreateStmt: (create) => (isTemporary(create.relation) && create.inhRelations === undefined && create.partbound === undefined ? TEMPORARY_TABLE : { action: 'ddl' }),
  CreateTableAsStmt: judgeCreateTableAs,
  TruncateStmt: () => ({ action: 'write', bulk: true }),
  RefreshMatViewStmt: () => ({ action: 'write', bulk: true, note: 'REFRESH MATERIALIZED VIEW rewrites all its rows' }),
  CopyStmt: judgeCopy,
  VariableSetStmt: judgeSet,
  TransactionStmt: judgeTransaction,
  ExplainStmt: judgeExplain,
  // PREPARE runs nothing yet, but EXECUTE carries no text to judge: decide on the text now.
  PrepareStmt: (prepare) => verdictOf(prepare.query),
  ExecuteStmt: () => ({ action: 'unknown', note: 'EXECUTE of a server-side prepared statement' }),
  DeclareCursorStmt: (declare) => verdictOf(declare.query),
  // DISCARD ALL is SET SESSION AUTHORIZATION DEFAULT (back to Warden's own login role) plus RESET ALL.
  DiscardStmt: (discard) =>
    discard.target === 'DISCARD_ALL'
      ? { action: 'session', disablesReadOnly: true, note: 'DISCARD ALL resets settings, which can undo read-only enforcement' }
      : { action: 'session' },
  CreateSchemaStmt: judgeCreateSchema,
  AlterTableStmt: judgeAlterTable,
  DropStmt: judgeDrop,
  RenameStmt: (rename) => (ADMIN_OBJECT_TYPES.has(String(rename.renameType)) ? { action: 'admin' } : { action: 'ddl' }),
  LockStmt: judgeLock,
};

/**
 * Classifies one statement: a RawStmt's `stmt`, e.g. `{ DeleteStmt: {...} }`.
 *
 * The node type gives the base action; one walk over the whole tree then collects the objects and
 * raises the action for what can hide anywhere in a statement: a data-modifying CTE, FOR UPDATE,
 * a call of a dangerous function.
 */
export function classifyStatement(statement: JsonNode): StatementClass {
  const verdict = verdictOf(statement);
  const found = scanStatementTree(statement);
  let action = verdict.action;
  let note = verdict.note;
  const raise = (to: Action, why: string): void => {
    if (ACTION_STRENGTH[to] > ACTION_STRENGTH[action]) {
      action = to;
      note = why;
    }
  };
  if (!verdict.inert) {
    if (found.modifyingCte) raise('write', 'WITH clause modifies data');
    if (found.rowLocks) raise('write', 'FOR UPDATE/SHARE locks rows');
    if (found.writeCall !== undefined) raise('write', `calls ${found.writeCall}`);
  }
  if (found.adminCall !== undefined) raise('admin', `calls ${found.adminCall}`);
  // Writing a system catalog (see system-relations.ts) is `admin`: a write target, a row locked
  // (FOR UPDATE names no table of its own, so every system relation of a locking statement counts),
  // or any system relation a DDL statement names.
  const catalogWrite = verdict.inert ? undefined : (found.systemWrites[0] ?? (found.rowLocks || action === 'ddl' ? found.systemRelations[0] : undefined));
  if (catalogWrite !== undefined) raise('admin', `writes ${catalogWrite}, a relation of the system catalogs, which only full access may`);
  // Not `inert`-aware on purpose: EXPLAIN of a set_config(…) is refused too, which costs nothing.
  const disablesReadOnly = verdict.disablesReadOnly === true || found.readOnlyCall !== undefined;
  if (disablesReadOnly && note === undefined) note = `calls ${found.readOnlyCall ?? 'a setting change'}, which can undo read-only enforcement`;
  const changesLexing = verdict.changesLexing === true || found.lexingCall !== undefined;
  if (changesLexing && note === undefined) note = `calls ${found.lexingCall ?? 'a setting change'}`;
  const bulk = verdict.bulk === true || (!verdict.inert && action === 'write' && found.bulkWrite);
  const objects = found.objects;
  for (const name of verdict.objects ?? []) if (!objects.includes(name)) objects.push(name);
  const columns = resolveColumns(found);
  // What runs only: EXPLAIN without ANALYZE calls nothing.
  const calls = verdict.inert ? undefined : found;
  // Not `inert`-aware either: what a statement would change is judged even when EXPLAIN only plans it.
  const settings = verdict.setting === undefined || found.settings.includes(verdict.setting) ? found.settings : [verdict.setting, ...found.settings];
  return {
    action,
    objects,
    bulk,
    columns,
    ...(note === undefined ? {} : { note }),
    ...(calls && calls.functions.length > 0 ? { functions: calls.functions } : {}),
    ...(calls && calls.operators.length > 0 ? { operators: calls.operators } : {}),
    ...(calls && calls.rowFields.length > 0 ? { rowFields: calls.rowFields } : {}),
    ...(settings.length > 0 ? { settings } : {}),
    ...(disablesReadOnly ? { disablesReadOnly: true as const } : {}),
    ...(changesLexing ? { changesLexing: true as const } : {}),
    ...(copiesRows(statement) ? { copiesRows: true as const } : {}),
  };
}

/**
 * Whether the statement (a data-modifying CTE included) writes values computed from columns into a
 * table: see `StatementClass.copiesRows`. A VALUES list of constants, or an UPDATE that sets
 * constants, copies nothing.
 */
function copiesRows(node: unknown): boolean {
  if (!isJsonNode(node)) return false;
  if (Array.isArray(node)) return (node as unknown[]).some(copiesRows);
  for (const key of Object.keys(node)) {
    const child = node[key];
    if (!isJsonNode(child)) continue;
    if (key === 'CreateTableAsStmt' || key === 'MergeStmt') return true;
    if (key === 'SelectStmt' && child.intoClause !== undefined) return true;
    if (key === 'InsertStmt' && readsColumns(child.selectStmt)) return true;
    if (key === 'UpdateStmt' && (readsColumns(child.targetList) || readsColumns(child.fromClause))) return true;
    if (copiesRows(child)) return true;
  }
  return false;
}

/** Whether a subtree reads any column (a ColumnRef, a whole-row reference included). */
function readsColumns(node: unknown): boolean {
  if (!isJsonNode(node)) return false;
  if (Array.isArray(node)) return (node as unknown[]).some(readsColumns);
  for (const key of Object.keys(node)) {
    if (key === 'ColumnRef') return true;
    if (readsColumns(node[key])) return true;
  }
  return false;
}

function verdictOf(node: unknown): Verdict {
  if (!isJsonNode(node)) return { action: 'unknown', note: 'statement without a body' };
  // A statement node has exactly one key, its type.
  for (const type in node) {
    const fields = node[type];
    const judge = JUDGES[type];
    if (judge !== undefined && isJsonNode(fields)) return judge(fields);
    const action = STATEMENT_ACTIONS[type];
    if (action !== undefined) return { action };
    return { action: 'unknown', note: `unmapped statement type ${type}` };
  }
  return { action: 'unknown', note: 'statement without a body' };
}

function judgeCopy(copy: JsonNode): Verdict {
  // COPY with a file name or PROGRAM runs on the database server, as its OS user.
  const onServer = copy.is_program === true || copy.filename !== undefined;
  if (copy.is_from === true) {
    return onServer ? { action: 'admin', bulk: true, note: 'COPY from server file/program' } : { action: 'write', bulk: true };
  }
  if (onServer) return { action: 'admin', note: 'COPY to server file/program' };
  // COPY (query) TO STDOUT does what its query does: `COPY (DELETE … RETURNING *) TO STDOUT` deletes.
  if (copy.query !== undefined) {
    const inner = verdictOf(copy.query);
    return ACTION_STRENGTH[inner.action] > ACTION_STRENGTH.read ? inner : READ;
  }
  return READ;
}

function judgeSet(set: JsonNode): Verdict {
  // RESET ALL leaves role and session_authorization alone (PostgreSQL marks them GUC_NO_RESET_ALL),
  // but resets default_transaction_read_only.
  if (set.kind === 'VAR_RESET_ALL') return { action: 'session', disablesReadOnly: true, note: 'RESET ALL can undo read-only enforcement' };
  const name = typeof set.name === 'string' ? set.name.toLowerCase() : '';
  const args = Array.isArray(set.args) ? (set.args as unknown[]) : [];
  // SET TRANSACTION … and SET SESSION CHARACTERISTICS AS TRANSACTION … carry DefElem options.
  if (name === 'transaction' || name === 'session characteristics') {
    const action = name === 'transaction' ? 'transaction' : 'session';
    if (args.some(isReadWriteOption)) return { action, disablesReadOnly: true, note: 'READ WRITE can undo read-only enforcement' };
    return { action };
  }
  if (name === 'transaction snapshot') return { action: 'transaction' };
  // Only a single constant can be judged safe; RESET, DEFAULT and lists are judged as unknown values
  // (turning read-only on is harmless, anything else may undo enforcement).
  const value = set.kind === 'VAR_SET_VALUE' && args.length === 1 ? args[0] : undefined;
  const change = settingChange(name, value);
  const action = name === 'transaction_read_only' ? 'transaction' : 'session';
  // RESET too: the adapter judges a RESET of a setting only a superuser may change as a change of it.
  if (change.kind === 'admin') return { action: 'admin', note: change.note, setting: name };
  if (change.kind === 'disables-read-only') return { action, disablesReadOnly: true, note: change.note, setting: name };
  if (change.kind === 'changes-lexing') return { action, changesLexing: true, note: change.note, setting: name };
  return { action, setting: name };
}

/** `READ WRITE` is `transaction_read_only = 0`; anything but a clear "on" counts as read-write. */
function isReadWriteOption(option: unknown): boolean {
  const element = isJsonNode(option) ? option.DefElem : undefined;
  return isJsonNode(element) && element.defname === 'transaction_read_only' && booleanConstant(element.arg) !== true;
}

function judgeTransaction(transaction: JsonNode): Verdict {
  switch (transaction.kind) {
    // Two-phase commit leaves transactions (and their locks) behind the session; COMMIT PREPARED
    // can finish another session's transaction.
    case 'TRANS_STMT_PREPARE':
    case 'TRANS_STMT_COMMIT_PREPARED':
    case 'TRANS_STMT_ROLLBACK_PREPARED':
      return { action: 'admin', note: 'two-phase commit' };
    case 'TRANS_STMT_BEGIN':
    case 'TRANS_STMT_START': {
      const options = Array.isArray(transaction.options) ? (transaction.options as unknown[]) : [];
      // Still `transaction` (the statements inside are judged one by one), but a read-only grant
      // must refuse it: it overrides the target session's default_transaction_read_only.
      if (options.some(isReadWriteOption)) return { action: 'transaction', disablesReadOnly: true, note: 'READ WRITE overrides default_transaction_read_only' };
      return { action: 'transaction' };
    }
    default:
      return { action: 'transaction' };
  }
}

function judgeExplain(explain: JsonNode): Verdict {
  const options = Array.isArray(explain.options) ? (explain.options as unknown[]) : [];
  // EXPLAIN ANALYZE executes the statement. Fail closed: ANALYZE counts unless it is clearly off.
  const analyze = options.some((option) => {
    const element = isJsonNode(option) ? option.DefElem : undefined;
    return isJsonNode(element) && element.defname === 'analyze' && (element.arg === undefined || booleanConstant(element.arg) !== false);
  });
  return analyze ? verdictOf(explain.query) : { action: 'read', inert: true };
}

/**
 * `CREATE TABLE … AS EXECUTE p` runs prepared statement p, whose text is not in this one: judged
 * like the EXECUTE it holds (as EXPLAIN ANALYZE EXECUTE is), not like the table it creates.
 */
function judgeCreateTableAs(create: JsonNode): Verdict {
  if (isJsonNode(create.query) && create.query.ExecuteStmt !== undefined) return verdictOf(create.query);
  return create.objtype === 'OBJECT_TABLE' && isJsonNode(create.into) && isTemporary(create.into.rel) ? TEMPORARY_TABLE : { action: 'ddl' };
}

/** CREATE SCHEMA may hold CREATE TABLE/VIEW/INDEX/SEQUENCE/TRIGGER and GRANT elements. */
function judgeCreateSchema(schema: JsonNode): Verdict {
  let strongest: Verdict = { action: 'ddl' };
  const elements = Array.isArray(schema.schemaElts) ? (schema.schemaElts as unknown[]) : [];
  for (const element of elements) {
    const verdict = verdictOf(element);
    if (ACTION_STRENGTH[verdict.action] > ACTION_STRENGTH[strongest.action]) strongest = verdict;
  }
  return strongest;
}

function judgeAlterTable(alter: JsonNode): Verdict {
  const commands = Array.isArray(alter.cmds) ? (alter.cmds as unknown[]) : [];
  for (const command of commands) {
    const fields = isJsonNode(command) ? command.AlterTableCmd : undefined;
    if (isJsonNode(fields) && ADMIN_TABLE_COMMANDS.has(String(fields.subtype))) {
      return { action: 'admin', note: 'changes the owner or row-level security' };
    }
  }
  return { action: 'ddl' };
}

/** PostgreSQL's lock modes (`lockdefs.h`): 1 is ACCESS SHARE, the lock every SELECT takes. */
const ACCESS_SHARE_LOCK = 1;

/**
 * `LOCK … IN ACCESS SHARE MODE` (pg_dump locks every table it dumps so) holds what a SELECT of
 * the table holds: it only waits for, and blocks, schema changes. Every stronger mode blocks other
 * sessions' writes or reads: a `write`.
 */
function judgeLock(lock: JsonNode): Verdict {
  return lock.mode === ACCESS_SHARE_LOCK ? { action: 'read', note: 'LOCK IN ACCESS SHARE MODE blocks only schema changes' } : { action: 'write' };
}

function judgeDrop(drop: JsonNode): Verdict {
  const type = String(drop.removeType);
  if (ADMIN_OBJECT_TYPES.has(type)) return { action: 'admin' };
  if (!RELATION_OBJECT_TYPES.has(type) || !Array.isArray(drop.objects)) return { action: 'ddl' };
  // DROP TABLE lists plain names (List of String), not RangeVars.
  const objects: string[] = [];
  let system: string | undefined;
  for (const object of drop.objects as unknown[]) {
    const list = isJsonNode(object) ? object.List : undefined;
    const items = isJsonNode(list) && Array.isArray(list.items) ? (list.items as unknown[]) : [];
    const parts = items.map((item) => (isJsonNode(item) && isJsonNode(item.String) ? item.String.sval : undefined));
    if (parts.length > 0 && parts.every((part): part is string => typeof part === 'string')) {
      const name = parts.slice(-2).join('.');
      objects.push(name);
      if (isPostgresSystemRelation(parts.length >= 2 ? parts[parts.length - 2] : undefined, parts[parts.length - 1]!)) system ??= name;
    }
  }
  if (system !== undefined) return { action: 'admin', objects, note: `drops ${system}, a relation of the system catalogs, which only full access may` };
  return { action: 'ddl', objects };
}
