/**
 * A hand-written PostgreSQL client (protocol 3.0) for what no client library sends: any
 * StartupMessage parameters, pipelined simple Queries, fast-path FunctionCalls. It logs in with
 * the token as the cleartext password and hands every other backend message to the caller.
 * https://www.postgresql.org/docs/current/protocol-message-formats.html
 */
import net from 'node:net';

/** A String as the protocol writes it: UTF-8, NUL-terminated. */
export function cstring(text: string): Buffer {
  return Buffer.from(`${text}\0`, 'utf8');
}

/** An Int32 in network byte order. */
export function int32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeInt32BE(value, 0);
  return buffer;
}

/** A frontend message: its type byte, an Int32 length that counts itself, and the body. */
export function frontendMessage(code: string, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.write(code, 0, 'latin1');
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

/** A StartupMessage for protocol 3.0 (196608) with `parameters` (user, database, …). */
export function startupMessage(parameters: Readonly<Record<string, string>>): Buffer {
  const pairs = Object.entries(parameters).flatMap(([name, value]) => [cstring(name), cstring(value)]);
  const body = Buffer.concat([int32(196608), ...pairs, Buffer.from([0])]);
  return Buffer.concat([int32(body.length + 4), body]);
}

/** Every field of an ErrorResponse (or NoticeResponse) body, by its one-letter code (C the SQLSTATE, M the message, P the position, …). */
export function errorFields(body: Buffer): Record<string, string> {
  const fields: Record<string, string> = {};
  let at = 0;
  while (at < body.length && body[at] !== 0) {
    const zero = body.indexOf(0, at + 1);
    fields[String.fromCharCode(body[at]!)] = body.toString('utf8', at + 1, zero);
    at = zero + 1;
  }
  return fields;
}

/** The message (field M) of an ErrorResponse body. */
export function errorMessage(body: Buffer): string | undefined {
  return body.toString('utf8').split('\0').find((field) => field.startsWith('M'))?.slice(1);
}

/**
 * Connects to the gateway at `port`, sends the StartupMessage, answers the request for a
 * cleartext password with `password`, and calls `onMessage` with every other backend message
 * (its type and body), in order. The caller listens for the socket's `error` and `close`.
 */
export function openRawSession(port: number, parameters: Readonly<Record<string, string>>, password: string, onMessage: (code: string, body: Buffer) => void): net.Socket {
  const socket = net.connect(port, '127.0.0.1');
  let pending = Buffer.alloc(0);
  socket.on('connect', () => socket.write(startupMessage(parameters)));
  socket.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 5 && pending.length >= pending.readInt32BE(1) + 1) {
      const size = pending.readInt32BE(1);
      const code = String.fromCharCode(pending[0]!);
      const body = pending.subarray(5, size + 1);
      pending = pending.subarray(size + 1);
      if (code === 'R' && body.readInt32BE(0) === 3) socket.write(frontendMessage('p', cstring(password)));
      else onMessage(code, body);
    }
  });
  return socket;
}
