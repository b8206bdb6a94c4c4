/**
 * What reading a relation runs besides reading it: a view runs its definition (a SELECT that can
 * call any function, `CREATE RULE … ON SELECT` is how PostgreSQL stores it), and a table with row
 * security runs the USING expressions of its SELECT and ALL policies. A statement naming neither
 * function nor operator can still call both through them, so a `read` is judged by them too.
 * Materialized views are stored rows: reading one runs nothing (REFRESH is classified a write).
 * A foreign table (`f`) runs its foreign-data wrapper, which no SQL text describes.
 */

/** One pg_class row: kind as `relkind`, and for a view (`v`) its definition from pg_get_viewdef. */
export type RelationRow = readonly [schema: string, name: string, kind: string, definition?: string];
/** The USING expression of a SELECT or ALL policy (pg_get_expr(polqual, polrelid)) on `schema.table`. */
export type PolicyRow = readonly [schema: string, table: string, expression: string];

/** A relation and the SQL texts reading it runs: its view definition, its policies as `SELECT expr`. */
export interface Relation {
  readonly schema: string;
  readonly name: string;
  readonly kind: string;
  readonly runs: readonly string[];
}

/** The target's relations by name, for resolving the names a statement reads. */
export class RelationDefinitions {
  private readonly byName = new Map<string, Relation[]>();

  constructor(relations: readonly RelationRow[], policies: readonly PolicyRow[]) {
    const policyTexts = new Map<string, string[]>();
    for (const [schema, table, expression] of policies) {
      const key = `${schema}\0${table}`;
      policyTexts.set(key, [...(policyTexts.get(key) ?? []), `SELECT ${expression}`]);
    }
    for (const [schema, name, kind, definition] of relations) {
      const runs = [...(kind === 'v' ? [definition ?? ''] : []), ...(policyTexts.get(`${schema}\0${name}`) ?? [])];
      const list = this.byName.get(name) ?? [];
      list.push({ schema, name, kind, runs });
      this.byName.set(name, list);
    }
  }

  /**
   * Every relation `object` (as the classifier lists it: `schema.name`, or `name` unqualified, dots
   * in quoted names kept) may stand for: unqualified, one of that name in any schema (the
   * search_path decides at run time); undefined when the target has no relation of that name.
   */
  resolve(object: string): readonly Relation[] | undefined {
    const found = new Set<Relation>(this.byName.get(object) ?? []);
    // `a.b.c` may be schema `a.b`, relation `c` or schema `a`, relation `b.c` (quoted names can hold dots).
    for (let dot = object.indexOf('.'); dot !== -1; dot = object.indexOf('.', dot + 1)) {
      const prefix = object.slice(0, dot);
      for (const relation of this.byName.get(object.slice(dot + 1)) ?? []) {
        if (prefix === relation.schema || prefix.endsWith(`.${relation.schema}`)) found.add(relation);
      }
    }
    return found.size === 0 ? undefined : [...found];
  }
}
