/**
 * MySQL spellings the parser does not know, rewritten into ones it does where the rewrite cannot
 * change what Warden judges (the action, the tables, the calls): deprecated EXPLAIN modifiers,
 * GROUP BY … WITH ROLLUP, LOCK TABLE for LOCK TABLES, MATCH col AGAINST without parentheses.
 * Only code outside quotes is touched.
 */
/** At the start of the statement (keywords only, so no quote can be involved). */
const LEADING: ReadonlyArray<readonly [pattern: RegExp, replacement: string]> = [
  // EXPLAIN EXTENDED / PARTITIONS: what MySQL 5.x printed extra; the plan is the same.
  [/^(\s*(?:EXPLAIN|DESCRIBE|DESC))\s+(?:EXTENDED|PARTITIONS)\b/i, '$1'],
  [/^(\s*LOCK\s+)TABLE\b(?!S)/i, '$1TABLES'],
];

/** Anywhere outside quotes. */
const ANYWHERE: ReadonlyArray<readonly [pattern: RegExp, replacement: string]> = [
  // A super-aggregate row added to the result: no table, no call.
  [/\bWITH\s+ROLLUP\b/gi, ''],
  [/\bMATCH\s+([A-Za-z_][A-Za-z0-9_$.]*)\s+AGAINST\b/gi, 'MATCH ($1) AGAINST'],
];

/** The code with every neutral rewrite applied, or undefined when none applies. */
export function neutralRewrite(code: string): string | undefined {
  const led = LEADING.reduce((text, [pattern, replacement]) => text.replace(pattern, replacement), code);
  const rewritten = outsideQuotes(led, (part) => ANYWHERE.reduce((text, [pattern, replacement]) => text.replace(pattern, replacement), part));
  return rewritten === code ? undefined : rewritten;
}

/**
 * Applies `edit` to the parts of `code` outside quotes (code as the lexer hands it on: comments
 * blanked, strings in the parser's default quoting), so that an edit never reaches into a value.
 */
export function outsideQuotes(code: string, edit: (part: string) => string): string {
  let out = '';
  let i = 0;
  while (i < code.length) {
    const next = code.slice(i).search(/['"`]/);
    if (next === -1) return out + edit(code.slice(i));
    out += edit(code.slice(i, i + next));
    const start = i + next;
    const quote = code[start]!;
    let end = start + 1;
    while (end < code.length) {
      if (code[end] === '\\' && quote !== '`') end += 2;
      else if (code[end] === quote && code[end + 1] === quote) end += 2;
      else if (code[end] === quote) break;
      else end++;
    }
    out += code.slice(start, end + 1);
    i = end + 1;
  }
  return out;
}

