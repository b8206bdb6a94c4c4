import type { Classification } from '@warden/core';
import { sessionObjectUses, type SessionObjectUse } from '@warden/sql';
import { errorResponse } from './backend-messages';
import { SqlState } from './message-codes';
import { isWardenName } from './statement-names';

/**
 * SQL-level prepared statements (PREPARE/EXECUTE/DEALLOCATE) and cursors (DECLARE/FETCH/MOVE/
 * CLOSE), tracked by name so that `EXECUTE x` is decided on what x runs and `FETCH c` on c's
 * query, whichever protocol path carries them. Free of sockets.
 *
 * A name is known only once the target confirmed it (the CommandComplete of its PREPARE or
 * DECLARE) and is forgotten once the target confirmed its end (DEALLOCATE, CLOSE, DISCARD ALL, the
 * end of the transaction for a cursor without HOLD). A name that is not known — never created, not
 * yet confirmed, or one of Warden's own protocol names — is refused with PostgreSQL's error. A
 * name the target dropped behind Warden's back stays known: the target then fails it, which is safe.
 */

/** A prepared statement's or a cursor's query, as EXECUTE or FETCH runs it. */
interface NamedQuery {
  readonly text: string;
  readonly classification: Classification;
}

/** What a completed statement changes, applied when the target confirms it (its CommandComplete). */
export type SessionEffect =
  | { readonly kind: 'prepare'; readonly name: string; readonly query: NamedQuery }
  | { readonly kind: 'declare'; readonly name: string; readonly query: NamedQuery; readonly hold: boolean }
  | { readonly kind: 'deallocate'; readonly name: string | undefined }
  /** DEALLOCATE of a statement the client prepared with the protocol (Parse), sent as Warden's name for it. */
  | { readonly kind: 'deallocate-protocol'; readonly name: string; readonly target: string }
  | { readonly kind: 'close'; readonly name: string | undefined }
  | { readonly kind: 'discard-all' };

/** How to decide a command text. */
export type SqlStep =
  | {
      readonly action: 'decide';
      /** The text to decide and audit: for EXECUTE and FETCH, the query that runs. */
      readonly text: string;
      readonly classification: Classification;
      /** For EXECUTE and FETCH: the prepared statement's or the cursor's name. */
      readonly detail?: Readonly<Record<string, string>>;
      /** One per statement of the text, in order (undefined: changes nothing here). */
      readonly effects?: ReadonlyArray<SessionEffect | undefined>;
      /** Send this Query text instead of the client's (the same statement, with Warden's name in it). */
      readonly rewritten?: string;
    }
  /** Refused: `reply` is the client's error, `reason` what the audit record says (`Session.refuse`). */
  | { readonly action: 'refuse'; readonly reply: Buffer; readonly reason: string };

/** What the target confirmed: the ALL forms also end protocol-level statements and portals. */
export interface EffectOutcome {
  readonly protocolStatementsGone?: true;
  readonly protocolPortalsGone?: true;
  /** DEALLOCATE of a protocol-level statement: the client's name for it. */
  readonly protocolStatementGone?: { readonly name: string; readonly target: string };
}

/** CommandComplete tags of the statements that change session objects. */
const CONFIRMING_TAGS: Readonly<Record<SessionEffect['kind'], readonly string[]>> = {
  prepare: ['PREPARE'],
  declare: ['DECLARE CURSOR'],
  deallocate: ['DEALLOCATE', 'DEALLOCATE ALL'],
  'deallocate-protocol': ['DEALLOCATE'],
  close: ['CLOSE CURSOR', 'CLOSE CURSOR ALL'],
  'discard-all': ['DISCARD ALL'],
};

export class SqlSessionObjects {
  private readonly prepared = new Map<string, NamedQuery>();
  /** `provisional`: WITH HOLD, declared in a transaction that has not ended yet (a rollback ends it). */
  private readonly cursors = new Map<string, NamedQuery & { readonly hold: boolean; provisional: boolean }>();
  /** Since the transaction began, something failed or rolled back (a savepoint's cursors may be gone). */
  private troubled = false;
  /**
   * Names that statements sent but not completed yet change (`statement:x`, `cursor:x`; `…:*` for
   * ALL): until they complete, what EXECUTE or FETCH of such a name runs is not known.
   */
  private readonly changing = new Map<string, number>();

  /**
   * @param classify classifies a prepared statement's or a cursor's query
   * @param protocolStatement Warden's target name of a statement the client prepared with the protocol
   */
  constructor(
    private readonly classify: (sql: string) => Classification,
    private readonly protocolStatement: (name: string) => string | undefined = () => undefined,
  ) {}

  /** How to decide `text` (classified as `classification`), sent as a simple Query or not, in the session as it is now. */
  resolve(text: string, classification: Classification, simple = true): SqlStep {
    const uses = sessionObjectUses(text);
    // Text that does not parse is `unknown` already, and refused as such.
    if (!uses || uses.length === 0) return { action: 'decide', text, classification };
    const runs = uses.filter((use) => use.kind === 'execute' || use.kind === 'fetch');
    if (runs.length > 0 && uses.length > 1) {
      return refusal(SqlState.InsufficientPrivilege, 'Warden: EXECUTE, FETCH and MOVE are decided on the statement they run and must be sent as a query of their own');
    }
    const only = uses.length === 1 ? uses[0] : undefined;
    if (simple && only?.kind === 'deallocate' && only.name !== undefined && !this.prepared.has(only.name)) {
      // Drivers free protocol-prepared statements with SQL DEALLOCATE (Rails, psycopg): sent as Warden's name.
      const target = this.protocolStatement(only.name);
      if (target !== undefined) return { action: 'decide', text, classification, effects: [{ kind: 'deallocate-protocol', name: only.name, target }], rewritten: `DEALLOCATE "${target}"` };
    }
    const effects: Array<SessionEffect | undefined> = [];
    for (const use of uses) {
      const step = this.step(use, effects);
      if (step) return step;
    }
    if (!effects.some(Boolean)) return { action: 'decide', text, classification };
    for (const effect of effects) for (const key of changedKeys(effect)) this.changing.set(key, (this.changing.get(key) ?? 0) + 1);
    return { action: 'decide', text, classification, effects };
  }

  /** The statements of a resolved text completed, ran or not (or were refused): the names they change are settled. */
  settle(effects: ReadonlyArray<SessionEffect | undefined>): void {
    for (const effect of effects) {
      for (const key of changedKeys(effect)) {
        const count = (this.changing.get(key) ?? 0) - 1;
        if (count > 0) this.changing.set(key, count);
        else this.changing.delete(key);
      }
    }
  }

  private isChanging(space: 'statement' | 'cursor', name: string): boolean {
    return this.changing.has(`${space}:${name}`) || this.changing.has(`${space}:*`);
  }

  /** The target confirmed a statement (its CommandComplete `tag`): apply what it changed. */
  confirm(effect: SessionEffect, tag: string): EffectOutcome {
    if (!CONFIRMING_TAGS[effect.kind].includes(tag)) return {};
    switch (effect.kind) {
      case 'prepare':
        this.prepared.set(effect.name, effect.query);
        return {};
      case 'declare':
        this.cursors.set(effect.name, { ...effect.query, hold: effect.hold, provisional: effect.hold });
        return {};
      case 'deallocate-protocol':
        return { protocolStatementGone: { name: effect.name, target: effect.target } };
      case 'deallocate':
        if (effect.name !== undefined) {
          this.prepared.delete(effect.name);
          return {};
        }
        this.prepared.clear();
        return { protocolStatementsGone: true };
      case 'close':
        if (effect.name !== undefined) {
          this.cursors.delete(effect.name);
          return {};
        }
        this.cursors.clear();
        return { protocolPortalsGone: true };
      case 'discard-all':
        this.prepared.clear();
        this.cursors.clear();
        return { protocolStatementsGone: true, protocolPortalsGone: true };
    }
  }

  /** The target reported an error: the transaction (or a savepoint) is rolling back. */
  failed(): void {
    this.troubled = true;
  }

  /** A CommandComplete: `ROLLBACK` (also the answer to a COMMIT of a failed transaction) or `ROLLBACK TO` undoes DECLAREs. */
  completed(tag: string): void {
    if (tag.startsWith('ROLLBACK')) this.troubled = true;
  }

  /**
   * The transaction ended (ReadyForQuery idle): cursors without HOLD ended with it, and so did
   * those WITH HOLD declared in it if it may have rolled back (forgetting one that survived only
   * makes FETCH of it refused).
   */
  transactionEnded(): void {
    for (const [name, cursor] of this.cursors) {
      if (!cursor.hold || (cursor.provisional && this.troubled)) this.cursors.delete(name);
      else cursor.provisional = false;
    }
    this.troubled = false;
  }

  private step(use: SessionObjectUse, effects: Array<SessionEffect | undefined>): SqlStep | undefined {
    switch (use.kind) {
      case 'prepare':
      case 'declare': {
        if (isWardenName(use.name)) return refusal(SqlState.InsufficientPrivilege, `Warden: names starting with "warden_" are reserved for Warden's own statements and portals`);
        const query = { text: use.query, classification: this.classify(use.query) };
        effects.push(use.kind === 'prepare' ? { kind: 'prepare', name: use.name, query } : { kind: 'declare', name: use.name, query, hold: use.hold });
        return undefined;
      }
      case 'execute': {
        if (this.isChanging('statement', use.name)) return refusal(SqlState.ObjectNotInPrerequisiteState, pendingChange(`prepared statement "${use.name}"`, 'EXECUTE'));
        const prepared = this.prepared.get(use.name);
        if (!prepared) return refusal(SqlState.InvalidSqlStatementName, `prepared statement "${use.name}" does not exist`);
        effects.push(undefined);
        // The name only: EXECUTE's arguments are values, which details never hold.
        return { action: 'decide', text: prepared.text, classification: prepared.classification, detail: { execute: use.name } };
      }
      case 'fetch': {
        if (this.isChanging('cursor', use.name)) return refusal(SqlState.ObjectNotInPrerequisiteState, pendingChange(`cursor "${use.name}"`, use.move ? 'MOVE' : 'FETCH'));
        const cursor = this.cursors.get(use.name);
        if (!cursor) return refusal(SqlState.InvalidCursorName, `cursor "${use.name}" does not exist`);
        return { action: 'decide', text: cursor.text, classification: cursor.classification, detail: { [use.move ? 'move' : 'fetch']: use.name } };
      }
      case 'deallocate':
        if (use.name !== undefined && !this.prepared.has(use.name)) return refusal(SqlState.InvalidSqlStatementName, `prepared statement "${use.name}" does not exist`);
        effects.push({ kind: 'deallocate', name: use.name });
        return undefined;
      case 'close':
        if (use.name !== undefined && !this.cursors.has(use.name)) return refusal(SqlState.InvalidCursorName, `cursor "${use.name}" does not exist`);
        effects.push({ kind: 'close', name: use.name });
        return undefined;
      case 'discard-all':
        effects.push({ kind: 'discard-all' });
        return undefined;
      case 'nested-execute':
        return refusal(SqlState.InsufficientPrivilege, 'Warden: EXECUTE inside another statement cannot be analysed; send EXECUTE as a query of its own');
      default:
        effects.push(undefined);
        return undefined;
    }
  }
}

/** The names an effect changes, as `changing` counts them. */
function changedKeys(effect: SessionEffect | undefined): readonly string[] {
  switch (effect?.kind) {
    case 'prepare':
      return [`statement:${effect.name}`];
    case 'declare':
      return [`cursor:${effect.name}`];
    case 'deallocate':
      return [`statement:${effect.name ?? '*'}`];
    case 'close':
      return [`cursor:${effect.name ?? '*'}`];
    case 'discard-all':
      return ['statement:*', 'cursor:*'];
    default:
      return [];
  }
}

function pendingChange(what: string, command: string): string {
  return `Warden: ${what} is being changed by a statement that has not completed; send ${command} once it has`;
}

function refusal(code: string, message: string): SqlStep {
  return { action: 'refuse', reply: errorResponse({ severity: 'ERROR', code, message }), reason: message.replace(/^Warden: /, '') };
}
