/**
 * Object-name globs: `*` matches within one dotted part, `**` across parts. Patterns without a
 * schema also match schema-qualified names (`patients` matches `public.patients`), because clients
 * can always qualify a name to dodge a rule that only names the bare table.
 */
export function compileObjectGlob(pattern: string): (name: string) => boolean {
  const source = pattern
    .split('**')
    .map((part) => part.split('*').map(escapeRegExp).join('[^.]*'))
    .join('.*');
  const exact = new RegExp(`^${source}$`, 'i');
  const qualified = pattern.includes('.') ? undefined : new RegExp(`^[^.]+\\.${source}$`, 'i');
  return (name) => exact.test(name) || (qualified?.test(name) ?? false);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}
