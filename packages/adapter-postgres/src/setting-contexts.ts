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

/** What Warden reads of the target's settings (with its function catalog, on its own connection). */
export interface TargetSettings {
  /** Every setting `pg_settings` lists, by lower-case name, with its context. */
  readonly contexts: ReadonlyMap<string, string>;
  /**
   * The names of the target's available extensions and procedural languages (lower case): the
   * prefixes their modules define settings under (`plpgsql.`, `plperl.`, `pg_trgm.`).
   */
  readonly modules: ReadonlySet<string>;
}

/** What the target's settings say of one change. */
export type SettingVerdict =
  | { readonly kind: 'fine' }
  /** Only a superuser may change it, or nobody once the session runs. */
  | { readonly kind: 'refused'; readonly note: string }
  /** Neither a setting of the target nor a custom one (those have a dot: `myapp.tenant`): maybe new, read the settings again. */
  | { readonly kind: 'missing'; readonly note: string }
  /** A setting of a module not loaded where Warden reads the settings: who may change it cannot be known. */
  | { readonly kind: 'unknown'; readonly note: string };

const FINE: SettingVerdict = { kind: 'fine' };

/**
 * Judges a change of setting `name` (lower case) against the target's settings.
 *
 * A name with a dot that the target does not list is a custom placeholder (`SET myapp.tenant =
 * '42'`, which row-level security policies read): PostgreSQL lets any role set one. But when the
 * module that owns its prefix is loaded later in the session (PL/pgSQL at the first call of a
 * PL/pgSQL function, an extension's library at the first call of one of its functions), the
 * module takes the value over with the rights of the role that set it, Warden's account:
 * `plperl.on_plperlu_init` would run Perl code as the server's OS user. So a placeholder under
 * the name of one of the target's extensions or languages is refused: its context is unknown.
 *
 * @example
 * ```ts
 * settingVerdict('log_statement', { contexts: new Map([['log_statement', 'superuser']]), modules: new Set() }); // { kind: 'refused', … }
 * ```
 */
export function settingVerdict(name: string, target: TargetSettings): SettingVerdict {
  const context = target.contexts.get(name) ?? (UNLISTED_USER_SETTINGS.has(name) ? 'user' : undefined);
  if (context === undefined) {
    const dot = name.indexOf('.');
    if (dot < 0) return { kind: 'missing', note: `changes ${name}, which is not a setting of the target` };
    const module = name.slice(0, dot);
    if (target.modules.has(module)) return { kind: 'unknown', note: `changes ${name}, a setting of ${module}, which is not loaded where Warden reads the target's settings: who may change it is unknown` };
    return FINE;
  }
  if (context === 'user') return FINE;
  return { kind: 'refused', note: `changes ${name}, a setting of context ${context}: below full access only settings of context user may be changed` };
}
