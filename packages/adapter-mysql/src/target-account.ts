/**
 * Who Warden's account is on a MySQL/MariaDB target, for `warden doctor`: `SHOW GRANTS` (the
 * current user's grants, and its active role's) on a short-lived connection with Warden's
 * credentials. A global `ALL PRIVILEGES` or `SUPER` grant makes it a superuser.
 * https://mariadb.com/kb/en/show-grants/
 */
import { WardenError, type TargetAccount } from '@warden/core';
import type { MysqlTarget } from './mysql-target';
import { PayloadWriter, payloadOf } from './packet-codec';
import { PacketSplitter, Visit, type Packet } from './packet-splitter';
import { Command, DEFAULT_COLLATION, PacketHeader } from './protocol';
import { readErr } from './server-messages';
import { connectTarget } from './target-connection';

/** A grant list is a few KiB at most. */
const MAX_ANSWER_BYTES = 1024 * 1024;

export async function inspectMysqlTarget(target: MysqlTarget): Promise<TargetAccount> {
  const connection = await connectTarget({
    target,
    clientCapabilities: 0,
    collation: DEFAULT_COLLATION,
    database: target.database,
    setup: [],
    attributes: new Map([['program_name', 'warden:doctor']]),
  });
  const { socket } = connection;
  try {
    const grants = await new Promise<string[]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new WardenError('target-unavailable', 'SHOW GRANTS did not answer in time')), target.connectTimeoutMs);
      const answer = new FirstColumn((result) => {
        clearTimeout(timer);
        if (result instanceof Error) reject(result);
        else resolve(result);
      });
      const splitter = new PacketSplitter((packet) => {
        answer.feed(packet);
        return Visit.Continue;
      });
      socket.on('error', (error) => reject(error));
      socket.on('close', () => reject(new WardenError('target-unavailable', 'the target closed the connection during SHOW GRANTS')));
      socket.on('data', (chunk: Buffer) => {
        try {
          splitter.push(chunk);
        } catch (error) {
          reject(error);
        }
      });
      socket.write(new PayloadWriter().u8(Command.COM_QUERY).bytes('SHOW GRANTS').packet(0));
    });
    return accountOf(grants, target.user);
  } finally {
    socket.destroy();
  }
}

/** A global grant: its privilege list (`GRANT <privileges> ON *.* TO …`). */
const GLOBAL_GRANT = /^GRANT\s+(.+?)\s+ON\s+\*\.\*\s+TO\s/i;

/** `ALL [PRIVILEGES]` or a list naming `SUPER`, on `*.*`. */
function isSuperuserGrant(line: string): boolean {
  const privileges = GLOBAL_GRANT.exec(line)?.[1];
  if (privileges === undefined) return false;
  return /^ALL(?:\s+PRIVILEGES)?$/i.test(privileges.trim()) || privileges.split(',').some((privilege) => privilege.trim().toUpperCase() === 'SUPER');
}

/** Reads the grant lines (exported for the unit test of the rule). */
export function accountOf(grants: readonly string[], configuredUser: string): TargetAccount {
  const user = /\sTO\s+(\S+)/i.exec(grants[0] ?? '')?.[1] ?? configuredUser;
  const superGrant = grants.find(isSuperuserGrant);
  return superGrant === undefined
    ? { user, superuser: false, evidence: `no global ALL PRIVILEGES or SUPER grant for ${user}` }
    : { user, superuser: true, evidence: superGrant.replace(/\s(IDENTIFIED\s.*?)(?=\sWITH\s|$)/i, '') };
}

/**
 * The first column of a text result set, without CLIENT_DEPRECATE_EOF:
 *   column count | column definitions | EOF | rows | EOF (or ERR at any point).
 */
class FirstColumn {
  private columnCount = -1;
  private columnsSeen = 0;
  private readonly values: string[] = [];
  private phase: 'count' | 'columns' | 'rows' | 'done' = 'count';
  private bytes = 0;

  constructor(private readonly done: (result: string[] | Error) => void) {}

  feed(packet: Packet): void {
    if (this.phase === 'done') return;
    this.bytes += packet.end - packet.start;
    if (this.bytes > MAX_ANSWER_BYTES || packet.continues) return this.finish(new WardenError('target-unavailable', 'SHOW GRANTS answered with more than expected'));
    const header = packet.buffer[packet.start + 4];
    if (header === PacketHeader.ERR) {
      const error = readErr(payloadOf(packet.buffer, packet.start, packet.end));
      return this.finish(new WardenError('target-unavailable', `SHOW GRANTS failed: ${error.message} (${error.code})`));
    }
    const isEof = header === PacketHeader.EOF && packet.end - packet.start < 4 + 9;
    switch (this.phase) {
      case 'count':
        if (header === PacketHeader.OK) return this.finish(new WardenError('target-unavailable', 'SHOW GRANTS returned no result'));
        this.columnCount = payloadOf(packet.buffer, packet.start, packet.end).lenenc();
        this.phase = 'columns';
        return;
      case 'columns':
        if (isEof) {
          if (this.columnsSeen !== this.columnCount || this.columnCount < 1) return this.finish(new WardenError('target-unavailable', 'SHOW GRANTS answered with a malformed result'));
          this.phase = 'rows';
          return;
        }
        this.columnsSeen++;
        return;
      case 'rows': {
        if (isEof) return this.finish(this.values);
        const reader = payloadOf(packet.buffer, packet.start, packet.end);
        if (packet.buffer[reader.offset] !== 0xfb) this.values.push(reader.lenencBytes().toString('utf8'));
        return;
      }
    }
  }

  private finish(result: string[] | Error): void {
    this.phase = 'done';
    this.done(result);
  }
}
