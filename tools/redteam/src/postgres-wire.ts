/**
 * A bare PostgreSQL protocol 3.0 client for attacks no driver would send: any message in any
 * order, pipelined batches, names reused and closed at will. Authenticates with the token as the
 * cleartext password Warden asks for, then sends what it is given and reads the answers.
 * https://www.postgresql.org/docs/current/protocol-message-formats.html
 */
import net from 'node:net';
import { serialize } from 'pg-protocol';

/** One backend message, decoded as far as attacks need. */
export interface BackendMessage {
  /** The message type byte as a character: `Z` ReadyForQuery, `E` ErrorResponse, `C` CommandComplete, … */
  readonly code: string;
  /** `E`/`N`: SQLSTATE; `C`: the command tag; `D`: the row's text values joined by `|`; `Z`: the status byte. */
  readonly text: string;
  /** `E`/`N`: the message field. */
  readonly message?: string;
}

export interface PgWireSession {
  /** Sends the bytes and reads answers until `readyForQuery` ReadyForQuery messages (or the session ends). */
  exchange(bytes: Buffer | readonly Buffer[], readyForQuery: number): Promise<BackendMessage[]>;
  /** Whether the server ended the session. */
  readonly ended: boolean;
  close(): Promise<void>;
}

export { serialize as frontend };

/** Opens a session through Warden: StartupMessage, the token as PasswordMessage, up to the first ReadyForQuery. */
export async function openPgWireSession(options: { port: number; user: string; database: string; application: string; password: string; startup?: Readonly<Record<string, string>> }): Promise<PgWireSession> {
  const socket = net.connect(options.port, '127.0.0.1');
  let pending: Buffer = Buffer.alloc(0);
  let ended = false;
  const inbox: BackendMessage[] = [];
  let wake: (() => void) | undefined;
  const notify = (): void => {
    const waiting = wake;
    wake = undefined;
    waiting?.();
  };
  socket.on('data', (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 5) {
      const size = pending.readInt32BE(1);
      if (pending.length < size + 1) break;
      const code = String.fromCharCode(pending[0]!);
      const body = pending.subarray(5, size + 1);
      pending = pending.subarray(size + 1);
      if (code === 'R' && body.readInt32BE(0) === 3) socket.write(serialize.password(options.password));
      else inbox.push(decode(code, body));
    }
    notify();
  });
  socket.on('close', () => {
    ended = true;
    notify();
  });
  socket.on('error', () => undefined);

  const readUntil = async (readyForQuery: number): Promise<BackendMessage[]> => {
    const taken: BackendMessage[] = [];
    let seen = 0;
    const deadline = Date.now() + 15_000;
    for (;;) {
      while (inbox.length > 0) {
        const message = inbox.shift()!;
        taken.push(message);
        if (message.code === 'Z' && ++seen === readyForQuery) return taken;
      }
      if (ended || Date.now() > deadline) return taken;
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 250);
      });
    }
  };

  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.write(serialize.startup({ ...options.startup, user: options.user, database: options.database, application_name: options.application }));
  const greeting = await readUntil(1);
  const failure = greeting.find((message) => message.code === 'E');
  if (failure || greeting.at(-1)?.code !== 'Z') {
    socket.destroy();
    throw Object.assign(new Error(`raw session was not admitted: ${failure ? `${failure.text} ${failure.message ?? ''}` : 'no ReadyForQuery'}`), { refusal: failure });
  }
  return {
    exchange: (bytes, readyForQuery) => {
      socket.write(Buffer.isBuffer(bytes) ? bytes : Buffer.concat(bytes as Buffer[]));
      return readUntil(readyForQuery);
    },
    get ended() {
      return ended;
    },
    close: async () => {
      if (!ended) socket.end(serialize.end());
      await new Promise<void>((resolve) => (ended ? resolve() : socket.once('close', () => resolve())));
    },
  };
}

function decode(code: string, body: Buffer): BackendMessage {
  switch (code) {
    case 'E':
    case 'N': {
      const fields = new Map<string, string>();
      for (const field of body.toString('utf8').split('\0')) if (field.length > 1) fields.set(field[0]!, field.slice(1));
      const message = fields.get('M');
      return { code, text: fields.get('C') ?? '', ...(message === undefined ? {} : { message }) };
    }
    case 'C':
      return { code, text: body.toString('utf8', 0, body.length - 1) };
    case 'D': {
      const values: string[] = [];
      let offset = 2;
      for (let column = 0; column < body.readInt16BE(0); column++) {
        const width = body.readInt32BE(offset);
        values.push(width < 0 ? 'NULL' : body.toString('utf8', offset + 4, offset + 4 + width));
        offset += 4 + Math.max(width, 0);
      }
      return { code, text: values.join('|') };
    }
    case 'Z':
      return { code, text: String.fromCharCode(body[0]!) };
    default:
      return { code, text: '' };
  }
}
