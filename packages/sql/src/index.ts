export { loadSqlParsers } from './postgres-parser';
export { classifyPostgres } from './classify-postgres';
export { ACTION_STRENGTH, strongerAction } from './action-strength';
export { DANGEROUS_FUNCTIONS, DANGEROUS_FUNCTION_PREFIXES, WRITE_FUNCTIONS } from './function-actions';
