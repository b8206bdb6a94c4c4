/**
 * A TCP proxy on 127.0.0.1 that reads from its client side (the gateway, when it stands between
 * Warden and a target) at a limited rate: a slow target, for back-pressure tests. What the target
 * sends back is relayed as fast as it comes. The counters say how many bytes the proxy has taken
 * from the client side so far, which tells how far a sender got against a slow reader.
 */
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export interface StartSlowProxyOptions {
  /** Where to connect for each accepted connection. */
  readonly target: { readonly host: string; readonly port: number };
  /** Bytes per second read from the client side: `Infinity` (default) reads freely, 0 reads nothing. */
  readonly bytesPerSecond?: number;
}

export interface SlowProxy {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** Bytes read from the client side (and forwarded to the target) so far, over all connections. */
  readonly received: number;
  /** Bytes relayed from the target to the client side so far. */
  readonly sent: number;
  /** Changes the read rate at once, for every connection (0 stops reading; `Infinity` reads freely). */
  setRate(bytesPerSecond: number): void;
  /** Closes the listener and every connection. Safe to call twice. */
  stop(): Promise<void>;
}

/** How often a throttled connection gets its next allowance. */
const TICK_MS = 20;

/**
 * @example
 * const proxy = await startSlowProxy({ target: { host: '127.0.0.1', port: 5432 } });
 * // point the gateway's target at proxy.port; later: proxy.setRate(0) — the target stops hearing from the gateway
 * await proxy.stop();
 */
export async function startSlowProxy(options: StartSlowProxyOptions): Promise<SlowProxy> {
  let rate = options.bytesPerSecond ?? Infinity;
  let received = 0;
  let sent = 0;
  const pairs = new Set<{ client: Socket; target: Socket; pump(): void }>();

  const server: Server = createServer((client) => {
    const target = connect(options.target.port, options.target.host);
    // Paused mode throughout: bytes leave the socket's buffer only through read(), so what the
    // proxy has not read stays in the kernel and TCP tells the sender to wait.
    let allowance = 0;
    let targetFull = false;
    const pump = () => {
      while (!client.destroyed && !targetFull && client.readableLength > 0) {
        const budget = rate === Infinity ? client.readableLength : Math.min(Math.floor(allowance), client.readableLength);
        if (budget <= 0) return;
        const chunk = client.read(budget) as Buffer | null;
        if (chunk === null) return;
        forward(chunk);
      }
      // Nothing buffered: ask the socket for more ('readable' follows when it arrives).
      if (!client.destroyed && !targetFull && client.readableLength === 0) client.read(0);
    };
    const forward = (chunk: Buffer) => {
      received += chunk.length;
      if (rate !== Infinity) allowance -= chunk.length;
      if (!target.write(chunk)) {
        targetFull = true;
        target.once('drain', () => {
          targetFull = false;
          pump();
        });
      }
    };
    client.on('readable', pump);
    const timer = setInterval(() => {
      if (rate === Infinity) return;
      // No credit builds up while nothing is waiting: the rate is a ceiling, never a burst.
      const perTick = (rate * TICK_MS) / 1000;
      allowance = Math.min(allowance + perTick, perTick);
      pump();
    }, TICK_MS);
    target.on('data', (chunk: Buffer) => {
      sent += chunk.length;
      if (!client.write(chunk)) {
        target.pause();
        client.once('drain', () => target.resume());
      }
    });
    const pair = { client, target, pump };
    pairs.add(pair);
    const close = () => {
      clearInterval(timer);
      pairs.delete(pair);
      client.destroy();
      target.destroy();
    };
    client.on('close', close);
    target.on('close', close);
    client.on('error', close);
    target.on('error', close);
    target.once('connect', pump);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  let stopped: Promise<void> | undefined;
  return {
    host: '127.0.0.1',
    port: (server.address() as AddressInfo).port,
    get received() {
      return received;
    },
    get sent() {
      return sent;
    },
    setRate(bytesPerSecond: number) {
      if (!(bytesPerSecond >= 0)) throw new RangeError('bytesPerSecond is 0 or more');
      rate = bytesPerSecond;
      for (const pair of pairs) pair.pump();
    },
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        for (const { client, target } of pairs) {
          client.destroy();
          target.destroy();
        }
        server.close(() => resolve());
      });
      return stopped;
    },
  };
}
