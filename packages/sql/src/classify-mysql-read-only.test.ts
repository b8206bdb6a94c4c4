import { classifyMysql, loadMysqlParser } from './index';

beforeAll(() => loadMysqlParser());

/**
 * Statements that turn the target session's read-only mode off: allowed to read-write and full
 * grants as what they are (session, transaction), refused to a read-only grant by the
 * `disablesReadOnly` flag (see `PolicyEngine`).
 */
describe('classifyMysql: statements that undo the read-only target session', () => {
  const undoing: ReadonlyArray<readonly [sql: string, action: 'session' | 'transaction']> = [
    ['START TRANSACTION READ WRITE', 'transaction'],
    ['BEGIN READ WRITE', 'transaction'],
    ['START TRANSACTION WITH CONSISTENT SNAPSHOT, READ WRITE', 'transaction'],
    ['START TRANSACTION READ WRITE, WITH CONSISTENT SNAPSHOT', 'transaction'],
    ['START TRANSACTION /*!40100 WITH CONSISTENT SNAPSHOT */, READ WRITE', 'transaction'],
    ['/*!40101 START TRANSACTION READ WRITE */', 'transaction'],
    ['SET SESSION TRANSACTION READ WRITE', 'session'],
    ['SET LOCAL TRANSACTION READ WRITE', 'session'],
    ['SET TRANSACTION READ WRITE', 'session'],
    ['SET TRANSACTION ISOLATION LEVEL READ COMMITTED, READ WRITE', 'session'],
    ['/*!40101 SET SESSION TRANSACTION READ WRITE */', 'session'],
    ['SET tx_read_only = 0', 'session'],
    ['SET `tx_read_only` = 0', 'session'],
    ['SET @@session.`transaction_read_only` = OFF', 'session'],
    ['SET SESSION tx_read_only = 0', 'session'],
    ['SET @@session.tx_read_only = 0', 'session'],
    ['SET @@SESSION.TX_READ_ONLY = OFF', 'session'],
    ['SET @@local.tx_read_only = false', 'session'],
    ['SET transaction_read_only = OFF', 'session'],
    ['SET SESSION transaction_read_only = 0', 'session'],
    ['SET @@session.transaction_read_only = OFF', 'session'],
    ['SET @@transaction_read_only = 0', 'session'],
    ['SET tx_read_only = DEFAULT', 'session'],
    ['SET tx_read_only = @saved', 'session'],
    ['SET tx_read_only = (SELECT 0)', 'session'],
    ['SET a = 1, transaction_read_only = 0', 'session'],
    ['SET @x = 1, @@tx_read_only = 0', 'session'],
    ['/*!40101 SET @@session.tx_read_only = 0 */', 'session'],
    ["PREPARE s FROM 'START TRANSACTION READ WRITE'", 'transaction'],
  ];

  it.each(undoing)('%j is %s and disables read-only (read-write-transaction bypass)', (sql, action) => {
    const result = classifyMysql(sql);
    expect(result.statementCount).toBe(1);
    expect(result.statements[0]).toMatchObject({ action, disablesReadOnly: true });
  });

  it.each(['SET SESSION TRANSACTION READ ONLY', 'START TRANSACTION READ ONLY', 'START TRANSACTION /*!40100 WITH CONSISTENT SNAPSHOT */', 'BEGIN', 'SET tx_read_only = 1', 'SET @@session.transaction_read_only = ON', 'SET TRANSACTION ISOLATION LEVEL READ COMMITTED', 'SET @tx_read_only = 0'])(
    '%j keeps the session read-only',
    (sql) => {
      expect(classifyMysql(sql).statements[0]?.disablesReadOnly).toBeUndefined();
    },
  );

  it('leaves spellings the parser does not read unknown (refused under every grant but an explicit rule)', () => {
    expect(classifyMysql('SET STATEMENT tx_read_only = 0 FOR UPDATE patients SET ssn = 1').action).toBe('unknown');
  });

  it('flags a command when any of its statements undoes read-only', () => {
    const result = classifyMysql('SELECT 1; SET SESSION TRANSACTION READ WRITE; SELECT 2');
    expect(result.statements.map((statement) => statement.disablesReadOnly === true)).toEqual([false, true, false]);
  });

  it.each(['SET GLOBAL TRANSACTION READ WRITE', 'SET GLOBAL TRANSACTION READ ONLY', 'SET GLOBAL tx_read_only = 0', 'SET @@global.transaction_read_only = OFF'])('%j changes other sessions: admin', (sql) => {
    expect(classifyMysql(sql).action).toBe('admin');
  });
});
