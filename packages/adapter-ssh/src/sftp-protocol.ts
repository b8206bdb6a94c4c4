/**
 * The client side of SFTP version 3 (draft-ietf-secsh-filexfer-02, as OpenSSH speaks it), as much
 * as Warden needs to decide on file operations: a framer that turns the subsystem's byte stream into
 * whole packets, a decoder for the requests that read or change files, and the STATUS reply that
 * refuses one. Free of sockets: bytes in, packets and decisions out.
 * https://datatracker.ietf.org/doc/html/draft-ietf-secsh-filexfer-02
 * OpenSSH's extensions: https://cvsweb.openbsd.org/src/usr.bin/ssh/PROTOCOL (section 4).
 *
 * Packet layout (§3):
 *   uint32  length   (of what follows)
 *   byte    type
 *   uint32  request-id   (every request but SSH_FXP_INIT)
 *   ...     type-specific data
 */
import path from 'node:path';
import { WardenError, type Action, type Classification } from '@warden/core';
import { SshReader, sshString, sshUint32 } from './ssh-wire';

/** Packet types (§3). */
export const SFTP_PACKET = {
  SSH_FXP_INIT: 1,
  SSH_FXP_VERSION: 2,
  SSH_FXP_OPEN: 3,
  SSH_FXP_CLOSE: 4,
  SSH_FXP_READ: 5,
  SSH_FXP_WRITE: 6,
  SSH_FXP_LSTAT: 7,
  SSH_FXP_FSTAT: 8,
  SSH_FXP_SETSTAT: 9,
  SSH_FXP_FSETSTAT: 10,
  SSH_FXP_OPENDIR: 11,
  SSH_FXP_READDIR: 12,
  SSH_FXP_REMOVE: 13,
  SSH_FXP_MKDIR: 14,
  SSH_FXP_RMDIR: 15,
  SSH_FXP_REALPATH: 16,
  SSH_FXP_STAT: 17,
  SSH_FXP_RENAME: 18,
  SSH_FXP_READLINK: 19,
  SSH_FXP_SYMLINK: 20,
  SSH_FXP_STATUS: 101,
  SSH_FXP_EXTENDED: 200,
} as const;

/** `pflags` of SSH_FXP_OPEN (§6.3). */
export const SFTP_OPEN_FLAGS = {
  SSH_FXF_READ: 0x01,
  SSH_FXF_WRITE: 0x02,
  SSH_FXF_APPEND: 0x04,
  SSH_FXF_CREAT: 0x08,
  SSH_FXF_TRUNC: 0x10,
  SSH_FXF_EXCL: 0x20,
} as const;

/** Status codes (§7). */
export const SFTP_STATUS = {
  SSH_FX_OK: 0,
  SSH_FX_EOF: 1,
  SSH_FX_NO_SUCH_FILE: 2,
  SSH_FX_PERMISSION_DENIED: 3,
  SSH_FX_FAILURE: 4,
} as const;

/**
 * SSH_FXP_EXTENDED requests that read, or only touch handles an OPEN already decided: passed. Any
 * other extended request is decided as `unknown` (refused unless a rule allows it).
 */
const PASSIVE_EXTENSIONS: ReadonlySet<string> = new Set([
  'statvfs@openssh.com',
  'fstatvfs@openssh.com',
  'fsync@openssh.com',
  'limits@openssh.com',
  'expand-path@openssh.com',
  'home-directory',
  'users-groups-by-id@openssh.com',
  'copy-data',
]);

/** Largest packet accepted from the client; OpenSSH's sftp-server allows 256 KiB. */
export const MAX_SFTP_PACKET = 1024 * 1024;

/**
 * Splits the client's byte stream into whole packets (each with its length prefix), however the
 * bytes were chunked. Throws a `protocol` WardenError on a packet over `MAX_SFTP_PACKET`.
 */
export class SftpPacketFramer {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    let data = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const packets: Buffer[] = [];
    while (data.length >= 4) {
      const length = data.readUInt32BE(0);
      if (length > MAX_SFTP_PACKET) throw new WardenError('protocol', `sftp packet of ${length} bytes is over the ${MAX_SFTP_PACKET}-byte limit`);
      if (data.length < 4 + length) break;
      packets.push(data.subarray(0, 4 + length));
      data = data.subarray(4 + length);
    }
    this.pending = data;
    return packets;
  }
}

/** A request Warden decides on before forwarding it. */
export interface SftpOperation {
  readonly id: number;
  /** e.g. `open`, `remove`, `rename`, `posix-rename@openssh.com`. */
  readonly operation: string;
  /** The paths as the client sent them. */
  readonly paths: readonly string[];
  /** The command text for the audit log, e.g. `open /etc/passwd (read)`. */
  readonly text: string;
  readonly classification: Classification;
  /** An OPEN with the read flag: file contents will flow to the client. */
  readonly readsFile?: true;
}

/**
 * Decodes one whole packet. Returns the operation to decide, or undefined for a packet that passes
 * (reads by handle, listings, stat, INIT, …). Throws a `protocol` WardenError on a malformed request.
 */
export function decodeSftpRequest(packet: Buffer): SftpOperation | undefined {
  try {
    const reader = new SshReader(packet);
    reader.uint32(); // length
    const type = reader.byte();
    if (type === SFTP_PACKET.SSH_FXP_INIT) return undefined;
    const id = reader.uint32();
    switch (type) {
      case SFTP_PACKET.SSH_FXP_OPEN: {
        const file = reader.text();
        const pflags = reader.uint32();
        const writes = (pflags & ~SFTP_OPEN_FLAGS.SSH_FXF_READ) !== 0;
        const modes = [pflags & SFTP_OPEN_FLAGS.SSH_FXF_READ ? 'read' : '', writes ? 'write' : ''].filter(Boolean).join('+') || 'none';
        const opened = operation(id, 'open', [file], writes ? 'write' : 'read', `(${modes})`);
        return pflags & SFTP_OPEN_FLAGS.SSH_FXF_READ ? { ...opened, readsFile: true } : opened;
      }
      case SFTP_PACKET.SSH_FXP_REMOVE:
        return operation(id, 'remove', [reader.text()], 'write');
      case SFTP_PACKET.SSH_FXP_RENAME:
        return operation(id, 'rename', [reader.text(), reader.text()], 'write');
      case SFTP_PACKET.SSH_FXP_MKDIR:
        return operation(id, 'mkdir', [reader.text()], 'write');
      case SFTP_PACKET.SSH_FXP_RMDIR:
        return operation(id, 'rmdir', [reader.text()], 'write');
      case SFTP_PACKET.SSH_FXP_SETSTAT:
        return operation(id, 'setstat', [reader.text()], 'write');
      case SFTP_PACKET.SSH_FXP_SYMLINK:
        // OpenSSH sends (targetpath, linkpath), the reverse of the draft; both are objects either way.
        return operation(id, 'symlink', [reader.text(), reader.text()], 'write');
      case SFTP_PACKET.SSH_FXP_EXTENDED: {
        const name = reader.text();
        if (name === 'posix-rename@openssh.com' || name === 'hardlink@openssh.com') return operation(id, name, [reader.text(), reader.text()], 'write');
        if (name === 'lsetstat@openssh.com') return operation(id, name, [reader.text()], 'write');
        if (PASSIVE_EXTENSIONS.has(name)) return undefined;
        return operation(id, name.slice(0, 100), [], 'unknown', '(extension Warden does not know)');
      }
      default:
        return undefined;
    }
  } catch (error) {
    throw new WardenError('protocol', 'malformed sftp request', { cause: error });
  }
}

/** SSH_FXP_STATUS (§7): `uint32 id, uint32 code, string message, string language tag`. */
export function encodeSftpStatus(id: number, code: number, message: string): Buffer {
  const body = Buffer.concat([Buffer.from([SFTP_PACKET.SSH_FXP_STATUS]), sshUint32(id), sshUint32(code), sshString(message), sshString('en')]);
  return Buffer.concat([sshUint32(body.length), body]);
}

/**
 * The object a path names for policy: `sftp:` + the normalized path. Relative paths are relative to
 * the target account's home and become `sftp:~/…`; one that climbs out of it (`../x`) cannot be
 * placed and makes the operation `unknown` (fail closed).
 */
export function sftpObject(raw: string): { object: string; placed: boolean } {
  if (raw.startsWith('/')) return { object: `sftp:${path.posix.normalize(raw)}`, placed: true };
  const normalized = path.posix.normalize(raw === '' ? '.' : raw);
  if (normalized === '..' || normalized.startsWith('../')) return { object: `sftp:~/${normalized}`, placed: false };
  return { object: normalized === '.' ? 'sftp:~' : `sftp:~/${normalized}`, placed: true };
}

function operation(id: number, name: string, paths: string[], action: Action, suffix?: string): SftpOperation {
  const objects = paths.map(sftpObject);
  const placed = objects.every((object) => object.placed);
  const effective: Action = placed ? action : 'unknown';
  const note = placed ? `sftp ${name}` : `sftp ${name}: a relative path leaves the home directory`;
  const names = objects.map((object) => object.object);
  return {
    id,
    operation: name,
    paths,
    text: [name, ...paths.map((p) => JSON.stringify(p).slice(1, -1)), ...(suffix ? [suffix] : [])].join(' '),
    classification: { action: effective, objects: names, bulk: false, statementCount: 1, statements: [{ action: effective, objects: names, bulk: false, note }] },
  };
}
