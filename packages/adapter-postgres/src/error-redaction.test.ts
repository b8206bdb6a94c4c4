import { errorResponse, parameterStatus } from './backend-messages';
import { redactErrorText, redactNoticeFields, redactNoticeMessage, redactNotificationMessage, redactParameterStatus } from './error-redaction';
import { BackendCode } from './message-codes';

describe('redactErrorText', () => {
  it.each([
    ['invalid input syntax for type integer: "123-45-6789"', 'invalid input syntax for type integer: "[REDACTED]"'],
    ['Key (ssn)=(123-45-6789) already exists.', 'Key (ssn)=([REDACTED]) already exists.'],
    ['Key (a, b)=(x), (y) is not present in table "patients".', 'Key (a, b)=([REDACTED]) is not present in table "[REDACTED]".'],
    ['Failing row contains (1, Ada, 123-45-6789, 1980-01-15).', 'Failing row contains ([REDACTED]).'],
    ['requested character too large for encoding: 123456789', 'requested character too large for encoding: [REDACTED]'],
    ['JSON data, line 1: 123-45-6789', 'JSON data, line 1: [REDACTED]'],
    ["unnamed portal parameter $1 = '123-45-6789'", "unnamed portal parameter $1 = '[REDACTED]'"],
    ['division by zero', 'division by zero'],
  ])('redacts the value in %j', (text, expected) => {
    expect(redactErrorText(text)).toBe(expected);
  });

  it('redacts a value holding quote characters of its own (quote-splitting leak)', () => {
    expect(redactErrorText('invalid input syntax for type integer: ""123-45-6789""')).toBe('invalid input syntax for type integer: "[REDACTED]"');
    expect(redactErrorText('invalid input syntax for type integer: "x" 123-45-6789 "y"')).not.toContain('6789');
  });

  it('redacts everything after a lone quote (unbalanced-quote leak)', () => {
    expect(redactErrorText('value: "123-45-6789')).toBe('value: "[REDACTED]');
  });
});

describe('redactNoticeFields', () => {
  it('replaces RAISE text and the internal query whole (raise-notice leak)', () => {
    const fields = redactNoticeFields([
      ['S', 'NOTICE'],
      ['C', '00000'],
      ['M', 'v=123-45-6789'],
      ['q', "SELECT 1 WHERE ssn = 123456789"],
      ['R', 'exec_stmt_raise'],
      ['L', '3907'],
    ]);
    expect(fields).toEqual([
      ['S', 'NOTICE'],
      ['C', '00000'],
      ['M', '[REDACTED]'],
      ['q', '[REDACTED]'],
      ['R', 'exec_stmt_raise'],
      ['L', '3907'],
    ]);
  });

  it('replaces the detail of an XML error whole (xml-detail leak)', () => {
    const fields = redactNoticeFields([['C', '2200N'], ['M', 'invalid XML content'], ['D', 'line 1: Start tag expected\n123-45-6789\n^']]);
    expect(fields).toEqual([['C', '2200N'], ['M', 'invalid XML content'], ['D', '[REDACTED]']]);
  });
});

describe('redactNoticeMessage', () => {
  it('keeps the SQLSTATE and position and rebuilds a valid ErrorResponse', () => {
    const raw = errorResponse({ severity: 'ERROR', code: '22P02', message: 'invalid input syntax for type integer: "123-45-6789"', detail: 'Key (ssn)=(123-45-6789) already exists.' });
    const redacted = redactNoticeMessage(raw, 0, raw.length);
    expect(redacted[0]).toBe(BackendCode.ErrorResponse);
    expect(redacted.readInt32BE(1)).toBe(redacted.length - 1);
    const text = redacted.toString('latin1');
    expect(text).toContain('C22P02\0');
    expect(text).toContain('Minvalid input syntax for type integer: "[REDACTED]"\0');
    expect(text).toContain('DKey (ssn)=([REDACTED]) already exists.\0');
    expect(text).not.toContain('6789');
  });
});

/** NotificationResponse: 'A' | int32 len | int32 sender pid | cstring channel | cstring payload */
function notification(channel: string, payload: string): Buffer {
  const body = Buffer.concat([Buffer.alloc(4), Buffer.from(`${channel}\0${payload}\0`, 'utf8')]);
  body.writeInt32BE(4242, 0);
  const header = Buffer.from([BackendCode.NotificationResponse, 0, 0, 0, 0]);
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

describe('redactNotificationMessage', () => {
  it('replaces the payload whole and keeps the sender and channel (pg_notify payload leak)', () => {
    const raw = Buffer.concat([Buffer.from('pad'), notification('leak', '123-45-6789'), Buffer.from('tail')]);
    const redacted = redactNotificationMessage(raw, 3, raw.length - 4);
    expect(redacted).toEqual(notification('leak', '[REDACTED]'));
  });

  it('keeps an empty payload empty', () => {
    const raw = notification('ping', '');
    expect(redactNotificationMessage(raw, 0, raw.length)).toEqual(raw);
  });
});

describe('redactParameterStatus', () => {
  it('redacts the value of a free-text setting (application_name ParameterStatus leak)', () => {
    const raw = parameterStatus('application_name', '123-45-6789');
    expect(redactParameterStatus(raw, 0, raw.length)).toEqual(parameterStatus('application_name', '[REDACTED]'));
  });

  it('leaves settings the server accepts only from its own list, and empty values, alone', () => {
    for (const raw of [parameterStatus('client_encoding', 'UTF8'), parameterStatus('TimeZone', 'UTC'), parameterStatus('application_name', '')]) {
      expect(redactParameterStatus(raw, 0, raw.length)).toBeUndefined();
    }
  });
});
