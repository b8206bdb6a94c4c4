import type { Writable } from 'node:stream';

/** Resolves once `stream` has drained its write buffer, or has failed or closed (so a waiter never hangs). */
export function whenDrained(stream: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done).off('error', done).off('close', done);
      resolve();
    };
    stream.on('drain', done).on('error', done).on('close', done);
  });
}
