/**
 * A real client program (psql, pg_dump, mariadb-dump, …) run through Warden, in the corpus beside
 * the attacks: enforcement must not break the tools users already run.
 */
import type { PendingFix } from './attack';
import type { Grant } from './grant';

/** One run of a client program; `output` must match its standard output. */
export interface ToolUse {
  readonly id: string;
  readonly grant: Grant;
  readonly command: string;
  /** Its arguments for Warden's listener on `port`; `database` is the one the program names (Warden passes it on). */
  args(connection: { port: number; database: string }): string[];
  readonly output: RegExp;
  readonly pending?: PendingFix;
}
