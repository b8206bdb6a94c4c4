import net from 'node:net';
import { connectTarget } from '../../../packages/adapter-postgres/src/target-connection';
import { parsePostgresTarget } from '../../../packages/adapter-postgres/src/postgres-target';

async function fake(on: (s: net.Socket) => void) {
  const server = net.createServer((s) => { s.on('error', () => undefined); on(s); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as net.AddressInfo).port };
}
const t = (port: number) => parsePostgresTarget({ host: '127.0.0.1', port, database: 'postgres', user: 'u', password: 'p', ssl: 'require' });

it('reset during SSLRequest', async () => {
  const { server, port } = await fake((s) => s.once('data', () => s.resetAndDestroy()));
  const r = await connectTarget({ target: t(port), parameters: {}, timeoutMs: 1000 }).then(() => 'ok', (e: Error) => 'rejected: ' + e.message);
  console.log(r);
  server.close();
});

it('S then silence', async () => {
  const { server, port } = await fake((s) => s.once('data', () => s.write('S')));
  const r = await Promise.race([connectTarget({ target: t(port), parameters: {}, timeoutMs: 500 }).then(() => 'ok', (e: Error) => 'rejected: ' + e.message), new Promise((r) => setTimeout(() => r('still pending after 3 s'), 3000))]);
  console.log(r);
  server.close();
});
