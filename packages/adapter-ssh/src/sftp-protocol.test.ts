import { WardenError } from '@warden/core';
import { SFTP_OPEN_FLAGS, SFTP_PACKET, SftpPacketFramer, decodeSftpRequest, encodeSftpStatus, sftpObject } from './sftp-protocol';
import { SshReader, sshString, sshUint32 } from './ssh-wire';

/** Frame builder: `uint32 length, byte type, [uint32 id], fields…`. */
function packet(type: number, id: number | undefined, ...fields: Buffer[]): Buffer {
  const body = Buffer.concat([Buffer.from([type]), ...(id === undefined ? [] : [sshUint32(id)]), ...fields]);
  return Buffer.concat([sshUint32(body.length), body]);
}
const str = (text: string) => sshString(text);
const noAttrs = sshUint32(0);

const conversation = [
  packet(SFTP_PACKET.SSH_FXP_INIT, undefined, sshUint32(3)),
  packet(SFTP_PACKET.SSH_FXP_OPEN, 1, str('/etc/passwd'), sshUint32(SFTP_OPEN_FLAGS.SSH_FXF_READ), noAttrs),
  packet(SFTP_PACKET.SSH_FXP_OPEN, 2, str('notes/../out.txt'), sshUint32(SFTP_OPEN_FLAGS.SSH_FXF_WRITE | SFTP_OPEN_FLAGS.SSH_FXF_CREAT | SFTP_OPEN_FLAGS.SSH_FXF_TRUNC), noAttrs),
  packet(SFTP_PACKET.SSH_FXP_WRITE, 3, str('handle'), Buffer.alloc(8), str('x'.repeat(5000))),
  packet(SFTP_PACKET.SSH_FXP_REMOVE, 4, str('/tmp/a')),
  packet(SFTP_PACKET.SSH_FXP_RENAME, 5, str('/tmp/a'), str('/tmp/b')),
  packet(SFTP_PACKET.SSH_FXP_MKDIR, 6, str('/srv/new'), noAttrs),
  packet(SFTP_PACKET.SSH_FXP_RMDIR, 7, str('/srv/old')),
  packet(SFTP_PACKET.SSH_FXP_SETSTAT, 8, str('/srv/file'), noAttrs),
  packet(SFTP_PACKET.SSH_FXP_SYMLINK, 9, str('/etc/shadow'), str('/tmp/link')),
  packet(SFTP_PACKET.SSH_FXP_EXTENDED, 10, str('posix-rename@openssh.com'), str('/x'), str('/y')),
  packet(SFTP_PACKET.SSH_FXP_EXTENDED, 11, str('statvfs@openssh.com'), str('/')),
  packet(SFTP_PACKET.SSH_FXP_EXTENDED, 12, str('made-up@example.com'), str('/z')),
  packet(SFTP_PACKET.SSH_FXP_STAT, 13, str('/etc')),
  packet(SFTP_PACKET.SSH_FXP_OPEN, 14, str('../../etc/passwd'), sshUint32(SFTP_OPEN_FLAGS.SSH_FXF_READ), noAttrs),
];

const expected = [
  undefined,
  { id: 1, text: '/etc/passwd', action: 'read', objects: ['sftp:/etc/passwd'], textFull: 'open /etc/passwd (read)' },
  { id: 2, action: 'write', objects: ['sftp:~/out.txt'], textFull: 'open notes/../out.txt (write)' },
  undefined,
  { id: 4, action: 'write', objects: ['sftp:/tmp/a'], textFull: 'remove /tmp/a' },
  { id: 5, action: 'write', objects: ['sftp:/tmp/a', 'sftp:/tmp/b'], textFull: 'rename /tmp/a /tmp/b' },
  { id: 6, action: 'write', objects: ['sftp:/srv/new'], textFull: 'mkdir /srv/new' },
  { id: 7, action: 'write', objects: ['sftp:/srv/old'], textFull: 'rmdir /srv/old' },
  { id: 8, action: 'write', objects: ['sftp:/srv/file'], textFull: 'setstat /srv/file' },
  { id: 9, action: 'write', objects: ['sftp:/etc/shadow', 'sftp:/tmp/link'], textFull: 'symlink /etc/shadow /tmp/link' },
  { id: 10, action: 'write', objects: ['sftp:/x', 'sftp:/y'], textFull: 'posix-rename@openssh.com /x /y' },
  undefined,
  { id: 12, action: 'unknown', objects: [], textFull: 'made-up@example.com (extension Warden does not know)' },
  undefined,
  { id: 14, action: 'unknown', objects: ['sftp:~/../../etc/passwd'], textFull: 'open ../../etc/passwd (read)' },
];

function summarize(packets: Buffer[]) {
  return packets.map((p) => {
    const op = decodeSftpRequest(p);
    return op && { id: op.id, action: op.classification.action, objects: op.classification.objects, textFull: op.text };
  });
}

describe('SFTP request framing and decoding', () => {
  const stream = Buffer.concat(conversation);

  it('decodes the operations Warden decides and passes the rest', () => {
    const packets = new SftpPacketFramer().push(stream);
    expect(packets).toHaveLength(conversation.length);
    expect(summarize(packets)).toEqual(expected.map((e) => e && { id: e.id, action: e.action, objects: e.objects, textFull: e.textFull }));
  });

  it('yields the same packets, byte for byte, however the stream is split (every split point)', () => {
    const wrong: number[] = [];
    for (let split = 0; split <= stream.length; split++) {
      const framer = new SftpPacketFramer();
      const packets = [...framer.push(stream.subarray(0, split)), ...framer.push(stream.subarray(split))];
      if (packets.length !== conversation.length || !packets.every((p, i) => p.equals(conversation[i]!))) wrong.push(split);
    }
    expect(wrong).toEqual([]);
  });

  it('yields the same packets when fed one byte at a time', () => {
    const framer = new SftpPacketFramer();
    const packets: Buffer[] = [];
    for (let i = 0; i < stream.length; i++) packets.push(...framer.push(stream.subarray(i, i + 1)));
    expect(packets.map((p) => p.toString('hex'))).toEqual(conversation.map((p) => p.toString('hex')));
  });

  it('refuses a packet over the size limit and a truncated request', () => {
    expect(() => new SftpPacketFramer().push(sshUint32(2 * 1024 * 1024))).toThrow(WardenError);
    const truncated = packet(SFTP_PACKET.SSH_FXP_RENAME, 1, str('/only-one'));
    expect(() => decodeSftpRequest(truncated)).toThrow(/malformed sftp request/);
  });

  it('encodes SSH_FXP_STATUS with the code and the message', () => {
    const reply = encodeSftpStatus(42, 3, 'Warden: no (rule "r")');
    const reader = new SshReader(reply);
    expect(reader.uint32()).toBe(reply.length - 4);
    expect(reader.byte()).toBe(101);
    expect(reader.uint32()).toBe(42);
    expect(reader.uint32()).toBe(3);
    expect(reader.text()).toBe('Warden: no (rule "r")');
    expect(reader.text()).toBe('en');
    expect(reader.remaining).toBe(0);
  });

  it('normalizes paths into objects', () => {
    expect(sftpObject('/etc/../etc//passwd')).toEqual({ object: 'sftp:/etc/passwd', placed: true });
    expect(sftpObject('.')).toEqual({ object: 'sftp:~', placed: true });
    expect(sftpObject('a/../../b')).toEqual({ object: 'sftp:~/../b', placed: false });
  });
});
