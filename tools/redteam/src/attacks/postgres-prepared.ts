/**
 * SQL-level PREPARE/EXECUTE and cursors, and protocol-level name games: what runs must be what was
 * decided. Statement names of PREPARE and of Parse share one namespace on the target; a name the
 * target rejected, or a Close the target skipped, must not leave Warden believing another text.
 */
import type { PostgresAttack } from '../postgres-attack';
import { frontend } from '../postgres-wire';
import { refusedEach } from './postgres-helpers';

const PREPARED = refusedEach('sql-prepare-execute', 'read-only', [
  ['prepare-delete-then-execute', ['PREPARE p AS DELETE FROM canary', 'EXECUTE p']],
  ['prepare-update-with-parameter', ["PREPARE p(int) AS UPDATE canary SET word = 'x' WHERE id = $1", 'EXECUTE p(1)']],
  ['prepare-cte-delete', ['PREPARE p AS WITH d AS (DELETE FROM canary RETURNING 1) SELECT * FROM d', 'EXECUTE p']],
  ['prepare-writing-function', ['PREPARE p AS SELECT touch_canary()', 'EXECUTE p']],
  ['prepare-set-config', ["PREPARE p AS SELECT set_config('default_transaction_read_only', 'off', false)", 'EXECUTE p']],
  ['prepare-lo-create', ['PREPARE p AS SELECT lo_create(0)', 'EXECUTE p']],
  ['prepare-read-then-reuse-name-for-write', ['PREPARE p AS SELECT 1', 'DEALLOCATE p', 'PREPARE p AS DELETE FROM canary', 'EXECUTE p']],
  ['prepare-write-after-deallocate-all', ['PREPARE p AS SELECT 1', 'DEALLOCATE ALL', 'PREPARE p AS DELETE FROM canary', 'EXECUTE p']],
  ['explain-analyze-execute-of-write', ['PREPARE p AS DELETE FROM canary', 'EXPLAIN ANALYZE EXECUTE p']],
  ['create-table-as-execute', ['PREPARE p AS SELECT 1 AS x', 'CREATE TABLE pwned_exec AS EXECUTE p']],
  ['execute-in-extended-protocol', ['PREPARE p AS DELETE FROM canary', { extended: 'EXECUTE p' }]],
  ['prepare-in-extended-then-execute', [{ extended: 'PREPARE p AS DELETE FROM canary' }, 'EXECUTE p']],
  ['prepare-quoted-name-case', ['PREPARE "P" AS DELETE FROM canary', 'EXECUTE "P"']],
]);

const CURSORS = refusedEach('cursors', 'read-only', [
  ['cursor-over-writing-function', ['BEGIN', 'DECLARE c CURSOR FOR SELECT touch_canary()', 'FETCH c']],
  ['cursor-over-lo-create', ['BEGIN', 'DECLARE c CURSOR FOR SELECT lo_create(0)', 'FETCH c']],
  ['cursor-with-hold-over-nextval', ["DECLARE c CURSOR WITH HOLD FOR SELECT nextval('canary_seq')", 'FETCH c']],
  ['cursor-for-update', ['BEGIN', 'DECLARE c CURSOR FOR SELECT * FROM canary FOR UPDATE', 'FETCH c']],
  ['cursor-over-execute', ['BEGIN', 'PREPARE p AS DELETE FROM canary', 'DECLARE c CURSOR FOR EXECUTE p', 'FETCH c']],
]);

/**
 * Parse 'p' of a DDL statement, then Parse 'p' again with a read: the target rejects the second
 * (42P05), and the Execute of 'p' runs the DDL. Read-write grant: the DDL is beyond it.
 */
const NAME_GAMES: PostgresAttack[] = [
  {
    id: 'parse-name-collision',
    class: 'protocol-names',
    grant: 'read-write',
    steps: [
      { messages: [frontend.parse({ name: 'p', text: 'CREATE TABLE pwned_collision (x int)' }), frontend.sync()] },
      { messages: [frontend.parse({ name: 'p', text: 'SELECT 1' }), frontend.sync()] },
      { messages: [frontend.bind({ statement: 'p' }), frontend.execute({}), frontend.sync()] },
    ],
    expect: { refused: ['42501', '26000', '42P05'] },
  },
  {
    id: 'parse-name-collision-read-only-write',
    class: 'protocol-names',
    grant: 'read-only',
    steps: [
      { messages: [frontend.parse({ name: 'p', text: 'DELETE FROM canary' }), frontend.sync()] },
      { messages: [frontend.parse({ name: 'p', text: 'SELECT 1' }), frontend.sync()] },
      { messages: [frontend.bind({ statement: 'p' }), frontend.execute({}), frontend.sync()] },
    ],
    expect: { refused: ['42501', '26000', '42P05'] },
  },
  {
    // After an error the target skips to Sync, Close included; Warden must not forget the statement.
    id: 'close-skipped-after-error',
    class: 'protocol-names',
    grant: 'read-write',
    steps: [
      { messages: [frontend.parse({ name: 'p', text: 'CREATE TABLE pwned_close (x int)' }), frontend.sync()] },
      { messages: [frontend.parse({ name: '', text: 'SELECT 1/0' }), frontend.bind({}), frontend.execute({}), frontend.close({ type: 'S', name: 'p' }), frontend.sync()] },
      { messages: [frontend.bind({ statement: 'p' }), frontend.execute({}), frontend.sync()] },
    ],
    expect: { refused: ['42501', '26000'] },
  },
  {
    // SQL PREPARE makes a name the extended protocol can Bind: the Execute must be decided on it.
    id: 'sql-prepare-bound-by-protocol',
    class: 'protocol-names',
    grant: 'read-only',
    steps: ['PREPARE p AS DELETE FROM canary', { messages: [frontend.bind({ statement: 'p' }), frontend.execute({}), frontend.sync()] }],
    expect: { refused: ['42501', '26000'] },
  },
  {
    // A Parse of the name with DDL while the target is skipping after an error: it never existed there.
    id: 'parse-skipped-after-error',
    class: 'protocol-names',
    grant: 'read-write',
    steps: [
      { messages: [frontend.parse({ name: 'p', text: 'CREATE TABLE pwned_skipped (x int)' }), frontend.sync()] },
      { messages: [frontend.parse({ name: '', text: 'SELECT 1/0' }), frontend.bind({}), frontend.execute({}), frontend.parse({ name: 'p', text: 'SELECT 1' }), frontend.sync()] },
      { messages: [frontend.bind({ statement: 'p' }), frontend.execute({}), frontend.sync()] },
    ],
    expect: { refused: ['42501', '26000'] },
  },
  {
    // Bind to a name that does not exist: nothing must run, and the target's error comes back.
    id: 'execute-portal-bound-to-unknown-statement',
    class: 'protocol-names',
    grant: 'read-only',
    steps: [{ messages: [frontend.bind({ statement: 'never_parsed' }), frontend.execute({}), frontend.sync()] }],
    expect: { refused: ['26000', '42501'] },
  },
  {
    id: 'execute-unknown-portal',
    class: 'protocol-names',
    grant: 'read-only',
    steps: [{ messages: [frontend.execute({ portal: 'never_bound' }), frontend.sync()] }],
    expect: { refused: ['34000', '42501'] },
  },
  {
    // A portal of a refused statement must not be executable later in the same transaction.
    id: 'portal-of-refused-statement-reused',
    class: 'protocol-names',
    grant: 'read-only',
    steps: [
      'BEGIN',
      { messages: [frontend.parse({ name: 'w', text: 'DELETE FROM canary' }), frontend.bind({ portal: 'q', statement: 'w' }), frontend.sync()] },
      { messages: [frontend.execute({ portal: 'q' }), frontend.sync()] },
    ],
    expect: { refused: ['42501', '34000', '25P02'] },
  },
  {
    // The unnamed statement is replaced by each Parse: after a refused Execute, a bare Bind/Execute must not run the write.
    id: 'unnamed-statement-rebound-after-refusal',
    class: 'protocol-names',
    grant: 'read-only',
    steps: [
      { messages: [frontend.parse({ text: 'DELETE FROM canary' }), frontend.bind({}), frontend.execute({}), frontend.sync()] },
      { messages: [frontend.bind({}), frontend.execute({}), frontend.sync()] },
    ],
    expect: { refused: ['42501', '26000'] },
  },
];

export const POSTGRES_PREPARED_ATTACKS: readonly PostgresAttack[] = [...PREPARED, ...CURSORS, ...NAME_GAMES];
