import type { CommandInput, Ruling, Session } from '@warden/core';
import { SettingsBarrierSession } from './settings-barrier-session';

/** A core session that allows everything and numbers the commands it decides. */
function allowingSession(): Session & { decided: string[] } {
  let seq = 0;
  const decided: string[] = [];
  return {
    id: 's1',
    identity: { subject: 'agent', issuer: 'https://idp.example', groups: [], kind: 'agent', expiresAt: new Date(2030, 0, 1) },
    connection: 'clinic',
    access: 'read-only',
    rowsSent: 0,
    decided,
    decide: (command: CommandInput) => {
      decided.push(command.text);
      seq++;
      return Promise.resolve({ command: { ...command, seq, sessionId: 's1', protocol: 'postgres', connection: 'clinic', at: new Date() }, decision: { effect: 'allow' }, durable: Promise.resolve() } as Ruling);
    },
    refuse: () => {
      throw new Error('not used here');
    },
    recordResult: () => undefined,
    recordEvent: () => undefined,
    recordTimeline: () => false,
    end: () => Promise.resolve(),
  };
}

const query = (text: string): CommandInput => ({ text, classification: { action: 'read', objects: [], bulk: false, statementCount: 1, statements: [] }, detail: { message: 'Query' } });
const execute = (text: string): CommandInput => ({ ...query(text), detail: { message: 'Execute' } });
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('SettingsBarrierSession', () => {
  it('decides a Query only once the Query before it has its result', async () => {
    const inner = allowingSession();
    const session = new SettingsBarrierSession(inner);
    const first = await session.decide(query('SELECT 1'));
    const second = session.decide(query('SELECT 2'));
    await settle();
    expect(inner.decided).toEqual(['SELECT 1']);
    session.recordResult(first.command.seq, { rows: 1, durationMs: 1 });
    await second;
    expect(inner.decided).toEqual(['SELECT 1', 'SELECT 2']);
  });

  it('never holds an Execute (its batch would wait for ever)', async () => {
    const inner = allowingSession();
    const session = new SettingsBarrierSession(inner);
    await session.decide(query('SELECT 1'));
    await session.decide(execute('SELECT 2'));
    expect(inner.decided).toEqual(['SELECT 1', 'SELECT 2']);
  });

  it('refuses a waiting Query once the session has ended (the target reported a setting Warden refuses)', async () => {
    const inner = allowingSession();
    const session = new SettingsBarrierSession(inner);
    await session.decide(query('SELECT lexing_trap()'));
    const waiting = session.decide(query('SELECT hidden'));
    await session.end('error', 'standard_conforming_strings = off');
    await expect(waiting).rejects.toMatchObject({ code: 'forbidden' });
    expect(inner.decided).toEqual(['SELECT lexing_trap()']);
  });
});
