import type { DetectorName } from './detection';
import type { StrategyName } from './strategies';

/** Who sees which columns unmasked on a connection (e.g. clinicians see `patients.dob`). */
export interface MaskingExemption {
  /** Any of these groups… */
  readonly groups?: readonly string[];
  /** …or any of these subjects. */
  readonly identities?: readonly string[];
  /** Column patterns (as in `columns`) exempt for them; `*.*` exempts everything, detectors included. */
  readonly columns: readonly string[];
}

/** The `masking` configuration of one connection. */
export interface MaskingConnectionConfig {
  readonly connection: string;
  /** `table.column`, `schema.table.column` or `*.column` (globs) to a strategy. */
  readonly columns?: Readonly<Record<string, StrategyName>>;
  /** Content detectors for textual values no column rule covers. */
  readonly detect?: readonly DetectorName[];
  /** Strategy per detector for what it finds in free text (default `redact`). */
  readonly strategies?: Readonly<Partial<Record<DetectorName, StrategyName>>>;
  readonly exempt?: readonly MaskingExemption[];
  /** Site-specific MRN formats (regular expression sources). */
  readonly mrnPatterns?: readonly string[];
}
