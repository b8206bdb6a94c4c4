import type { Classification } from '@warden/core';
import { Parser } from 'pg-protocol/dist/parser';
import type { BackendMessage, DatabaseError } from 'pg-protocol/dist/messages';
import { serialize } from 'pg-protocol';
import { cannotAnalyseReply, isMultipleCommandsError, isParseError, syntaxProbe } from './syntax-probe';
import { typedMessage } from './testing/frontend-frames';
import { BackendCode, FrontendCode } from './message-codes';

function unknown(note: string): Classification {
  return { action: 'unknown', objects: [], bulk: false, statementCount: 1, statements: [{ action: 'unknown', objects: [], bulk: false, note }] };
}

/** An ErrorResponse with these fields, as a server sends it. */
function targetError(fields: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  for (const [type, value] of Object.entries(fields)) parts.push(Buffer.from(type, 'latin1'), Buffer.from(`${value}\0`, 'utf8'));
  parts.push(Buffer.from([0]));
  return typedMessage(BackendCode.ErrorResponse, ...parts);
}

describe('isParseError', () => {
  it('is a single statement that Warden could not parse', () => {
    expect(isParseError(unknown('parse error: syntax error at or near "SELEC"'))).toBe(true);
  });

  it('is not text with a NUL character, a fast-path call or a statement Warden parsed', () => {
    expect(isParseError(unknown('text contains a NUL character'))).toBe(false);
    expect(isParseError(unknown('fast-path function call'))).toBe(false);
    expect(isParseError({ action: 'read', objects: [], bulk: false, statementCount: 1, statements: [{ action: 'read', objects: [], bulk: false }] })).toBe(false);
    expect(isParseError({ action: 'read', objects: [], bulk: false, statementCount: 0, statements: [] })).toBe(false);
  });
});

describe('syntaxProbe', () => {
  it('is Parse of the text, Parse of the marker (both unnamed) and Sync', () => {
    const probe = syntaxProbe(serialize.query('SELEC 1'), 0, serialize.query('SELEC 1').length, 'warden-refused-00');
    expect(probe).toEqual(Buffer.concat([serialize.parse({ name: '', text: 'SELEC 1', types: [] }), serialize.parse({ name: '', text: '"warden-refused-00"', types: [] }), serialize.sync()]));
  });

  it('passes the text on byte for byte, bytes that are not UTF-8 too, from inside a larger buffer', () => {
    const text = Buffer.from([0x53, 0x45, 0x4c, 0x45, 0x43, 0x20, 0xff, 0xfe]);
    const message = typedMessage(FrontendCode.Query, text, Buffer.from([0]));
    const buffer = Buffer.concat([Buffer.from('xx'), message, Buffer.from('yy')]);
    const probe = syntaxProbe(buffer, 2, 2 + message.length, 'm');
    expect(probe[0]).toBe(FrontendCode.Parse);
    expect(probe.readInt32BE(1)).toBe(4 + 1 + text.length + 1 + 2);
    expect(probe.subarray(5, 6 + text.length + 1)).toEqual(Buffer.concat([Buffer.from([0]), text, Buffer.from([0])]));
  });
});

describe('isMultipleCommandsError', () => {
  it('recognises the Parse of several statements by the reporting function, whatever the language', () => {
    const error = targetError({ S: 'FEHLER', V: 'ERROR', C: '42601', M: 'kann nicht mehrere Befehle in vorbereitete Anweisung einfügen', F: 'postgres.c', L: '1461', R: 'exec_parse_message' });
    expect(isMultipleCommandsError(error, 0, error.length)).toBe(true);
  });

  it('recognises it by the message from a server that sends no routine', () => {
    const error = targetError({ S: 'ERROR', C: '42601', M: 'cannot insert multiple commands into a prepared statement' });
    expect(isMultipleCommandsError(error, 0, error.length)).toBe(true);
  });

  it('is not a syntax error, nor another error of the Parse', () => {
    const syntax = targetError({ S: 'ERROR', V: 'ERROR', C: '42601', M: 'syntax error at or near "SELEC"', P: '1', F: 'scan.l', L: '1188', R: 'scanner_yyerror' });
    const aborted = targetError({ S: 'ERROR', C: '25P02', M: 'current transaction is aborted, commands ignored until end of transaction block', R: 'exec_parse_message' });
    expect(isMultipleCommandsError(syntax, 0, syntax.length)).toBe(false);
    expect(isMultipleCommandsError(aborted, 0, aborted.length)).toBe(false);
  });
});

describe('cannotAnalyseReply', () => {
  it('says that Warden cannot analyse a text the target accepts, with the rule', () => {
    const messages: BackendMessage[] = [];
    new Parser().parse(cannotAnalyseReply(unknown('parse error: syntax error at or near "MERGE"'), 'fail-closed'), (message) => messages.push(message));
    const [error] = messages as DatabaseError[];
    expect(error).toMatchObject({ severity: 'ERROR', code: '42501', detail: 'rule "fail-closed"' });
    expect(error!.message).toBe('Warden: Warden cannot analyse this statement (parse error: syntax error at or near "MERGE"), which the target accepts; it is refused');
  });
});
