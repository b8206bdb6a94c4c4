/**
 * An evidence bundle as one file: a POSIX ustar archive (the format every `tar` reads), so that
 * `warden evidence export --out evidence.tar` hands an auditor a single self-contained file and
 * `warden evidence check-bundle evidence.tar` verifies it as it is.
 *
 * Only what bundles hold is supported: regular files and directories with relative names of at most
 * 100 bytes. Reading refuses anything else (absolute names, `..`, links, devices): an archive from
 * elsewhere cannot write outside the directory it is extracted into.
 * https://pubs.opengroup.org/onlinepubs/9699919799/utilities/pax.html#tag_20_92_13_06
 */
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

const BLOCK = 512;

/** Writes every file under `dir` (sorted, recursively) into the ustar archive `file`. */
export async function writeBundleArchive(dir: string, file: string): Promise<void> {
  const entries = (await readdir(dir, { recursive: true, withFileTypes: true }))
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'))
    .sort();
  const parts: Buffer[] = [];
  for (const name of entries) {
    const data = await readFile(path.join(dir, name));
    parts.push(header(name, data.length), data, Buffer.alloc((BLOCK - (data.length % BLOCK)) % BLOCK));
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  await writeFile(file, Buffer.concat(parts), { mode: 0o600 });
}

/** Extracts the ustar archive `file` into `dir`; throws on an entry a bundle never holds. */
export async function extractBundleArchive(file: string, dir: string): Promise<void> {
  const archive = await readFile(file);
  let offset = 0;
  while (offset + BLOCK <= archive.length) {
    const block = archive.subarray(offset, offset + BLOCK);
    if (block.every((byte) => byte === 0)) return;
    if (block.toString('latin1', 257, 262) !== 'ustar') throw new Error(`${file} is not a ustar archive`);
    const expected = Number.parseInt(field(block, 148, 8), 8);
    if (checksum(block) !== expected) throw new Error(`${file}: a header's checksum is wrong at byte ${offset}`);
    const prefix = field(block, 345, 155);
    const name = (prefix ? `${prefix}/` : '') + field(block, 0, 100);
    const size = Number.parseInt(field(block, 124, 12) || '0', 8);
    const type = String.fromCharCode(block[156]!);
    if (!Number.isSafeInteger(size) || size < 0 || offset + BLOCK + size > archive.length) throw new Error(`${file}: entry ${JSON.stringify(name)} runs past the end`);
    if (name.startsWith('/') || name.split('/').some((part) => part === '..' || part === '')) throw new Error(`${file}: entry name ${JSON.stringify(name)} is not a plain relative path`);
    if (type === '5') await mkdir(path.join(dir, name), { recursive: true });
    else if (type === '0' || type === '\0') {
      await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
      await writeFile(path.join(dir, name), archive.subarray(offset + BLOCK, offset + BLOCK + size));
    } else throw new Error(`${file}: entry ${JSON.stringify(name)} is not a regular file or directory`);
    offset += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
  }
  throw new Error(`${file} ends without the end-of-archive blocks`);
}

function header(name: string, size: number): Buffer {
  if (Buffer.byteLength(name) > 100) throw new Error(`bundle file name too long for the archive: ${name}`);
  const block = Buffer.alloc(BLOCK);
  block.write(name, 0, 100, 'utf8');
  block.write('0000644\0', 100, 'latin1');
  block.write('0000000\0', 108, 'latin1');
  block.write('0000000\0', 116, 'latin1');
  block.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  block.write(`${Math.floor(Date.now() / 1000).toString(8).padStart(11, '0')}\0`, 136, 'latin1');
  block.write('0', 156, 'latin1');
  block.write('ustar\0', 257, 'latin1');
  block.write('00', 263, 'latin1');
  block.write(`${checksum(block).toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return block;
}

/** The header checksum: the sum of its bytes with the checksum field read as spaces. */
function checksum(block: Buffer): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  return sum;
}

function field(block: Buffer, start: number, length: number): string {
  const raw = block.subarray(start, start + length);
  const end = raw.indexOf(0);
  return raw.toString('utf8', 0, end === -1 ? length : end).trim();
}
