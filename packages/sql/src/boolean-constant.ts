import { isJsonNode } from './statement-tree';

// PostgreSQL's parse_bool spellings (any unambiguous prefix of true/false/yes/no, on/off, 1/0).
const TRUE_WORDS: ReadonlySet<string> = new Set(['t', 'tr', 'tru', 'true', 'y', 'ye', 'yes', 'on', '1']);
const FALSE_WORDS: ReadonlySet<string> = new Set(['f', 'fa', 'fal', 'fals', 'false', 'n', 'no', 'of', 'off', '0']);

/**
 * The boolean a parse-tree constant spells: an `A_Const` (`SET x = off`) or a bare value node
 * (`EXPLAIN (ANALYZE off)`, `SET TRANSACTION READ WRITE`). Undefined when it is not a boolean
 * PostgreSQL would accept, so callers can fail closed.
 */
export function booleanConstant(node: unknown): boolean | undefined {
  if (!isJsonNode(node)) return undefined;
  const constant = isJsonNode(node.A_Const) ? node.A_Const : undefined;
  const integer = constant ? constant.ival : node.Integer;
  const string = constant ? constant.sval : node.String;
  const bool = constant ? constant.boolval : node.Boolean;
  // Protobuf JSON leaves zero and false out: `{ ival: {} }` is 0, `{ boolval: {} }` is false.
  if (isJsonNode(integer)) {
    const value = integer.ival ?? 0;
    return value === 0 ? false : value === 1 ? true : undefined;
  }
  if (isJsonNode(bool)) return bool.boolval === true;
  if (isJsonNode(string) && typeof string.sval === 'string') {
    const word = string.sval.toLowerCase();
    return TRUE_WORDS.has(word) ? true : FALSE_WORDS.has(word) ? false : undefined;
  }
  return undefined;
}
