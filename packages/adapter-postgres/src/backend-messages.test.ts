import type { BackendMessage } from 'pg-protocol/dist/messages';
import { Parser } from 'pg-protocol/dist/parser';
import { authentication, backendKeyData, errorResponse, negotiateProtocolVersion, parameterStatus, readErrorFields, readyForQuery } from './backend-messages';
import { AuthenticationCode, BackendCode, SqlState } from './message-codes';
import { splitEverywhere } from './testing/frontend-frames';

/** Everything pg-protocol's client-side parser reads from `bytes`, pushed whole. */
function parseWithPg(bytes: Buffer): BackendMessage[] {
  const messages: BackendMessage[] = [];
  new Parser().parse(bytes, (message) => messages.push(message));
  return messages;
}

/** What pg-protocol reads from `bytes` is the same at every 2-way split. */
function expectSameAtEverySplit(bytes: Buffer, whole: BackendMessage[]): void {
  for (const [head, tail] of splitEverywhere(bytes)) {
    const messages: BackendMessage[] = [];
    const parser = new Parser();
    parser.parse(head, (message) => messages.push(message));
    parser.parse(tail, (message) => messages.push(message));
    expect(messages).toEqual(whole);
  }
}

/** The declared length of a typed message matches its size. */
function expectFramed(bytes: Buffer, code: number): void {
  expect(bytes[0]).toBe(code);
  expect(bytes.readInt32BE(1)).toBe(bytes.length - 1);
}

describe('errorResponse', () => {
  const full = errorResponse({
    severity: 'ERROR',
    code: SqlState.InsufficientPrivilege,
    message: 'write statement refused by rule "no-writes"',
    detail: 'connection clinic-db',
    hint: 'ask for read-write access',
  });

  it('round-trips through pg-protocol: severity, code, message, detail, hint', () => {
    expectFramed(full, BackendCode.ErrorResponse);
    const messages = parseWithPg(full);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({
      name: 'error',
      severity: 'ERROR',
      code: '42501',
      message: 'write statement refused by rule "no-writes"',
      detail: 'connection clinic-db',
      hint: 'ask for read-write access',
      length: full.length - 1,
    });
  });

  it('carries the non-localized severity (V) as well as S', () => {
    const fields = new Map<string, string>();
    let offset = 5;
    while (full[offset] !== 0) {
      const zero = full.indexOf(0, offset + 1);
      fields.set(String.fromCharCode(full[offset]!), full.toString('utf8', offset + 1, zero));
      offset = zero + 1;
    }
    expect(offset).toBe(full.length - 1);
    expect(Object.fromEntries(fields)).toEqual({
      S: 'ERROR',
      V: 'ERROR',
      C: '42501',
      M: 'write statement refused by rule "no-writes"',
      D: 'connection clinic-db',
      H: 'ask for read-write access',
    });
  });

  it('leaves out detail and hint when absent', () => {
    const bytes = errorResponse({ severity: 'FATAL', code: SqlState.InvalidPassword, message: 'token expired' });
    expectFramed(bytes, BackendCode.ErrorResponse);
    const [message] = parseWithPg(bytes);
    expect(message).toMatchObject({ name: 'error', severity: 'FATAL', code: '28P01', message: 'token expired' });
    expect(message).toHaveProperty('detail', undefined);
    expect(message).toHaveProperty('hint', undefined);
  });

  it('encodes UTF-8 text with the right length', () => {
    const bytes = errorResponse({ severity: 'ERROR', code: SqlState.InternalError, message: 'refusé: ✗ pas de droits' });
    expectFramed(bytes, BackendCode.ErrorResponse);
    expect(parseWithPg(bytes)[0]).toMatchObject({ message: 'refusé: ✗ pas de droits' });
  });

  it('parses the same at every split, followed by ReadyForQuery', () => {
    const bytes = Buffer.concat([full, readyForQuery(0x49)]);
    const whole = parseWithPg(bytes);
    expect(whole.map((m) => m.name)).toEqual(['error', 'readyForQuery']);
    expectSameAtEverySplit(bytes, whole);
  });
});

describe('readyForQuery', () => {
  it.each([
    [0x49, 'I'],
    [0x54, 'T'],
    [0x45, 'E'],
  ])('writes status %s (%s)', (status, letter) => {
    const bytes = readyForQuery(status);
    expect(bytes).toEqual(Buffer.from([0x5a, 0, 0, 0, 5, status]));
    expect(parseWithPg(bytes)).toEqual([expect.objectContaining({ name: 'readyForQuery', status: letter, length: 5 })]);
  });
});

describe('authentication', () => {
  it('writes AuthenticationOk', () => {
    const bytes = authentication(AuthenticationCode.Ok);
    expect(bytes).toEqual(Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 0]));
    expect(parseWithPg(bytes)).toEqual([expect.objectContaining({ name: 'authenticationOk', length: 8 })]);
  });

  it('writes AuthenticationCleartextPassword', () => {
    const bytes = authentication(AuthenticationCode.CleartextPassword);
    expect(bytes).toEqual(Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 3]));
    expect(parseWithPg(bytes)).toEqual([expect.objectContaining({ name: 'authenticationCleartextPassword', length: 8 })]);
  });
});

describe('parameterStatus', () => {
  it('writes name and value', () => {
    const bytes = parameterStatus('server_version', '16.4 (Warden)');
    expectFramed(bytes, BackendCode.ParameterStatus);
    expect(parseWithPg(bytes)).toEqual([expect.objectContaining({ name: 'parameterStatus', parameterName: 'server_version', parameterValue: '16.4 (Warden)' })]);
  });

  it('writes an empty value', () => {
    const bytes = parameterStatus('application_name', '');
    expect(bytes).toEqual(Buffer.concat([Buffer.from([0x53, 0, 0, 0, 22]), Buffer.from('application_name\0\0')]));
    expect(parseWithPg(bytes)).toEqual([expect.objectContaining({ parameterName: 'application_name', parameterValue: '' })]);
  });
});

describe('backendKeyData', () => {
  it('writes process id and secret key', () => {
    const bytes = backendKeyData(12345, 0x7eadbeef);
    expect(bytes).toEqual(Buffer.from([0x4b, 0, 0, 0, 12, 0, 0, 0x30, 0x39, 0x7e, 0xad, 0xbe, 0xef]));
    expect(parseWithPg(bytes)).toEqual([expect.objectContaining({ name: 'backendKeyData', processID: 12345, secretKey: 0x7eadbeef })]);
  });

  it('writes a secret key with the high bit set as its two-complement bytes', () => {
    const bytes = backendKeyData(1, -1);
    expect(bytes.subarray(9)).toEqual(Buffer.from([0xff, 0xff, 0xff, 0xff]));
  });
});

describe('negotiateProtocolVersion', () => {
  it('writes the newest minor version and the unrecognized options', () => {
    const bytes = negotiateProtocolVersion(0, ['_pq_.compression', '_pq_.other']);
    const body = Buffer.concat([Buffer.from([0, 0, 0, 0, 0, 0, 0, 2]), Buffer.from('_pq_.compression\0_pq_.other\0')]);
    expect(bytes).toEqual(Buffer.concat([Buffer.from([0x76]), Buffer.from([0, 0, 0, body.length + 4]), body]));
  });

  it('writes an empty option list', () => {
    expect(negotiateProtocolVersion(2, [])).toEqual(Buffer.from([0x76, 0, 0, 0, 12, 0, 0, 0, 2, 0, 0, 0, 0]));
  });
});

describe('readErrorFields', () => {
  it('reads code and message of an ErrorResponse', () => {
    const bytes = errorResponse({ severity: 'ERROR', code: '23505', message: 'duplicate key value violates unique constraint', detail: 'Key (ssn)=(123-45-6789) already exists.' });
    expect(readErrorFields(bytes, 0, bytes.length)).toEqual({ code: '23505', message: 'duplicate key value violates unique constraint' });
  });

  it('reads only inside [start, end) of a larger buffer', () => {
    const first = errorResponse({ severity: 'ERROR', code: '42P01', message: 'relation "x" does not exist' });
    const second = errorResponse({ severity: 'ERROR', code: '22012', message: 'division by zero' });
    const buffer = Buffer.concat([readyForQuery(0x49), first, second]);
    expect(readErrorFields(buffer, 6, 6 + first.length)).toEqual({ code: '42P01', message: 'relation "x" does not exist' });
    expect(readErrorFields(buffer, 6 + first.length, buffer.length)).toEqual({ code: '22012', message: 'division by zero' });
  });

  it('returns empty strings for missing fields and stops at a truncated field', () => {
    const noFields = Buffer.from([0x45, 0, 0, 0, 5, 0]);
    expect(readErrorFields(noFields, 0, noFields.length)).toEqual({ code: '', message: '' });
    const truncated = Buffer.concat([Buffer.from([0x45, 0, 0, 0, 16]), Buffer.from('C42501\0Mno nul')]);
    expect(readErrorFields(truncated, 0, truncated.length)).toEqual({ code: '42501', message: '' });
    // A NUL after `end` must not complete the truncated field.
    const followed = Buffer.concat([truncated, Buffer.from('\0')]);
    expect(readErrorFields(followed, 0, truncated.length)).toEqual({ code: '42501', message: '' });
  });
});
