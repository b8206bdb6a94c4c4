import type { Classification, StatementClass } from '@warden/core';
import { mysqlPreparedStatementUses, type MysqlLexerSettings } from '@warden/sql';

/**
 * SQL-level prepared statements (`PREPARE name FROM 'text'`, `EXECUTE name [USING @a]`,
 * `{DEALLOCATE | DROP} PREPARE name`), tracked by name so that `EXECUTE s` is decided and audited
 * as the text s runs. Free of sockets.
 *
 * A name is known only once the target confirmed its PREPARE (the OK of the command) and is
 * forgotten once the target confirmed its DEALLOCATE, or when the command that prepared it failed:
 * MySQL drops the old statement of a name whose new PREPARE fails, and Warden cannot tell which
 * statement of a multi-statement text failed. COM_RESET_CONNECTION forgets them all. A name that
 * is not known is refused with MySQL's own error; a name the target dropped behind Warden's back
 * stays known, and the target then fails it, which is safe.
 *
 * The text of `PREPARE s FROM @var` is in a variable Warden cannot see: the classifier makes that
 * PREPARE `unknown` (refused below full access), and when a rule lets it run anyway, EXECUTE of s
 * is `unknown` too. Statements that run code Warden does not see (CALL, or anything `admin`,
 * `exec` or `unknown` that a rule allowed) may prepare statements themselves: after one, every
 * name — known or not — is `unknown` until it is prepared again in plain sight.
 */

/** A prepared statement's text and what it does; `text` undefined: Warden does not know it. */
interface PreparedText {
  readonly text: string | undefined;
  readonly classification: Classification;
}

/** What a statement of a command changes once the target confirmed the command. */
export type PreparedEffect = { readonly kind: 'prepare'; readonly name: string; readonly prepared: PreparedText } | { readonly kind: 'deallocate'; readonly name: string };

/** How to decide a COM_QUERY text. */
export type PreparedStep =
  | {
      readonly action: 'decide';
      /** The text to decide and audit: for EXECUTE, the prepared text (when known). */
      readonly text: string;
      readonly classification: Classification;
      /** For EXECUTE: the statement's name. */
      readonly execute?: string;
      /** To apply once the target answered the command (`confirm`). */
      readonly effects: readonly PreparedEffect[];
    }
  /** EXECUTE of a name the session does not have: refuse with ER_UNKNOWN_STMT_HANDLER (`message`), audit `reason`. */
  | { readonly action: 'unknown-name'; readonly message: string; readonly reason: string };

export class SqlPreparedStatements {
  private readonly prepared = new Map<string, PreparedText>();
  /** A statement Warden could not follow ran: every name not prepared since is of unknown text. */
  private untracked = false;

  constructor(private readonly classify: (sql: string, settings: MysqlLexerSettings) => Classification) {}

  /** How to decide `text` (classified as `classification` under `settings`), in the session as it is now. */
  resolve(text: string, classification: Classification, settings: MysqlLexerSettings): PreparedStep {
    const uses = mysqlPreparedStatementUses(text, settings);
    // Text that does not lex is `unknown` already, and refused as such.
    if (!uses) return { action: 'decide', text, classification, effects: [] };
    const only = uses.length === 1 ? uses[0] : undefined;
    if (only?.kind === 'execute') {
      const prepared = this.prepared.get(only.name) ?? (this.untracked ? this.unseen(only.name) : undefined);
      if (!prepared) {
        return {
          action: 'unknown-name',
          message: `Unknown prepared statement handler (${only.name}) given to EXECUTE`,
          reason: `prepared statement "${only.name}" does not exist`,
        };
      }
      const verdict = only.plainArguments ? prepared.classification : unknownClassification('EXECUTE … USING takes only user variables and literals here');
      return { action: 'decide', text: prepared.text ?? text, classification: verdict, execute: only.name, effects: [] };
    }
    // In a text of several statements, EXECUTE stays `unknown` (the classifier's verdict): it is
    // decided on what it runs only when sent on its own, so PREPARE and EXECUTE of one name never
    // meet in one command.
    const effects: PreparedEffect[] = [];
    for (const use of uses) {
      if (use.kind === 'prepare') {
        const prepared: PreparedText =
          use.text === undefined ? { text: undefined, classification: unknownClassification('prepared from a user variable, whose text Warden cannot see') } : { text: use.text, classification: this.classify(use.text, settings) };
        effects.push({ kind: 'prepare', name: use.name, prepared });
      } else if (use.kind === 'deallocate') {
        effects.push({ kind: 'deallocate', name: use.name });
      }
    }
    return { action: 'decide', text, classification, effects };
  }

  /**
   * The target answered an allowed command: apply its effects when it succeeded; when it failed,
   * forget every name it touched. `classification` is what was decided: code Warden cannot follow
   * makes every name's text unknown.
   */
  confirm(effects: readonly PreparedEffect[], succeeded: boolean, classification: Classification): void {
    if (classification.statements.some((statement) => statement.action === 'admin' || statement.action === 'exec' || statement.action === 'unknown')) {
      for (const [name] of this.prepared) this.prepared.set(name, this.unseen(name));
      this.untracked = true;
    }
    for (const effect of effects) {
      if (!succeeded || effect.kind === 'deallocate') this.prepared.delete(effect.name);
      else this.prepared.set(effect.name, effect.prepared);
    }
  }

  /** COM_RESET_CONNECTION (or COM_CHANGE_USER) succeeded: the session has no prepared statements. */
  forgetAll(): void {
    this.prepared.clear();
    this.untracked = false;
  }

  private unseen(name: string): PreparedText {
    return { text: undefined, classification: unknownClassification(`prepared statement "${name}" may have been prepared by code Warden could not follow; PREPARE it again`) };
  }
}

/**
 * A text prepared with COM_STMT_PREPARE: PREPARE, EXECUTE and DEALLOCATE PREPARE in it would change
 * the session's named statements where Warden does not follow them, so they are `unknown`.
 */
export function protocolPreparedClassification(text: string, classification: Classification, settings: MysqlLexerSettings): Classification {
  const uses = mysqlPreparedStatementUses(text, settings);
  if (uses === undefined || uses.every((use) => use.kind === 'other')) return classification;
  return unknownClassification('PREPARE, EXECUTE and DEALLOCATE PREPARE are followed only as text queries (COM_QUERY)');
}

/** A classification of one `unknown` statement: what Warden cannot judge, refused below full access. */
export function unknownClassification(note: string): Classification {
  const statement: StatementClass = { action: 'unknown', objects: [], bulk: false, note };
  return { action: 'unknown', objects: [], bulk: false, statementCount: 1, statements: [statement] };
}
