import type { Identity, MaskingPlan } from '../events';
import type { DetectorName } from './detection';
import type { MaskingConnectionConfig } from './masking-config';
import { Masker } from './masker';
import type { StrategyName } from './strategies';

/**
 * Replaces the literals of a statement that `placeholder` flags (an SQL adapter's scanner, e.g.
 * `@warden/sql`'s `redactPostgresLiterals`). `nearColumn` is the identifier the literal is compared
 * with, when the scanner can tell. Throws on text it cannot scan.
 */
export type LiteralRedactor = (text: string, placeholder: (value: string, nearColumn?: string) => string | undefined) => string;

export interface MaskingPolicyOptions {
  /** The deployment's masking key (at least 16 bytes). */
  readonly key: Buffer;
  readonly connections: readonly MaskingConnectionConfig[];
  /** Literal redactors by protocol; other protocols get free-text detection on statement text. */
  readonly literalRedactors?: Readonly<Record<string, LiteralRedactor>>;
}

/** Detectors that always guard statement text in the audit log, even where results are not scanned. */
const STATEMENT_DETECTORS: readonly DetectorName[] = ['ssn', 'email', 'phone', 'credit-card', 'mrn', 'date'];

/**
 * Masking per connection and identity: the plan a decision carries (plain data, audited with the
 * decision), the compiled `Masker` for a plan (cached: plans repeat across commands and sessions),
 * and the redaction of statement text and target messages before they reach the audit log.
 */
export class MaskingPolicy {
  private readonly byConnection = new Map<string, MaskingConnectionConfig>();
  private readonly maskers = new Map<string, Masker>();
  private readonly auditMaskers = new Map<string, Masker>();

  constructor(private readonly options: MaskingPolicyOptions) {
    for (const config of options.connections) this.byConnection.set(config.connection, config);
  }

  /** The masking plan for this identity's results on a connection, or undefined when nothing is masked. */
  planFor(identity: Identity, connection: string): MaskingPlan | undefined {
    const config = this.byConnection.get(connection);
    if (!config) return undefined;
    const columns = config.columns ?? {};
    const detectors = config.detect ?? [];
    if (Object.keys(columns).length === 0 && detectors.length === 0) return undefined;
    const exempt = new Set<string>();
    for (const exemption of config.exempt ?? []) {
      const byGroup = exemption.groups?.some((group) => identity.groups.includes(group)) ?? false;
      const bySubject = exemption.identities?.includes(identity.subject) ?? false;
      if (byGroup || bySubject) for (const column of exemption.columns) exempt.add(column);
    }
    return {
      columns: { ...columns },
      detectors: [...detectors],
      ...(config.strategies && Object.keys(config.strategies).length > 0 ? { strategies: { ...config.strategies } as Record<string, string> } : {}),
      ...(exempt.size > 0 ? { exempt: [...exempt].sort() } : {}),
      ...(config.mrnPatterns && config.mrnPatterns.length > 0 ? { mrnPatterns: [...config.mrnPatterns] } : {}),
    };
  }

  /** The compiled masker for a plan (from `planFor`). */
  maskerFor(plan: MaskingPlan): Masker {
    const cacheKey = JSON.stringify(plan);
    let masker = this.maskers.get(cacheKey);
    if (!masker) {
      masker = new Masker({
        key: this.options.key,
        columns: plan.columns as Readonly<Record<string, StrategyName>>,
        detectors: plan.detectors as readonly DetectorName[],
        ...(plan.strategies ? { strategies: plan.strategies as Readonly<Partial<Record<DetectorName, StrategyName>>> } : {}),
        ...(plan.exempt ? { exempt: plan.exempt } : {}),
        ...(plan.mrnPatterns ? { mrnPatterns: plan.mrnPatterns } : {}),
      });
      // Plans come from configuration, so there are few; the bound only guards against surprises.
      if (this.maskers.size > 1000) this.maskers.clear();
      this.maskers.set(cacheKey, masker);
    }
    return masker;
  }

  /**
   * Statement text as the audit log may hold it: literals that detectors flag, or that are compared
   * with a masked column, become `[phi:<keyed hash>]` (equal values, equal placeholders).
   * Exemptions do not apply: the audit log never holds raw PHI.
   */
  redactStatement(connection: string, protocol: string, text: string): string {
    const masker = this.auditMasker(connection);
    const redactor = this.options.literalRedactors?.[protocol];
    if (redactor) {
      try {
        return redactor(text, (value, nearColumn) => masker.literalPlaceholder(value, nearColumn));
      } catch {
        // Text the scanner cannot read still gets content detection below.
      }
    }
    return this.redactMessage(connection, text);
  }

  /** Free text for the audit log (a target's error message): detected spans become placeholders. */
  redactMessage(connection: string, text: string): string {
    const masker = this.auditMasker(connection);
    const found = masker.detect(text);
    if (found.length === 0) return text;
    let out = '';
    let at = 0;
    for (const d of found) {
      out += text.slice(at, d.start) + masker.placeholder(text.slice(d.start, d.end));
      at = d.end;
    }
    return out + text.slice(at);
  }

  private auditMasker(connection: string): Masker {
    let masker = this.auditMaskers.get(connection);
    if (!masker) {
      const config = this.byConnection.get(connection);
      const detectors = new Set<DetectorName>([...STATEMENT_DETECTORS, ...(config?.detect ?? [])]);
      masker = new Masker({
        key: this.options.key,
        columns: config?.columns ?? {},
        detectors: [...detectors],
        ...(config?.mrnPatterns ? { mrnPatterns: config.mrnPatterns } : {}),
      });
      this.auditMaskers.set(connection, masker);
    }
    return masker;
  }
}
