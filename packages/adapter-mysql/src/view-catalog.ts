/**
 * Views that call functions a read may not call. `SELECT * FROM v` names no function, but when
 * v's definition calls GET_LOCK, BENCHMARK or a stored function, reading v calls it too, and the
 * target's read-only transaction stops only writes to tables (a lock is still taken, a UDF still
 * runs). So before a read-only grant's read of a view, the view's definition is judged as a
 * statement of its own (views over such views too).
 *
 * Definitions come from information_schema.VIEWS on a short-lived connection with Warden's
 * credentials, kept for a short while (a view replaced since is seen within `TTL_MS`). A view whose
 * definition Warden's account may not read is treated like one that calls something (fail closed).
 */
import type { Classification, StatementClass } from '@warden/core';
import { classifyMysql } from '@warden/sql';
import type { MysqlTarget } from './mysql-target';
import { queryTextRows } from './text-query';

const TTL_MS = 2_000;
const BY_TARGET = new WeakMap<MysqlTarget, ViewCatalog>();
const QUERY = 'SELECT TABLE_SCHEMA, TABLE_NAME, VIEW_DEFINITION FROM information_schema.VIEWS';

/** Why reading a view is not a plain read, by lower-cased `name` and `schema.name`. */
type Flags = ReadonlyMap<string, string>;

export class ViewCatalog {
  private snapshot: { readonly at: number; readonly flags: Flags } | undefined;
  private loading: Promise<Flags> | undefined;

  constructor(
    private readonly load: () => Promise<ReadonlyArray<readonly [schema: string, name: string, definition: string | undefined]>>,
    private readonly now: () => number = Date.now,
  ) {}

  /** The catalog of a target, shared by its sessions. */
  static forTarget(target: MysqlTarget): ViewCatalog {
    let catalog = BY_TARGET.get(target);
    if (catalog === undefined) {
      catalog = new ViewCatalog(async () =>
        (await queryTextRows(target, QUERY, { purpose: 'view-catalog', timeoutMs: 3_000, maxBytes: 8 * 1024 * 1024 })).map((row) => [row[0] ?? '', row[1] ?? '', row[2]] as const),
      );
      BY_TARGET.set(target, catalog);
    }
    return catalog;
  }

  /**
   * The classification with each read that reads a flagged view raised to a write (with the
   * reason), or the classification itself when none does. Rejects when the catalog cannot be read.
   */
  async judge(classification: Classification): Promise<Classification> {
    if (!classification.statements.some((statement) => statement.action === 'read' && statement.objects.length > 0)) return classification;
    const flags = await this.flags();
    if (flags.size === 0) return classification;
    let changed = false;
    const statements = classification.statements.map((statement): StatementClass => {
      if (statement.action !== 'read') return statement;
      const view = statement.objects.find((name) => flags.has(name.toLowerCase()));
      if (view === undefined) return statement;
      changed = true;
      return { ...statement, action: 'write', note: `reads view ${view}, which ${flags.get(view.toLowerCase())}` };
    });
    if (!changed) return classification;
    const writes = statements.some((statement) => statement.action === 'write');
    const stronger = classification.action === 'read' && writes ? 'write' : classification.action;
    return { ...classification, action: stronger, statements };
  }

  private async flags(): Promise<Flags> {
    const snapshot = this.snapshot;
    if (snapshot !== undefined && this.now() - snapshot.at < TTL_MS) return snapshot.flags;
    this.loading ??= this.load()
      .then((views) => {
        const flags = flagViews(views);
        this.snapshot = { at: this.now(), flags };
        return flags;
      })
      .finally(() => {
        this.loading = undefined;
      });
    return this.loading;
  }
}

/** Views whose reading calls what a read may not, and views over them, to a fixed point. */
export function flagViews(views: ReadonlyArray<readonly [schema: string, name: string, definition: string | undefined]>): Flags {
  const flags = new Map<string, string>();
  const flag = (schema: string, name: string, reason: string): void => {
    flags.set(name.toLowerCase(), reason);
    flags.set(`${schema}.${name}`.toLowerCase(), reason);
  };
  const analysed = views.map(([schema, name, definition]) => ({ schema, name, classification: definition ? classifyMysql(definition) : undefined }));
  for (const view of analysed) {
    const statement = view.classification?.statements[0];
    if (view.classification === undefined) flag(view.schema, view.name, 'has a definition Warden cannot read');
    else if (view.classification.statementCount !== 1 || statement?.action !== 'read') flag(view.schema, view.name, statement?.note ?? 'is not a plain read');
  }
  for (let grew = true; grew; ) {
    grew = false;
    for (const view of analysed) {
      if (flags.has(`${view.schema}.${view.name}`.toLowerCase())) continue;
      const inner = view.classification?.objects.find((object) => flags.has(object.toLowerCase()) || flags.has(`${view.schema}.${object}`.toLowerCase()));
      if (inner !== undefined) {
        flag(view.schema, view.name, `reads view ${inner}`);
        grew = true;
      }
    }
  }
  return flags;
}
