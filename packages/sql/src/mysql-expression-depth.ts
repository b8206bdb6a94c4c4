/**
 * An upper bound on how deep the parser's tree of a MySQL statement will be, from its text. The
 * WASM parser recurses through long operator chains (`a OR b OR c …`, `1 + 1 + …`) without its
 * recursion limit noticing, and around 700 levels it overflows its stack: the module is then
 * corrupt, and every later parse in the process fails. Statements deeper than `MAX_EXPRESSION_DEPTH`
 * are therefore never handed to it (they are refused as too complex to analyse).
 *
 * The bound: binary operators chain within one comma-separated item at one parenthesis level;
 * each open parenthesis adds its own weight on top of the chain it sits in. Input is code as the
 * lexer hands it on (comments blanked, strings in default quoting).
 */
export const MAX_EXPRESSION_DEPTH = 400;

/** Weight of one level of parentheses (a nested expression costs the parser more than a chain link). */
const PARENTHESIS_WEIGHT = 3;

const OPERATOR_WORDS: ReadonlySet<string> = new Set(['AND', 'OR', 'XOR', 'NOT', 'IS', 'LIKE', 'REGEXP', 'RLIKE', 'DIV', 'MOD', 'BETWEEN', 'IN', 'SOUNDS', 'MEMBER', 'INTERVAL', 'COLLATE', 'ESCAPE', 'BINARY']);
const OPERATOR_CHARS = '+-*/%=<>!|&^~:';

/** The bound for `code`; stops counting once past `limit`. */
export function expressionDepthBound(code: string, limit = MAX_EXPRESSION_DEPTH): number {
  const chain: number[] = [0];
  let depth = 0;
  let max = 0;
  let i = 0;
  const n = code.length;
  while (i < n && max <= limit) {
    const c = code[i]!;
    if (c === "'" || c === '"' || c === '`') {
      i = skipQuoted(code, i);
      continue;
    }
    if (c === '(') {
      chain.push(0);
      depth += PARENTHESIS_WEIGHT;
    } else if (c === ')') {
      if (chain.length > 1) {
        depth -= PARENTHESIS_WEIGHT + chain.pop()!;
      }
    } else if (c === ',' || c === ';') {
      depth -= chain[chain.length - 1]!;
      chain[chain.length - 1] = 0;
    } else if (OPERATOR_CHARS.includes(c)) {
      chain[chain.length - 1]!++;
      depth++;
    } else if (isWordStart(c)) {
      let end = i + 1;
      while (end < n && isWordChar(code[end]!)) end++;
      if (OPERATOR_WORDS.has(code.slice(i, end).toUpperCase())) {
        chain[chain.length - 1]!++;
        depth++;
      }
      max = Math.max(max, depth);
      i = end;
      continue;
    }
    max = Math.max(max, depth);
    i++;
  }
  return max;
}

function skipQuoted(code: string, start: number): number {
  const quote = code[start];
  let i = start + 1;
  while (i < code.length) {
    const c = code[i];
    if (c === '\\' && quote !== '`') {
      i += 2;
      continue;
    }
    if (c === quote) {
      if (code[i + 1] === quote) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    i++;
  }
  return code.length;
}

function isWordStart(c: string): boolean {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c === '_' || c === '@' || c === '$';
}

function isWordChar(c: string): boolean {
  return isWordStart(c) || (c >= '0' && c <= '9');
}
