/**
 * Who may change a run-time setting, by the target's own `pg_settings.context`
 * (https://www.postgresql.org/docs/current/view-pg-settings.html): `user` settings any role may
 * change; `superuser` ones only a superuser (or a role granted SET on it); `backend`,
 * `superuser-backend`, `sighup`, `postmaster` and `internal` ones no session may change at all
 * once it runs, whoever asks.
 *
 * Warden's own account on the target may be a superuser, so the target's check does not stop a
 * client: `SET log_statement = 'none'` would silence the target's statement log, `SET
 * allow_system_table_mods = on` open the system catalogs to writes. Below `full` access a client
 * may change `user` settings only, and the catalog decides which those are: no list of dangerous
 * names to keep up to date, and a setting added by a new release or an extension is judged by
 * its own context.
 */

/**
 * Settings `pg_settings` leaves out (PostgreSQL marks them `GUC_NO_SHOW_ALL`) that are still
 * `user` settings. `role` and `session_authorization` are judged by the classifier (`admin`).
 */
const UNLISTED_USER_SETTINGS: ReadonlySet<string> = new Set(['seed', 'role', 'session_authorization']);

/** What the target's settings say of one change. */
export type SettingVerdict =
  | { readonly kind: 'fine' }
  /** Only a superuser may change it, or nobody once the session runs. */
  | { readonly kind: 'refused'; readonly note: string }
  /** Neither a setting of the target nor a custom one (those have a dot: `myapp.tenant`). */
  | { readonly kind: 'missing'; readonly name: string };

const FINE: SettingVerdict = { kind: 'fine' };

/**
 * Judges a change of setting `name` (lower case) against `contexts`, the target's settings by
 * lower-case name with their context.
 *
 * A name with a dot that the target does not list is a custom placeholder (`SET myapp.tenant =
 * '42'`, which row-level security policies read): PostgreSQL lets any role set one. A module
 * that defines it later, in this session, takes the value over (see the threat model for what
 * that leaves open).
 *
 * @example
 * ```ts
 * settingVerdict('log_statement', new Map([['log_statement', 'superuser']])); // { kind: 'refused', … }
 * ```
 */
export function settingVerdict(name: string, contexts: ReadonlyMap<string, string>): SettingVerdict {
  const context = contexts.get(name) ?? (UNLISTED_USER_SETTINGS.has(name) ? 'user' : undefined);
  if (context === undefined) return name.includes('.') ? FINE : { kind: 'missing', name };
  if (context === 'user') return FINE;
  return { kind: 'refused', note: `changes ${name}, a setting of context ${context}: below full access only settings of context user may be changed` };
}
