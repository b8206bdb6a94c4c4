import type { Action, StatementClass } from '@warden/core';
import { ACTION_STRENGTH } from './action-strength';
import { isReadFunction } from './mysql-read-functions';
import { isAnalysableMysqlCharset, isAnalysableMysqlCollation, mysqlSqlModeSettings } from './mysql-lexer-settings';
import { isMysqlSystemDatabase } from './system-relations';

/**
 * Classifies one statement of the MySQL parser's AST (serde JSON of the Rust `sqlparser` crate's
 * `Statement`: `{ "Delete": {...} }`, or a bare string for field-less variants).
 *
 * The variant gives the base action; one generic walk over the whole tree then collects table
 * names and raises the action for what can hide anywhere: a data-modifying WITH body, FOR UPDATE,
 * a call of LOAD_FILE.
 */

type Node = { readonly [key: string]: unknown };

interface Verdict {
  readonly action: Action;
  readonly bulk?: boolean;
  readonly note?: string;
  readonly objects?: readonly string[];
  /** Runs nothing (EXPLAIN without ANALYZE): what the inner statement would do does not count. */
  readonly inert?: boolean;
  /** Can turn off the target session's read-only mode (see `StatementClass.disablesReadOnly`). */
  readonly disablesReadOnly?: true;
}

/** What the statement's own tokens say that the parser's tree forgets. */
export interface StatementHints {
  /** `SET GLOBAL TRANSACTION …`: the parser reads it as the session form. */
  readonly setGlobal?: boolean;
}

/** Variants whose action does not depend on their contents. A variant in neither place is `unknown`. */
const VARIANT_ACTIONS: Readonly<Record<string, Action>> = {
  Insert: 'write',
  Update: 'write',
  Delete: 'write',
  Merge: 'write',
  CreateTable: 'ddl',
  CreateView: 'ddl',
  CreateIndex: 'ddl',
  AlterTable: 'ddl',
  AlterView: 'ddl',
  AlterIndex: 'ddl',
  RenameTable: 'ddl',
  CreateFunction: 'ddl',
  CreateProcedure: 'ddl',
  CreateTrigger: 'ddl',
  DropFunction: 'ddl',
  DropProcedure: 'ddl',
  DropTrigger: 'ddl',
  CreateSequence: 'ddl',
  Comment: 'ddl',
  // Who may do what, the server, and code that runs with its definer's rights.
  Grant: 'admin',
  Revoke: 'admin',
  CreateRole: 'admin',
  CreateUser: 'admin',
  AlterRole: 'admin',
  AlterUser: 'admin',
  CreateDatabase: 'admin',
  CreateSchema: 'admin',
  Flush: 'admin',
  Kill: 'admin',
  Call: 'admin',
  Analyze: 'admin',
  Install: 'admin',
  Commit: 'transaction',
  Rollback: 'transaction',
  Savepoint: 'transaction',
  ReleaseSavepoint: 'transaction',
  UnlockTables: 'transaction',
  Use: 'session',
  Deallocate: 'session',
  ExplainTable: 'read',
};

/** DROP of these is `admin` (MySQL's schemas are databases). */
const ADMIN_DROP_TYPES: ReadonlySet<string> = new Set(['Database', 'Schema', 'User', 'Role']);

/** Functions that reach outside the database: LOAD_FILE reads the server's files. */
const ADMIN_FUNCTIONS: ReadonlySet<string> = new Set(['load_file', 'sys_exec', 'sys_eval']);

/** Settings that change how statements are read, what is logged, or who the session is. */
const ADMIN_SETTINGS: ReadonlySet<string> = new Set([
  'sql_log_bin',
  'sql_log_off',
  'pseudo_thread_id',
  'pseudo_slave_mode',
  'skip_replication',
  'password',
  'role',
  'default_role',
]);
const READ_ONLY_SETTINGS: ReadonlySet<string> = new Set(['transaction_read_only', 'tx_read_only']);
/**
 * Settings that turn off integrity checks the schema declares (foreign keys, unique indexes, CHECK
 * constraints): a write grant is for writes within the schema's rules, so only `full` turns them off.
 */
const INTEGRITY_SETTINGS: ReadonlySet<string> = new Set(['foreign_key_checks', 'unique_checks', 'check_constraint_checks']);
/** Settings that decide the character set the server reads statements in. */
const CHARSET_SETTINGS: ReadonlySet<string> = new Set(['character_set_client', 'character_set_connection', 'names']);

export function classifyMysqlStatement(statement: unknown, hints: StatementHints = {}): StatementClass {
  const verdict = verdictOf(statement, hints);
  const found: Findings = { objects: [], modifying: false, rowLocks: false, adminCall: undefined, writeCall: undefined, bulkWrite: false };
  if (isNode(statement)) walk(statement, found);
  let action = verdict.action;
  let note = verdict.note;
  const raise = (to: Action, why: string): void => {
    if (ACTION_STRENGTH[to] > ACTION_STRENGTH[action]) {
      action = to;
      note = why;
    }
  };
  if (!verdict.inert) {
    if (found.modifying) raise('write', 'the statement modifies data');
    if (found.rowLocks) raise('write', 'FOR UPDATE/SHARE locks rows');
  }
  // A function call runs even under EXPLAIN when the optimiser folds it into a constant.
  if (found.writeCall !== undefined) raise('write', `calls function ${found.writeCall}, which is not on the list of functions a read may call`);
  if (found.adminCall !== undefined) raise('admin', `calls ${found.adminCall}`);
  const bulk = verdict.bulk === true || (!verdict.inert && action === 'write' && found.bulkWrite);
  const objects = found.objects;
  for (const name of verdict.objects ?? []) if (!objects.includes(name)) objects.push(name);
  const catalogWrite = verdict.inert ? undefined : mysqlCatalogWrite(action, objects);
  if (catalogWrite !== undefined) raise('admin', catalogWrite);
  return {
    action,
    objects,
    bulk,
    ...(note === undefined ? {} : { note }),
    ...(verdict.disablesReadOnly === true ? { disablesReadOnly: true as const } : {}),
  };
}

function verdictOf(statement: unknown, hints: StatementHints): Verdict {
  if (typeof statement === 'string') {
    const action = VARIANT_ACTIONS[statement];
    return action ? { action } : { action: 'unknown', note: `unmapped statement ${statement}` };
  }
  if (!isNode(statement)) return { action: 'unknown', note: 'statement without a body' };
  for (const variant in statement) {
    const fields = statement[variant];
    const node = isNode(fields) ? fields : {};
    if (variant.startsWith('Show')) return { action: 'read' };
    switch (variant) {
      case 'Query':
        return { action: 'read' };
      case 'Truncate':
        return { action: 'write', bulk: true };
      case 'Drop':
        if (ADMIN_DROP_TYPES.has(String(node.object_type))) return { action: 'admin', objects: [] };
        // DROP TEMPORARY TABLE drops only the session's own temporary tables.
        return node.temporary === true && node.object_type === 'Table' ? { action: 'write', objects: namesOf(node.names), note: 'drops a temporary table' } : { action: 'ddl', objects: namesOf(node.names) };
      case 'CreateTable':
        // A temporary table lives and dies with the session and changes no schema others see.
        return node.temporary === true ? { action: 'write', note: 'creates a temporary table' } : { action: 'ddl' };
      case 'Explain':
        return node.analyze === true ? verdictOf(node.statement, hints) : { action: 'read', inert: true };
      case 'StartTransaction':
        // Still `transaction` (the statements inside are judged one by one), but a read-only grant
        // refuses it: the transaction would not be read-only although the session is.
        return hasReadWriteMode(node.modes)
          ? { action: 'transaction', disablesReadOnly: true, note: 'READ WRITE overrides the session read-only setting' }
          : { action: 'transaction' };
      case 'Set':
        return judgeSet(node, hints);
      case 'LockTables':
        // Read locks (what dump tools take) block other sessions' writes until UNLOCK TABLES or
        // the session ends, like a long read; a WRITE lock blocks their reads too.
        return isReadLocksOnly(node.tables)
          ? { action: 'read', note: 'LOCK TABLES … READ holds other sessions\' writes until UNLOCK TABLES' }
          : { action: 'write', note: 'LOCK TABLES … WRITE blocks other sessions until UNLOCK TABLES' };
      case 'Execute':
        return { action: 'unknown', note: 'EXECUTE of a server-side prepared statement' };
      case 'Use':
        return judgeUse(node);
      default: {
        const action = VARIANT_ACTIONS[variant];
        return action ? { action } : { action: 'unknown', note: `unmapped statement ${variant}` };
      }
    }
  }
  return { action: 'unknown', note: 'statement without a body' };
}

/**
 * A writing statement (data or definition) that names a table of a system database is `admin`:
 * Warden's account on the target may do everything, and `INSERT INTO mysql.global_priv …` makes
 * accounts. The tree does not say which of its tables a statement writes, so every table it names
 * counts: `INSERT INTO t SELECT … FROM information_schema.tables` is refused below `full` too, an
 * over-refusal accepted for a rare statement. A name is `db.table` here; system databases hold no
 * dot, so a name whose first part is one of them is in it (a table named `mysql.x` in backticks is
 * refused as well).
 */
export function mysqlCatalogWrite(action: Action, objects: readonly string[]): string | undefined {
  if (action !== 'write' && action !== 'ddl') return undefined;
  for (const name of objects) {
    const dot = name.indexOf('.');
    if (dot !== -1 && isMysqlSystemDatabase(name.slice(0, dot))) return `writes ${name}, a table of a system database, which only full access may`;
  }
  return undefined;
}

/**
 * `USE` (and COM_INIT_DB, and the database asked for at login, which the adapter judges as a USE)
 * of a system database is `admin`: after it an unqualified `INSERT INTO global_priv …` writes the
 * system database, and the relay does not follow the session's current database. Refusing the
 * switch keeps every unqualified name in a user database. Reads of the system databases, written
 * qualified (`information_schema.tables`), stay open to every grant.
 */
function judgeUse(use: Node): Verdict {
  const names = Object.values(use).flatMap((value) => (Array.isArray(value) ? value.map(identifierText) : []));
  if (names.length === 0) return { action: 'unknown', note: 'USE of a database Warden cannot read' };
  const system = names.find(isMysqlSystemDatabase);
  if (system !== undefined) return { action: 'admin', note: `USE ${system}: unqualified names would then be tables of a system database, which only full access may write` };
  return { action: 'session' };
}

function judgeSet(set: Node, hints: StatementHints): Verdict {
  for (const form in set) {
    const fields = set[form];
    const node = isNode(fields) ? fields : {};
    switch (form) {
      case 'SetTransaction':
        if (hints.setGlobal === true) return { action: 'admin', note: 'SET GLOBAL TRANSACTION changes other sessions' };
        return hasReadWriteMode(node.modes) ? { action: 'session', disablesReadOnly: true, note: 'READ WRITE can undo read-only enforcement' } : { action: 'session' };
      case 'SetNames': {
        const charset = isNode(node.charset_name) ? String(node.charset_name.value) : '';
        const collation = typeof node.collation_name === 'string' ? node.collation_name : undefined;
        if (collation !== undefined && !isAnalysableMysqlCollation(collation)) return { action: 'admin', note: `collation ${collation}: Warden analyses statements only in utf8mb4, utf8, latin1, ascii or binary` };
        return judgeSetting('names', [{ Identifier: { value: charset } }], undefined);
      }
      case 'SetRole':
        return { action: 'admin', note: 'changes the role' };
      case 'SingleAssignment':
        return judgeSetting(variableName(node.variable), Array.isArray(node.values) ? node.values : [], node.scope);
      case 'MultipleAssignments': {
        let strongest: Verdict = { action: 'session' };
        let disablesReadOnly: Verdict | undefined;
        for (const assignment of Array.isArray(node.assignments) ? (node.assignments as unknown[]) : []) {
          if (!isNode(assignment)) continue;
          const verdict = judgeSetting(variableName(assignment.name), [assignment.value], assignment.scope);
          if (ACTION_STRENGTH[verdict.action] > ACTION_STRENGTH[strongest.action]) strongest = verdict;
          if (verdict.disablesReadOnly === true) disablesReadOnly ??= verdict;
        }
        if (disablesReadOnly === undefined || strongest.disablesReadOnly === true) return strongest;
        return { ...strongest, disablesReadOnly: true, note: strongest.note ?? disablesReadOnly.note };
      }
      default:
        return { action: 'unknown', note: `unmapped SET form ${form}` };
    }
  }
  return { action: 'unknown', note: 'SET without a body' };
}

/** `name` lower-cased without `@@`, `session.`/`local.`; `global.` kept so it can be refused. */
function judgeSetting(rawName: string, values: readonly unknown[], scope: unknown): Verdict {
  let name = rawName.toLowerCase().replace(/^@@/, '');
  let global = scope === 'Global';
  const dot = /^(session|local|global)\./.exec(name);
  if (dot) {
    global ||= dot[1] === 'global';
    name = name.slice(dot[0].length);
  }
  if (name.startsWith('@')) return { action: 'session' };
  if (global) return { action: 'admin', note: `SET GLOBAL ${name}` };
  // Warden's own view of the session: without it Warden would not see the character set or
  // sql_mode change (see the MySQL adapter's session-state tracking).
  if (name === 'session_track_system_variables') return { action: 'unknown', note: 'session_track_system_variables is how Warden follows the session; it cannot be changed' };
  if (ADMIN_SETTINGS.has(name)) return { action: 'admin', note: `changes ${name}` };
  if (INTEGRITY_SETTINGS.has(name) && !isTrue(values[0])) {
    // Turning a check on is harmless; anything else (0, OFF, DEFAULT, a variable, an expression) may turn it off.
    return { action: 'admin', note: `changing ${name} can turn off integrity checks the schema enforces` };
  }
  if (READ_ONLY_SETTINGS.has(name)) {
    // Turning read-only on is harmless; anything else (0, OFF, DEFAULT, an expression) may undo enforcement.
    return isTrue(values[0]) ? { action: 'session' } : { action: 'session', disablesReadOnly: true, note: `changing ${name} can undo read-only enforcement` };
  }
  if (CHARSET_SETTINGS.has(name) || name === 'collation_connection') {
    // A name Warden can analyse, written as a name; a number (`= 28` is gbk), DEFAULT, a variable or
    // an expression could be anything. (The target's report of the new value is checked as well.)
    const value = namedValue(values[0]);
    const analysable = value !== undefined && (name === 'collation_connection' ? isAnalysableMysqlCollation(value) : isAnalysableMysqlCharset(value));
    if (!analysable) return { action: 'admin', note: `${name} = ${value ?? 'a value that is not a name'}: Warden analyses statements only in utf8mb4, utf8, latin1, ascii or binary` };
  }
  if (name === 'sql_mode') {
    const value = literalText(values[0]);
    // Copies of a mode (`@OLD_SQL_MODE`, `@@sql_mode`, DEFAULT) are what dump tools restore; the
    // value the target then reports is checked by the adapter.
    if (value === undefined || isVariableOrDefault(values[0])) return { action: 'session' };
    const mode = mysqlSqlModeSettings(value);
    if (!mode.ok || /^\d/.test(value)) return { action: 'admin', note: `sql_mode ${mode.ok ? value : mode.unanalysable.join(',')}: Warden cannot analyse statements under it` };
  }
  return { action: 'session' };
}

/** A charset or collation written as a name (`utf8mb4`, `'latin1'`), not a number, DEFAULT or an expression. */
function namedValue(value: unknown): string | undefined {
  const text = literalText(value);
  if (text === undefined || !/^[A-Za-z][A-Za-z0-9_]*$/.test(text) || text.toUpperCase() === 'DEFAULT') return undefined;
  return text;
}

function isVariableOrDefault(value: unknown): boolean {
  if (!isNode(value)) return false;
  if (isNode(value.Identifier)) {
    const name = String(value.Identifier.value);
    return name.startsWith('@') || name.toUpperCase() === 'DEFAULT';
  }
  return isNode(value.CompoundIdentifier) || (isNode(value.Value) && isNode(value.Value.value) && typeof value.Value.value.Placeholder === 'string');
}

function isReadLocksOnly(tables: unknown): boolean {
  return Array.isArray(tables) && tables.length > 0 && tables.every((entry) => isNode(entry) && isNode(entry.lock_type) && Object.keys(entry.lock_type).length === 1 && isNode(entry.lock_type.Read));
}

function hasReadWriteMode(modes: unknown): boolean {
  return Array.isArray(modes) && modes.some((mode) => isNode(mode) && mode.AccessMode === 'ReadWrite');
}

function isTrue(value: unknown): boolean {
  const text = literalText(value)?.toLowerCase();
  return text === '1' || text === 'on' || text === 'true';
}

/** The text of a literal or bare word value (`ON`, `1`, `'utf8mb4'`, `TRUE`). */
function literalText(value: unknown): string | undefined {
  if (!isNode(value)) return undefined;
  if (isNode(value.Identifier)) return String(value.Identifier.value);
  const inner = isNode(value.Value) ? value.Value.value : undefined;
  if (!isNode(inner)) return undefined;
  if (typeof inner.Boolean === 'boolean') return String(inner.Boolean);
  if (Array.isArray(inner.Number)) return String(inner.Number[0]);
  for (const key of ['SingleQuotedString', 'DoubleQuotedString']) if (typeof inner[key] === 'string') return inner[key] as string;
  return undefined;
}

function variableName(parts: unknown): string {
  return Array.isArray(parts) ? parts.map(identifierText).join('.') : '';
}

function identifierText(part: unknown): string {
  if (isNode(part) && isNode(part.Identifier)) return String(part.Identifier.value);
  if (isNode(part) && typeof part.value === 'string') return part.value;
  return '?';
}

/** `[[{Identifier}…]…]` (a list of object names) to `schema.table` strings. */
function namesOf(list: unknown): string[] {
  return Array.isArray(list) ? list.map(objectName).filter((name): name is string => name !== undefined) : [];
}

function objectName(parts: unknown): string | undefined {
  if (!Array.isArray(parts) || parts.length === 0) return undefined;
  return parts.slice(-2).map(identifierText).join('.');
}

interface Findings {
  readonly objects: string[];
  modifying: boolean;
  rowLocks: boolean;
  adminCall: string | undefined;
  /** A call of a function that is not a reviewed read (a stored function, a sequence, a lock). */
  writeCall: string | undefined;
  bulkWrite: boolean;
}

/** Keys whose value is an object name: a table factor's `name`, an INSERT target, DDL subjects. */
const NAME_KEYS: ReadonlySet<string> = new Set(['TableName', 'table_name', 'old_name', 'new_name']);
const STATEMENT_NAME_VARIANTS: ReadonlySet<string> = new Set(['CreateTable', 'CreateView', 'AlterTable', 'AlterView', 'CreateTrigger']);

/**
 * Generic over every object and array, so that a table or a function call in a clause nobody
 * thought of is still found.
 */
function walk(node: Node, found: Findings): void {
  if (Array.isArray(node)) {
    for (const item of node as unknown[]) if (isNode(item) && literalVariant(item) === undefined) walk(item, found);
    return;
  }
  for (const key in node) {
    const child = node[key];
    if (child === null || typeof child !== 'object') continue;
    const fields = child as Node;
    // A literal holds no table and no call: not walked, so that reading its value stays a signal.
    if (literalVariant(fields) !== undefined) continue;
    switch (key) {
      case 'Table':
        // A table factor: `{ Table: { name: [...], … } }`.
        addObject(found, objectName(fields.name));
        break;
      case 'Insert':
      case 'Update':
      case 'Delete':
      case 'Merge':
        found.modifying = true;
        if (isBulkWrite(key, fields)) found.bulkWrite = true;
        if (key === 'Delete') for (const name of namesOf(fields.tables)) addObject(found, name);
        break;
      case 'Truncate':
        for (const entry of Array.isArray(fields.table_names) ? (fields.table_names as unknown[]) : []) if (isNode(entry)) addObject(found, objectName(entry.name));
        break;
      case 'LockTables':
        for (const entry of Array.isArray(fields.tables) ? (fields.tables as unknown[]) : []) if (isNode(entry)) addObject(found, identifierText(entry.table));
        break;
      case 'locks':
        if (Array.isArray(child) && child.length > 0) found.rowLocks = true;
        break;
      case 'Function': {
        const name = objectName(fields.name)?.toLowerCase();
        if (name !== undefined && ADMIN_FUNCTIONS.has(name)) found.adminCall ??= name;
        else if (name === undefined || !isReadFunction(name)) found.writeCall ??= name ?? 'an unnamed function';
        break;
      }
      default:
        if (NAME_KEYS.has(key)) addObject(found, objectName(child));
        else if (STATEMENT_NAME_VARIANTS.has(key)) addObject(found, objectName(fields.name));
    }
    walk(fields, found);
  }
}

function isBulkWrite(variant: string, fields: Node): boolean {
  // A WITH … DELETE nests `{ Delete: { Delete: {...} } }`: the inner one carries the fields.
  if (isNode(fields[variant])) return false;
  if (variant === 'Update' || variant === 'Delete') return fields.selection === null || fields.selection === undefined;
  if (variant === 'Insert') {
    const source = isNode(fields.source) ? fields.source : undefined;
    const body = source && isNode(source.body) ? source.body : undefined;
    return body !== undefined && body.Values === undefined;
  }
  return false;
}

function addObject(found: Findings, name: string | undefined): void {
  if (name !== undefined && name !== '?' && !found.objects.includes(name)) found.objects.push(name);
}

/** Literal kinds the template lexer replaces: a decimal number and a '…' string. */
const LITERAL_VARIANTS: ReadonlySet<string> = new Set(['Number', 'SingleQuotedString']);

/**
 * For a literal node (the parser's `ValueWithSpan`: exactly `{ value: { <Variant>: … }, span }`)
 * of a kind the template lexer replaces, its variant; undefined for anything else. Reads no value.
 */
export function literalVariant(node: Node): string | undefined {
  const keys = Object.keys(node);
  if (keys.length !== 2 || !keys.includes('value') || !keys.includes('span')) return undefined;
  const value = node.value;
  if (!isNode(value) || Array.isArray(value)) return undefined;
  const variants = Object.keys(value);
  return variants.length === 1 && LITERAL_VARIANTS.has(variants[0]!) ? variants[0] : undefined;
}

function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null;
}
