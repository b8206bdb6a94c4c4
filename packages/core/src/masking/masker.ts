import { WardenError, toWardenError } from '../errors';
import type { Detection, Detector, DetectorName } from './detection';
import { resolveOverlaps } from './detection';
import { createDetectors } from './detectors';
import { compileColumnPatterns, type ColumnPatterns } from './column-patterns';
import { KeyedHash } from './keyed-hash';
import { maskJson, maskSpan, maskUtf8Into, maskValue, type StrategyName } from './strategies';
import { isTextual, type ValueKind } from './value-kind';

export interface MaskerOptions {
  /** The deployment's masking key (at least 16 bytes): keys `hash`, `fake` and statement placeholders. */
  readonly key: Buffer;
  /** Column rules: `table.column`, `schema.table.column` or `*.column` (globs) to a strategy. */
  readonly columns?: Readonly<Record<string, StrategyName>>;
  /** Content detectors to run on textual values that no column rule covers. */
  readonly detectors?: readonly DetectorName[];
  /** The strategy per detector for what it finds in free text; `redact` when absent. */
  readonly strategies?: Readonly<Partial<Record<DetectorName, StrategyName>>>;
  /** Column patterns this identity sees unmasked (an exemption granted to its group). */
  readonly exempt?: readonly string[];
  /** Site-specific MRN formats, as regular expression sources. */
  readonly mrnPatterns?: readonly string[];
}

/** A result column, as far as the adapter could resolve it. */
export interface ColumnRef {
  readonly schema?: string;
  /** Absent for computed columns (expressions): then only `*.column` rules can match, by label. */
  readonly table?: string;
  /** The table's column name, or the result label when there is no table. */
  readonly column: string;
  readonly kind: ValueKind;
}

/**
 * The masking of one column of one result, compiled once: call `mask` for every value of the
 * column (never for NULL, which stays NULL). `mask` returns its input unchanged (the same string)
 * when nothing in it needed masking, and throws `WardenError('masking')` when it cannot mask
 * (the caller refuses the result: a value is never passed on raw).
 */
export interface ColumnPlan {
  /** The column rule that applies, or `detect` for content detection. */
  readonly rule: string;
  /** The identity is exempt from the rule: values pass unmasked (and the access is audited). */
  readonly exempt: boolean;
  mask(value: string): string;
  /**
   * Present when the rule can mask values straight from their UTF-8 bytes (text-format rows:
   * Postgres's text format, MySQL's text protocol), skipping the decoding and encoding around
   * `mask`: writes the masked bytes of `bytes[start, end)` to `out` at `at` (room for
   * `end - start + UTF8_MASK_GROWTH` bytes must be there) and returns the offset after them, or -1
   * when this value needs `mask` on its text instead. Counts like `mask`.
   */
  maskUtf8?(bytes: Buffer, start: number, end: number, out: Buffer, at: number): number;
  /** Values masked so far, by strategy (column rules) or detector (content). */
  readonly counts: Record<string, number>;
}

/**
 * Column rules and content detectors, compiled for one masking plan.
 *
 * @example
 * ```ts
 * const masker = new Masker({ key, columns: { 'patients.ssn': 'redact' }, detectors: ['ssn', 'email'] });
 * const plan = masker.planColumn({ table: 'patients', column: 'ssn', kind: 'text' });
 * plan?.mask('123-45-6789'); // '[REDACTED]'
 * ```
 */
export class Masker {
  private readonly hash: KeyedHash;
  private readonly rules: ColumnPatterns<StrategyName>;
  private readonly exempt: ColumnPatterns<true>;
  private readonly exemptEverything: boolean;
  private readonly detectors: readonly Detector[];
  private readonly strategies: Readonly<Partial<Record<DetectorName, StrategyName>>>;
  /** Bare column names that have a rule: a literal compared with one is redacted from statements. */
  private readonly ruleColumns: ReadonlySet<string>;

  constructor(options: MaskerOptions) {
    this.hash = new KeyedHash(options.key);
    this.rules = compileColumnPatterns(Object.entries(options.columns ?? {}));
    this.exempt = compileColumnPatterns((options.exempt ?? []).map((pattern) => [pattern, true] as const));
    this.exemptEverything = (options.exempt ?? []).some((pattern) => /^\*(?:\.\*){0,2}$/.test(pattern));
    const all = createDetectors({ mrnPatterns: options.mrnPatterns ?? [] });
    this.detectors = (options.detectors ?? []).map((name) => {
      const detector = all.get(name);
      if (!detector) throw new WardenError('config', `unknown detector "${name}"`);
      return detector;
    });
    this.strategies = options.strategies ?? {};
    this.ruleColumns = new Set(
      Object.keys(options.columns ?? {})
        .map((key) => key.split('.').pop()!.toLowerCase())
        .filter((column) => !column.includes('*')),
    );
  }

  /**
   * Whether the identity's exemption covers every column (`*.*`): only then may it see target error
   * and notice text unredacted, since an error cannot be traced back to the columns it quotes.
   */
  get exemptFromAll(): boolean {
    return this.exemptEverything;
  }

  /** Whether this masker can change anything at all (no rules and no detectors: pass everything). */
  get active(): boolean {
    return this.rules.size > 0 || this.detectors.length > 0;
  }

  /** Whether any column rule is configured (content detectors aside). */
  get hasColumnRules(): boolean {
    return this.rules.size > 0;
  }

  /** Compile the masking of one result column, or undefined when its values pass untouched. */
  planColumn(column: ColumnRef): ColumnPlan | undefined {
    const rule = this.rules.match(column);
    const detecting = rule === undefined && this.detectors.length > 0 && isTextual(column.kind);
    if (rule === undefined && !detecting) return undefined;
    const ruleName = rule ? rule.pattern : 'detect';
    if (this.exempt.match(column)) {
      return { rule: ruleName, exempt: true, mask: (value) => value, counts: {} };
    }
    const counts: Record<string, number> = {};
    if (rule) {
      const strategy = rule.value;
      // Reject an unmaskable type now, before the first row: the whole result is refused.
      if (column.kind === 'other') throw new WardenError('masking', `column ${describe(column)} has a masking rule but a type Warden cannot mask`);
      const hash = this.hash;
      const kind = column.kind;
      counts[strategy] = 0;
      return {
        rule: ruleName,
        exempt: false,
        counts,
        mask: (value) => {
          const masked = guard(() => maskValue(strategy, kind, value, hash));
          counts[strategy]!++;
          return masked;
        },
        ...(kind === 'text' || kind === 'date'
          ? {
              maskUtf8: (bytes: Buffer, start: number, end: number, out: Buffer, at: number) => {
                const after = maskUtf8Into(strategy, kind, bytes, start, end, hash, out, at);
                if (after !== -1) counts[strategy]!++;
                return after;
              },
            }
          : {}),
      };
    }
    const memo = new DetectionMemo();
    const maskText = (text: string) => memo.mask(text, counts, (value, found) => this.maskFreeText(value, found));
    if (column.kind === 'json') {
      return { rule: ruleName, exempt: false, counts, mask: (value) => guard(() => maskJson(value, maskText)) };
    }
    return { rule: ruleName, exempt: false, counts, mask: (value) => guard(() => maskText(value)) };
  }

  /**
   * Whether a table column that a computed result value derives from is under a column rule, and
   * whether this identity is exempt from it. The statement may leave the schema out (then any
   * schema's rule counts) and name the whole row (`column: '*'`: any rule on the table counts, and
   * only an exemption from every column of it exempts).
   */
  ruleOverSource(source: { readonly schema?: string; readonly table: string; readonly column: string }): 'masked' | 'exempt' | undefined {
    if (!this.rules.covers(source)) return undefined;
    const exempt = this.exempt.match({ ...(source.schema === undefined ? {} : { schema: source.schema }), table: source.table, column: source.column });
    return exempt ? 'exempt' : 'masked';
  }

  /** The detections in `text`, overlaps resolved. */
  detect(text: string): Detection[] {
    const found: Detection[] = [];
    for (const detector of this.detectors) {
      if (detector.hint(text)) detector.find(text, found);
    }
    return resolveOverlaps(found);
  }

  /**
   * Replaces what the detectors find in free text by each detector's strategy; returns `text`
   * itself when nothing was found. `counts` collects masked spans by detector.
   */
  maskFreeText(text: string, counts?: Record<string, number>): string {
    const found = this.detect(text);
    if (found.length === 0) return text;
    let out = '';
    let at = 0;
    for (const d of found) {
      out += text.slice(at, d.start) + maskSpan(this.strategies[d.detector] ?? 'redact', d.detector, text.slice(d.start, d.end), this.hash);
      at = d.end;
      if (counts) counts[d.detector] = (counts[d.detector] ?? 0) + 1;
    }
    return out + text.slice(at);
  }

  /**
   * For statement text in the audit log: the placeholder for a literal that detectors flag, or
   * that is compared with a column that has a masking rule (`nearColumn`), else undefined. Equal
   * values give equal placeholders, so an auditor can still correlate them.
   */
  literalPlaceholder(value: string, nearColumn?: string): string | undefined {
    const sensitive = (nearColumn !== undefined && this.ruleColumns.has(nearColumn.toLowerCase())) || this.detect(value).length > 0;
    return sensitive ? this.placeholder(value) : undefined;
  }

  /** `[phi:<keyed hash>]`: what stands for a sensitive value in the audit log. */
  placeholder(value: string): string {
    return `[phi:${this.hash.hex('statement', value, 12)}]`;
  }
}

/**
 * What detection made of recent values of one result column, for columns whose values repeat
 * (a status, a department, a templated note): a repeated value costs a map lookup instead of a
 * scan by every detector. Bounded in entries and value length, and switched off for the rest of
 * the column when its values turn out not to repeat (an identifier, a phone number), so a
 * high-cardinality column pays a few hundred lookups, then nothing. Lives as long as the column's
 * plan (one result).
 */
class DetectionMemo {
  private static readonly MAX_ENTRIES = 512;
  private static readonly MAX_VALUE_LENGTH = 256;
  /** Lookups after which a memo that hits less than a quarter of the time is switched off. */
  private static readonly TRIAL = 512;
  private entries: Map<string, { readonly masked: string; readonly found: readonly string[] }> | undefined = new Map();
  private lookups = 0;
  private hits = 0;

  mask(text: string, counts: Record<string, number>, work: (text: string, found: Record<string, number>) => string): string {
    const entries = this.entries;
    if (entries === undefined || text.length > DetectionMemo.MAX_VALUE_LENGTH) return work(text, counts);
    const known = entries.get(text);
    if (++this.lookups === DetectionMemo.TRIAL && this.hits < DetectionMemo.TRIAL / 4) this.entries = undefined;
    if (known !== undefined) {
      this.hits++;
      for (const detector of known.found) counts[detector] = (counts[detector] ?? 0) + 1;
      return known.masked;
    }
    const found: Record<string, number> = {};
    const masked = work(text, found);
    const names: string[] = [];
    for (const [detector, count] of Object.entries(found)) {
      counts[detector] = (counts[detector] ?? 0) + count;
      for (let i = 0; i < count; i++) names.push(detector);
    }
    if (this.entries !== undefined) {
      if (entries.size >= DetectionMemo.MAX_ENTRIES) entries.clear();
      entries.set(text, { masked, found: names });
    }
    return masked;
  }
}

function guard(work: () => string): string {
  try {
    return work();
  } catch (error) {
    const wardenError = toWardenError(error);
    // Never let an internal error carry the value along; keep the message generic.
    throw wardenError.code === 'masking' ? wardenError : new WardenError('masking', 'a value could not be masked', { cause: error });
  }
}

function describe(column: ColumnRef): string {
  return [column.schema, column.table, column.column].filter(Boolean).join('.');
}
