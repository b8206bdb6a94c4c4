import { WardenError } from '@warden/core';
import net from 'node:net';
import { Client } from 'ssh2';
import { fingerprint } from './host-key';
import type { SshTarget } from './ssh-target';
import { coalesceWrites } from './write-coalescing';

/**
 * Connects to the target as Warden (its own key or password), accepting only the pinned host key.
 * Rejects with a `target-unavailable` WardenError whose message is safe to show the client.
 */
export function connectTarget(target: SshTarget): Promise<Client> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    let presented: string | undefined;
    const fail = (error: Error & { level?: string }) => {
      client.end();
      if (presented !== undefined && presented !== target.hostKey) {
        reject(
          new WardenError('target-unavailable', `the target's host key (${presented}) does not match the pinned hostKey; Warden refuses to connect`, { cause: error }),
        );
      } else if (error.level === 'client-authentication') {
        reject(new WardenError('target-unavailable', 'the target refused Warden\'s credential', { cause: error }));
      } else {
        reject(new WardenError('target-unavailable', `cannot reach the target: ${error.message}`, { cause: error }));
      }
    };
    client.once('ready', () => {
      client.removeListener('error', fail);
      resolve(client);
    });
    client.once('error', fail);
    // Warden opens the socket itself so that it can coalesce ssh2's per-packet writes.
    const socket = net.connect({ host: target.host, port: target.port });
    coalesceWrites(socket);
    client.connect({
      sock: socket,
      username: target.user,
      readyTimeout: target.connectTimeoutMs,
      hostVerifier: (key: Buffer) => {
        presented = fingerprint(key);
        return presented === target.hostKey;
      },
      ...(target.privateKey === undefined ? {} : { privateKey: target.privateKey }),
      ...(target.passphrase === undefined ? {} : { passphrase: target.passphrase }),
      ...(target.password === undefined ? {} : { password: target.password }),
    });
  });
}
