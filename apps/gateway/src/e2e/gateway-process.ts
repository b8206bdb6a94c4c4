/**
 * A real gateway process (`node apps/gateway/dist/main.js serve --config …`) for tests that must
 * kill it: crash safety, a CLI talking to a running gateway.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

const REPO = path.resolve(__dirname, '../../../..');
export const GATEWAY_MAIN = path.join(REPO, 'apps/gateway/dist/main.js');

/** `npm test` builds dist before jest runs; a bare `npx jest` may not have. */
export function ensureGatewayBuilt(): void {
  if (existsSync(GATEWAY_MAIN)) return;
  const built = spawnSync('npx', ['tsc', '-b', 'tsconfig.build.json'], { cwd: REPO, stdio: 'inherit' });
  if (!existsSync(GATEWAY_MAIN)) throw new Error(`building the gateway failed (exit ${built.status}); run \`npx tsc -b tsconfig.build.json\``);
}

export interface GatewayProcess {
  readonly child: ChildProcess;
  /** Bound address of each connection's listener, and of the admin API (`admin`). */
  readonly ports: ReadonlyMap<string, number>;
  /** Everything the process wrote on stderr (JSON log lines). */
  stderr(): string;
  /** Resolves with the exit code or signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Start the gateway and wait until every one of `connections` (and the admin API, if asked) listens. */
export async function startGatewayProcess(configFile: string, connections: readonly string[], options: { admin?: boolean; timeoutMs?: number } = {}): Promise<GatewayProcess> {
  const child = spawn(process.execPath, [GATEWAY_MAIN, 'serve', '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  const ports = new Map<string, number>();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const wanted = [...connections, ...(options.admin ? ['admin'] : [])];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the gateway did not start within ${options.timeoutMs ?? 15_000} ms:\n${stderr}`)), options.timeoutMs ?? 15_000);
    let pending = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        try {
          const entry = JSON.parse(line) as { msg?: string; connection?: string; component?: string; address?: string };
          const name = entry.msg === 'listening' ? entry.connection : entry.msg === 'admin API listening' ? 'admin' : undefined;
          if (name && entry.address) ports.set(name, Number(entry.address.slice(entry.address.lastIndexOf(':') + 1)));
        } catch {
          // not a log line
        }
      }
      if (wanted.every((name) => ports.has(name))) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`the gateway exited (code ${code}, signal ${signal}) before listening:\n${stderr}`));
    });
  });
  return { child, ports, stderr: () => stderr, exited };
}
