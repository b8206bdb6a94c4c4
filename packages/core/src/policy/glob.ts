/**
 * Object-name globs: `*` matches within one dotted part, `**` across parts. Patterns without a
 * schema also match schema-qualified names (`patients` matches `public.patients`), because clients
 * can always qualify a name to dodge a rule that only names the bare table. And a qualified
 * pattern also matches the unqualified name (`public.patients` matches `patients`): the server
 * resolves a bare name through the session's `search_path`, which the client controls, so Warden
 * must assume it may be the qualified table.
 */
export function compileObjectGlob(pattern: string): (name: string) => boolean {
  const exact = new RegExp(`^${globSource(pattern)}$`, 'i');
  const dot = pattern.indexOf('.');
  const qualified = dot === -1 ? new RegExp(`^[^.]+\\.${globSource(pattern)}$`, 'i') : undefined;
  // `schema.table` → also the bare `table`; `**.table` → also `table`.
  const tail = dot === -1 ? undefined : new RegExp(`^${globSource(pattern.slice(dot + 1))}$`, 'i');
  return (name) => exact.test(name) || (qualified?.test(name) ?? false) || (tail !== undefined && !name.includes('.') && tail.test(name));
}

/**
 * Column globs: `[schema.]table.column`, or `column` alone for that column in any table. A name
 * `table.*` (from `SELECT *`) matches every pattern whose table part matches, since the star
 * returns every column. Table parts follow `compileObjectGlob`.
 */
export function compileColumnGlob(pattern: string): (name: string) => boolean {
  const split = pattern.lastIndexOf('.');
  const columnTest = new RegExp(`^${globSource(split === -1 ? pattern : pattern.slice(split + 1))}$`, 'i');
  const tableTest = split === -1 ? undefined : compileObjectGlob(pattern.slice(0, split));
  return (name) => {
    const at = name.lastIndexOf('.');
    if (at === -1) return false;
    const column = name.slice(at + 1);
    if (column !== '*' && !columnTest.test(column)) return false;
    return tableTest === undefined || tableTest(name.slice(0, at));
  };
}

function globSource(pattern: string): string {
  return pattern
    .split('**')
    .map((part) => part.split('*').map(escapeRegExp).join('[^.]*'))
    .join('.*');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}
