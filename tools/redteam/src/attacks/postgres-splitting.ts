/**
 * Writes hidden from a statement splitter or classifier: comments, quoting, dollar quotes, escape
 * strings, odd whitespace and case, and several statements in one Query. Read-only grant; each
 * hides a write to the canary table.
 */
import type { PostgresAttack } from '../postgres-attack';
import { frontend } from '../postgres-wire';
import { refusedEach, viaExtended, viaPipeline, viaSplitSegments } from './postgres-helpers';

const SPLITTING = refusedEach('statement-splitting', 'read-only', [
  ['write-after-block-comment', "/* harmless */ INSERT INTO canary VALUES (2, 'x')"],
  ['write-after-line-comment', "-- SELECT 1\nINSERT INTO canary VALUES (2, 'x')"],
  ['write-after-nested-comment', "/* outer /* inner */ still a comment; SELECT 1 */ DELETE FROM canary"],
  ['write-in-comment-looking-string-end', "SELECT '/*'; DELETE FROM canary; SELECT '*/'"],
  ['write-after-dollar-quoted-semicolon', 'SELECT $$;$$; DELETE FROM canary'],
  ['write-after-tagged-dollar-quote', 'SELECT $tag$ $$ ; $tag$; DELETE FROM canary'],
  ['write-after-e-string-escaped-quote', "SELECT E'\\''; DELETE FROM canary"],
  ['write-after-backslash-ending-standard-string', "SELECT 'a\\'; DELETE FROM canary; --'"],
  ['write-after-quoted-identifier-semicolon', 'SELECT 1 AS ";"; DELETE FROM canary'],
  ['write-after-quoted-identifier-with-quote', 'SELECT 1 AS "a""b;"; DELETE FROM canary'],
  ['write-with-form-feed-whitespace', 'DELETE\fFROM canary'],
  ['write-with-tab-and-carriage-return', 'DELETE\t\rFROM\r\ncanary'],
  ['write-in-mixed-case', 'dElEtE FrOm canary'],
  ['write-after-empty-statements', ';;; DELETE FROM canary;;'],
  ['write-after-parenthesised-select', '(SELECT 1); DELETE FROM canary'],
  ['write-after-table-command', 'TABLE canary; DELETE FROM canary'],
  ['write-after-values-command', "VALUES (1); UPDATE canary SET word = 'x'"],
  ['write-with-unicode-escaped-table-name', 'DELETE FROM U&"\\0063anary"'],
  ['write-with-unicode-escaped-table-name-uescape', "DELETE FROM U&\"!0063anary\" UESCAPE '!'"],
  ['write-with-quoted-keyword-table', 'DELETE FROM "canary"'],
  ['write-with-schema-qualified-table', 'DELETE FROM public.canary'],
  ['write-with-catalog-qualified-table', 'DELETE FROM clinic.public.canary'],
  ['write-after-string-with-newline-and-semicolon', "SELECT 'x;\n DELETE FROM patients'; DELETE FROM canary"],
  ['write-after-string-continuation', "SELECT 'a'\n'b'; DELETE FROM canary"],
  ['write-after-bit-string', "SELECT B'1010'; DELETE FROM canary"],
  ['write-after-hex-string', "SELECT X'1F'; DELETE FROM canary"],
  ['write-after-operator-with-comment-chars', 'SELECT 1 +-- comment\n2; DELETE FROM canary'],
  ['write-after-slash-star-in-operator', 'SELECT 2 */* c */ 3; DELETE FROM canary'],
  ['write-with-only-comment-between-keywords', 'DELETE/**/FROM/**/canary'],
  ['truncate-after-select', 'SELECT 1; TRUNCATE canary'],
  ['update-via-from-clause', "UPDATE canary SET word = p.full_name FROM patients p WHERE p.id = canary.id"],
  ['insert-select', 'INSERT INTO canary SELECT id + 100, full_name FROM patients'],
  ['merge-delete', 'MERGE INTO canary c USING (SELECT 1 AS id) s ON c.id = s.id WHEN MATCHED THEN DELETE'],
  ['merge-insert', "MERGE INTO canary c USING (SELECT 7 AS id) s ON c.id = s.id WHEN NOT MATCHED THEN INSERT VALUES (7, 'x')"],
  ['select-into-new-table', 'SELECT * INTO pwned_select_into FROM canary'],
  ['create-table-as', 'CREATE TABLE pwned_ctas AS SELECT 1 AS x'],
  ['create-temp-table', 'CREATE TEMP TABLE pwned_temp (x int)'],
  ['lock-table', 'LOCK TABLE canary IN ACCESS EXCLUSIVE MODE'],
  ['select-for-update', 'SELECT * FROM canary FOR UPDATE'],
  ['vacuum', 'VACUUM canary'],
  ['analyze', 'ANALYZE canary'],
  ['cluster', 'CLUSTER canary USING canary_pkey'],
  ['reindex', 'REINDEX TABLE canary'],
  ['comment-on', "COMMENT ON TABLE canary IS 'pwned'"],
  ['security-label', "SECURITY LABEL ON TABLE canary IS 'pwned'"],
  ['refresh-materialized-view', 'REFRESH MATERIALIZED VIEW patient_names'],
  ['checkpoint', 'CHECKPOINT'],
  ['notify', "NOTIFY pwned, 'x'"],
  ['prepare-transaction', "BEGIN; PREPARE TRANSACTION 'pwned'"],
  ['grant-on-table', 'GRANT ALL ON canary TO PUBLIC'],
  ['create-extension', 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements'],
  ['import-foreign-schema', 'IMPORT FOREIGN SCHEMA public FROM SERVER none INTO public'],
  ['load-library', "LOAD 'auto_explain'"],
]);

const MULTI_STATEMENT = refusedEach('multi-statement', 'read-only', [
  ['write-between-reads', 'SELECT 1; DELETE FROM canary; SELECT 2'],
  ['write-in-explicit-transaction', 'BEGIN; DELETE FROM canary; COMMIT'],
  ['write-after-commit', 'BEGIN; SELECT 1; COMMIT; DELETE FROM canary'],
  ['write-after-rollback', 'ROLLBACK; DELETE FROM canary'],
  ['write-after-savepoint', 'BEGIN; SAVEPOINT s; DELETE FROM canary; RELEASE s; COMMIT'],
  ['write-after-set', "SET work_mem = '8MB'; DELETE FROM canary"],
  ['write-after-show', 'SHOW work_mem; DELETE FROM canary'],
  ['write-last-without-semicolon', 'SELECT 1;DELETE FROM canary'],
  ['many-reads-then-write', `${Array.from({ length: 40 }, (_, i) => `SELECT ${i}`).join('; ')}; DELETE FROM canary`],
]);

/** A multi-statement Parse is refused by the target itself (42601) if Warden lets it through. */
const MULTI_STATEMENT_EXTENDED: PostgresAttack[] = [
  { id: 'multi-statement-parse', class: 'multi-statement', grant: 'read-only', steps: [{ extended: 'SELECT 1; DELETE FROM canary' }], expect: { refused: ['42501', '42601'] } },
];

/** A typed frontend message with a body given byte for byte. */
function rawMessage(code: string, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.write(code, 0, 'latin1');
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

/**
 * What a reader of the message might see differently from the server: a NUL inside the text (the
 * server reads up to it, then finds the message malformed), bytes that are not UTF-8, nesting deep
 * enough to exhaust a parser.
 */
const ENCODING: PostgresAttack[] = [
  {
    id: 'query-with-nul-before-write',
    class: 'statement-splitting',
    grant: 'read-only',
    steps: [{ messages: [rawMessage('Q', Buffer.from('SELECT 1\0DELETE FROM canary\0', 'latin1'))] }],
    expect: { refused: ['42501', '08P01'] },
  },
  {
    id: 'parse-with-nul-before-write',
    class: 'statement-splitting',
    grant: 'read-only',
    steps: [{ messages: [rawMessage('P', Buffer.from('\0SELECT 1\0DELETE FROM canary\0\0\0', 'latin1')), frontend.bind({}), frontend.execute({}), frontend.sync()] }],
    expect: { refused: ['42501', '08P01'] },
  },
  {
    id: 'invalid-utf8-before-write',
    class: 'statement-splitting',
    grant: 'read-only',
    steps: [{ messages: [rawMessage('Q', Buffer.concat([Buffer.from("SELECT '"), Buffer.from([0xff, 0xfe]), Buffer.from("'; DELETE FROM canary\0")]))] }],
    expect: { refused: ['42501', '22021'] },
  },
  {
    id: 'overlong-utf8-quote-before-write',
    class: 'statement-splitting',
    grant: 'read-only',
    // 0xC0 0xA7 is an overlong encoding of "'": not UTF-8, so not a quote to the server either.
    steps: [{ messages: [rawMessage('Q', Buffer.concat([Buffer.from("SELECT 'a"), Buffer.from([0xc0, 0xa7]), Buffer.from("; DELETE FROM canary; --'\0")]))] }],
    expect: { refused: ['42501', '22021'] },
  },
  {
    id: 'deep-nesting-before-write',
    class: 'statement-splitting',
    grant: 'read-only',
    steps: [`SELECT ${'('.repeat(5000)}1${')'.repeat(5000)}; DELETE FROM canary`],
    expect: { refused: ['42501', '54001'] },
  },
  {
    id: 'ten-thousand-statements-then-write',
    class: 'multi-statement',
    grant: 'read-only',
    steps: [`${'SELECT 1;'.repeat(10_000)} DELETE FROM canary`],
    expect: { refused: '42501' },
  },
];

export const POSTGRES_SPLITTING_ATTACKS: readonly PostgresAttack[] = [...SPLITTING, ...viaExtended(SPLITTING), ...viaPipeline(SPLITTING), ...viaSplitSegments(SPLITTING), ...MULTI_STATEMENT, ...MULTI_STATEMENT_EXTENDED, ...ENCODING];
