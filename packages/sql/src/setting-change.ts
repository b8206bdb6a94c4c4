/**
 * Settings whose change matters to enforcement. Shared by `SET`/`RESET` and `set_config(…)`, which
 * change the same run-time parameters (https://www.postgresql.org/docs/current/functions-admin.html).
 */

/** Settings that decide who the session is: changing them is `admin` wherever it happens. */
const ROLE_SETTINGS: ReadonlySet<string> = new Set(['role', 'session_authorization']);

/** Settings a read-only grant relies on: the target session is opened with the first one `on`. */
const READ_ONLY_SETTINGS: ReadonlySet<string> = new Set(['default_transaction_read_only', 'transaction_read_only']);

/** What changing one setting does to enforcement. */
export type SettingChange =
  /** Changes who the session is, or disables triggers and rules (`session_replication_role`). */
  | { readonly kind: 'admin'; readonly note: string }
  /** Can turn off the read-only mode of a read-only grant's target session. */
  | { readonly kind: 'disables-read-only'; readonly note: string }
  /** Session state with no bearing on enforcement (`search_path`, `statement_timeout`, …). */
  | { readonly kind: 'harmless' };

const HARMLESS: SettingChange = { kind: 'harmless' };

/**
 * Judges setting `name` (any case: PostgreSQL compares setting names case-insensitively) to a new
 * value. `value` is the boolean the new value spells, or undefined when it is not a boolean
 * constant, or the change is a RESET / `TO DEFAULT`: anything but a clear "on" may turn read-only
 * mode off.
 */
export function settingChange(name: string, value: boolean | undefined): SettingChange {
  const lower = name.toLowerCase();
  if (ROLE_SETTINGS.has(lower)) return { kind: 'admin', note: `changes ${lower}` };
  if (lower === 'session_replication_role') return { kind: 'admin', note: 'session_replication_role disables triggers and rules' };
  if (READ_ONLY_SETTINGS.has(lower) && value !== true) return { kind: 'disables-read-only', note: `changing ${lower} can undo read-only enforcement` };
  return HARMLESS;
}
