import { errPacket } from './server-messages';
import { ErrorCode } from './protocol';
import { redactErrPacket, redactErrorText } from './error-redaction';

describe('redactErrorText', () => {
  it.each([
    ["Truncated incorrect INTEGER value: '123-45-6789'", "Truncated incorrect INTEGER value: '[REDACTED]'"],
    ["Duplicate entry '123-45-6789' for key 'ssn'", "Duplicate entry '[REDACTED]'"],
    ["XPATH syntax error: '-45-6789'", "XPATH syntax error: '[REDACTED]'"],
    ["Incorrect datetime value: '1980-01-15x'", "Incorrect datetime value: '[REDACTED]'"],
    ['Division by 0', 'Division by 0'],
  ])('redacts the value in %j', (text, expected) => {
    expect(redactErrorText(text)).toBe(expected);
  });

  it("redacts a value holding quotes of its own (O'Brien quote-splitting leak)", () => {
    expect(redactErrorText("Truncated incorrect INTEGER value: 'O'Brien 123-45-6789'")).toBe("Truncated incorrect INTEGER value: '[REDACTED]'");
  });

  it('redacts bare long numbers (unquoted-number leak)', () => {
    expect(redactErrorText('Out of range value 123456789')).toBe('Out of range value [REDACTED]');
  });
});

describe('redactErrPacket', () => {
  it('keeps the code, SQLSTATE and sequence id', () => {
    const raw = errPacket(1, ErrorCode.Unknown, "Duplicate entry '123-45-6789' for key 'ssn'");
    const redacted = redactErrPacket(raw, 0, raw.length);
    expect(redacted.subarray(3, 13)).toEqual(raw.subarray(3, 13));
    expect(redacted.readUIntLE(0, 3)).toBe(redacted.length - 4);
    expect(redacted.toString('latin1', 13)).toBe("Duplicate entry '[REDACTED]'");
  });
});
