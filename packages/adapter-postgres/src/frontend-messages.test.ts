import { WardenError } from '@warden/core';
import { decodeBind, decodeExecute, decodeParse, decodePassword, decodeQuery, decodeStartupRequest, decodeTarget } from './frontend-messages';
import { FrontendCode, StartupCode } from './message-codes';
import { MessageSplitter, Visit } from './message-splitter';
import {
  bind,
  cancelRequest,
  close,
  cstring,
  describe as describeMessage,
  execute,
  gssEncRequest,
  int32,
  parse,
  passwordMessage,
  query,
  splitEverywhere,
  sslRequest,
  startupMessage,
  typedMessage,
  untypedMessage,
} from './testing/frontend-frames';

/** Decodes `message` placed in the middle of a larger buffer, so decoders must honour start/end. */
function inContext<T>(message: Buffer, decode: (buffer: Buffer, start: number, end: number) => T, trailer = Buffer.from('trailing\0bytes\0')): T {
  const prefix = Buffer.from([0xde, 0xad, 0xbe, 0xef, 0]);
  const buffer = Buffer.concat([prefix, message, trailer]);
  return decode(buffer, prefix.length, prefix.length + message.length);
}

function errorOf(action: () => unknown): WardenError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(WardenError);
    return error as WardenError;
  }
  throw new Error('expected a WardenError');
}

/** Every decode of `bytes`, alone and in the middle of a larger buffer. */
function decodeBoth<T>(bytes: Buffer, decode: (buffer: Buffer, start: number, end: number) => T): T {
  const alone = decode(bytes, 0, bytes.length);
  expect(inContext(bytes, decode)).toEqual(alone);
  return alone;
}

describe('decodeStartupRequest', () => {
  it('reads a StartupMessage: parameters in order and the minor version', () => {
    const request = decodeBoth(startupMessage({ user: 'alice', database: 'clinic', application_name: 'psql', options: '-c search_path=x' }), decodeStartupRequest);
    expect(request).toEqual({
      kind: 'StartupMessage',
      minorVersion: 0,
      parameters: new Map([
        ['user', 'alice'],
        ['database', 'clinic'],
        ['application_name', 'psql'],
        ['options', '-c search_path=x'],
      ]),
    });
    if (request.kind === 'StartupMessage') expect([...request.parameters.keys()]).toEqual(['user', 'database', 'application_name', 'options']);
  });

  it.each([0, 2, 0xffff])('reports minor version 3.%d', (minor) => {
    expect(decodeStartupRequest(startupMessage({ user: 'a' }, { minor }), 0, startupMessage({ user: 'a' }, { minor }).length)).toMatchObject({
      kind: 'StartupMessage',
      minorVersion: minor,
    });
  });

  it('reads UTF-8 parameter values and empty values', () => {
    const message = startupMessage({ user: 'zoë', application_name: '' });
    expect(decodeStartupRequest(message, 0, message.length)).toMatchObject({
      parameters: new Map([
        ['user', 'zoë'],
        ['application_name', ''],
      ]),
    });
  });

  it('reads a StartupMessage with no parameters', () => {
    const message = startupMessage({});
    expect(decodeStartupRequest(message, 0, message.length)).toEqual({ kind: 'StartupMessage', minorVersion: 0, parameters: new Map() });
  });

  it('reads SSLRequest and GSSENCRequest', () => {
    expect(decodeBoth(sslRequest(), decodeStartupRequest)).toEqual({ kind: 'SSLRequest' });
    expect(decodeBoth(gssEncRequest(), decodeStartupRequest)).toEqual({ kind: 'GSSENCRequest' });
  });

  it('reads a CancelRequest: process id and the secret key bytes', () => {
    const request = decodeBoth(cancelRequest(4242, 0x01020304), decodeStartupRequest);
    expect(request).toEqual({ kind: 'CancelRequest', processId: 4242, secretKey: Buffer.from([1, 2, 3, 4]) });
  });

  it('reads a protocol 3.2 CancelRequest with a long secret key', () => {
    const key = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
    expect(decodeBoth(cancelRequest(7, key), decodeStartupRequest)).toEqual({ kind: 'CancelRequest', processId: 7, secretKey: key });
  });

  it('copies the secret key out of the message buffer', () => {
    const message = cancelRequest(7, 0x0a0b0c0d);
    const request = decodeStartupRequest(message, 0, message.length);
    message.fill(0);
    expect(request).toMatchObject({ secretKey: Buffer.from([0x0a, 0x0b, 0x0c, 0x0d]) });
  });

  it('refuses a CancelRequest shorter than 16 bytes', () => {
    const short = untypedMessage(int32(StartupCode.CancelRequest), int32(7));
    const error = errorOf(() => decodeStartupRequest(short, 0, short.length));
    expect(error.code).toBe('protocol');
    expect(error.message).toMatch(/CancelRequest too short/);
  });

  it.each([
    ['2.0', { major: 2, minor: 0 }, /unsupported frontend protocol 2\.0/],
    ['4.0', { major: 4, minor: 0 }, /unsupported frontend protocol 4\.0/],
    ['1234.5681 (next to the special request codes)', { major: 1234, minor: 5681 }, /unsupported frontend protocol 1234\.5681/],
  ])('refuses protocol version %s', (_name, version, message) => {
    const bytes = startupMessage({ user: 'alice' }, version);
    const error = errorOf(() => decodeStartupRequest(bytes, 0, bytes.length));
    expect(error.code).toBe('protocol');
    expect(error.message).toMatch(message);
  });

  it('refuses an unterminated parameter name or value', () => {
    const version = int32(StartupCode.ProtocolVersion3);
    const unterminatedName = untypedMessage(version, Buffer.from('user'));
    const unterminatedValue = untypedMessage(version, cstring('user'), Buffer.from('alice'));
    for (const bytes of [unterminatedName, unterminatedValue]) {
      expect(errorOf(() => decodeStartupRequest(bytes, 0, bytes.length)).code).toBe('protocol');
      // A NUL after the message's end must not terminate a string inside it.
      expect(errorOf(() => inContext(bytes, decodeStartupRequest)).code).toBe('protocol');
    }
  });

  it('decodes startup requests the splitter delivered at every split', () => {
    const stream = Buffer.concat([sslRequest(), startupMessage({ user: 'alice', database: 'clinic' }, { minor: 2 })]);
    for (const [head, tail] of splitEverywhere(stream)) {
      const decoded: unknown[] = [];
      const splitter: MessageSplitter = new MessageSplitter({ maxMessageSize: 10_000, startup: true }, (_code, buffer, start, end) => {
        const request = decodeStartupRequest(buffer, start, end);
        decoded.push(request);
        if (request.kind === 'SSLRequest') splitter.expectStartupMessage();
        return Visit.Continue;
      });
      splitter.push(head);
      splitter.push(tail);
      expect(decoded).toEqual([
        { kind: 'SSLRequest' },
        {
          kind: 'StartupMessage',
          minorVersion: 2,
          parameters: new Map([
            ['user', 'alice'],
            ['database', 'clinic'],
          ]),
        },
      ]);
    }
  });
});

describe('decodeQuery', () => {
  it('reads the query text', () => {
    expect(decodeBoth(query('select * from patients where id = 1'), decodeQuery)).toBe('select * from patients where id = 1');
  });

  it('reads an empty query and UTF-8 text', () => {
    expect(decodeBoth(query(''), decodeQuery)).toBe('');
    expect(decodeBoth(query("select 'ünïcødé ✓'"), decodeQuery)).toBe("select 'ünïcødé ✓'");
  });

  it('stops at the first NUL', () => {
    const bytes = typedMessage(FrontendCode.Query, cstring('select 1'), cstring('ignored'));
    expect(decodeQuery(bytes, 0, bytes.length)).toBe('select 1');
  });

  it.each([
    ['unterminated', typedMessage(FrontendCode.Query, Buffer.from('select 1'))],
    ['header only', typedMessage(FrontendCode.Query)],
  ])('refuses a query that is %s with a protocol error, also when a NUL follows the message', (_name, bytes) => {
    expect(errorOf(() => decodeQuery(bytes, 0, bytes.length)).code).toBe('protocol');
    expect(errorOf(() => inContext(bytes, decodeQuery)).code).toBe('protocol');
  });
});

describe('decodeParse', () => {
  it('reads the statement name and the query', () => {
    expect(decodeBoth(parse('select $1::int', { statement: 's1', parameterTypes: [23] }), decodeParse)).toEqual({ statement: 's1', query: 'select $1::int' });
  });

  it('reads the unnamed statement', () => {
    expect(decodeBoth(parse('select 1'), decodeParse)).toEqual({ statement: '', query: 'select 1' });
  });

  it.each([
    ['unterminated statement name', typedMessage(FrontendCode.Parse, Buffer.from('s1'))],
    ['unterminated query', typedMessage(FrontendCode.Parse, cstring('s1'), Buffer.from('select 1'))],
    ['no query at all', typedMessage(FrontendCode.Parse, cstring('s1'))],
    ['header only', typedMessage(FrontendCode.Parse)],
  ])('refuses a Parse with %s', (_name, bytes) => {
    expect(errorOf(() => decodeParse(bytes, 0, bytes.length)).code).toBe('protocol');
    expect(errorOf(() => inContext(bytes, decodeParse)).code).toBe('protocol');
  });
});

describe('decodeBind', () => {
  it('reads the portal and the statement, without parameters', () => {
    expect(decodeBoth(bind({ portal: 'p1', statement: 's1' }), decodeBind)).toEqual({ portal: 'p1', statement: 's1' });
  });

  it('reads the portal and the statement with text parameters', () => {
    expect(decodeBoth(bind({ portal: '', statement: 's2', parameters: ['42', null, 'x'] }), decodeBind)).toEqual({ portal: '', statement: 's2' });
  });

  it.each([
    ['unterminated portal', typedMessage(FrontendCode.Bind, Buffer.from('p1'))],
    ['unterminated statement', typedMessage(FrontendCode.Bind, cstring('p1'), Buffer.from('s1'))],
    ['header only', typedMessage(FrontendCode.Bind)],
  ])('refuses a Bind with %s', (_name, bytes) => {
    expect(errorOf(() => decodeBind(bytes, 0, bytes.length)).code).toBe('protocol');
    expect(errorOf(() => inContext(bytes, decodeBind)).code).toBe('protocol');
  });
});

describe('decodeExecute', () => {
  it('reads the portal and max rows', () => {
    expect(decodeBoth(execute({ portal: 'p1', maxRows: 100 }), decodeExecute)).toEqual({ portal: 'p1', maxRows: 100 });
    expect(decodeBoth(execute(), decodeExecute)).toEqual({ portal: '', maxRows: 0 });
  });

  it.each([
    ['no max rows', typedMessage(FrontendCode.Execute, cstring('p1'))],
    ['a truncated max rows', typedMessage(FrontendCode.Execute, cstring('p1'), Buffer.from([0, 0, 1]))],
    ['an unterminated portal', typedMessage(FrontendCode.Execute, Buffer.from('p1'))],
    ['header only', typedMessage(FrontendCode.Execute)],
  ])('refuses an Execute with %s, also when bytes follow the message', (_name, bytes) => {
    expect(errorOf(() => decodeExecute(bytes, 0, bytes.length)).code).toBe('protocol');
    expect(errorOf(() => inContext(bytes, decodeExecute)).code).toBe('protocol');
  });
});

describe('decodeTarget', () => {
  it.each([
    ['Describe', describeMessage],
    ['Close', close],
  ])('reads a %s of a statement or a portal', (_name, build) => {
    expect(decodeBoth(build('S', 's1'), decodeTarget)).toEqual({ kind: 'S', name: 's1' });
    expect(decodeBoth(build('P', ''), decodeTarget)).toEqual({ kind: 'P', name: '' });
  });

  it('refuses a target other than S or P', () => {
    const bytes = typedMessage(FrontendCode.Close, Buffer.from('X'), cstring('s1'));
    const error = errorOf(() => decodeTarget(bytes, 0, bytes.length));
    expect(error.code).toBe('protocol');
    expect(error.message).toMatch(/invalid Close\/Describe target 'X'/);
  });

  it.each([
    ['no target byte', typedMessage(FrontendCode.Describe)],
    ['an unterminated name', typedMessage(FrontendCode.Describe, Buffer.from('Ss1'))],
    ['no name', typedMessage(FrontendCode.Describe, Buffer.from('S'))],
  ])('refuses a message with %s', (_name, bytes) => {
    expect(errorOf(() => decodeTarget(bytes, 0, bytes.length)).code).toBe('protocol');
    expect(errorOf(() => inContext(bytes, decodeTarget)).code).toBe('protocol');
  });
});

describe('decodePassword', () => {
  it('reads the password (the token)', () => {
    const token = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl';
    expect(decodeBoth(passwordMessage(token), decodePassword)).toBe(token);
  });

  it('refuses an unterminated password', () => {
    const bytes = typedMessage(FrontendCode.PasswordMessage, Buffer.from('secret'));
    expect(errorOf(() => decodePassword(bytes, 0, bytes.length)).code).toBe('protocol');
    expect(errorOf(() => inContext(bytes, decodePassword)).code).toBe('protocol');
  });
});
