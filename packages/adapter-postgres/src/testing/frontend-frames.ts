import { FrontendCode, StartupCode } from '../message-codes';

/**
 * Builders for client (frontend) messages, for tests: each returns the whole message as it goes on
 * the wire, header included. Layouts follow
 * https://www.postgresql.org/docs/current/protocol-message-formats.html
 *
 * @example
 * const stream = Buffer.concat([startupMessage({ user: 'alice', database: 'clinic' }), query('select 1'), terminate()]);
 * for (const [head, tail] of splitEverywhere(stream)) { splitter.push(head); splitter.push(tail); }
 */

/** A typed message: byte code | int32 length (includes itself, not the code) | payload. */
export function typedMessage(code: number, ...payload: readonly Buffer[]): Buffer {
  const body = Buffer.concat(payload);
  const header = Buffer.alloc(5);
  header[0] = code;
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

/** An untyped startup-phase message: int32 length (includes itself) | payload. */
export function untypedMessage(...payload: readonly Buffer[]): Buffer {
  const body = Buffer.concat(payload);
  const header = Buffer.alloc(4);
  header.writeInt32BE(body.length + 4, 0);
  return Buffer.concat([header, body]);
}

export function int32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeInt32BE(value, 0);
  return buffer;
}

export function int16(value: number): Buffer {
  const buffer = Buffer.alloc(2);
  buffer.writeInt16BE(value, 0);
  return buffer;
}

/** A NUL-terminated UTF-8 string. */
export function cstring(value: string): Buffer {
  return Buffer.concat([Buffer.from(value, 'utf8'), Buffer.from([0])]);
}

/** StartupMessage: int32 len | int32 (major << 16 | minor) | (cstring name, cstring value)* | \0 */
export function startupMessage(parameters: Readonly<Record<string, string>>, version: { readonly major?: number; readonly minor?: number } = {}): Buffer {
  const code = ((version.major ?? 3) << 16) | (version.minor ?? 0);
  const pairs = Object.entries(parameters).flatMap(([name, value]) => [cstring(name), cstring(value)]);
  return untypedMessage(int32(code), ...pairs, Buffer.from([0]));
}

/** SSLRequest: int32 8 | int32 80877103 */
export function sslRequest(): Buffer {
  return untypedMessage(int32(StartupCode.SSLRequest));
}

/** GSSENCRequest: int32 8 | int32 80877104 */
export function gssEncRequest(): Buffer {
  return untypedMessage(int32(StartupCode.GSSENCRequest));
}

/** CancelRequest: int32 len | int32 80877102 | int32 process id | secret key (a number: 4 bytes) */
export function cancelRequest(processId: number, secretKey: number | Buffer): Buffer {
  const key = typeof secretKey === 'number' ? int32(secretKey) : secretKey;
  return untypedMessage(int32(StartupCode.CancelRequest), int32(processId), key);
}

/** Query: 'Q' | int32 len | cstring query */
export function query(text: string): Buffer {
  return typedMessage(FrontendCode.Query, cstring(text));
}

/** Parse: 'P' | int32 len | cstring statement | cstring query | int16 n | int32 type oid × n */
export function parse(text: string, options: { readonly statement?: string; readonly parameterTypes?: readonly number[] } = {}): Buffer {
  const types = options.parameterTypes ?? [];
  return typedMessage(FrontendCode.Parse, cstring(options.statement ?? ''), cstring(text), int16(types.length), ...types.map(int32));
}

/**
 * Bind: 'B' | int32 len | cstring portal | cstring statement | int16 n formats | int16 format × n |
 * int16 n params | (int32 len (-1 = NULL) | bytes) × n | int16 n result formats | int16 format × n
 *
 * Parameters, when given, are sent in text format (no format codes: all text).
 */
export function bind(options: { readonly portal?: string; readonly statement?: string; readonly parameters?: readonly (string | null)[] } = {}): Buffer {
  const parameters = (options.parameters ?? []).map((value) => {
    if (value === null) return int32(-1);
    const bytes = Buffer.from(value, 'utf8');
    return Buffer.concat([int32(bytes.length), bytes]);
  });
  return typedMessage(
    FrontendCode.Bind,
    cstring(options.portal ?? ''),
    cstring(options.statement ?? ''),
    int16(0),
    int16(parameters.length),
    ...parameters,
    int16(0),
  );
}

/** Execute: 'E' | int32 len | cstring portal | int32 max rows (0 = all) */
export function execute(options: { readonly portal?: string; readonly maxRows?: number } = {}): Buffer {
  return typedMessage(FrontendCode.Execute, cstring(options.portal ?? ''), int32(options.maxRows ?? 0));
}

/** Describe: 'D' | int32 len | byte 'S' or 'P' | cstring name */
export function describe(kind: 'S' | 'P', name = ''): Buffer {
  return typedMessage(FrontendCode.Describe, Buffer.from(kind, 'latin1'), cstring(name));
}

/** Close: 'C' | int32 len | byte 'S' or 'P' | cstring name */
export function close(kind: 'S' | 'P', name = ''): Buffer {
  return typedMessage(FrontendCode.Close, Buffer.from(kind, 'latin1'), cstring(name));
}

/** Sync: 'S' | int32 4 */
export function sync(): Buffer {
  return typedMessage(FrontendCode.Sync);
}

/** Flush: 'H' | int32 4 */
export function flush(): Buffer {
  return typedMessage(FrontendCode.Flush);
}

/** Terminate: 'X' | int32 4 */
export function terminate(): Buffer {
  return typedMessage(FrontendCode.Terminate);
}

/** PasswordMessage: 'p' | int32 len | cstring password */
export function passwordMessage(password: string): Buffer {
  return typedMessage(FrontendCode.PasswordMessage, cstring(password));
}

/**
 * Every 2-way split of `buffer`, at every position from 0 to `buffer.length` (the first and last
 * give one empty chunk). Each chunk is a copy, so a parser cannot read past its chunk into the
 * original.
 */
export function* splitEverywhere(buffer: Buffer): Generator<readonly [Buffer, Buffer], void, undefined> {
  for (let at = 0; at <= buffer.length; at++) yield splitAt(buffer, at);
}

/** `buffer` as two copied chunks, `[0, at)` and `[at, length)`. */
export function splitAt(buffer: Buffer, at: number): readonly [Buffer, Buffer] {
  return [Buffer.from(buffer.subarray(0, at)), Buffer.from(buffer.subarray(at))];
}

/** `buffer` as copied chunks of `size` bytes (the last one may be shorter). */
export function chunksOf(buffer: Buffer, size: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0; at < buffer.length; at += size) chunks.push(Buffer.from(buffer.subarray(at, at + size)));
  return chunks;
}

/** Feeds `buffer` to `push` one byte at a time. */
export function feedByteByByte(buffer: Buffer, push: (chunk: Buffer) => void): void {
  for (const chunk of chunksOf(buffer, 1)) push(chunk);
}
