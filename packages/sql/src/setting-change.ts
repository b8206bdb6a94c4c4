/**
 * Settings whose change matters to enforcement. Shared by `SET`/`RESET` and `set_config(…)`, which
 * change the same run-time parameters (https://www.postgresql.org/docs/current/functions-admin.html).
 */
import { booleanConstant } from './boolean-constant';
import { stringConstant } from './statement-tree';

/** Settings that decide who the session is: changing them is `admin` wherever it happens. */
const ROLE_SETTINGS: ReadonlySet<string> = new Set(['role', 'session_authorization']);

/** Settings a read-only grant relies on: the target session is opened with the first one `on`. */
const READ_ONLY_SETTINGS: ReadonlySet<string> = new Set(['default_transaction_read_only', 'transaction_read_only']);

/**
 * The spellings of UTF8 PostgreSQL accepts for `client_encoding`, after its own clean-up of the
 * name (lower case, only letters and digits: `UTF-8`, `utf_8` and `Unicode` all name UTF8).
 */
const UTF8_NAMES: ReadonlySet<string> = new Set(['utf8', 'unicode']);

/** What changing one setting does to enforcement. */
export type SettingChange =
  /** Changes who the session is, or disables triggers and rules (`session_replication_role`). */
  | { readonly kind: 'admin'; readonly note: string }
  /** Can turn off the read-only mode of a read-only grant's target session. */
  | { readonly kind: 'disables-read-only'; readonly note: string }
  /** Makes the server read statement text differently from the way Warden's parser reads it. */
  | { readonly kind: 'changes-lexing'; readonly note: string }
  /** Session state with no bearing on enforcement (`search_path`, `statement_timeout`, …). */
  | { readonly kind: 'harmless' };

const HARMLESS: SettingChange = { kind: 'harmless' };

/**
 * Judges setting `name` (any case: PostgreSQL compares setting names case-insensitively) to a new
 * value. `value` is the parse-tree constant of the new value (`A_Const`), or undefined when it is
 * not a constant, or the change is a RESET / `TO DEFAULT`: only a value that is clearly safe counts
 * as safe.
 *
 * @example
 * ```ts
 * settingChange('client_encoding', { A_Const: { sval: { sval: 'SJIS' } } }); // { kind: 'changes-lexing', … }
 * ```
 */
export function settingChange(name: string, value: unknown): SettingChange {
  const lower = name.toLowerCase();
  if (ROLE_SETTINGS.has(lower)) return { kind: 'admin', note: `changes ${lower}` };
  if (lower === 'session_replication_role') return { kind: 'admin', note: 'session_replication_role disables triggers and rules' };
  if (READ_ONLY_SETTINGS.has(lower) && booleanConstant(value) !== true) return { kind: 'disables-read-only', note: `changing ${lower} can undo read-only enforcement` };
  if (changesLexing(lower, value)) return { kind: 'changes-lexing', note: `sets ${lower}` };
  return HARMLESS;
}

/**
 * Warden's parser reads text as PostgreSQL does with `standard_conforming_strings = on` and text in
 * UTF-8. With `standard_conforming_strings` off a backslash escapes a quote (`'\'` does not end the
 * string), so one statement to Warden can be several to the server. In a client encoding other than
 * UTF8, bytes mean other characters: in SJIS, BIG5, GBK, UHC or GB18030 a lead byte swallows the
 * backslash after it, and in any other encoding names with non-ASCII letters are not the names
 * Warden matches rules against. SQL_ASCII is refused too: the server then takes the bytes without
 * conversion or (on a SQL_ASCII database) without any check, so Warden cannot know what they spell.
 * `backslash_quote` decides whether `\'` is a quote in escape strings; only its default
 * (`safe_encoding`) and `off` (which makes `\'` an error) agree with Warden's parser.
 */
function changesLexing(setting: string, value: unknown): boolean {
  switch (setting) {
    case 'standard_conforming_strings':
      return booleanConstant(value) !== true;
    case 'client_encoding': {
      const text = stringConstant(value);
      return text === undefined || !UTF8_NAMES.has(text.toLowerCase().replace(/[^a-z0-9]/g, ''));
    }
    case 'backslash_quote':
      return booleanConstant(value) !== false && stringConstant(value)?.toLowerCase() !== 'safe_encoding';
    default:
      return false;
  }
}
