import type { Classification } from '@warden/core';
import { readErrorFields } from './backend-messages';
import { BackendCode, FrontendCode } from './message-codes';
import { MessageSplitter, Visit } from './message-splitter';
import { StatementNames } from './statement-names';
import { FakeExtendedBackend } from './testing/fake-extended-backend';
import { bind, close, describe as describeMessage, execute, parse, sync } from './testing/frontend-frames';

const classify = (text: string): Classification => ({ action: text.startsWith('DELETE') ? 'write' : 'read', objects: [], bulk: false, statementCount: 1, statements: [] });

/** What the client receives: message type and, for errors, SQLSTATE and text. */
type Seen = string;

/**
 * The relay's use of StatementNames, reduced: client messages in (names rewritten, unknown names
 * refused with a failing Parse whose error is replaced, messages after a refusal skipped up to
 * Sync), the target's answers back through `target()`. Records the text decided for each Execute
 * by the target portal name it went out under, and what the client sees.
 */
class Session {
  readonly names: StatementNames;
  readonly backend = new FakeExtendedBackend();
  /** Target portal name → the text Warden decided for an Execute of it. */
  readonly decided = new Map<string, string[]>();
  readonly decidedTexts: string[] = [];
  readonly seen: Seen[] = [];
  readonly gone: string[] = [];
  private readonly wire: Buffer[] = [];
  private skipping = false;
  private readonly replies: Buffer[] = [];

  constructor() {
    this.names = new StatementNames(classify, (target) => this.gone.push(target));
  }

  /** The client's byte stream, cut into chunks as it may arrive, through the relay's splitter. */
  sendBytes(bytes: Buffer, chunks: Buffer[] = [bytes]): this {
    const splitter = new MessageSplitter({ maxMessageSize: 1 << 20, startup: false }, (_code, buffer, start, end) => {
      this.client(Buffer.from(buffer.subarray(start, end)));
      return Visit.Continue;
    });
    for (const chunk of chunks) splitter.push(chunk);
    return this;
  }

  /** Client messages: processed and sent to the backend, whose answers wait for `answer()`. */
  send(...messages: Buffer[]): this {
    for (const message of messages) this.client(message);
    return this;
  }

  /** The backend answers what was sent so far; the answers go through Warden to the client. */
  answer(chunking?: (bytes: Buffer) => Buffer[]): this {
    const answers = this.backend.receive(Buffer.concat(this.wire.splice(0)));
    const splitter = new MessageSplitter({ maxMessageSize: 1 << 20, startup: false }, (code, buffer, start, end) => {
      this.fromTarget(code, Buffer.from(buffer.subarray(start, end)));
      return Visit.Continue;
    });
    for (const chunk of chunking ? chunking(answers) : [answers]) splitter.push(chunk);
    return this;
  }

  /** Lockstep: every message list is one batch, answered before the next is sent. */
  batches(...batches: Buffer[][]): this {
    for (const batch of batches) this.send(...batch).answer();
    return this;
  }

  private client(message: Buffer): void {
    const code = message[0]!;
    const end = message.length;
    if (this.skipping) {
      if (code === FrontendCode.Sync) {
        this.skipping = false;
        this.names.sync();
        this.wire.push(message);
      }
      return;
    }
    let step;
    switch (code) {
      case FrontendCode.Parse:
        step = this.names.parse(message, 0, end);
        break;
      case FrontendCode.Bind:
        step = this.names.bind(message, 0, end);
        break;
      case FrontendCode.Describe:
        step = this.names.describe(message, 0, end);
        break;
      case FrontendCode.Close:
        step = this.names.close(message, 0, end);
        break;
      case FrontendCode.Execute: {
        const executed = this.names.execute(message, 0, end);
        if (executed.action === 'execute') {
          const list = this.decided.get(executed.portal.target) ?? [];
          list.push(executed.portal.statement.text);
          this.decided.set(executed.portal.target, list);
          this.decidedTexts.push(executed.portal.statement.text);
          this.wire.push(executed.bytes);
          return;
        }
        step = executed;
        break;
      }
      case FrontendCode.Sync:
        this.names.sync();
        this.wire.push(message);
        return;
      default:
        throw new Error(`unexpected ${code}`);
    }
    if (step.action === 'send') this.wire.push(step.bytes);
    else {
      // The relay's refusal: a Parse that fails at the target, whose error is replaced.
      this.replies.push(step.reply);
      this.wire.push(parse('FAIL'));
      this.skipping = true;
    }
  }

  private fromTarget(code: number, message: Buffer): void {
    const step = this.names.target(code, message, 0, message.length);
    if (step.action === 'swallow') return;
    let bytes = step.action === 'replace' ? step.bytes : message;
    if (code === BackendCode.ErrorResponse && readErrorFields(message, 0, message.length).message.includes('"FAIL"') && this.replies.length > 0) {
      bytes = this.replies.shift()!;
    }
    this.seen.push(describeAnswer(code, bytes));
  }

  /** Every text the backend ran is the text Warden decided for that portal. */
  expectRanOnlyWhatWasDecided(): void {
    for (const [portal, text] of this.backend.executedBy) {
      expect(this.decided.get(portal) ?? []).toContain(text);
    }
  }
}

function describeAnswer(code: number, bytes: Buffer): Seen {
  switch (code) {
    case BackendCode.ParseComplete:
      return 'ParseComplete';
    case BackendCode.BindComplete:
      return 'BindComplete';
    case BackendCode.CloseComplete:
      return 'CloseComplete';
    case BackendCode.NoData:
      return 'NoData';
    case BackendCode.CommandComplete:
      return 'CommandComplete';
    case BackendCode.ReadyForQuery:
      return 'ReadyForQuery';
    case BackendCode.ErrorResponse: {
      const fields = readErrorFields(bytes, 0, bytes.length);
      return `Error ${fields.code} ${fields.message}`;
    }
    default:
      return String.fromCharCode(code);
  }
}

describe('StatementNames', () => {
  it('names every statement and portal itself and swallows the answers to the Closes it adds', () => {
    const session = new Session().batches(
      [parse('SELECT 1'), bind(), execute(), sync()],
      [parse('SELECT 2'), bind(), execute(), sync()],
      [parse('SELECT 3', { statement: 'q' }), bind({ statement: 'q', portal: 'p' }), execute({ portal: 'p' }), sync()],
    );
    expect(session.seen).toEqual([
      ...['ParseComplete', 'BindComplete', 'CommandComplete', 'ReadyForQuery'],
      ...['ParseComplete', 'BindComplete', 'CommandComplete', 'ReadyForQuery'],
      ...['ParseComplete', 'BindComplete', 'CommandComplete', 'ReadyForQuery'],
    ]);
    expect(session.backend.executed).toEqual(['SELECT 1', 'SELECT 2', 'SELECT 3']);
    session.expectRanOnlyWhatWasDecided();
    // The unnamed statement the second Parse replaced was closed on the target; no client name reaches it.
    expect([...session.backend.statements.keys()].every((name) => /^warden_su?_\d+_[0-9a-f]{16}$/.test(name))).toBe(true);
    expect(session.backend.statements.size).toBe(2);
  });

  it('keeps a pipelined Parse/Bind/Execute/Sync batch stream in one pass (pgbench -M prepared)', () => {
    const session = new Session()
      .send(parse('SELECT $1', { statement: 'P0_1' }), sync())
      .send(...Array.from({ length: 3 }, (_, i) => [bind({ statement: 'P0_1', parameters: [String(i)] }), execute(), sync()]).flat())
      .answer();
    expect(session.backend.executed).toEqual(['SELECT $1', 'SELECT $1', 'SELECT $1']);
    expect(session.seen.filter((seen) => seen.startsWith('Error'))).toEqual([]);
    expect(session.seen.filter((seen) => seen === 'CloseComplete')).toEqual([]);
  });

  it('refuses a Parse of a name the client already has (parse-name-collision bypass)', () => {
    const session = new Session().batches(
      [parse('SELECT 1', { statement: 'x' }), sync()],
      [parse('DELETE FROM patients', { statement: 'x' }), bind({ statement: 'x' }), execute(), sync()],
    );
    expect(session.seen).toEqual(['ParseComplete', 'ReadyForQuery', 'Error 42P05 prepared statement "x" already exists', 'ReadyForQuery']);
    expect(session.backend.executed).toEqual([]);
    expect(session.names.statement('x')?.text).toBe('SELECT 1');
  });

  it('a Bind across a Sync of a Parse the target rejected fails at the target (failed-parse bypass)', () => {
    for (const pipelined of [true, false]) {
      const session = new Session().batches([parse('DELETE FROM patients', { statement: 'x' }), bind({ statement: 'x' }), sync()]);
      const first = [close('S', 'x'), parse('FAIL', { statement: 'x' }), sync()];
      const second = [bind({ statement: 'x' }), execute(), sync()];
      if (pipelined) session.send(...first, ...second).answer();
      else session.batches(first, second);
      expect(session.backend.executed).toEqual([]);
      session.expectRanOnlyWhatWasDecided();
      expect(session.seen.slice(-5)).toEqual(['CloseComplete', 'Error 42601 syntax error at or near "FAIL"', 'ReadyForQuery', 'Error 26000 prepared statement "x" does not exist', 'ReadyForQuery']);
    }
  });

  it('an unnamed Parse the target skips cannot swap the statement a later Bind runs (cross-Sync unnamed swap bypass)', () => {
    for (const pipelined of [true, false]) {
      // The target holds a DELETE as the unnamed statement, parsed and never executed.
      const session = new Session().batches([parse('DELETE FROM patients'), sync()]);
      const batch0 = [parse('FAIL', { statement: 'bad' }), sync()];
      const batch1 = [bind({ statement: 'bad' }), parse('SELECT 1'), sync()];
      const batch2 = [bind(), execute(), sync()];
      if (pipelined) session.send(...batch0, ...batch1, ...batch2).answer();
      else session.batches(batch0, batch1, batch2);
      session.expectRanOnlyWhatWasDecided();
      if (pipelined) {
        // Warden decided SELECT 1 for a statement the target never created: the Bind fails there.
        expect(session.backend.executed).toEqual([]);
        expect(session.seen.slice(-2)).toEqual(['Error 26000 unnamed prepared statement does not exist', 'ReadyForQuery']);
      } else {
        // In lockstep Warden knows "bad" failed and refuses its Bind; the unnamed statement is the DELETE, decided as such.
        expect(session.decidedTexts).toEqual(['DELETE FROM patients']);
        expect(session.backend.executed).toEqual(['DELETE FROM patients']);
      }
      expect(session.names.statement('')?.text).toBe('DELETE FROM patients');
    }
  });

  it('a Bind to a nonexistent name skips the unnamed Parse after it, and the next Bind is decided as what the target holds', () => {
    for (const pipelined of [true, false]) {
      const session = new Session().batches([parse('DELETE FROM patients'), sync()]);
      const batch1 = [bind({ statement: 'nonexistent' }), parse('SELECT 1'), sync()];
      const batch2 = [bind(), execute(), sync()];
      if (pipelined) session.send(...batch1, ...batch2).answer();
      else session.batches(batch1, batch2);
      session.expectRanOnlyWhatWasDecided();
      expect(session.decidedTexts).toEqual(['DELETE FROM patients']);
      expect(session.seen).toContain('Error 26000 prepared statement "nonexistent" does not exist');
    }
  });

  it('a Close the target skips leaves the statement in place, and Warden knows it (skipped-close bypass)', () => {
    for (const pipelined of [true, false]) {
      const session = new Session().batches([parse('DELETE FROM patients', { statement: 'x' }), sync()]);
      const batch1 = [parse('FAIL', { statement: 'bad' }), close('S', 'x'), parse('SELECT 1', { statement: 'x' }), sync()];
      const batch2 = [bind({ statement: 'x' }), execute(), sync()];
      if (pipelined) session.send(...batch1, ...batch2).answer();
      else session.batches(batch1, batch2);
      session.expectRanOnlyWhatWasDecided();
      expect(session.names.statement('x')?.text).toBe('DELETE FROM patients');
      if (pipelined) expect(session.backend.executed).toEqual([]);
      else expect(session.decidedTexts).toEqual(['DELETE FROM patients']);
    }
  });

  it('refuses an Execute of a portal Warden never saw bound (unknown-portal bypass)', () => {
    const session = new Session().batches([execute({ portal: 'ghost' }), sync()], [execute(), sync()]);
    expect(session.seen).toEqual(['Error 34000 portal "ghost" does not exist', 'ReadyForQuery', 'Error 34000 portal "" does not exist', 'ReadyForQuery']);
    expect(session.backend.executed).toEqual([]);
  });

  it('names each refusal as the command the core audits it as, with PostgreSQL\'s message as the reason (unaudited-refusal bypass)', () => {
    const names = new StatementNames(classify);
    const step = (message: Buffer, visit: (buffer: Buffer, start: number, end: number) => { action: string }) => visit(message, 0, message.length);
    const refusals = [
      step(execute({ portal: 'ghost' }), (b, s, e) => names.execute(b, s, e)),
      step(bind({ portal: 'p', statement: 'x' }), (b, s, e) => names.bind(b, s, e)),
      step(describeMessage('S', ''), (b, s, e) => names.describe(b, s, e)),
      step(parse('SELECT 1', { statement: 'y' }), (b, s, e) => names.parse(b, s, e)),
      step(parse('DELETE FROM patients', { statement: 'y' }), (b, s, e) => names.parse(b, s, e)),
    ].filter((refused) => refused.action === 'refuse');
    expect(refusals).toMatchObject([
      { command: { text: 'Execute portal "ghost"', detail: { message: 'Execute' }, classification: { action: 'unknown' } }, reason: 'portal "ghost" does not exist' },
      { command: { text: 'Bind portal "p" to prepared statement "x"', detail: { message: 'Bind' } }, reason: 'prepared statement "x" does not exist' },
      { command: { text: 'Describe unnamed prepared statement', detail: { message: 'Describe' } }, reason: 'unnamed prepared statement does not exist' },
      { command: { text: 'Parse prepared statement "y"', detail: { message: 'Parse' } }, reason: 'prepared statement "y" already exists' },
    ]);
  });

  it('refuses a Bind or Describe of a statement the client never prepared (SQL PREPARE bound by the protocol)', () => {
    const session = new Session();
    // As if `PREPARE x AS DELETE …` had run: the target has "x", Warden's protocol names do not.
    session.backend.statements.set('x', 'DELETE FROM patients');
    session.batches([bind({ statement: 'x' }), execute(), sync()], [describeMessage('S', 'x'), sync()], [describeMessage('P', 'c'), sync()], [describeMessage('S', ''), sync()]);
    expect(session.seen).toEqual([
      'Error 26000 prepared statement "x" does not exist',
      'ReadyForQuery',
      'Error 26000 prepared statement "x" does not exist',
      'ReadyForQuery',
      'Error 34000 portal "c" does not exist',
      'ReadyForQuery',
      'Error 26000 unnamed prepared statement does not exist',
      'ReadyForQuery',
    ]);
    expect(session.backend.executed).toEqual([]);
  });

  it('never passes a client name through to the target (a cursor opened with SQL DECLARE and run by Execute)', () => {
    const session = new Session();
    session.backend.portals.set('c', 'SELECT ssn FROM patients');
    session.backend.statements.set('x', 'DELETE FROM patients');
    session.send(describeMessage('P', 'c'), execute({ portal: 'c' }), sync(), execute({ portal: 'c' }), sync(), close('P', 'c'), close('S', 'x'));
    session.backend.portals.set('c', 'SELECT ssn FROM patients');
    session.send(sync()).answer();
    expect(session.backend.executed).toEqual([]);
    // Closing a name the client never had is no error, as in PostgreSQL, and closes nothing of the target's.
    expect(session.seen.slice(4)).toEqual(['CloseComplete', 'CloseComplete', 'ReadyForQuery']);
    expect(session.backend.statements.get('x')).toBe('DELETE FROM patients');
  });

  it('describes through Warden names', () => {
    const session = new Session().batches([parse('SELECT 1', { statement: 's' }), describeMessage('S', 's'), bind({ statement: 's', portal: 'p' }), describeMessage('P', 'p'), sync()]);
    expect(session.seen).toEqual(['ParseComplete', 'NoData', 'BindComplete', 'NoData', 'ReadyForQuery']);
  });

  it('forgets portals when the transaction ends, and translates the target error of a pipelined Execute of one', () => {
    const lockstep = new Session().batches([parse('SELECT 1'), bind({ portal: 'p' }), sync()], [execute({ portal: 'p' }), sync()]);
    expect(lockstep.seen.slice(-2)).toEqual(['Error 34000 portal "p" does not exist', 'ReadyForQuery']);
    expect(lockstep.gone).toHaveLength(1);
    const pipelined = new Session().send(parse('SELECT 1'), bind({ portal: 'p' }), sync(), execute({ portal: 'p' }), sync()).answer();
    expect(pipelined.seen.slice(-2)).toEqual(['Error 34000 portal "p" does not exist', 'ReadyForQuery']);
    expect(pipelined.names.portal('p')).toBeUndefined();
  });

  it('gives the same answers whatever the target stream is split into', () => {
    const batches = [parse('SELECT 1'), bind(), execute(), parse('SELECT 2'), bind(), execute(), parse('FAIL', { statement: 'y' }), sync(), bind({ statement: 'y' }), execute(), sync()];
    let total = 0;
    const whole = new Session().send(...batches).answer((bytes) => {
      total = bytes.length;
      return [bytes];
    }).seen;
    expect(whole).toContain('Error 26000 prepared statement "y" does not exist');
    for (let at = 1; at < total; at++) {
      const split = new Session().send(...batches).answer((bytes) => [bytes.subarray(0, at), bytes.subarray(at)]).seen;
      expect(split).toEqual(whole);
    }
  });

  it('gives the same answers whatever the client stream is split into (cross-Sync swap, pipelined)', () => {
    const setup = [parse('DELETE FROM patients'), sync()];
    const attack = Buffer.concat([parse('FAIL', { statement: 'bad' }), sync(), bind({ statement: 'bad' }), parse('SELECT 1'), sync(), bind(), execute(), sync()]);
    const whole = new Session().batches(setup).sendBytes(attack).answer();
    expect(whole.backend.executed).toEqual([]);
    for (let at = 1; at < attack.length; at++) {
      const split = new Session().batches(setup).sendBytes(attack, [attack.subarray(0, at), attack.subarray(at)]).answer();
      expect(split.seen).toEqual(whole.seen);
      expect(split.backend.executed).toEqual([]);
      split.expectRanOnlyWhatWasDecided();
    }
  });

  it('runs only what it decided under random pipelined sequences (property)', () => {
    let seed = 7;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return (seed >>> 16) % n;
    };
    const names = ['', 'a', 'b'];
    const texts = ['SELECT 1', 'DELETE FROM patients', 'FAIL', 'SELECT 2'];
    let ran = 0;
    for (let round = 0; round < 300; round++) {
      const session = new Session();
      const messages: Buffer[] = [];
      for (let i = 0; i < 25; i++) {
        const pick = random(9);
        const name = names[random(names.length)]!;
        const portal = names[random(names.length)]!;
        if (pick === 0) messages.push(parse(texts[random(texts.length)]!, { statement: name }));
        else if (pick === 1) messages.push(bind({ statement: name, portal }));
        else if (pick === 2) messages.push(execute({ portal: name }));
        else if (pick === 3) messages.push(close(random(2) ? 'S' : 'P', name));
        else if (pick === 4) messages.push(describeMessage(random(2) ? 'S' : 'P', name));
        else if (pick === 5) messages.push(sync());
        // The usual run of a statement, to a name that may be taken, or prepared by a failing Parse.
        else messages.push(parse(texts[random(texts.length)]!, { statement: name }), bind({ statement: name, portal }), execute({ portal }));
      }
      messages.push(sync());
      // Sent in random groups: the answers to one group come back before the next is sent.
      let from = 0;
      while (from < messages.length) {
        const to = from + 1 + random(messages.length - from);
        session.send(...messages.slice(from, to)).answer();
        from = to;
      }
      session.expectRanOnlyWhatWasDecided();
      ran += session.backend.executed.length;
      expect(session.seen.join('\n')).not.toContain('warden_');
      expect(session.seen.filter((seen) => seen === 'ReadyForQuery')).toHaveLength(messages.filter((m) => m[0] === FrontendCode.Sync).length);
    }
    // The sequences do run statements, not only errors.
    expect(ran).toBeGreaterThan(200);
  });
});
