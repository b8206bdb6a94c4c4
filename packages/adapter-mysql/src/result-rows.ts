/**
 * What Warden does to the rows of one command's results while they stream, free of sockets:
 * masking (plans compiled once per result set from its column definitions, applied per row only
 * to the columns that need it) and the session's row budget. Fed every packet of the response
 * with its role from the `ResponseTracker`; answers what to send the client instead.
 *
 * Untouched packets are forwarded as they came. A row over the budget is replaced by an ERR that
 * says the result was cut; a value that cannot be masked by an ERR that says the result was
 * withheld. After either, the rest of the response is dropped (the relay stops the statement on
 * the target and follows the response to its end).
 */
import { WardenError, toWardenError, type ColumnPlan, type ColumnRef, type Masker } from '@warden/core';
import { readColumnDefinition, valueKindOf, type ColumnDefinition } from './column-definition';
import { framePacket } from './packet-codec';
import type { Packet } from './packet-splitter';
import { ErrorCode, MAX_PACKET_PAYLOAD } from './protocol';
import type { PacketRole } from './response-tracker';
import { maskBinaryRow, maskTextRow, type RowColumn } from './row-values';
import { redactErrorText } from './error-redaction';
import { errPacket } from './server-messages';
import { textCodecFor } from './text-charset';

export interface RowBudget {
  /** Rows this command may send (`rowsPerStatement`). */
  readonly perStatement?: number;
  /** Rows the session may still send, and its limit (`rowsPerSession`). */
  readonly sessionRemaining?: number;
  readonly sessionLimit?: number;
}

export interface ResultRowsOptions {
  /** Rows of COM_STMT_EXECUTE results are in the binary protocol. */
  readonly binary: boolean;
  readonly masker?: Masker;
  /**
   * A computed column named Message (`SHOW WARNINGS` / `SHOW ERRORS`, in whatever statement of a
   * batch, behind whatever comment) is taken for target error text: its quoted values are redacted,
   * or, for an identity exempt from every column, it passes as an exempt column (which recordings
   * leave out). A user's own column of that name is redacted too: over-redaction, never a leak.
   */
  readonly diagnostics?: 'redact' | 'exempt';
  /** Tables the statement reads (its classification's objects), to attribute columns of derived tables. */
  readonly objects: readonly string[];
  readonly budget?: RowBudget;
}

export type RowOutcome =
  | { readonly action: 'forward' }
  | { readonly action: 'replace'; readonly bytes: Buffer }
  | { readonly action: 'drop' }
  /** The row budget is used up: send `bytes` (an ERR), stop the statement, drop the rest. */
  | { readonly action: 'cut'; readonly bytes: Buffer; readonly limit: 'rows-per-statement' | 'rows-per-session'; readonly error: ResultError }
  /** A value could not be masked: send `bytes` (an ERR), stop the statement, drop the rest. */
  | { readonly action: 'fail'; readonly bytes: Buffer; readonly error: ResultError };

export interface ResultError {
  readonly code: string;
  readonly message: string;
}

const FORWARD: RowOutcome = { action: 'forward' };
const DROP: RowOutcome = { action: 'drop' };

interface Compiled {
  readonly columns: ReadonlyArray<RowColumn | undefined>;
  readonly active: boolean;
  /** Columns sent unmasked under an exemption; undefined when none. */
  readonly exempt?: readonly boolean[];
}

export class ResultRows {
  /** Rows sent to the client (forwarded or masked), over all result sets of the command. */
  sent = 0;
  private definitions: ColumnDefinition[] = [];
  private compiled: Compiled | undefined;
  private stopped = false;
  private readonly plans: ColumnPlan[] = [];
  private readonly unmasked: Record<string, number> = {};
  private readonly objects: ReadonlySet<string>;

  constructor(private readonly options: ResultRowsOptions) {
    this.objects = new Set(options.objects.map((name) => name.split('.').pop()!.replace(/`/g, '').toLowerCase()));
  }

  /** Whether the response is being dropped after a cut or a failure. */
  get dropping(): boolean {
    return this.stopped;
  }

  visit(packet: Packet, role: PacketRole): RowOutcome {
    if (this.stopped) return DROP;
    switch (role) {
      case 'column-count':
        this.definitions = [];
        this.compiled = undefined;
        return FORWARD;
      case 'column':
        if (this.options.masker?.active) this.definitions.push(readColumnDefinition(packet.buffer, packet.start, packet.end));
        return FORWARD;
      case 'row':
        return this.row(packet);
      default:
        // Continuation packets of a row follow its first packet: forwarded only when the row was.
        return FORWARD;
    }
  }

  /**
   * Which columns of the current result set the identity receives unmasked under an exemption;
   * undefined when none (or before its first row). Recordings leave those values out.
   */
  exemptColumns(): readonly boolean[] | undefined {
    return this.compiled?.exempt;
  }

  /** Masked and unmasked counts for the result record. */
  counts(): { masked?: Record<string, number>; unmasked?: Record<string, number> } {
    const masked: Record<string, number> = {};
    for (const plan of this.plans) for (const [label, count] of Object.entries(plan.counts)) if (count > 0) masked[label] = (masked[label] ?? 0) + count;
    const unmasked = Object.fromEntries(Object.entries(this.unmasked).filter(([, count]) => count > 0));
    return {
      ...(Object.keys(masked).length > 0 ? { masked } : {}),
      ...(Object.keys(unmasked).length > 0 ? { unmasked } : {}),
    };
  }

  private row(packet: Packet): RowOutcome {
    const cut = this.overBudget(packet);
    if (cut) return cut;
    const masker = this.options.masker;
    if (!masker?.active) {
      this.sent++;
      return FORWARD;
    }
    try {
      this.compiled ??= this.compile(masker);
      if (!this.compiled.active) {
        this.sent++;
        return FORWARD;
      }
      if (packet.continues) throw new WardenError('masking', 'a row of 16 MiB or more cannot be masked');
      const payload = packet.buffer.subarray(packet.start + 4, packet.end);
      const masked = this.options.binary ? maskBinaryRow(payload, this.compiled.columns, this.definitions) : maskTextRow(payload, this.compiled.columns);
      this.sent++;
      if (!masked) return FORWARD;
      if (masked.length >= MAX_PACKET_PAYLOAD) throw new WardenError('masking', 'a masked row would be 16 MiB or more');
      return { action: 'replace', bytes: framePacket(masked, packet.sequenceId) };
    } catch (error) {
      const wardenError = toWardenError(error);
      this.stopped = true;
      // Masking errors are Warden's own words, never a value.
      const reason = wardenError.code === 'masking' ? wardenError.message : 'masking failed';
      const message = `Warden: the result was withheld because ${reason}; Warden never returns a value it was configured to mask and could not`;
      return { action: 'fail', bytes: errPacket(packet.sequenceId, ErrorCode.Unknown, message), error: { code: 'masking', message: reason } };
    }
  }

  private overBudget(packet: Packet): RowOutcome | undefined {
    const budget = this.options.budget;
    if (!budget) return undefined;
    let limit: 'rows-per-statement' | 'rows-per-session';
    let message: string;
    if (budget.perStatement !== undefined && this.sent >= budget.perStatement) {
      limit = 'rows-per-statement';
      message = `the result was cut after ${this.sent} rows, the budget per statement; it is incomplete`;
    } else if (budget.sessionRemaining !== undefined && this.sent >= budget.sessionRemaining) {
      limit = 'rows-per-session';
      message = `the result was cut after ${this.sent} rows: the session's budget of ${budget.sessionLimit ?? 0} rows is used up; it is incomplete`;
    } else {
      return undefined;
    }
    this.stopped = true;
    return {
      action: 'cut',
      limit,
      bytes: errPacket(packet.sequenceId, ErrorCode.QueryInterrupted, `Warden: ${message} (rule "budget:${limit}")`),
      error: { code: `${ErrorCode.QueryInterrupted}/70100`, message },
    };
  }

  private compile(masker: Masker): Compiled {
    let active = false;
    const exempt = this.definitions.map(() => false);
    const columns = this.definitions.map((definition, index): RowColumn | undefined => {
      const plan = this.withErrorTextRedaction(this.planFor(masker, definition), definition);
      if (!plan) return undefined;
      active = true;
      this.plans.push(plan);
      const kind = valueKindOf(definition);
      const codec = textCodecFor(definition.characterSet);
      if (!codec && (kind === 'text' || kind === 'json')) {
        throw new WardenError('masking', `column ${definition.name} arrives in a character set Warden cannot read (collation ${definition.characterSet}); use utf8mb4`);
      }
      const label = definition.orgTable ? `${definition.schema}.${definition.orgTable}.${definition.orgName}` : definition.name;
      if (plan.exempt) {
        exempt[index] = true;
        this.unmasked[label] = 0;
        return {
          definition,
          codec: codec!,
          mask: (text) => {
            this.unmasked[label]!++;
            return text;
          },
        };
      }
      return { definition, codec: codec!, mask: (text) => plan.mask(text) };
    });
    return { columns, active, ...(exempt.includes(true) ? { exempt } : {}) };
  }

  /** The Message column of `SHOW WARNINGS` / `SHOW ERRORS`: its quoted values redacted first, then its own plan, if any. */
  private withErrorTextRedaction(plan: ColumnPlan | undefined, definition: ColumnDefinition): ColumnPlan | undefined {
    if (!this.options.diagnostics || definition.orgTable !== '' || definition.name.toLowerCase() !== 'message') return plan;
    if (this.options.diagnostics === 'exempt') return { rule: 'error-text', exempt: true, counts: {}, mask: (value) => value };
    const counts: Record<string, number> = { 'error-text': 0 };
    return {
      rule: 'error-text',
      exempt: false,
      counts,
      mask: (value) => {
        const redacted = redactErrorText(value);
        if (redacted !== value) counts['error-text']!++;
        return plan && !plan.exempt ? plan.mask(redacted) : redacted;
      },
    };
  }

  /**
   * The plan for a column from its definition. MariaDB names a derived table, a CTE or a view as
   * the column's table; when that is not one of the tables the statement reads, the rules of the
   * tables it does read are tried for the column's name too (over-masking rather than a leak).
   */
  private planFor(masker: Masker, definition: ColumnDefinition): ColumnPlan | undefined {
    const kind = valueKindOf(definition);
    const column = definition.orgName || definition.name;
    const ref: ColumnRef = definition.orgTable ? { ...(definition.schema ? { schema: definition.schema } : {}), table: definition.orgTable, column, kind } : { column, kind };
    const plan = masker.planColumn(ref);
    const derived = definition.orgTable !== '' && !this.objects.has(definition.orgTable.toLowerCase());
    // Content detection is the plan of last resort: a column rule of a table read wins over it.
    if (!derived || (plan !== undefined && plan.rule !== 'detect')) return plan;
    for (const table of this.objects) {
      const fallback = masker.planColumn({ ...(definition.schema ? { schema: definition.schema } : {}), table, column, kind });
      if (fallback && fallback.rule !== 'detect') return fallback;
    }
    return plan;
  }
}
