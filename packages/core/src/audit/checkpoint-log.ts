/**
 * `<dataDir>/checkpoints.log`: one signed checkpoint per JSON line, plus the unsigned state the
 * gateway resumes its Merkle tree from at the next start (so a restart reads only the records
 * after the last checkpoint, not the whole log).
 */
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { WardenError } from '../errors';
import { isCheckpoint, signCheckpoint, type AuditSigningKey, type Checkpoint } from './checkpoint';
import type { Clock } from '../clock';
import { IncrementalMerkleTree } from './merkle-tree';
import { readLinesBackward } from './read-lines-backward';

export const CHECKPOINTS_FILE = 'checkpoints.log';

/** Where the tree stood at a checkpoint; not signed: the resuming gateway re-derives the root from it. */
export interface TreeResumeState {
  /** The segment record `size` is in (absent in checkpoints from before segments: 1). */
  readonly segment?: number;
  /** Byte length of that segment after record `size`. */
  readonly offset: number;
  /** `hash` of record `size`. */
  readonly lastHash: string;
  /** Subtree roots (see `IncrementalMerkleTree`), hex. */
  readonly frontier: readonly string[];
}

export interface CheckpointLine extends Checkpoint {
  readonly resume?: TreeResumeState;
}

/** A durable point of the log: the tree over the first `size` records, and where they end. */
export interface DurableTreeState {
  readonly size: number;
  readonly frontier: readonly Buffer[];
  readonly segment: number;
  readonly offset: number;
  readonly lastHash: string;
}

/** Only the five signed fields, in a fixed order: what witnesses and bundles receive. */
export function signedPart(checkpoint: Checkpoint): Checkpoint {
  const { size, root, time, keyId, signature } = checkpoint;
  return { size, root, time, keyId, signature };
}

/** Every well-formed checkpoint line of a file, in file order; a torn or foreign line is skipped with a note. */
export async function readCheckpoints(file: string): Promise<{ checkpoints: CheckpointLine[]; problems: string[] }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { checkpoints: [], problems: [] };
    throw error;
  }
  const checkpoints: CheckpointLine[] = [];
  const problems: string[] = [];
  const lines = text.split('\n');
  for (const [index, line] of lines.entries()) {
    if (line === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      problems.push(`${file} line ${index + 1}: ${index === lines.length - 1 ? 'torn last line' : 'unparseable'}`);
      continue;
    }
    if (isCheckpoint(parsed)) checkpoints.push(parsed as CheckpointLine);
    else problems.push(`${file} line ${index + 1}: not a checkpoint`);
  }
  return { checkpoints, problems };
}

/** The last complete checkpoint line with resume state, if any. */
export async function readLastCheckpoint(file: string): Promise<CheckpointLine | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const { size } = await handle.stat();
    const lines = readLinesBackward(handle, size);
    await lines.next(); // bytes after the last newline: a torn write, or nothing
    for (let next = await lines.next(); !next.done; next = await lines.next()) {
      try {
        const parsed: unknown = JSON.parse(next.value.bytes.toString('utf8'));
        if (isCheckpoint(parsed) && (parsed as CheckpointLine).resume) return parsed as CheckpointLine;
      } catch {
        // A damaged line: look further back.
      }
    }
    return undefined;
  } finally {
    await handle.close();
  }
}

export interface CheckpointWriterOptions {
  readonly file: string;
  readonly key: AuditSigningKey;
  readonly clock: Clock;
  /** Also hand each checkpoint to an external witness (a file elsewhere, a webhook). */
  readonly witness?: (checkpoint: Checkpoint) => Promise<void>;
  readonly onError?: (error: WardenError) => void;
}

/**
 * Signs and stores checkpoints one at a time, off the append path: a slow witness delays the next
 * checkpoint, never a command. A failure is reported through `onError` and the next checkpoint is
 * tried as usual (the records themselves are safe in the log; only the extra evidence is late).
 */
export class CheckpointWriter {
  private chain: Promise<void> = Promise.resolve();
  private handle: Promise<FileHandle> | undefined;
  private written = 0;

  constructor(private readonly options: CheckpointWriterOptions) {}

  /** How many checkpoints this writer stored. */
  get count(): number {
    return this.written;
  }

  write(state: DurableTreeState): Promise<void> {
    this.chain = this.chain.then(() => this.writeOne(state)).catch((error: unknown) => {
      const wardenError = error instanceof WardenError ? error : new WardenError('audit-unavailable', `a checkpoint could not be written: ${(error as Error).message}`, { cause: error });
      this.options.onError?.(wardenError);
    });
    return this.chain;
  }

  async close(): Promise<void> {
    await this.chain;
    const handle = this.handle;
    this.handle = undefined;
    if (handle) await (await handle).close().catch(() => undefined);
  }

  private async writeOne(state: DurableTreeState): Promise<void> {
    const tree = new IncrementalMerkleTree(state.size, state.frontier);
    const checkpoint = signCheckpoint({ size: state.size, root: tree.root().toString('hex'), time: this.options.clock.now().toISOString(), keyId: this.options.key.keyId }, this.options.key.privateKey);
    const line: CheckpointLine = { ...checkpoint, resume: { segment: state.segment, offset: state.offset, lastHash: state.lastHash, frontier: state.frontier.map((node) => node.toString('hex')) } };
    this.handle ??= open(this.options.file, 'a', 0o600);
    const handle = await this.handle;
    await handle.write(`${JSON.stringify(line)}\n`);
    await handle.datasync();
    this.written++;
    if (this.options.witness) await this.options.witness(signedPart(checkpoint));
  }
}
