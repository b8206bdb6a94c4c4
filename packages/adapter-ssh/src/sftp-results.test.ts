import { SFTP_PACKET } from './sftp-protocol';
import { SftpResultTracker, type SftpResult } from './sftp-results';
import { sshString, sshUint32, sshUint64 } from './ssh-wire';

const packet = (type: number, ...fields: Buffer[]) => {
  const body = Buffer.concat([Buffer.from([type]), ...fields]);
  return Buffer.concat([sshUint32(body.length), body]);
};
const HANDLE = 102;
const DATA = 103;
const status = (id: number, code: number, message = '') => packet(SFTP_PACKET.SSH_FXP_STATUS, sshUint32(id), sshUint32(code), sshString(message), sshString('en'));

function tracker() {
  const results: { seq: number; result: SftpResult }[] = [];
  const tracked = new SftpResultTracker((seq, result) => results.push({ seq, result }), () => 0);
  return { tracked, results };
}

/** Feeds bytes in chunks of `size`, as a channel might deliver them. */
function feed(tracked: SftpResultTracker, bytes: Buffer, size: number): void {
  for (let offset = 0; offset < bytes.length; offset += size) tracked.targetData(bytes.subarray(offset, offset + size));
}

describe('SftpResultTracker', () => {
  it.each([1, 3, 7, 64, 100_000])('counts the bytes read and written through an opened handle until it is closed (chunks of %i bytes)', (size) => {
    const { tracked, results } = tracker();
    const handle = Buffer.from('h\u0000\u00017');
    tracked.decided(10, 4, 'open');
    feed(tracked, packet(HANDLE, sshUint32(10), sshString(handle)), size);
    // Two reads answered with data, one write, a read of a handle Warden did not see opened.
    tracked.clientPacket(packet(SFTP_PACKET.SSH_FXP_READ, sshUint32(11), sshString(handle), sshUint64(0n), sshUint32(32768)));
    tracked.clientPacket(packet(SFTP_PACKET.SSH_FXP_READ, sshUint32(12), sshString(handle), sshUint64(32768n), sshUint32(32768)));
    tracked.clientPacket(packet(SFTP_PACKET.SSH_FXP_WRITE, sshUint32(13), sshString(handle), sshUint64(0n), sshString(Buffer.alloc(500))));
    tracked.clientPacket(packet(SFTP_PACKET.SSH_FXP_READ, sshUint32(14), sshString('other'), sshUint64(0n), sshUint32(10)));
    feed(
      tracked,
      Buffer.concat([
        packet(DATA, sshUint32(11), sshString(Buffer.alloc(32768, 1))),
        packet(DATA, sshUint32(12), sshString(Buffer.alloc(1000, 2))),
        status(13, 0),
        packet(DATA, sshUint32(14), sshString(Buffer.alloc(10))),
      ]),
      size,
    );
    expect(results).toEqual([]);
    tracked.clientPacket(packet(SFTP_PACKET.SSH_FXP_CLOSE, sshUint32(15), sshString(handle)));
    feed(tracked, status(15, 0), size);
    expect(results).toEqual([{ seq: 4, result: { rows: 33768 + 500, durationMs: 0, status: 'ok (read 33768 bytes, wrote 500 bytes)' } }]);
  });

  it('ends a decided operation with its status reply, naming the failure and the target message', () => {
    const { tracked, results } = tracker();
    tracked.decided(1, 2, 'remove');
    tracked.decided(2, 3, 'rename');
    tracked.decided(3, 5, 'open');
    tracked.targetData(Buffer.concat([status(1, 2, 'No such file'), status(2, 0), status(3, 3, 'Permission denied')]));
    expect(results).toEqual([
      { seq: 2, result: { rows: 0, durationMs: 0, status: 'SSH_FX_NO_SUCH_FILE', error: { code: 'SSH_FX_NO_SUCH_FILE', message: 'No such file' } } },
      { seq: 3, result: { rows: 0, durationMs: 0, status: 'ok' } },
      { seq: 5, result: { rows: 0, durationMs: 0, status: 'SSH_FX_PERMISSION_DENIED', error: { code: 'SSH_FX_PERMISSION_DENIED', message: 'Permission denied' } } },
    ]);
  });

  it('ends what is still open or unanswered when the channel closes', () => {
    const { tracked, results } = tracker();
    tracked.decided(1, 7, 'open');
    tracked.targetData(packet(HANDLE, sshUint32(1), sshString('h')));
    tracked.decided(2, 8, 'mkdir');
    tracked.finish();
    expect(results.map(({ seq, result }) => [seq, result.status])).toEqual([
      [7, 'closed with the channel (read 0 bytes, wrote 0 bytes)'],
      [8, 'closed with the channel'],
    ]);
  });

  it('stops tracking, and says so, on a reply it cannot frame, without throwing', () => {
    const { tracked, results } = tracker();
    tracked.decided(1, 9, 'remove');
    expect(() => tracked.targetData(Buffer.from([0xff, 0xff, 0xff, 0xff, 101]))).not.toThrow();
    expect(results).toEqual([{ seq: 9, result: { rows: 0, durationMs: 0, status: expect.stringMatching(/^outcome unknown/) } }]);
    expect(() => tracked.targetData(status(1, 0))).not.toThrow();
    expect(results).toHaveLength(1);
  });
});
