import { parseSync, scanSync } from 'libpg-query';
import { isSqlParserLoaded } from './postgres-parser';

/** What a `COPY … TO STDOUT` sends, and a query whose result columns are the copied columns. */
export interface CopyOutSource {
  /** `SELECT <columns> FROM <table>` or the COPY's own query: Describe it to learn the columns. */
  readonly query: string;
  readonly format: 'text' | 'csv' | 'binary';
  readonly delimiter: string;
  /** The NULL marker (`\N` in text format, empty in CSV). */
  readonly null: string;
  readonly quote: string;
  readonly escape: string;
  readonly header: boolean;
}

interface DefElem {
  readonly DefElem?: { readonly defname?: string; readonly arg?: { readonly String?: { readonly sval?: string }; readonly Boolean?: { readonly boolval?: boolean }; readonly Integer?: { readonly ival?: number } } };
}
interface CopyStmt {
  readonly relation?: { readonly schemaname?: string; readonly relname?: string };
  readonly attlist?: ReadonlyArray<{ readonly String?: { readonly sval?: string } }>;
  readonly query?: unknown;
  readonly is_from?: boolean;
  readonly filename?: string;
  readonly is_program?: boolean;
  readonly options?: readonly DefElem[];
}

/**
 * The `COPY … TO STDOUT` statements of `text`, in order, so that their output can be masked per
 * column. Returns undefined when the text cannot be parsed (the caller fails closed).
 * Requires `loadSqlParsers()`.
 */
export function describeCopyOut(text: string): CopyOutSource[] | undefined {
  if (!isSqlParserLoaded()) return undefined;
  let stmts;
  try {
    stmts = parseSync(text).stmts ?? [];
  } catch {
    return undefined;
  }
  const bytes = Buffer.from(text, 'utf8');
  const sources: CopyOutSource[] = [];
  for (const raw of stmts) {
    const copy = (raw.stmt as { CopyStmt?: CopyStmt } | undefined)?.CopyStmt;
    if (!copy || copy.is_from || copy.filename !== undefined || copy.is_program) continue;
    const start = raw.stmt_location ?? 0;
    const statement = bytes.toString('utf8', start, raw.stmt_len ? start + raw.stmt_len : bytes.length);
    let query: string | undefined;
    if (copy.query) {
      query = parenthesised(statement);
    } else if (copy.relation?.relname) {
      const table = [copy.relation.schemaname, copy.relation.relname].filter((part): part is string => Boolean(part)).map(quoteIdent).join('.');
      const columns = copy.attlist?.map((a) => quoteIdent(a.String?.sval ?? '')).join(', ');
      query = `SELECT ${columns && columns.length > 0 ? columns : '*'} FROM ${table}`;
    }
    if (query === undefined) return undefined;
    const options = new Map<string, string | boolean>();
    for (const option of copy.options ?? []) {
      const def = option.DefElem;
      if (!def?.defname) continue;
      const arg = def.arg;
      options.set(def.defname, arg?.String?.sval ?? arg?.Boolean?.boolval ?? (arg?.Integer?.ival !== undefined ? String(arg.Integer.ival) : true));
    }
    const format = (options.get('format') ?? (options.get('binary') === true ? 'binary' : options.get('csv') === true ? 'csv' : 'text')) as string;
    if (format !== 'text' && format !== 'csv' && format !== 'binary') return undefined;
    const str = (name: string, fallback: string) => {
      const value = options.get(name);
      return typeof value === 'string' ? value : fallback;
    };
    const quote = str('quote', '"');
    const header = options.get('header');
    sources.push({
      query,
      format,
      delimiter: str('delimiter', format === 'csv' ? ',' : '\t'),
      null: str('null', format === 'csv' ? '' : '\\N'),
      quote,
      escape: str('escape', quote),
      header: header === true || header === 'true' || header === 'on' || header === '1' || header === 'match',
    });
  }
  return sources;
}

/** The text inside the first parenthesis of a statement (the query of `COPY (query) TO …`). */
function parenthesised(statement: string): string | undefined {
  const bytes = Buffer.from(statement, 'utf8');
  const tokens = scanSync(statement).tokens;
  let depth = 0;
  let from = -1;
  for (const token of tokens) {
    if (token.tokenName === 'ASCII_40') {
      if (depth === 0) from = token.end;
      depth++;
    } else if (token.tokenName === 'ASCII_41') {
      depth--;
      if (depth === 0 && from >= 0) return bytes.toString('utf8', from, token.start);
    }
  }
  return undefined;
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
