/** What an SSH exec or shell channel sent back before it closed. */
export interface SshChannelOutput {
  readonly stdout: string;
  readonly stderr: string;
  /** The exit status the server sent, null when it sent none (a signal, a refused channel). */
  readonly code: number | null;
}

/** The parts of an ssh2 `ClientChannel` read here: tools/testing needs no ssh2 dependency for it. */
interface SshChannel {
  on(event: 'data', listener: (data: Buffer) => void): unknown;
  on(event: 'exit', listener: (code: number | null) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  readonly stderr: { on(event: 'data', listener: (data: Buffer) => void): unknown };
}

/**
 * Collects a channel's stdout, stderr and exit status; resolves when the channel closes (after
 * `exit`, so the status is known by then).
 */
export function collectChannelOutput(stream: SshChannel): Promise<SshChannelOutput> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let code: number | null = null;
    stream.on('data', (data: Buffer) => (stdout += data.toString()));
    stream.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
    stream.on('exit', (exitCode: number | null) => (code = exitCode));
    stream.on('close', () => resolve({ stdout, stderr, code }));
  });
}
