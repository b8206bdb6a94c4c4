/**
 * Column patterns: `schema.table.column`, `table.column`, or `column`, each part a glob (`*`
 * matches any run of characters within the part), compared case-insensitively. When several match,
 * the most specific wins (more literal parts), then the first configured.
 */
export interface ColumnPatterns<T> {
  readonly size: number;
  match(column: { readonly schema?: string; readonly table?: string; readonly column: string }): { readonly pattern: string; readonly value: T } | undefined;
  /**
   * For a table column a computed value derives from, as the statement names it: an absent schema
   * may be any schema, and `column: '*'` (the whole row) is any column of the table.
   */
  covers(source: { readonly schema?: string; readonly table: string; readonly column: string }): boolean;
}

interface Compiled<T> {
  readonly pattern: string;
  readonly value: T;
  readonly schema?: RegExp;
  /** Undefined for a one-part pattern (any table). */
  readonly table?: RegExp;
  readonly tableIsWildcard: boolean;
  readonly column: RegExp;
  readonly specificity: number;
}

export function compileColumnPatterns<T>(entries: ReadonlyArray<readonly [string, T]>): ColumnPatterns<T> {
  const compiled: Compiled<T>[] = entries.map(([pattern, value]) => {
    const parts = pattern.split('.');
    if (parts.length > 3 || parts.some((part) => part.length === 0)) throw new Error(`invalid column pattern "${pattern}"`);
    const column = parts[parts.length - 1]!;
    const table = parts.length >= 2 ? parts[parts.length - 2] : undefined;
    const schema = parts.length === 3 ? parts[0] : undefined;
    return {
      pattern,
      value,
      ...(schema === undefined ? {} : { schema: glob(schema) }),
      ...(table === undefined ? {} : { table: glob(table) }),
      tableIsWildcard: table === undefined || table === '*',
      column: glob(column),
      specificity: parts.filter((part) => !part.includes('*')).length,
    };
  });
  // Stable sort: most specific first, configuration order among equals.
  const ordered = compiled.map((c, i) => [c, i] as const).sort((a, b) => b[0].specificity - a[0].specificity || a[1] - b[1]).map(([c]) => c);
  return {
    size: ordered.length,
    match(column) {
      for (const c of ordered) {
        if (!c.column.test(column.column)) continue;
        if (column.table === undefined) {
          // A computed column has only a label: only patterns that accept any table apply.
          if (c.tableIsWildcard && c.schema === undefined) return c;
          continue;
        }
        if (c.table && !c.table.test(column.table)) continue;
        if (c.schema && !c.schema.test(column.schema ?? '')) continue;
        return c;
      }
      return undefined;
    },
    covers(source) {
      return ordered.some(
        (c) =>
          (source.column === '*' || c.column.test(source.column)) &&
          (!c.table || c.table.test(source.table)) &&
          (!c.schema || source.schema === undefined || c.schema.test(source.schema)),
      );
    },
  };
}

function glob(part: string): RegExp {
  const source = part
    .split('*')
    .map((piece) => piece.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`, 'i');
}
