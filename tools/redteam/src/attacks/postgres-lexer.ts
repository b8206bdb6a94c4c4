/**
 * Lexer settings: under `standard_conforming_strings = off`, `backslash_quote`, or a client
 * encoding whose multibyte characters can end in a quote or backslash byte, the server reads the
 * next statements differently from Warden. Below full access such changes are refused, however
 * spelled; each attack then sends text that only hides a DDL statement under the changed setting.
 */
import type { PostgresAttack } from '../postgres-attack';
import { refusedEach } from './postgres-helpers';

/** Seen by Warden (standard strings: `''` is a quote) as one SELECT of a string; by a server with scs off (`\'` is a quote), as SELECT; CREATE TABLE. */
const HIDDEN_DDL = "SELECT 'a\\'' ; CREATE TABLE pwned_lexer (x int); --'";

const SETTINGS = refusedEach('lexer-settings', 'read-write', [
  ['scs-off-then-hidden-ddl', ['SET standard_conforming_strings = off', HIDDEN_DDL], { payload: 0 }],
  ['scs-off-quoted-value', ["SET standard_conforming_strings TO 'off'", HIDDEN_DDL], { payload: 0 }],
  ['scs-false', ['SET standard_conforming_strings = false', HIDDEN_DDL], { payload: 0 }],
  ['scs-session', ['SET SESSION standard_conforming_strings = 0', HIDDEN_DDL], { payload: 0 }],
  ['scs-local-in-transaction', ['BEGIN', 'SET LOCAL standard_conforming_strings = off', HIDDEN_DDL], { payload: 1 }],
  ['scs-set-config', ["SELECT set_config('standard_conforming_strings', 'off', false)", HIDDEN_DDL], { payload: 0 }],
  ['scs-set-config-upper', ["SELECT pg_catalog.set_config('STANDARD_CONFORMING_STRINGS', 'off', false)", HIDDEN_DDL], { payload: 0 }],
  ['scs-set-config-computed-name', ["SELECT set_config('standard_' || 'conforming_strings', 'off', false)", HIDDEN_DDL], { payload: 0 }],
  ['scs-off-in-do-block', ["DO $$ BEGIN PERFORM set_config('standard_conforming_strings', 'off', false); END $$", HIDDEN_DDL], { payload: 0 }],
  ['scs-off-with-comments', ['SET/**/standard_conforming_strings/**/=/**/off', HIDDEN_DDL], { payload: 0 }],
  ['scs-off-extended', [{ extended: 'SET standard_conforming_strings = off' }, HIDDEN_DDL], { payload: 0 }],
  ['scs-off-then-read-in-same-query', ['SET standard_conforming_strings = off; ' + HIDDEN_DDL]],
  ['backslash-quote-on', ['SET backslash_quote = on']],
  ['backslash-quote-set-config', ["SELECT set_config('backslash_quote', 'on', false)"]],
  ['client-encoding-sjis', ["SET client_encoding = 'SJIS'"]],
  ['client-encoding-gbk', ["SET client_encoding TO 'GBK'"]],
  ['client-encoding-big5-set-config', ["SELECT set_config('client_encoding', 'BIG5', false)"]],
  ['client-encoding-set-names', ["SET NAMES 'SJIS'"]],
  ['client-encoding-sql-ascii', ["SET client_encoding = 'SQL_ASCII'"]],
  ['escape-string-warning-and-scs-in-one-set', ['SET standard_conforming_strings = off; SET escape_string_warning = off']],
]);

/**
 * Settings sent in the StartupMessage must be held to the same rule: here Warden does not pass them
 * on, so the target reads the text as Warden does (one SELECT of a string) and no table appears.
 */
const STARTUP: PostgresAttack[] = [
  { id: 'startup-scs-off', class: 'lexer-settings', grant: 'read-write', startup: { standard_conforming_strings: 'off' }, steps: [HIDDEN_DDL], expect: { allowed: true } },
  { id: 'startup-options-scs-off', class: 'lexer-settings', grant: 'read-write', startup: { options: '-c standard_conforming_strings=off' }, steps: [HIDDEN_DDL], expect: { allowed: true } },
];

export const POSTGRES_LEXER_ATTACKS: readonly PostgresAttack[] = [...SETTINGS, ...STARTUP];
