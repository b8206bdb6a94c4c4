/** The whole Postgres corpus, in the order the suite runs it. */
import type { PostgresAttack } from '../postgres-attack';
import { POSTGRES_FUNCTION_ATTACKS } from './postgres-functions';
import { POSTGRES_LEGIT_USES } from './postgres-legit';
import { POSTGRES_LEXER_ATTACKS } from './postgres-lexer';
import { POSTGRES_PREPARED_ATTACKS } from './postgres-prepared';
import { POSTGRES_READ_ONLY_OFF_ATTACKS } from './postgres-read-only-off';
import { POSTGRES_SERVER_ACCESS_ATTACKS } from './postgres-server-access';
import { POSTGRES_SPLITTING_ATTACKS } from './postgres-splitting';
import { POSTGRES_WRITE_ATTACKS } from './postgres-writes';

export { POSTGRES_TOOL_USES } from './postgres-legit';

export const POSTGRES_ATTACKS: readonly PostgresAttack[] = [
  ...POSTGRES_SPLITTING_ATTACKS,
  ...POSTGRES_WRITE_ATTACKS,
  ...POSTGRES_SERVER_ACCESS_ATTACKS,
  ...POSTGRES_READ_ONLY_OFF_ATTACKS,
  ...POSTGRES_FUNCTION_ATTACKS,
  ...POSTGRES_PREPARED_ATTACKS,
  ...POSTGRES_LEXER_ATTACKS,
  ...POSTGRES_LEGIT_USES,
];
