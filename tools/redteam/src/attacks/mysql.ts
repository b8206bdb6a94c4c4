/** The whole MySQL corpus, and the real tools that must keep working through Warden. */
import type { ToolUse } from '../tool-use';

export { MYSQL_ATTACKS } from './mysql-attacks';

const tls = ['--ssl', '--skip-ssl-verify-server-cert'];
const login = ({ port }: { port: number }) => ['--no-defaults', '-h', '127.0.0.1', '-P', String(port), '-u', 'redteam', ...tls];
/** The view `touching` calls a writing function: MariaDB will not LOCK it for reading in a read-only session. */
const skipWritingView = ({ database }: { database: string }) => [`--ignore-table=${database}.touching`];

export const MYSQL_TOOL_USES: readonly ToolUse[] = [
  { id: 'mariadb-dump', grant: 'read-only', command: 'mariadb-dump', args: (c) => [...login(c), ...skipWritingView(c), c.database], output: /INSERT INTO `canary` VALUES\s*\(1,'untouched'\)/ },
  { id: 'mariadb-dump-no-data', grant: 'read-only', command: 'mariadb-dump', args: (c) => [...login(c), ...skipWritingView(c), '--no-data', c.database], output: /CREATE TABLE `patients`/ },
  { id: 'mariadb-dump-single-transaction', grant: 'read-only', command: 'mariadb-dump', args: (c) => [...login(c), '--single-transaction', c.database, 'canary'], output: /INSERT INTO `canary`/ },
  { id: 'mariadb-cli-show-tables', grant: 'read-only', command: 'mariadb', args: (c) => [...login(c), '-D', c.database, '-e', 'SHOW TABLES; DESCRIBE patients'], output: /patients[\s\S]*ssn/ },
];
