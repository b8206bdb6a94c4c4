export { mysqlAdapter } from './mysql-adapter';
export { parseMysqlTarget } from './mysql-target';
export type { MysqlTarget } from './mysql-target';
