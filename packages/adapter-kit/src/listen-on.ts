import type { AddressInfo } from 'node:net';
import { WardenError, type ListenAddress, type LogFields, type Logger } from '@warden/core';

/** A server that listens like `net.Server` does (net, tls, https, ssh2's Server). */
export interface Listenable {
  once(event: 'error', listener: (error: NodeJS.ErrnoException) => void): unknown;
  listen(port: number, host: string, callback: () => void): unknown;
  address(): AddressInfo | string | null;
}

/**
 * Bind a connection's listener and log one `listening` line. A bind that fails (port in use, no
 * such address) is a configuration error naming the address.
 *
 * @example
 * const bound = await listenOn(net.createServer(onClient), context.connection.listen, context.log, { protocol: 'postgres' });
 */
export async function listenOn(server: Listenable, listen: ListenAddress, log: Logger, fields: LogFields): Promise<ListenAddress> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) =>
      reject(new WardenError('config', `cannot listen on ${listen.host}:${listen.port}: ${error.code ?? error.message}`, { cause: error })),
    );
    server.listen(listen.port, listen.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  log.info('listening', { ...fields, address: `${address.address}:${address.port}` });
  return { host: address.address, port: address.port };
}
