import { createHash } from 'node:crypto';

/**
 * The command text an approval is bound to: leading and trailing whitespace removed, and runs of
 * whitespace outside quotes (`'…'`, `"…"`, `` `…` ``) collapsed to one space. Literals stay exactly
 * as they are: approving `… WHERE id = 1` does not approve `… WHERE id = 2`, nor `'a  b'` `'a b'`.
 * A text holding `$` (a PostgreSQL dollar-quoted body, a shell variable) is only trimmed, since its
 * quoting cannot be told apart without a parser.
 *
 * @example
 * normalizeCommandText('DELETE  FROM\n patients WHERE id = 1 ') // 'DELETE FROM patients WHERE id = 1'
 */
export function normalizeCommandText(text: string): string {
  const trimmed = text.trim();
  if (trimmed.includes('$')) return trimmed;
  let out = '';
  let quote: string | undefined;
  let pendingSpace = false;
  for (const char of trimmed) {
    if (quote !== undefined) {
      out += char;
      if (char === quote) quote = undefined;
      continue;
    }
    if (/\s/.test(char)) {
      pendingSpace = true;
      continue;
    }
    if (pendingSpace) out += ' ';
    pendingSpace = false;
    out += char;
    if (char === "'" || char === '"' || char === '`') quote = char;
  }
  return out;
}

/** A stable key for "this identity, on this connection, running this exact command". */
export function approvalBinding(subject: string, issuer: string, connection: string, text: string): string {
  return createHash('sha256')
    .update(JSON.stringify([issuer, subject, connection, normalizeCommandText(text)]))
    .digest('hex');
}
