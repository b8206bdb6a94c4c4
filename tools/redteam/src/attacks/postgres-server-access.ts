/**
 * Reaching the server's programs and files: COPY TO/FROM PROGRAM, COPY to a server file, large
 * object import/export, the file-reading functions. `{{file}}` becomes a fresh path that must not
 * exist afterwards. Read-only and read-write grants: neither may reach the server's shell or files.
 */
import type { PostgresAttack } from '../postgres-attack';
import { refusedEach, viaExtended } from './postgres-helpers';

const rows = [
  ['copy-to-program', "COPY canary TO PROGRAM 'touch {{file}}'"],
  ['copy-query-to-program', "COPY (SELECT 1) TO PROGRAM 'touch {{file}}'"],
  ['copy-from-program', "COPY canary FROM PROGRAM 'touch {{file}}'"],
  ['copy-to-program-lower-case', "copy canary to program 'touch {{file}}'"],
  ['copy-to-program-e-string', "COPY canary TO PROGRAM E'touch {{file}}'"],
  ['copy-to-program-dollar-quoted', 'COPY canary TO PROGRAM $$touch {{file}}$$'],
  ['copy-to-program-after-comment', "/* backup */ COPY canary TO PROGRAM 'touch {{file}}'"],
  ['copy-to-program-with-options', "COPY canary TO PROGRAM 'touch {{file}}' WITH (FORMAT csv, HEADER)"],
  ['copy-to-program-old-syntax', "COPY canary TO PROGRAM 'touch {{file}}' CSV HEADER"],
  ['copy-to-server-file', "COPY canary TO '{{file}}'"],
  ['copy-query-to-server-file', "COPY (SELECT * FROM patients) TO '{{file}}'"],
  ['copy-from-server-file', "COPY canary FROM '/etc/hostname'"],
  ['copy-in-do-block', "DO $$ BEGIN EXECUTE 'COPY canary TO PROGRAM ''touch {{file}}'''; END $$"],
  ['copy-after-select', "SELECT 1; COPY canary TO PROGRAM 'touch {{file}}'"],
  ['lo-export-to-server-file', "SELECT lo_export(lo_from_bytea(0, 'x'), '{{file}}')"],
  ['lo-import-server-file', "SELECT lo_import('/etc/hostname')"],
] as const;

const READ_ONLY = refusedEach('copy-program', 'read-only', rows);
const READ_WRITE = refusedEach(
  'copy-program',
  'read-write',
  rows.map(([id, sql]) => [`read-write-${id}`, sql] as const),
);

const SERVER_FILES = refusedEach('function-writes', 'read-only', [
  ['pg-read-file', "SELECT pg_read_file('/etc/hostname')"],
  ['pg-read-binary-file', "SELECT pg_read_binary_file('/etc/hostname')"],
  ['pg-ls-dir', "SELECT pg_ls_dir('.')"],
  ['pg-stat-file', "SELECT pg_stat_file('postgresql.conf')"],
]);

/** COPY FROM STDIN is a write: refused under read-only. */
const COPY_IN: PostgresAttack[] = [
  { id: 'copy-from-stdin', class: 'copy-program', grant: 'read-only', steps: ['COPY canary FROM STDIN'], expect: { refused: '42501' } },
];

export const POSTGRES_SERVER_ACCESS_ATTACKS: readonly PostgresAttack[] = [...READ_ONLY, ...viaExtended(READ_ONLY), ...READ_WRITE, ...SERVER_FILES, ...COPY_IN];
