import type net from 'node:net';

/**
 * ssh2 hands the socket one SSH packet at a time (a ≤ 32 KiB data packet, then a window adjust,
 * then the next packet …), and each `write` is a syscall of its own. Corking the socket until the
 * end of the current tick sends what one incoming chunk produced as a single `writev` instead:
 * on a bulk transfer through Warden that is half the syscalls and a fraction of the kernel's
 * per-write cost. Nothing waits longer than the current tick, and `write`'s return value and
 * callbacks are Node's own.
 */
export function coalesceWrites(socket: net.Socket): void {
  const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
  let corked = false;
  const uncork = () => {
    corked = false;
    socket.uncork();
  };
  socket.write = ((...args: unknown[]) => {
    if (!corked) {
      corked = true;
      socket.cork();
      process.nextTick(uncork);
    }
    return write(...args);
  }) as net.Socket['write'];
}
