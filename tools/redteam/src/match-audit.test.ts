/**
 * The proof must be able to fail: a statement the target ran without an audit record, a refusal
 * marker without a refused record, a different order or text — each is reported. And the logs are
 * read as the servers write them (jsonlog entries, general-log rows).
 */
import type { ServerLogEntry } from '@warden/testing';
import type { AuditedCommand } from './audit-trail';
import { matchAuditToTarget } from './match-audit';
import { isSettingsReport, mysqlTargetEvents, sameMysqlStatement } from './mysql-session-log';
import { sameStatement, skippedByTarget, targetEvents, targetSessionsOf } from './postgres-session-log';

const allow = (text: string, detail?: AuditedCommand['detail']): AuditedCommand => ({ commandSeq: 0, text, effect: 'allow', ...(detail ? { detail } : {}) });
const block = (text: string): AuditedCommand => ({ commandSeq: 0, text, effect: 'block' });
const ran = (text: string, detail?: string) => ({ kind: 'ran' as const, text, ...(detail === undefined ? {} : { detail }) });
const refusal = { kind: 'refusal' as const };

describe('matchAuditToTarget', () => {
  it('accepts target events that follow the audited commands in order, skipping what never reached the target', () => {
    const audited = [allow('SELECT 1'), block('DELETE FROM canary'), allow('SELECT 2'), allow('SELECT 3')];
    const match = matchAuditToTarget(audited, [ran('SELECT 1'), refusal, ran('SELECT 3')]);
    expect(match.problems).toEqual([]);
    expect(match.unmatched.map((command) => command.text)).toEqual(['SELECT 2']);
  });

  it('reports a statement the target ran that has no audit record (an unaudited bypass)', () => {
    const match = matchAuditToTarget([allow('SELECT 1')], [ran('SELECT 1'), ran('DELETE FROM canary')]);
    expect(match.problems).toEqual(['target event #2: the target ran "DELETE FROM canary", and no audit record after #1 matches it']);
  });

  it('reports a statement the target ran whose record says it was refused', () => {
    expect(matchAuditToTarget([block('DELETE FROM canary')], [ran('DELETE FROM canary')]).problems).toHaveLength(1);
  });

  it('reports a refusal marker without a refused record', () => {
    expect(matchAuditToTarget([allow('SELECT 1')], [ran('SELECT 1'), refusal]).problems).toEqual([
      'target event #2: the target was sent a refusal marker, and no audit record after #1 matches it',
    ]);
  });

  it('pairs a refusal marker with the refused query that must have reached the target, not with a skipped Execute', () => {
    const execute = { ...block("INSERT INTO notes VALUES ('x')"), detail: { message: 'Execute' } };
    const query = { ...block('COPY notes FROM STDIN'), detail: { message: 'Query' } };
    const onlyExecutes = (command: AuditedCommand) => command.detail?.['message'] === 'Execute';
    const match = matchAuditToTarget([allow('SELECT 1'), execute, query], [ran('SELECT 1'), refusal], { skippable: onlyExecutes });
    expect(match.problems).toEqual([]);
    expect(match.unmatched).toEqual([execute]);
  });

  it('reports an allowed query that succeeded and never reached the target', () => {
    const query = allow('SELECT 1', { message: 'Query' });
    expect(matchAuditToTarget([query], [], { skippable: skippedByTarget }).problems).toEqual([
      'audited allow "SELECT 1" (Query) has no place among the target\'s events (it never reached the target, or reached it out of order)',
    ]);
    expect(matchAuditToTarget([{ ...query, errorCode: '08P01' }], [], { skippable: skippedByTarget }).problems).toEqual([]);
  });

  it("leaves out an optional event (Warden's own set-up run again) only when nothing audited fits it", () => {
    const setup = { kind: 'ran' as const, text: 'SET SESSION TRANSACTION READ ONLY', optional: true };
    expect(matchAuditToTarget([allow('SELECT 1'), allow('SELECT 2')], [ran('SELECT 1'), setup, ran('SELECT 2')], { skippable: () => false }).problems).toEqual([]);
    expect(matchAuditToTarget([allow('SET SESSION TRANSACTION READ ONLY')], [setup], { skippable: () => false }).unmatched).toEqual([]);
    expect(matchAuditToTarget([allow('SELECT 1')], [ran('SELECT 1'), ran('SET SESSION TRANSACTION READ ONLY')]).problems).toHaveLength(1);
  });

  it('reports statements the target ran in another order than audited', () => {
    expect(matchAuditToTarget([allow('SELECT 1'), allow('SELECT 2')], [ran('SELECT 2'), ran('SELECT 1')]).problems).toHaveLength(1);
  });
});

describe('the Postgres statement log', () => {
  const entry = (fields: Partial<ServerLogEntry> & { message: string }): ServerLogEntry => ({ timestamp: '', pid: 1, session_id: 'a.1', application_name: 'app', error_severity: 'LOG', ...fields });

  it('reads simple statements, Executes, portal fetches and refusal markers (one per refusal)', () => {
    const entries = [
      entry({ message: 'statement: SELECT 1' }),
      entry({ message: 'execute s1: SELECT $1', detail: "parameters: $1 = '1'" }),
      entry({ message: 'execute fetch from s1/c: SELECT $1' }),
      entry({ message: 'statement: "warden-refused-0123456789abcdef"' }),
      entry({ error_severity: 'ERROR', message: 'column "warden-refused-0123456789abcdef" does not exist', statement: '"warden-refused-0123456789abcdef"' }),
      entry({ error_severity: 'ERROR', message: 'column "warden-refused-fedcba9876543210" does not exist', statement: '"warden-refused-fedcba9876543210"' }),
      entry({ session_id: 'b.2', message: 'statement: SELECT 2' }),
    ];
    expect(targetSessionsOf(entries, 'app')).toEqual(['a.1', 'b.2']);
    expect(targetEvents(entries, 'a.1').map((event) => (event.kind === 'ran' ? event.text : 'refusal'))).toEqual(['SELECT 1', 'SELECT $1', 'SELECT $1', 'refusal', 'refusal']);
  });

  it('matches a SQL EXECUTE to the record of what it ran, by name and by the prepared text the target shows', () => {
    const command = allow('SELECT * FROM patients WHERE id = $1', { execute: 'q' });
    expect(sameStatement(ran('EXECUTE q(1)', 'prepare: PREPARE q(int) AS SELECT * FROM patients WHERE id = $1'), command)).toBe(true);
    expect(sameStatement(ran('EXECUTE Q(1)'), command)).toBe(true);
    expect(sameStatement(ran('EXECUTE "Q"(1)'), command)).toBe(false);
    expect(sameStatement(ran('EXECUTE q(1)', 'prepare: PREPARE q(int) AS DELETE FROM patients WHERE id = $1'), command)).toBe(false);
    expect(sameStatement(ran('FETCH 5 FROM c'), allow('SELECT * FROM patients', { fetch: 'c' }))).toBe(true);
    expect(sameStatement(ran('FETCH 5 FROM d'), allow('SELECT * FROM patients', { fetch: 'c' }))).toBe(false);
  });
});

describe('the MariaDB general log', () => {
  it("starts at the client's first statement and leaves out only Warden's no-op settings report", () => {
    const rows = [
      { command_type: 'Connect', argument: 'x' },
      { command_type: 'Query', argument: 'SET SESSION TRANSACTION READ ONLY' },
      { command_type: 'Query', argument: 'SELECT CONNECTION_ID() AS thread' },
      { command_type: 'Prepare', argument: 'SELECT ?' },
      { command_type: 'Execute', argument: 'SELECT 7' },
      { command_type: 'Query', argument: 'SET SESSION sql_mode = @@SESSION.sql_mode, SESSION character_set_client = @@SESSION.character_set_client' },
      { command_type: 'Query', argument: "SET SESSION sql_mode = 'ANSI_QUOTES'" },
    ];
    expect(mysqlTargetEvents(rows, 'SELECT CONNECTION_ID() AS thread').map((event) => event.text)).toEqual(['SELECT CONNECTION_ID() AS thread', 'SELECT 7', "SET SESSION sql_mode = 'ANSI_QUOTES'"]);
    expect(isSettingsReport('SET SESSION sql_mode = @@SESSION.character_set_client')).toBe(false);
    expect(isSettingsReport('SET SESSION sql_mode = @@SESSION.sql_mode; DROP TABLE canary')).toBe(false);
  });

  it('matches an Execute, logged with its values, to the prepared text with placeholders', () => {
    const command = allow('SELECT full_name FROM patients WHERE id = ?', { command: 'COM_STMT_EXECUTE' });
    expect(sameMysqlStatement({ text: 'SELECT full_name FROM patients WHERE id = 3' }, command)).toBe(true);
    expect(sameMysqlStatement({ text: 'DELETE FROM patients WHERE id = 3' }, command)).toBe(false);
    expect(sameMysqlStatement({ text: 'SELECT full_name FROM patients WHERE id = 3' }, allow('SELECT full_name FROM patients WHERE id = ?'))).toBe(false);
  });

  it('matches SQL EXECUTE, with the Execute line of what it ran, to the audited prepared text of the name it names', () => {
    const rows = [
      { command_type: 'Query', argument: 'SELECT CONNECTION_ID() AS thread' },
      { command_type: 'Query', argument: 'EXECUTE Q USING @id' },
      { command_type: 'Execute', argument: 'SELECT full_name FROM patients WHERE id = 1' },
      { command_type: 'Execute', argument: 'SELECT 7' },
    ];
    const events = mysqlTargetEvents(rows, 'SELECT CONNECTION_ID() AS thread');
    expect(events.map((event) => [event.text, event.detail])).toEqual([
      ['SELECT CONNECTION_ID() AS thread', undefined],
      ['EXECUTE Q USING @id', 'SELECT full_name FROM patients WHERE id = 1'],
      ['SELECT 7', undefined],
    ]);
    const command = allow('SELECT full_name FROM patients WHERE id = ?', { command: 'COM_QUERY', execute: 'q' });
    expect(sameMysqlStatement(events[1]!, command)).toBe(true);
    expect(sameMysqlStatement({ text: 'EXECUTE q', detail: 'DELETE FROM patients' }, command)).toBe(false);
    expect(sameMysqlStatement({ text: 'EXECUTE other USING @id' }, command)).toBe(false);
    expect(sameMysqlStatement({ text: 'SELECT full_name FROM patients WHERE id = ?' }, command)).toBe(false);
  });
});
