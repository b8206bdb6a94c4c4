/**
 * Raw protocol messages, pipelined, through Warden or straight to the target: for tests that send
 * what no client library sends (a Bind of a name the target never prepared, several Syncs in one
 * write) and compare the backend's answers one by one. Each test file decodes the answers into
 * what it compares.
 */
import type net from 'node:net';
import { serialize } from 'pg-protocol';
import type { TestGateway } from './harness';
import { PG } from './harness';
import { openRawSession } from './postgres-raw-session';

/** Turns one backend message into the answer a test compares; `undefined` leaves it out. */
export type DecodeAnswer<A extends { readonly type: string }> = (type: string, body: Buffer) => A | undefined;

export class PipelinedSession<A extends { readonly type: string }> {
  private readonly answers: A[] = [];
  private waiter: (() => void) | undefined;
  private failure: Error | undefined;
  private readonly socket: net.Socket;

  private constructor(port: number, parameters: Readonly<Record<string, string>>, password: string, decode: DecodeAnswer<A>) {
    this.socket = openRawSession(port, parameters, password, (type, body) => {
      const answer = decode(type, body);
      if (answer) this.answers.push(answer);
      this.waiter?.();
    });
    this.socket.on('error', (error) => {
      this.failure = error;
      this.waiter?.();
    });
  }

  /** A session through the gateway as `user` in `groups` (database `clinic`), once it is ready for queries. */
  static async viaWarden<A extends { readonly type: string }>(gateway: TestGateway, user: string, groups: string[], decode: DecodeAnswer<A>): Promise<PipelinedSession<A>> {
    const session = new PipelinedSession(gateway.port, { user, database: 'clinic' }, await gateway.token(user, groups), decode);
    await session.untilReady(1);
    return session;
  }

  /** A session straight to `database` on the machine's PostgreSQL as the superuser, once it is ready for queries. */
  static async direct<A extends { readonly type: string }>(database: string, decode: DecodeAnswer<A>): Promise<PipelinedSession<A>> {
    // The machine's PostgreSQL trusts local connections: it never asks for the password.
    const session = new PipelinedSession(PG.port, { user: PG.user, database }, '', decode);
    await session.untilReady(1);
    return session;
  }

  /** Sends the messages in one write (pipelined) and returns the answers up to `ready` ReadyForQuery. */
  async exchange(ready: number, ...messages: Buffer[]): Promise<A[]> {
    this.socket.write(Buffer.concat(messages));
    return this.untilReady(ready);
  }

  /** The answers up to the `count`th ReadyForQuery, once it has come. */
  async untilReady(count: number): Promise<A[]> {
    let upTo = 0;
    await this.until((answers) => {
      let seen = 0;
      for (upTo = 0; upTo < answers.length && seen < count; upTo++) if (answers[upTo]!.type === 'Z') seen++;
      return seen === count;
    });
    return this.answers.splice(0, upTo);
  }

  private until(done: (answers: readonly A[]) => boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer; got ${JSON.stringify(this.answers)}`)), 5000);
      const check = () => {
        if (this.failure) {
          clearTimeout(timer);
          this.waiter = undefined;
          reject(this.failure);
          return;
        }
        if (!done(this.answers)) return;
        clearTimeout(timer);
        this.waiter = undefined;
        resolve();
      };
      this.waiter = check;
      check();
    });
  }

  close(): void {
    this.socket.end(serialize.end());
  }
}
