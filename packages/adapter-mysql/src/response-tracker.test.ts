import { PacketSplitter, Visit } from './packet-splitter';
import { ServerStatus } from './protocol';
import { ResponseTracker, type ResponseKind, type ResponseOutcome } from './response-tracker';
import { columnFrame, eofFrame, errFrame, okFrame, prepareOkFrame, resultSetFrames, textRowFrame } from './testing/packet-frames';

/** Feeds `bytes` (split at `cut`) to a tracker; returns each outcome with the packet index it came at. */
function follow(kind: ResponseKind, deprecateEof: boolean, bytes: Buffer, cut?: number): { outcome: ResponseOutcome | undefined; packets: number; after: number } {
  const tracker = new ResponseTracker(deprecateEof);
  tracker.begin(kind);
  let outcome: ResponseOutcome | undefined;
  let packets = 0;
  let after = 0;
  const splitter = new PacketSplitter((packet) => {
    if (outcome) {
      after++;
      return Visit.Continue;
    }
    packets++;
    outcome = tracker.feed(packet);
    return Visit.Continue;
  });
  if (cut === undefined) splitter.push(bytes);
  else {
    splitter.push(bytes.subarray(0, cut));
    splitter.push(bytes.subarray(cut));
  }
  return { outcome, packets, after };
}

function atEveryByte(kind: ResponseKind, deprecateEof: boolean, bytes: Buffer): ReturnType<typeof follow> {
  const whole = follow(kind, deprecateEof, bytes);
  for (let cut = 1; cut < bytes.length; cut++) expect(follow(kind, deprecateEof, bytes, cut)).toEqual(whole);
  return whole;
}

describe.each([true, false])('ResponseTracker (CLIENT_DEPRECATE_EOF %s)', (deprecateEof) => {
  const rows = [
    ['1', 'Ann'],
    ['2', null],
    ['3', 'Cy'],
  ];

  it('follows a result set to its terminator, counting rows', () => {
    const bytes = Buffer.concat([resultSetFrames({ columns: ['id', 'name'], rows, deprecateEof }), okFrame(0)]);
    const { outcome, packets, after } = atEveryByte('result', deprecateEof, bytes);
    expect(outcome).toEqual({ rows: 3, affectedRows: 0, results: 1 });
    expect(packets).toBe(1 + 2 + (deprecateEof ? 0 : 1) + 3 + 1);
    // The next packet belongs to the next command.
    expect(after).toBe(1);
  });

  it('follows several results while SERVER_MORE_RESULTS_EXISTS is set', () => {
    const more = ServerStatus.Autocommit | ServerStatus.MoreResultsExist;
    const bytes = Buffer.concat([
      resultSetFrames({ columns: ['a'], rows: [['1']], deprecateEof, status: more }),
      okFrame(5, { affectedRows: 4, status: more }),
      resultSetFrames({ columns: ['b'], rows: [['2'], ['3']], deprecateEof, firstSequence: 6 }),
    ]);
    expect(atEveryByte('result', deprecateEof, bytes).outcome).toEqual({ rows: 3, affectedRows: 4, results: 3 });
  });

  it('ends at an ERR, first or in the middle of the rows', () => {
    expect(atEveryByte('result', deprecateEof, errFrame(1, 1146, '42S02', "Table 't' doesn't exist")).outcome).toEqual({
      rows: 0,
      affectedRows: 0,
      results: 0,
      error: { code: 1146, sqlState: '42S02', message: "Table 't' doesn't exist" },
    });
    const head = resultSetFrames({ columns: ['a'], rows: [['1']], deprecateEof });
    const withoutTerminator = head.subarray(0, head.length - (deprecateEof ? 11 : 9));
    const bytes = Buffer.concat([withoutTerminator, errFrame(9, 1317, '70100', 'Query execution was interrupted')]);
    expect(atEveryByte('result', deprecateEof, bytes).outcome).toMatchObject({ rows: 1, error: { code: 1317 } });
  });

  it('reads an OK answer (affected rows)', () => {
    expect(atEveryByte('result', deprecateEof, okFrame(1, { affectedRows: 7 })).outcome).toEqual({ rows: 0, affectedRows: 7, results: 1 });
  });

  it('follows a COM_STMT_PREPARE answer and reports the statement id', () => {
    const parts = [prepareOkFrame(1, 42, 2, 1), columnFrame(2, '?')];
    if (!deprecateEof) parts.push(eofFrame(3));
    parts.push(columnFrame(4, 'a'), columnFrame(5, 'b'));
    if (!deprecateEof) parts.push(eofFrame(6));
    const { outcome, after } = atEveryByte('prepare', deprecateEof, Buffer.concat([...parts, okFrame(0)]));
    expect(outcome).toEqual({ rows: 0, affectedRows: 0, results: 0, statementId: 42 });
    expect(after).toBe(1);
    expect(follow('prepare', deprecateEof, prepareOkFrame(1, 7, 0, 0)).outcome).toMatchObject({ statementId: 7 });
  });

  it('follows a COM_FIELD_LIST answer', () => {
    const terminator = deprecateEof ? okFrame(3, { header: 0xfe }) : eofFrame(3);
    const { outcome, packets } = atEveryByte('field-list', deprecateEof, Buffer.concat([columnFrame(1, 'a'), columnFrame(2, 'b'), terminator]));
    expect(outcome).toEqual({ rows: 0, affectedRows: 0, results: 0 });
    expect(packets).toBe(3);
  });

  it('counts a row whose first value is NULL or empty as a row', () => {
    const bytes = resultSetFrames({ columns: ['a'], rows: [[null], ['']], deprecateEof });
    expect(follow('result', deprecateEof, bytes).outcome).toMatchObject({ rows: 2 });
  });
});

describe('ResponseTracker', () => {
  it('refuses a LOCAL INFILE request from the target', () => {
    const tracker = new ResponseTracker(true);
    tracker.begin('result');
    const splitter = new PacketSplitter((packet) => {
      tracker.feed(packet);
      return Visit.Continue;
    });
    expect(() => splitter.push(Buffer.from([0x0c, 0, 0, 1, 0xfb, ...Buffer.from('/etc/passwd')]))).toThrow(/local file/);
  });

  it('refuses packets nobody asked for', () => {
    const tracker = new ResponseTracker(true);
    const splitter = new PacketSplitter((packet) => {
      tracker.feed(packet);
      return Visit.Continue;
    });
    expect(() => splitter.push(textRowFrame(1, ['x']))).toThrow(/nobody asked for/);
  });
});

describe('ResponseTracker.lastOk (where session-state reports can be)', () => {
  function okRoles(kind: ResponseKind, deprecateEof: boolean, bytes: Buffer): boolean[] {
    const tracker = new ResponseTracker(deprecateEof);
    tracker.begin(kind);
    const roles: boolean[] = [];
    new PacketSplitter((packet) => {
      tracker.feed(packet);
      roles.push(tracker.lastOk);
      return Visit.Continue;
    }).push(bytes);
    return roles;
  }

  it('marks OK packets, and result terminators only when they are OKs', () => {
    expect(okRoles('result', true, okFrame(1))).toEqual([true]);
    expect(okRoles('single', false, okFrame(1))).toEqual([true]);
    expect(okRoles('single', false, errFrame(1, 1064, '42000', 'x'))).toEqual([false]);
    const withEof = resultSetFrames({ columns: ['a'], rows: [['1']], deprecateEof: false });
    expect(okRoles('result', false, withEof).every((ok) => !ok)).toBe(true);
    const withOk = resultSetFrames({ columns: ['a'], rows: [['1']], deprecateEof: true });
    expect(okRoles('result', true, withOk)).toEqual([false, false, false, true]);
    expect(okRoles('prepare', true, prepareOkFrame(1, 7, 0, 0))).toEqual([false]);
  });
});
