import { PayloadWriter } from './packet-codec';
import { readOkSessionState, sessionTrackingSetup } from './session-state';

/** An OK payload as a target sends it with CLIENT_SESSION_TRACK. */
function trackedOk(status: number, info: string, variables: ReadonlyArray<readonly [string, string]>): Buffer {
  const writer = new PayloadWriter().u8(0x00).lenenc(3).lenenc(0).u16(status).u16(1);
  if (info === '' && variables.length === 0) return writer.payload();
  writer.lenencBytes(info);
  if (variables.length > 0) {
    const changes = new PayloadWriter();
    for (const [name, value] of variables) changes.u8(0).lenencBytes(new PayloadWriter().lenencBytes(name).lenencBytes(value).payload());
    changes.u8(1).lenencBytes(new PayloadWriter().lenencBytes('clinic').payload());
    writer.lenencBytes(changes.payload());
  }
  return writer.payload();
}

describe('readOkSessionState', () => {
  it('reads reported variables and gives the client the OK it expects without CLIENT_SESSION_TRACK', () => {
    const payload = trackedOk(0x4002, 'Rows matched: 3', [
      ['character_set_client', 'gbk'],
      ['SQL_MODE', 'ANSI_QUOTES'],
    ]);
    const state = readOkSessionState(payload, 0, payload.length);
    expect([...state.variables]).toEqual([
      ['character_set_client', 'gbk'],
      ['sql_mode', 'ANSI_QUOTES'],
    ]);
    expect(state.clientPayload).toEqual(Buffer.concat([Buffer.from([0x00, 3, 0, 0x02, 0x00, 1, 0, 15]), Buffer.from('Rows matched: 3')]));
  });

  it('leaves an OK without anything after the warnings as it is', () => {
    const payload = trackedOk(0x0002, '', []);
    expect(readOkSessionState(payload, 0, payload.length)).toEqual({ variables: new Map(), clientPayload: undefined });
  });

  it('leaves an OK with an info line but no state changes as it is (servers send info length-prefixed either way)', () => {
    const payload = trackedOk(0x0002, 'Records: 2', []);
    expect(readOkSessionState(payload, 0, payload.length)).toEqual({ variables: new Map(), clientPayload: undefined });
  });

  it('drops an empty info when it removes the state changes', () => {
    const payload = trackedOk(0x4002, '', [['sql_mode', '']]);
    expect(readOkSessionState(payload, 0, payload.length).clientPayload).toEqual(Buffer.from([0x00, 3, 0, 0x02, 0x00, 1, 0]));
  });

  it('refuses a malformed report (fail closed)', () => {
    const payload = Buffer.concat([trackedOk(0x4002, '', []), Buffer.from([0x00, 0x05, 0x00])]);
    expect(() => readOkSessionState(payload, 0, payload.length)).toThrow(/shorter than its contents/);
  });
});

describe('sessionTrackingSetup', () => {
  it('names the read-only variable the way each server does', () => {
    expect(sessionTrackingSetup('10.11.19-MariaDB-0+deb12u1').enable).toContain('tx_read_only');
    expect(sessionTrackingSetup('8.0.36').enable).toContain('transaction_read_only');
    expect(sessionTrackingSetup('8.0.36').report).toBe(
      'SET SESSION character_set_client = @@SESSION.character_set_client, SESSION character_set_connection = @@SESSION.character_set_connection, SESSION sql_mode = @@SESSION.sql_mode, SESSION transaction_read_only = @@SESSION.transaction_read_only',
    );
  });
});
