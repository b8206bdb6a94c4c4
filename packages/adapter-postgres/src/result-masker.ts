import { UTF8_MASK_GROWTH, WardenError, copyBytes, toWardenError, type ColumnPlan, type Masker } from '@warden/core';
import { describeCopyOut, type CopyOutSource } from '@warden/sql';
import { errorResponse } from './backend-messages';
import type { ColumnResolver, DescribedField } from './column-resolver';
import { maskCopyBinary, maskCopyCsvRow, maskCopyTextRow } from './copy-rows';
import { DERIVED_REDACTION_BYTES, derivedFunctions, derivedRelations, planDerivedColumn, type WholeValue } from './derived-columns';
import { BackendCode, SqlState } from './message-codes';
import { pgValueType, type PgValueType } from './pg-values';

/** What the relay knows about the command whose answers are streaming. */
export interface MaskedExecution {
  /** The compiled masking plan from the ruling; without it, results pass untouched. */
  readonly masker?: Masker;
  /** The command text (to find the columns of `COPY … TO STDOUT` and of executed statements). */
  readonly text: string;
  /** For an extended-protocol Execute: the portal's name as the relay records it. */
  readonly portal?: string;
  /** For a fast-path FunctionCall: the function it calls (`schema.name`), as the catalog named it; empty when unknown. */
  readonly fastPathFunction?: string;
}

/** What to do with one target message. */
export type MaskOutcome =
  | { readonly action: 'forward' }
  /** `bytes` may be a view of a buffer the next visit reuses: write or copy them before it. */
  | { readonly action: 'replace'; readonly bytes: Buffer }
  | { readonly action: 'drop' }
  /** Column names are being looked up: stop reading and visit the same message again once `ready`. */
  | { readonly action: 'wait'; readonly ready: Promise<void> }
  /** Masking failed: send `bytes` (an ErrorResponse) instead; the rest of the answer is dropped. */
  | { readonly action: 'fail'; readonly bytes: Buffer; readonly error: { readonly code: string; readonly message: string } };

const FORWARD: MaskOutcome = { action: 'forward' };
const DROP: MaskOutcome = { action: 'drop' };

interface CompiledColumn {
  readonly plan: ColumnPlan;
  readonly type: PgValueType;
  readonly binary: boolean;
  /** A computed column derived from a masked column: its values are replaced whole. */
  readonly whole?: WholeValue;
  /** `schema.table.column` (or the label of a computed column), for the unmasked-access record. */
  readonly label: string;
}

interface CompiledResult {
  readonly execution: MaskedExecution;
  readonly columns: ReadonlyArray<CompiledColumn | undefined>;
  /** Some column needs work per row (masking or counting an exempt access). */
  readonly active: boolean;
  readonly unmasked: Record<string, number>;
  /** Its execution completed (`takeCounts`): kept only while it is the current result. */
  taken?: boolean;
}

interface CopyState {
  readonly result: CompiledResult;
  readonly source: CopyOutSource;
  first: boolean;
  headerPending: boolean;
}

/** Counts for the audit record of one command. */
export interface MaskingCounts {
  readonly masked?: Record<string, number>;
  readonly unmasked?: Record<string, number>;
}

/**
 * Masks a Postgres result while it streams, a message at a time, free of sockets: RowDescription
 * sets the columns, each DataRow (text or binary format per column) and each CopyData row of
 * `COPY … TO STDOUT` (text, CSV, binary) is masked column by column with the plans compiled once
 * per result. Untouched rows are forwarded as the bytes they came in. When a value cannot be masked,
 * the answer becomes an ErrorResponse and the rest of it is withheld until ReadyForQuery (fail closed).
 */
export class ResultMasker {
  private description: DescribedField[] | undefined;
  /** The execution that was current when the RowDescription arrived (its rows follow it). */
  private descriptionOwner: MaskedExecution | undefined;
  /** Result format codes per portal, from the client's Bind messages. */
  private readonly portalFormats = new Map<string, number[]>();
  /** Statement text → its result columns, from the side connection (extended protocol without a fresh Describe). */
  private readonly described = new Map<string, DescribedField[]>();
  private compiled: CompiledResult | undefined;
  private copy: CopyState | undefined;
  private readonly copySources = new WeakMap<MaskedExecution, CopyOutSource[]>();
  private results: CompiledResult[] = [];
  private failing = false;
  private pendingError: unknown;
  private readonly rowScratch: RowScratch = { bytes: Buffer.allocUnsafe(ROW_SCRATCH_BYTES) };
  /** The session's `client_encoding` as the target last reported it (Warden starts sessions in UTF8), and whether it is UTF8. */
  private clientEncoding = 'UTF8';
  private clientEncodingUtf8 = true;

  constructor(private readonly resolver: ColumnResolver) {}

  /** Visit one target→client message; `execution` is the command producing it, if any. */
  visit(code: number, buffer: Buffer, start: number, end: number, execution: MaskedExecution | undefined): MaskOutcome {
    if (code === BackendCode.ParameterStatus) this.noteParameter(buffer, start, end);
    if (this.failing) {
      if (code === BackendCode.ReadyForQuery) {
        this.failing = false;
        return FORWARD;
      }
      return DROP;
    }
    try {
      if (this.pendingError !== undefined) {
        const error = this.pendingError;
        this.pendingError = undefined;
        throw error;
      }
      return this.visitMessage(code, buffer, start, end, execution);
    } catch (error) {
      return this.fail(error);
    }
  }

  /**
   * The client's Bind (forwarded to the target as it is): remembers the portal's result formats,
   * which decide whether its rows arrive in text or binary.
   * Bind: 'B' | int32 len | cstring portal | cstring statement | int16 n | int16 × n param formats |
   * int16 n | n × (int32 len | bytes) params | int16 n | int16 × n result formats
   */
  noteBind(buffer: Buffer, start: number, end: number, portalKey: string): void {
    try {
      let offset = buffer.indexOf(0, start + 5) + 1;
      offset = buffer.indexOf(0, offset) + 1;
      offset += 2 + 2 * buffer.readInt16BE(offset);
      const params = buffer.readInt16BE(offset);
      offset += 2;
      for (let i = 0; i < params; i++) {
        const length = buffer.readInt32BE(offset);
        offset += 4 + (length > 0 ? length : 0);
      }
      const count = buffer.readInt16BE(offset);
      const formats: number[] = [];
      for (let i = 0; i < count; i++) formats.push(buffer.readInt16BE(offset + 2 + 2 * i));
      if (offset + 2 + 2 * count > end) throw new RangeError('short Bind');
      this.portalFormats.set(portalKey, formats);
    } catch {
      // A malformed Bind fails at the target; its portal's rows are then never seen.
      this.portalFormats.delete(portalKey);
    }
  }

  /** The portal no longer exists on the target: its formats are not needed any more. */
  forgetPortal(portalKey: string): void {
    this.portalFormats.delete(portalKey);
  }

  /** ParameterStatus: 'S' | int32 len | cstring name | cstring value. Tracks `client_encoding`. */
  private noteParameter(buffer: Buffer, start: number, end: number): void {
    const nameEnd = buffer.indexOf(0, start + 5);
    if (nameEnd === -1 || nameEnd >= end || buffer.toString('latin1', start + 5, nameEnd) !== 'client_encoding') return;
    const valueEnd = buffer.indexOf(0, nameEnd + 1);
    this.clientEncoding = buffer.toString('latin1', nameEnd + 1, valueEnd === -1 || valueEnd > end ? end : valueEnd);
    this.clientEncodingUtf8 = this.clientEncoding.toUpperCase() === 'UTF8';
  }

  /**
   * Values are read and masked as UTF-8: in another client encoding a detector could miss what it
   * would find, so a result with something to mask is refused instead (fail closed).
   */
  private requireUtf8(): void {
    if (!this.clientEncodingUtf8) {
      throw new WardenError('masking', `the session's client_encoding is ${this.clientEncoding.slice(0, 40)} and Warden masks results in UTF8 only (SET client_encoding TO 'UTF8')`);
    }
  }

  /** The result format codes of a portal's Bind (undefined when its Bind was not seen or was malformed). */
  resultFormats(portalKey: string): readonly number[] | undefined {
    return this.portalFormats.get(portalKey);
  }

  /**
   * Which columns of `execution`'s current result (rows or COPY output) the identity receives
   * unmasked under an exemption; undefined when none. Recordings leave those values out.
   */
  exemptColumns(execution: MaskedExecution): readonly boolean[] | undefined {
    const result = this.copy?.result.execution === execution ? this.copy.result : this.compiled?.execution === execution ? this.compiled : undefined;
    if (!result || Object.keys(result.unmasked).length === 0) return undefined;
    return result.columns.map((column) => column?.plan.exempt === true);
  }

  /** The masked and unmasked counts of an execution's results so far (then forgotten). */
  takeCounts(execution: MaskedExecution): MaskingCounts {
    const masked: Record<string, number> = {};
    const unmasked: Record<string, number> = {};
    for (let i = this.results.length - 1; i >= 0; i--) {
      const result = this.results[i]!;
      if (result.execution !== execution) continue;
      for (const column of result.columns) {
        if (!column) continue;
        for (const [label, count] of Object.entries(column.plan.counts)) {
          if (count > 0) masked[label] = (masked[label] ?? 0) + count;
          column.plan.counts[label] = 0;
        }
      }
      for (const [label, count] of Object.entries(result.unmasked)) unmasked[label] = (unmasked[label] ?? 0) + count;
      // Keep the current result (more rows may come after PortalSuspended); drop finished ones.
      if (result !== this.compiled && result !== this.copy?.result) this.results.splice(i, 1);
      else {
        result.taken = true;
        for (const label of Object.keys(result.unmasked)) result.unmasked[label] = 0;
      }
    }
    return {
      ...(Object.keys(masked).length > 0 ? { masked } : {}),
      ...(Object.keys(unmasked).length > 0 ? { unmasked } : {}),
    };
  }

  private visitMessage(code: number, buffer: Buffer, start: number, end: number, execution: MaskedExecution | undefined): MaskOutcome {
    switch (code) {
      case BackendCode.RowDescription:
        this.description = readRowDescription(buffer, start, end);
        this.descriptionOwner = execution;
        this.compiled = undefined;
        return FORWARD;
      case BackendCode.NoData:
        this.description = undefined;
        this.compiled = undefined;
        return FORWARD;
      case BackendCode.DataRow:
        return this.dataRow(buffer, start, end, execution);
      case BackendCode.FunctionCallResponse:
        return this.functionCallResponse(execution);
      case BackendCode.CopyOutResponse:
        return this.copyOut(execution);
      case BackendCode.CopyData:
        return this.copy ? this.copyData(buffer, start, end) : FORWARD;
      case BackendCode.CopyDone:
        this.copy = undefined;
        return FORWARD;
      case BackendCode.CommandComplete: {
        // A schema change may rename columns: forget cached names.
        const tag = buffer.toString('latin1', start + 5, Math.min(end - 1, start + 5 + 6));
        if (tag.startsWith('ALTER') || tag.startsWith('DROP') || tag.startsWith('CREATE')) this.resolver.invalidate();
        return FORWARD;
      }
      default:
        return FORWARD;
    }
  }

  private dataRow(buffer: Buffer, start: number, end: number, execution: MaskedExecution | undefined): MaskOutcome {
    const masker = execution?.masker;
    if (!masker || !masker.active) return FORWARD;
    if (!this.compiled || this.compiled.execution !== execution) {
      const fields = this.fieldsFor(execution);
      if (!Array.isArray(fields)) return fields;
      const waiting = this.awaitNames(fields) ?? this.awaitRelations(fields, execution!.text, masker);
      if (waiting) return waiting;
      this.compiled = this.compile(fields, execution, masker, execution!.text);
    }
    const result = this.compiled;
    if (!result.active) return FORWARD;
    this.requireUtf8();
    const masked = maskDataRow(buffer, start, end, result, this.rowScratch);
    return masked ? { action: 'replace', bytes: masked } : FORWARD;
  }

  /**
   * The columns of an execution's rows. A RowDescription that arrived while the execution was
   * current describes them (simple Query; Describe of the portal). An extended-protocol Execute
   * without one (the statement was described earlier, or never) is described on the side
   * connection. Either way an Execute's formats come from its Bind.
   */
  private fieldsFor(execution: MaskedExecution): DescribedField[] | MaskOutcome {
    let fields: DescribedField[] | undefined;
    if (this.description && this.descriptionOwner === execution) fields = this.description;
    else if (execution.portal !== undefined) {
      fields = this.described.get(execution.text);
      if (!fields) {
        return this.wait(
          this.resolver.describe(execution.text).then((described) => {
            if (this.described.size > 1000) this.described.clear();
            this.described.set(execution.text, described);
          }),
        );
      }
    }
    if (!fields) throw new WardenError('masking', 'a row arrived without a row description');
    const formats = execution.portal !== undefined ? this.portalFormats.get(execution.portal) : undefined;
    if (!formats) return fields;
    // Bind's result formats: none means all text, one applies to all, else one per column.
    return fields.map((field, i) => ({ ...field, format: formats.length === 0 ? 0 : formats.length === 1 ? formats[0]! : (formats[i] ?? 0) }));
  }

  private copyOut(execution: MaskedExecution | undefined): MaskOutcome {
    const masker = execution?.masker;
    this.copy = undefined;
    if (!execution || !masker || !masker.active) return FORWARD;
    let sources = this.copySources.get(execution);
    if (!sources) {
      sources = describeCopyOut(execution.text);
      if (!sources) throw new WardenError('masking', 'the COPY statement could not be analysed for masking');
      this.copySources.set(execution, sources);
    }
    const source = sources[0];
    if (!source) throw new WardenError('masking', 'COPY output that Warden cannot attribute to a statement');
    const waiting = this.awaitCopyColumns(source) ?? this.awaitRelations(this.copyFields.get(source)!, source.query, masker);
    if (waiting) return waiting;
    sources.shift();
    const fields = this.copyFields.get(source)!;
    const binary = source.format === 'binary';
    const result = this.compile(
      fields.map((f) => ({ ...f, format: binary ? 1 : 0 })),
      execution,
      masker,
      source.query,
    );
    if (result.active) this.requireUtf8();
    this.copy = { result, source, first: true, headerPending: source.format === 'csv' && source.header };
    return FORWARD;
  }

  private readonly copyFields = new WeakMap<CopyOutSource, DescribedField[]>();

  private awaitCopyColumns(source: CopyOutSource): MaskOutcome | undefined {
    const fields = this.copyFields.get(source);
    if (fields) return this.awaitNames(fields);
    return this.wait(this.resolver.describe(source.query).then((described) => void this.copyFields.set(source, described)));
  }

  private copyData(buffer: Buffer, start: number, end: number): MaskOutcome {
    const copy = this.copy!;
    const result = copy.result;
    if (!result.active) return FORWARD;
    const payload = buffer.subarray(start + 5, end);
    let masked: Buffer;
    if (copy.source.format === 'binary') {
      masked = maskCopyBinary(payload, copy.first, result.columns.length, (index, bytes) => {
        const column = result.columns[index];
        if (!column) return bytes;
        const text = column.type.decodeBinary(bytes);
        const out = maskValue(column, result, text);
        return out === text ? bytes : column.type.encodeBinary(out);
      });
    } else {
      if (copy.headerPending) {
        copy.headerPending = false;
        return FORWARD;
      }
      const line = payload.toString('utf8');
      const mask = (index: number, value: string) => {
        const column = result.columns[index];
        return column ? maskValue(column, result, value) : value;
      };
      const out =
        copy.source.format === 'csv'
          ? maskCopyCsvRow(line, copy.source, result.columns.length, mask)
          : maskCopyTextRow(line, copy.source, result.columns.length, mask);
      masked = out === line ? payload : Buffer.from(out, 'utf8');
    }
    copy.first = false;
    if (masked === payload) return FORWARD;
    const message = Buffer.allocUnsafe(5 + masked.length);
    message[0] = BackendCode.CopyData;
    message.writeInt32BE(4 + masked.length, 1);
    masked.copy(message, 5);
    return { action: 'replace', bytes: message };
  }

  /** Undefined when every table of `fields` is resolved; otherwise a wait for the lookup. */
  private awaitNames(fields: readonly DescribedField[]): MaskOutcome | undefined {
    const missing = fields.filter((f) => f.tableOid > 0 && this.resolver.cached(f.tableOid, f.attnum) === undefined).map((f) => f.tableOid);
    if (missing.length === 0) return undefined;
    return this.wait(this.resolver.resolve(missing));
  }

  /**
   * A fast-path call's value has no column lineage: a function outside pg_catalog may return any
   * column its body reads, so while column rules apply it is withheld (as a computed column calling
   * it would be refused, derived-columns.ts). Built-ins (lo_open, loread: pg_dump -Fc) pass.
   */
  private functionCallResponse(execution: MaskedExecution | undefined): MaskOutcome {
    const masker = execution?.masker;
    if (!masker?.hasColumnRules || masker.exemptFromAll) return FORWARD;
    const name = execution?.fastPathFunction ?? '';
    if (name.startsWith('pg_catalog.')) return FORWARD;
    throw new WardenError(
      'masking',
      `the fast-path call of function "${name.slice(0, 127) || 'unknown'}" returns a value Warden cannot trace to its table columns (it is not a PostgreSQL built-in), and masking rules apply to this connection`,
    );
  }

  /** Undefined when every relation the computed columns derive from is known (a table or not); otherwise a wait for the lookup. */
  private awaitRelations(fields: readonly DescribedField[], text: string, masker: Masker): MaskOutcome | undefined {
    const computed = (field: DescribedField) => this.isComputed(field);
    if (!masker.hasColumnRules || !this.resolver.resolveRelations || !fields.some(computed)) return undefined;
    const missing = derivedRelations(text, fields, computed).filter((r) => this.resolver.relationKind?.(r.schema, r.name) === undefined);
    const missingFunctions = derivedFunctions(text, fields, computed).filter((name) => this.resolver.functionKind?.(name) === undefined);
    if (missing.length === 0 && (missingFunctions.length === 0 || !this.resolver.resolveFunctions)) return undefined;
    return this.wait(Promise.all([this.resolver.resolveRelations(missing), this.resolver.resolveFunctions?.(missingFunctions)]).then(() => undefined));
  }

  /**
   * Not a plain column of a table, judged by its lineage: no table, a whole-row or system column of
   * one (attribute ≤ 0), or a column of a view (PostgreSQL names the view, not the table behind it).
   * The field's table must be resolved already.
   */
  private isComputed(field: DescribedField): boolean {
    if (field.tableOid === 0) return true;
    const name = this.resolver.cached(field.tableOid, field.attnum);
    return name === null || name?.ordinaryTable === false;
  }

  private wait(work: Promise<void>): MaskOutcome {
    return {
      action: 'wait',
      ready: work.then(
        () => undefined,
        (error: unknown) => {
          this.pendingError = error;
        },
      ),
    };
  }

  /** `text`: the statement the rows come from, whose computed columns are judged by what they derive from. */
  private compile(fields: readonly DescribedField[], execution: MaskedExecution, masker: Masker, text: string): CompiledResult {
    let active = false;
    const unmasked: Record<string, number> = {};
    const columns = fields.map((field, index): CompiledColumn | undefined => {
      const name = field.tableOid > 0 ? this.resolver.cached(field.tableOid, field.attnum) : undefined;
      if (name === undefined && field.tableOid > 0) throw new WardenError('masking', 'a result column could not be resolved to its table');
      const type = pgValueType(field.typeOid);
      // Not a plain column of a table: an expression over a masked column is masked as a whole.
      if (this.isComputed(field)) {
        const derived = planDerivedColumn(text, fields, index, type, masker, (schema, table) => this.resolver.relationKind?.(schema, table),
          (fn) => this.resolver.functionKind?.(fn),
        );
        if (derived) {
          active = true;
          if (derived.plan.exempt) unmasked[field.name] = 0;
          return { plan: derived.plan, type, binary: field.format === 1, label: field.name, ...(derived.whole ? { whole: derived.whole } : {}) };
        }
      }
      const ref = name ? { schema: name.schema, table: name.table, column: name.column, kind: type.kind } : { column: field.name, kind: type.kind };
      const plan = masker.planColumn(ref);
      if (!plan) return undefined;
      active = true;
      const label = name ? `${name.schema}.${name.table}.${name.column}` : field.name;
      if (plan.exempt) unmasked[label] = 0;
      return { plan, type, binary: field.format === 1, label };
    });
    const result: CompiledResult = { execution, columns, active, unmasked };
    // A result kept after its execution completed is no longer current once another is compiled:
    // forget it, or a long session would keep one per command.
    if (this.results.some((kept) => kept.taken)) this.results = this.results.filter((kept) => !kept.taken || kept === this.copy?.result);
    this.results.push(result);
    return result;
  }

  private fail(error: unknown): MaskOutcome {
    const wardenError = toWardenError(error);
    this.failing = true;
    this.copy = undefined;
    this.compiled = undefined;
    // Warden's own messages carry no values (masking errors are written without data, and a failed
    // catalog lookup says what failed); anything else is reported without its text.
    const message =
      wardenError.code === 'masking' ? wardenError.message : error instanceof WardenError && wardenError.code !== 'internal' ? `masking failed: ${wardenError.message}` : 'masking failed';
    return {
      action: 'fail',
      bytes: errorResponse({
        severity: 'ERROR',
        code: SqlState.InternalError,
        message: `Warden: the result was withheld because ${message}`,
        hint: 'Warden never returns a value it was configured to mask and could not',
      }),
      error: { code: 'masking', message },
    };
  }
}

function maskValue(column: CompiledColumn, result: CompiledResult, value: string): string {
  if (column.plan.exempt) {
    result.unmasked[column.label] = (result.unmasked[column.label] ?? 0) + 1;
    return value;
  }
  return column.plan.mask(value);
}

/**
 * RowDescription: 'T' | int32 len | int16 n | n × (cstring name | int32 table OID | int16 attnum |
 * int32 type OID | int16 typlen | int32 typmod | int16 format)
 */
export function readRowDescription(buffer: Buffer, start: number, end: number): DescribedField[] {
  const count = buffer.readInt16BE(start + 5);
  let offset = start + 7;
  const fields: DescribedField[] = [];
  for (let i = 0; i < count; i++) {
    const zero = buffer.indexOf(0, offset);
    if (zero === -1 || zero + 19 > end) throw new WardenError('masking', 'malformed RowDescription from the target');
    const name = buffer.toString('utf8', offset, zero);
    offset = zero + 1;
    fields.push({
      name,
      tableOid: buffer.readUInt32BE(offset),
      attnum: buffer.readInt16BE(offset + 4),
      typeOid: buffer.readUInt32BE(offset + 6),
      format: buffer.readInt16BE(offset + 16),
    });
    offset += 18;
  }
  return fields;
}

const ROW_SCRATCH_BYTES = 16 * 1024;
/** A row scratch grown past this (a huge row) is dropped before the next row. */
const ROW_SCRATCH_KEPT = 1024 * 1024;

/** The buffer a masked DataRow is built in, reused from row to row. */
interface RowScratch {
  bytes: Buffer;
}

/** A big-endian int32 at `at` (for lengths: non-negative). */
function putInt32(target: Buffer, value: number, at: number): void {
  target[at] = value >>> 24;
  target[at + 1] = (value >>> 16) & 0xff;
  target[at + 2] = (value >>> 8) & 0xff;
  target[at + 3] = value & 0xff;
}

/** `scratch.bytes` with room for `needed` bytes, keeping its first `used`. */
function room(scratch: RowScratch, needed: number, used: number): Buffer {
  if (needed <= scratch.bytes.length) return scratch.bytes;
  const grown = Buffer.allocUnsafe(Math.max(needed, 2 * scratch.bytes.length));
  scratch.bytes.copy(grown, 0, 0, used);
  scratch.bytes = grown;
  return grown;
}

/**
 * DataRow: 'D' | int32 len | int16 n | n × (int32 length, -1 for NULL | bytes). Returns the masked
 * message — a view of `scratch`, valid until the next row — or undefined when no value changed
 * (the caller forwards the original bytes). Text-format values under a rule that can work on bytes
 * are masked without being decoded; the others are decoded, masked and encoded again.
 */
function maskDataRow(buffer: Buffer, start: number, end: number, result: CompiledResult, scratch: RowScratch): Buffer | undefined {
  // A huge row grew the buffer; the previous row has been sent, so let the memory go.
  if (scratch.bytes.length > ROW_SCRATCH_KEPT) scratch.bytes = Buffer.allocUnsafe(ROW_SCRATCH_BYTES);
  const count = buffer.readInt16BE(start + 5);
  if (count !== result.columns.length) throw new WardenError('masking', 'a row did not match its row description');
  let offset = start + 7;
  // The masked row so far: out[0, at) stands for buffer[start, copiedUpTo).
  let out = scratch.bytes;
  let at = 0;
  let copiedUpTo = start;
  for (let i = 0; i < count; i++) {
    const length = buffer.readInt32BE(offset);
    const valueStart = offset + 4;
    const valueEnd = length === -1 ? valueStart : valueStart + length;
    if (valueEnd > end) throw new WardenError('masking', 'malformed DataRow from the target');
    offset = valueEnd;
    const column = result.columns[i];
    if (!column || length === -1) continue;
    if (column.plan.exempt) {
      result.unmasked[column.label] = (result.unmasked[column.label] ?? 0) + 1;
      continue;
    }
    // The unchanged bytes between the last masked value and this value's length field.
    const stretch = valueStart - 4 - copiedUpTo;
    if (column.whole) {
      const replacement = column.whole === 'redact' ? DERIVED_REDACTION_BYTES : undefined;
      out = room(scratch, at + stretch + 4 + (replacement?.length ?? 0), at);
      at = copyBytes(buffer, copiedUpTo, valueStart - 4, out, at);
      if (replacement) {
        putInt32(out, replacement.length, at);
        at = replacement.copy(out, at + 4) + at + 4;
      } else {
        // NULL: length -1, no bytes.
        out.writeInt32BE(-1, at);
        at += 4;
      }
      copiedUpTo = valueEnd;
      column.plan.counts['derived'] = (column.plan.counts['derived'] ?? 0) + 1;
      continue;
    }
    if (!column.binary && column.plan.maskUtf8) {
      out = room(scratch, at + stretch + 4 + length + UTF8_MASK_GROWTH, at);
      const valueAt = at + stretch + 4;
      const after = column.plan.maskUtf8(buffer, valueStart, valueEnd, out, valueAt);
      if (after !== -1) {
        copyBytes(buffer, copiedUpTo, valueStart - 4, out, at);
        putInt32(out, after - valueAt, valueAt - 4);
        at = after;
        copiedUpTo = valueEnd;
        continue;
      }
    }
    const text = column.binary ? column.type.decodeBinary(buffer.subarray(valueStart, valueEnd)) : buffer.toString('utf8', valueStart, valueEnd);
    const masked = column.plan.mask(text);
    if (masked === text) continue;
    const value = column.binary ? column.type.encodeBinary(masked) : masked;
    const byteLength = typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : value.length;
    out = room(scratch, at + stretch + 4 + byteLength, at);
    at = copyBytes(buffer, copiedUpTo, valueStart - 4, out, at);
    putInt32(out, byteLength, at);
    at += 4;
    at += typeof value === 'string' ? out.write(value, at, 'utf8') : value.copy(out, at);
    copiedUpTo = valueEnd;
  }
  if (copiedUpTo === start) return undefined;
  out = room(scratch, at + (end - copiedUpTo), at);
  at = copyBytes(buffer, copiedUpTo, end, out, at);
  // The header is the original one: fix the length (it counts itself, not the type byte).
  putInt32(out, at - 1, 1);
  return out.subarray(0, at);
}
