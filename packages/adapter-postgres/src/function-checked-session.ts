import type { Action, CommandInput, ResultSummary, Ruling, Session } from '@warden/core';
import type { FunctionCatalog } from './function-catalog';
import { SessionDelegate } from './session-delegate';

/**
 * Actions after which the target's functions may have changed (CREATE/ALTER/DROP FUNCTION, CREATE
 * EXTENSION, DO, …; an `unknown` statement a rule let through could be any of them).
 */
const CHANGES_FUNCTIONS: ReadonlySet<Action> = new Set<Action>(['ddl', 'admin', 'unknown']);

/**
 * A session whose commands are judged against the target's function catalog before policy sees
 * them (see `FunctionCatalog.judge`): the relay and the core stay as they are, the classification
 * in the audit record is the judged one.
 *
 * After a schema change or admin command allowed on this session, the shared catalog is forgotten
 * when the command completes, and again when the transaction it may belong to ends (a function
 * created in a transaction is visible to the catalog's connection only after COMMIT).
 */
export class FunctionCheckedSession extends SessionDelegate {
  /** Commands whose completion must invalidate the catalog, by sequence number. */
  private readonly invalidating = new Set<number>();
  /** A schema change ran: the end of the current transaction invalidates too. */
  private changedFunctions = false;
  private readonly transactionEnds = new Set<number>();

  constructor(
    inner: Session,
    private readonly catalog: FunctionCatalog,
  ) {
    super(inner);
  }

  override decide(command: CommandInput): Promise<Ruling> {
    // The relay leaves a fast-path FunctionCall unknown, with the OID of the function it calls.
    const fastPathOid = command.detail?.['message'] === 'FunctionCall' ? Number(command.detail['functionOid']) : undefined;
    const judged =
      fastPathOid !== undefined && Number.isInteger(fastPathOid)
        ? this.catalog.judgeFastPath(fastPathOid, this.inner.access)
        : this.catalog.judge(command.classification, this.inner.access);
    const ruled = judged instanceof Promise ? judged.then((classification) => this.inner.decide(withClassification(command, classification))) : this.inner.decide(withClassification(command, judged));
    return ruled.then((ruling) => this.noteRuling(ruling));
  }

  private noteRuling(ruling: Ruling): Ruling {
    if (ruling.decision.effect !== 'allow') return ruling;
    const { action } = ruling.command.classification;
    if (CHANGES_FUNCTIONS.has(action) || ruling.command.classification.statements.some((statement) => CHANGES_FUNCTIONS.has(statement.action))) {
      this.catalog.invalidate();
      this.invalidating.add(ruling.command.seq);
      this.changedFunctions = true;
    } else if (this.changedFunctions && ruling.command.classification.statements.some((statement) => statement.action === 'transaction')) {
      this.transactionEnds.add(ruling.command.seq);
    }
    return ruling;
  }

  override recordResult(seq: number, summary: ResultSummary): void {
    this.inner.recordResult(seq, summary);
    if (this.invalidating.delete(seq)) this.catalog.invalidate();
    if (this.transactionEnds.delete(seq)) {
      this.catalog.invalidate();
      if (this.invalidating.size === 0 && this.transactionEnds.size === 0) this.changedFunctions = false;
    }
  }
}

function withClassification(command: CommandInput, classification: CommandInput['classification']): CommandInput {
  return classification === command.classification ? command : { ...command, classification };
}
