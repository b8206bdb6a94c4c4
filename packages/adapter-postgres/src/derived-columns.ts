import { WardenError, type ColumnPlan, type Masker } from '@warden/core';
import { resultLineage, type ColumnLineage, type ResultLineage } from '@warden/sql';
import type { DescribedField, FunctionKind, RelationKind } from './column-resolver';
import type { PgValueType } from './pg-values';

/**
 * How a computed result column (no table OID in RowDescription: an expression, a whole row, a
 * UNION column…) that derives from a masked table column goes out: its value as a whole is
 * replaced. A text-typed column gets the redaction text (valid in text and binary format alike);
 * any other type gets NULL, the one value every type accepts in both formats: a client parses an
 * int, a date, a record or JSON and would choke on text in their place.
 */
export type WholeValue = 'redact' | 'null';

export const DERIVED_REDACTION = '[REDACTED]';
export const DERIVED_REDACTION_BYTES = Buffer.from(DERIVED_REDACTION, 'utf8');

const lineages = new Map<string, ResultLineage>();
const LINEAGE_CACHE_SIZE = 2000;

/** The statement's result lineage, computed once per text. */
function lineageOf(text: string): ResultLineage {
  let lineage = lineages.get(text);
  if (!lineage) {
    lineage = resultLineage(text);
    // Dropped whole when full: a statement's lineage is cheap to compute again.
    if (lineages.size >= LINEAGE_CACHE_SIZE) lineages.clear();
    lineages.set(text, lineage);
  }
  return lineage;
}


function lineageOfColumn(text: string, fields: readonly DescribedField[], index: number): ColumnLineage {
  const lineage = lineageOf(text);
  return lineage.columns?.length === fields.length ? lineage.columns[index]! : lineage.all;
}

/** The relations the computed columns of a result derive from: what must be known to be tables. */
export function derivedRelations(text: string, fields: readonly DescribedField[], computed: (field: DescribedField) => boolean): Array<{ schema?: string; name: string }> {
  const relations = new Map<string, { schema?: string; name: string }>();
  fields.forEach((field, index) => {
    if (!computed(field)) return;
    for (const source of lineageOfColumn(text, fields, index).sources) {
      relations.set(`${source.schema ?? ''}.${source.table}`, { ...(source.schema === undefined ? {} : { schema: source.schema }), name: source.table });
    }
  });
  return [...relations.values()];
}

/** The functions the computed columns of a result call (as written): what must be known to be built in. */
export function derivedFunctions(text: string, fields: readonly DescribedField[], computed: (field: DescribedField) => boolean): string[] {
  const functions = new Set<string>();
  fields.forEach((field, index) => {
    if (computed(field)) for (const name of lineageOfColumn(text, fields, index).functions) if (!name.startsWith('pg_catalog.')) functions.add(name.replace(/^\?/, ''));
  });
  return [...functions];
}

/** What to do with a computed column: nothing special (undefined), or a plan that masks it whole or lets it through exempt. */
export interface DerivedPlan {
  readonly plan: ColumnPlan;
  readonly whole?: WholeValue;
}

/**
 * The plan of computed column `index` of `fields` in the result of `text`, from the table columns it
 * derives from: masked whole when one of them is under a rule this identity is not exempt from;
 * refused when Warden cannot tell what it derives from (fail closed); undefined when it derives
 * from no masked column (content detection still applies).
 */
export function planDerivedColumn(
  text: string,
  fields: readonly DescribedField[],
  index: number,
  type: PgValueType,
  masker: Masker,
  relationKind: (schema: string | undefined, name: string) => RelationKind | undefined,
  functionKind: (name: string) => FunctionKind | undefined,
): DerivedPlan | undefined {
  const column = lineageOfColumn(text, fields, index);
  const name = fields[index]!.name.slice(0, 63);
  // Exempt from every column: nothing to mask, so nothing to refuse either (the access is audited).
  if (masker.exemptFromAll) return column.unknown || column.sources.length > 0 ? { plan: { rule: 'derived', exempt: true, mask: (value) => value, counts: {} } } : undefined;
  // Derived from a masked column: the whole value is replaced, so nothing else it reads can show.
  let exempt = false;
  for (const source of column.sources) {
    const rule = masker.ruleOverSource(source);
    if (rule === 'masked') {
      const whole: WholeValue = type.kind === 'text' ? 'redact' : 'null';
      const counts: Record<string, number> = { derived: 0 };
      return {
        whole,
        plan: {
          rule: 'derived',
          exempt: false,
          counts,
          mask: () => {
            // COPY output: only the redaction text has a place there.
            if (whole === 'null') throw new WardenError('masking', `result column "${name}" derives from a masked column and its type cannot carry the redaction text`);
            counts['derived']!++;
            return DERIVED_REDACTION;
          },
        },
      };
    }
    if (rule === 'exempt') exempt = true;
  }
  if (masker.hasColumnRules) {
    // A view (or anything but a table) hides which tables it reads: not resolved yet, so refused.
    const opaque = column.sources.find((source) => relationKind(source.schema, source.table) !== 'table');
    // A function outside pg_catalog may read any table in its body, which the statement does not show.
    const userFunction = column.functions
      .map((fn) => (fn.startsWith('?') ? { name: fn.slice(1), maybe: true } : { name: fn, maybe: false }))
      .find(({ name: fn, maybe }) => !fn.startsWith('pg_catalog.') && (maybe ? functionKind(fn) === 'user' : functionKind(fn) !== 'builtin'))?.name;
    if (userFunction) {
      throw new WardenError(
        'masking',
        `result column "${name}" calls function "${userFunction.slice(0, 63)}", which is not a PostgreSQL built-in (its body may read masked columns Warden cannot see), and masking rules apply to this connection`,
      );
    }
    if (opaque) {
      throw new WardenError(
        'masking',
        `result column "${name}" is computed from relation "${opaque.table.slice(0, 63)}", which is not a table Warden knows (views are not traced to their tables yet), and masking rules apply to this connection`,
      );
    }
  }
  if (column.unknown && masker.hasColumnRules) {
    throw new WardenError(
      'masking',
      `result column "${name}" is computed from something Warden cannot trace to its table columns (a cursor, a prepared statement, an unknown relation or qualifier), and masking rules apply to this connection`,
    );
  }
  if (exempt) return { plan: { rule: 'derived', exempt: true, mask: (value) => value, counts: {} } };
  return undefined;
}
