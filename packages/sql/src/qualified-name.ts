/**
 * Function and operator names as a statement wrote them, in one unambiguous text: each part as
 * PostgreSQL would print it (`lower`, `pg_catalog.lower`, `"Weird.Name"`), operators with their
 * schema when qualified (`+`, `pg_catalog.+`). Readers of a classification (the Postgres adapter's
 * function catalog) parse them back with `parseQualifiedName` / `parseOperatorName`.
 */

const PLAIN_IDENTIFIER = /^[a-z_][a-z0-9_$]*$/;

/** One identifier as SQL text: bare when it can be, double-quoted otherwise. */
function quoteIdentifier(name: string): string {
  return PLAIN_IDENTIFIER.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

/**
 * `['pg_catalog', 'lower']` → `pg_catalog.lower`; a three-part name keeps its last two parts (the
 * first can only be the current database).
 */
export function formatQualifiedName(parts: readonly string[]): string {
  return parts.slice(-2).map(quoteIdentifier).join('.');
}

/** The schema (when qualified) and name of a `formatQualifiedName` text; undefined when it is not one. */
export function parseQualifiedName(text: string): { readonly schema?: string; readonly name: string } | undefined {
  const parts: string[] = [];
  let index = 0;
  while (index < text.length) {
    if (text[index] === '"') {
      let part = '';
      index++;
      for (;;) {
        const quote = text.indexOf('"', index);
        if (quote === -1) return undefined;
        part += text.slice(index, quote);
        if (text[quote + 1] === '"') {
          part += '"';
          index = quote + 2;
        } else {
          index = quote + 1;
          break;
        }
      }
      parts.push(part);
    } else {
      const dot = text.indexOf('.', index);
      const end = dot === -1 ? text.length : dot;
      const part = text.slice(index, end);
      if (!PLAIN_IDENTIFIER.test(part)) return undefined;
      parts.push(part);
      index = end;
    }
    if (index < text.length) {
      if (text[index] !== '.') return undefined;
      index++;
      if (index === text.length) return undefined;
    }
  }
  if (parts.length === 1) return { name: parts[0]! };
  if (parts.length === 2) return { schema: parts[0]!, name: parts[1]! };
  return undefined;
}

/** `['pg_catalog', '+']` → `pg_catalog.+` (operator names never hold a dot or a quote). */
export function formatOperatorName(parts: readonly string[]): string {
  const name = parts[parts.length - 1] ?? '';
  return parts.length >= 2 ? `${quoteIdentifier(parts[parts.length - 2]!)}.${name}` : name;
}

/** The schema (when qualified) and name of a `formatOperatorName` text. */
export function parseOperatorName(text: string): { readonly schema?: string; readonly name: string } | undefined {
  const dot = text.lastIndexOf('.');
  if (dot === -1) return text === '' ? undefined : { name: text };
  const schema = parseQualifiedName(text.slice(0, dot));
  const name = text.slice(dot + 1);
  if (!schema || schema.schema !== undefined || name === '') return undefined;
  return { schema: schema.name, name };
}
