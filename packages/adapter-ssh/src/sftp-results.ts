/**
 * The result of each decided SFTP operation, read from the target's replies (SFTP version 3,
 * draft-ietf-secsh-filexfer-02 §7–§8), so the audit log says not only that `open /data/x.csv (read)`
 * was allowed but whether it succeeded and how many bytes moved through the handle it opened.
 *
 * - A decided request that is not an OPEN (remove, rename, mkdir, …) ends with its STATUS reply.
 * - An OPEN that fails ends with its STATUS reply; one that succeeds (HANDLE reply) stays open while
 *   the client reads (DATA replies to READ on that handle) and writes (WRITE on that handle), and
 *   ends when the client's CLOSE of the handle is answered, with the bytes read and written.
 * - Whatever is still open when the channel closes ends as `closed with the channel`.
 *
 * Free of sockets: the channel feeds it the client's packets (after they were decided) and the
 * target's bytes (as they are forwarded). Reading the target's stream never holds it up; a reply
 * Warden cannot frame stops the tracking (the results then say so) but not the transfer.
 */
import { SFTP_PACKET, MAX_SFTP_PACKET } from './sftp-protocol';
import { SshReader } from './ssh-wire';

const SSH_FXP_HANDLE = 102;
const SSH_FXP_DATA = 103;

/** Status code names (§7), for the audit record. */
const STATUS_NAMES: readonly string[] = [
  'SSH_FX_OK',
  'SSH_FX_EOF',
  'SSH_FX_NO_SUCH_FILE',
  'SSH_FX_PERMISSION_DENIED',
  'SSH_FX_FAILURE',
  'SSH_FX_BAD_MESSAGE',
  'SSH_FX_NO_CONNECTION',
  'SSH_FX_CONNECTION_LOST',
  'SSH_FX_OP_UNSUPPORTED',
];

/** What the tracker reports for one decided operation (the core's `ResultSummary` fields it fills). */
export interface SftpResult {
  /** Bytes read and written through the handle an OPEN returned; 0 for other operations. */
  readonly rows: number;
  readonly durationMs: number;
  /** `ok`, a failure status name, or why the outcome is not known; an OPEN's says the bytes each way. */
  readonly status: string;
  readonly error?: { readonly code: string; readonly message: string };
}

interface Pending {
  readonly seq: number;
  readonly open: boolean;
  readonly began: number;
}

interface OpenHandle {
  readonly seq: number;
  readonly began: number;
  bytesRead: number;
  bytesWritten: number;
}

export class SftpResultTracker {
  /** Decided requests waiting for their reply, by request id. */
  private readonly pending = new Map<number, Pending>();
  /** Handles of decided OPENs, by the handle's bytes (latin1). */
  private readonly handles = new Map<string, OpenHandle>();
  /** READ requests on tracked handles, by request id. */
  private readonly reads = new Map<number, OpenHandle>();
  /** CLOSE requests of tracked handles, by request id. */
  private readonly closes = new Map<number, string>();
  /** The start of the reply being read, and how much of it is needed before it can be read. */
  private head: Buffer = Buffer.alloc(0);
  private needed = 5;
  /** Bytes of the current reply still to pass over. */
  private skip = 0;
  private lost: string | undefined;

  constructor(
    private readonly report: (seq: number, result: SftpResult) => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** A request the core decided and allowed, about to be forwarded. */
  decided(id: number, seq: number, operation: string): void {
    this.pending.set(id, { seq, open: operation === 'open', began: this.now() });
  }

  /** A whole client packet as it is forwarded to the target (decided ones after `decided`). */
  clientPacket(packet: Buffer): void {
    if (this.lost || packet.length < 9) return;
    const type = packet[4];
    if (type !== SFTP_PACKET.SSH_FXP_READ && type !== SFTP_PACKET.SSH_FXP_WRITE && type !== SFTP_PACKET.SSH_FXP_CLOSE) return;
    try {
      const reader = new SshReader(packet);
      reader.uint32();
      reader.byte();
      const id = reader.uint32();
      const handleKey = reader.string().toString('latin1');
      const handle = this.handles.get(handleKey);
      if (!handle) return;
      if (type === SFTP_PACKET.SSH_FXP_READ) this.reads.set(id, handle);
      else if (type === SFTP_PACKET.SSH_FXP_CLOSE) this.closes.set(id, handleKey);
      else {
        reader.uint64();
        handle.bytesWritten += reader.string().length;
      }
    } catch {
      // A malformed request is the target's to answer; it moves no tracked bytes.
    }
  }

  /**
   * Bytes from the target on the sftp channel, in order, however they are chunked. Only the start
   * of each reply is kept (a DATA reply's payload is counted and passed over, never copied), so
   * tracking costs no buffering however large the transfer.
   */
  targetData(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length && !this.lost) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - offset);
        this.skip -= n;
        offset += n;
        continue;
      }
      // Gather the reply's start: its length and type first, then what the type needs.
      const want = this.head.length < 5 ? 5 : this.needed;
      const n = Math.min(want - this.head.length, chunk.length - offset);
      this.head = Buffer.concat([this.head, chunk.subarray(offset, offset + n)]);
      offset += n;
      if (this.head.length < want) continue;
      if (want === 5) {
        const length = this.head.readUInt32BE(0);
        if (length > MAX_SFTP_PACKET || length < 1) {
          this.loseTrack(`a reply of ${length} bytes that Warden cannot read`);
          return;
        }
        const type = this.head[4];
        // STATUS and HANDLE are read whole (small); DATA up to its payload's length; others to their id.
        this.needed = type === SFTP_PACKET.SSH_FXP_STATUS || type === SSH_FXP_HANDLE ? 4 + length : Math.min(4 + length, type === SSH_FXP_DATA ? 13 : 9);
        if (this.head.length < this.needed) continue;
      }
      const packetLength = 4 + this.head.readUInt32BE(0);
      this.reply(this.head);
      this.skip = packetLength - this.head.length;
      this.head = Buffer.alloc(0);
      this.needed = 5;
    }
  }

  /** The channel closed: whatever has no outcome yet ends now. */
  finish(reason = 'closed with the channel'): void {
    for (const [key, handle] of this.handles) {
      this.handles.delete(key);
      this.reportHandle(handle, reason);
    }
    for (const [id, pending] of this.pending) {
      this.pending.delete(id);
      this.report(pending.seq, { rows: 0, durationMs: this.elapsed(pending.began), status: this.lost ?? reason });
    }
    this.reads.clear();
    this.closes.clear();
  }

  private reply(packet: Buffer): void {
    const type = packet[4];
    if (type !== SFTP_PACKET.SSH_FXP_STATUS && type !== SSH_FXP_HANDLE && type !== SSH_FXP_DATA) {
      // NAME, ATTRS, VERSION, EXTENDED_REPLY: none ends a tracked operation; forget its read id.
      if (type !== SFTP_PACKET.SSH_FXP_VERSION && packet.length >= 9) this.reads.delete(packet.readUInt32BE(5));
      return;
    }
    try {
      const reader = new SshReader(packet);
      reader.uint32();
      reader.byte();
      const id = reader.uint32();
      if (type === SSH_FXP_DATA) {
        const handle = this.reads.get(id);
        this.reads.delete(id);
        // Only the payload's length was kept: `string data` is uint32 length, then the bytes.
        if (handle) handle.bytesRead += reader.uint32();
        return;
      }
      if (type === SSH_FXP_HANDLE) {
        const pending = this.pending.get(id);
        if (!pending) return;
        this.pending.delete(id);
        const handleKey = reader.string().toString('latin1');
        if (pending.open) this.handles.set(handleKey, { seq: pending.seq, began: pending.began, bytesRead: 0, bytesWritten: 0 });
        else this.report(pending.seq, { rows: 0, durationMs: this.elapsed(pending.began), status: 'ok' });
        return;
      }
      // SSH_FXP_STATUS
      this.reads.delete(id);
      const code = reader.uint32();
      const message = reader.remaining >= 4 ? reader.text() : '';
      const closing = this.closes.get(id);
      if (closing !== undefined) {
        this.closes.delete(id);
        const handle = this.handles.get(closing);
        if (handle) {
          this.handles.delete(closing);
          this.reportHandle(handle, code === 0 ? 'ok' : statusName(code));
        }
        return;
      }
      const pending = this.pending.get(id);
      if (!pending) return;
      this.pending.delete(id);
      const durationMs = this.elapsed(pending.began);
      if (code === 0) this.report(pending.seq, { rows: 0, durationMs, status: 'ok' });
      else this.report(pending.seq, { rows: 0, durationMs, status: statusName(code), error: { code: statusName(code), message: message.slice(0, 200) } });
    } catch {
      this.loseTrack('a reply Warden cannot read');
    }
  }

  private reportHandle(handle: OpenHandle, status: string): void {
    this.report(handle.seq, {
      rows: handle.bytesRead + handle.bytesWritten,
      durationMs: this.elapsed(handle.began),
      status: `${status} (read ${handle.bytesRead} bytes, wrote ${handle.bytesWritten} bytes)`,
    });
  }

  private loseTrack(why: string): void {
    this.lost = `outcome unknown: the target sent ${why}`;
    this.head = Buffer.alloc(0);
    this.finish(this.lost);
  }

  private elapsed(began: number): number {
    return Math.max(0, Math.round(this.now() - began));
  }
}

function statusName(code: number): string {
  return STATUS_NAMES[code] ?? `SSH_FX_${code}`;
}
