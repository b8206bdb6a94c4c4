import { TargetSessionSettings, isAnalysableCollation } from './session-settings';

describe('TargetSessionSettings', () => {
  it('follows the reported sql_mode for reading statements', () => {
    const settings = new TargetSessionSettings(false);
    expect(settings.apply(new Map([['sql_mode', 'STRICT_TRANS_TABLES,NO_BACKSLASH_ESCAPES']]))).toBeUndefined();
    expect(settings.lexer).toEqual({ ansiQuotes: false, noBackslashEscapes: true });
    expect(settings.apply(new Map([['sql_mode', 'ANSI']]))).toBeUndefined();
    expect(settings.lexer).toEqual({ ansiQuotes: true, noBackslashEscapes: false });
    expect(settings.apply(new Map([['sql_mode', '']]))).toBeUndefined();
    expect(settings.lexer).toEqual({ ansiQuotes: false, noBackslashEscapes: false });
  });

  it('ends the session on what it cannot analyse or enforce', () => {
    expect(new TargetSessionSettings(false).apply(new Map([['character_set_client', 'gbk']]))).toMatch(/character_set_client became gbk/);
    expect(new TargetSessionSettings(false).apply(new Map([['character_set_connection', 'sjis']]))).toMatch(/character_set_connection became sjis/);
    expect(new TargetSessionSettings(false).apply(new Map([['sql_mode', 'ORACLE,ANSI_QUOTES']]))).toMatch(/sql_mode became ORACLE/);
    expect(new TargetSessionSettings(true).apply(new Map([['tx_read_only', 'OFF']]))).toMatch(/no longer read-only/);
    expect(new TargetSessionSettings(true).apply(new Map([['transaction_read_only', 'OFF']]))).toMatch(/no longer read-only/);
    expect(new TargetSessionSettings(true).apply(new Map([['tx_read_only', 'ON']]))).toBeUndefined();
    expect(new TargetSessionSettings(false).apply(new Map([['tx_read_only', 'OFF'], ['character_set_client', 'latin1'], ['character_set_results', 'gbk']]))).toBeUndefined();
  });

  it('keeps the previous reading when a report ends the session', () => {
    const settings = new TargetSessionSettings(false);
    settings.apply(new Map([['sql_mode', 'ANSI_QUOTES']]));
    settings.apply(new Map([['sql_mode', 'ORACLE']]));
    expect(settings.lexer).toEqual({ ansiQuotes: true, noBackslashEscapes: false });
  });
});

describe('isAnalysableCollation', () => {
  it('allows UTF-8, latin1, ascii and binary collations only', () => {
    for (const id of [33, 45, 46, 224, 255, 8, 47, 11, 63]) expect(isAnalysableCollation(id)).toBe(true);
    // gbk, big5, sjis, cp932, gb18030, ucs2, utf16, utf32, and an unknown id.
    for (const id of [28, 87, 1, 84, 13, 88, 95, 248, 35, 54, 60, 2047]) expect(isAnalysableCollation(id)).toBe(false);
  });
});
