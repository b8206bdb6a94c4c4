import * as sql from './index';

// The package's public surface: changing it is a decision, not an accident.
it('exports exactly its public API', () => {
  expect(Object.keys(sql).sort()).toEqual([
    'ACTION_STRENGTH',
    'DANGEROUS_FUNCTIONS',
    'DANGEROUS_FUNCTION_PREFIXES',
    'DEFAULT_MYSQL_LEXER_SETTINGS',
    'WRITE_FUNCTIONS',
    'classifyMysql',
    'classifyPostgres',
    'describeCopyOut',
    'formatOperatorName',
    'formatQualifiedName',
    'isAnalysableMysqlCharset',
    'loadMysqlParser',
    'loadSqlParsers',
    'mysqlPreparedStatementUses',
    'mysqlSqlModeSettings',
    'parseOperatorName',
    'parseQualifiedName',
    'redactPostgresLiterals',
    'resultLineage',
    'sessionObjectUses',
    'strongerAction',
  ]);
});

it('orders actions from unknown down to connect', () => {
  const order = Object.entries(sql.ACTION_STRENGTH)
    .sort(([, a], [, b]) => b - a)
    .map(([action]) => action);
  expect(order).toEqual(['unknown', 'admin', 'ddl', 'write', 'exec', 'read', 'session', 'transaction', 'connect']);
  expect(sql.strongerAction('read', 'write')).toBe('write');
  expect(sql.strongerAction('admin', 'ddl')).toBe('admin');
});
