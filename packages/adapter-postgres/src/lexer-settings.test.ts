import { parameterStatus } from './backend-messages';
import { firstUnanalysableSetting, unanalysableParameterStatus, unanalysableSetting } from './lexer-settings';

describe('settings Warden cannot analyse statements under', () => {
  it.each([
    ['standard_conforming_strings', 'off', true],
    ['standard_conforming_strings', 'on', false],
    ['client_encoding', 'SJIS', true],
    ['client_encoding', 'SQL_ASCII', true],
    ['client_encoding', 'LATIN1', true],
    ['client_encoding', 'UTF8', false],
    ['TimeZone', 'UTC', false],
    ['application_name', 'off', false],
  ] as const)('%s = %s → refused: %s', (name, value, refused) => {
    expect(unanalysableSetting(name, value) !== undefined).toBe(refused);
    const frame = Buffer.concat([Buffer.from('xx'), parameterStatus(name, value), Buffer.from('yy')]);
    expect(unanalysableParameterStatus(frame, 2, frame.length - 2) !== undefined).toBe(refused);
  });

  it('names the setting and the value in its reason', () => {
    expect(unanalysableSetting('client_encoding', 'BIG5')).toBe('the target session has client_encoding = BIG5, and Warden cannot analyse statements under that setting (it reads them with client_encoding = UTF8)');
  });

  it('finds the first such setting among the ones a session starts with', () => {
    const startup: Array<readonly [string, string]> = [
      ['application_name', 'psql'],
      ['client_encoding', 'UTF8'],
      ['standard_conforming_strings', 'off'],
    ];
    expect(firstUnanalysableSetting(startup)).toMatch(/standard_conforming_strings = off/);
    expect(firstUnanalysableSetting(startup.slice(0, 2))).toBeUndefined();
  });
});
