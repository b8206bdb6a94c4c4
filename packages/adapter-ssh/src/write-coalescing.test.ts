import net from 'node:net';
import { once } from 'node:events';
import { coalesceWrites } from './write-coalescing';

/** A connected pair on loopback: `client` (coalescing or not) writes, `received` collects. */
async function connectedPair(coalesce: boolean) {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  const accepted = once(server, 'connection');
  const client = net.connect({ host: '127.0.0.1', port });
  await once(client, 'connect');
  const [peer] = (await accepted) as [net.Socket];
  if (coalesce) coalesceWrites(client);
  const received: Buffer[] = [];
  peer.on('data', (chunk: Buffer) => received.push(chunk));
  // Count what reaches the socket's handle: one call per `writev` or per single `write`.
  const handleWrites: number[] = [];
  const writev = client._writev?.bind(client);
  const writeOne = client._write.bind(client);
  client._writev = (chunks, callback) => {
    handleWrites.push(chunks.length);
    writev!(chunks, callback);
  };
  client._write = (chunk, encoding, callback) => {
    handleWrites.push(1);
    writeOne(chunk, encoding, callback);
  };
  const close = async () => {
    client.destroy();
    peer.destroy();
    server.close();
    await once(server, 'close');
  };
  return { client, peer, received, handleWrites, close };
}

const packets = (count: number, size: number) => Array.from({ length: count }, (_, i) => Buffer.alloc(size, i + 1));

describe('coalesceWrites', () => {
  it('hands the packets written in one tick to the kernel as a single writev, bytes in order', async () => {
    const pair = await connectedPair(true);
    const sent = packets(5, 32 * 1024);
    const done = sent.map((packet) => new Promise<void>((resolve, reject) => pair.client.write(packet, (error) => (error ? reject(error) : resolve()))));
    await Promise.all(done);
    const total = sent.reduce((sum, p) => sum + p.length, 0);
    while (pair.received.reduce((sum, c) => sum + c.length, 0) < total) await once(pair.peer, 'data');
    expect(Buffer.concat(pair.received).equals(Buffer.concat(sent))).toBe(true);
    expect(pair.handleWrites).toEqual([5]);
    await pair.close();
  });

  it('without it, Node hands the first packet to the kernel on its own (what the coalescing saves)', async () => {
    const pair = await connectedPair(false);
    const sent = packets(5, 32 * 1024);
    await Promise.all(sent.map((packet) => new Promise<void>((resolve) => pair.client.write(packet, () => resolve()))));
    expect(pair.handleWrites[0]).toBe(1);
    expect(pair.handleWrites.length).toBeGreaterThan(1);
    await pair.close();
  });

  it('does not hold a write past the tick it was made in', async () => {
    const pair = await connectedPair(true);
    pair.client.write(Buffer.from('first'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(pair.handleWrites).toEqual([1]);
    pair.client.write(Buffer.from('second'));
    pair.client.write(Buffer.from('third'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(pair.handleWrites).toEqual([1, 2]);
    while (Buffer.concat(pair.received).toString() !== 'firstsecondthird') await once(pair.peer, 'data');
    await pair.close();
  });
});
