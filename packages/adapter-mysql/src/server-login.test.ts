import { constants, generateKeyPairSync, publicEncrypt } from 'node:crypto';
import { PayloadWriter } from './packet-codec';
import { PacketSplitter, Visit } from './packet-splitter';
import { AuthPlugin, Capability, WARDEN_CAPABILITIES } from './protocol';
import { RsaKeyExchange } from './rsa-key-exchange';
import { ServerLogin, type ServerLoginOptions } from './server-login';

const CLIENT = Capability.Protocol41 | Capability.SecureConnection | Capability.PluginAuth | Capability.PluginAuthLenencClientData | Capability.ConnectWithDb | Capability.DeprecateEof | Capability.ConnectAttrs;

/** HandshakeResponse41 as a client sends it. */
function handshakeResponse(sequenceId: number, options: { plugin?: string; auth?: Buffer; capabilities?: number; database?: string } = {}): Buffer {
  const capabilities = options.capabilities ?? CLIENT;
  const writer = new PayloadWriter().u32(capabilities).u32(1 << 24).u8(45).zeros(23).cstring('agent-1').lenencBytes(options.auth ?? Buffer.alloc(20, 1));
  if (capabilities & Capability.ConnectWithDb) writer.cstring(options.database ?? 'clinic');
  writer.cstring(options.plugin ?? AuthPlugin.CachingSha2);
  const attributes = new PayloadWriter().lenencBytes('program_name').lenencBytes('mysql').payload();
  writer.lenenc(attributes.length).bytes(attributes);
  return writer.packet(sequenceId);
}

function sslRequest(): Buffer {
  return new PayloadWriter().u32(CLIENT | Capability.Ssl).u32(1 << 24).u8(45).zeros(23).packet(1);
}

function packet(payload: Buffer | string, sequenceId: number): Buffer {
  return new PayloadWriter().bytes(payload).packet(sequenceId);
}

interface Run {
  readonly login: ServerLogin;
  readonly written: Buffer[];
  readonly events: string[];
  feed(bytes: Buffer): void;
}

function start(options: Partial<ServerLoginOptions> = {}): Run {
  const written: Buffer[] = [];
  const events: string[] = [];
  const login = new ServerLogin(
    { connectionId: 7, serverVersion: '8.0.99-Warden', tlsAvailable: true, cleartextAllowed: false, ...options },
    {
      write: (bytes) => written.push(bytes),
      startTls: () => events.push('startTls'),
      credential: (token, response) => events.push(`credential ${token} user=${response.user} db=${response.database ?? ''} app=${response.attributes.get('program_name') ?? ''}`),
      failed: (reason) => events.push(`failed ${reason}`),
      credentialRefused: (reason) => events.push(`refused ${reason}`),
    },
  );
  const splitter = new PacketSplitter((p) => {
    login.receive(p);
    return Visit.Continue;
  });
  login.greet();
  // Every byte boundary: the login must not depend on how the bytes arrive.
  const feed = (bytes: Buffer): void => {
    for (const byte of bytes) splitter.push(Buffer.from([byte]));
  };
  return { login, written, events, feed };
}

/** The 20-byte nonce of a HandshakeV10 greeting. */
function nonceOf(greeting: Buffer): Buffer {
  const versionEnd = greeting.indexOf(0, 5);
  const part1 = greeting.subarray(versionEnd + 5, versionEnd + 13);
  const part2Start = versionEnd + 13 + 1 + 2 + 1 + 2 + 2 + 1 + 10;
  return Buffer.concat([part1, greeting.subarray(part2Start, part2Start + 12)]);
}

/** What a client sends in caching_sha2_password's RSA exchange: RSA-OAEP((token + NUL) XOR nonce). */
function encryptToken(token: string, nonce: Buffer, publicKey: Buffer | string): Buffer {
  const plain = Buffer.from(`${token}\0`);
  for (let i = 0; i < plain.length; i++) plain[i] = plain[i]! ^ nonce[i % nonce.length]!;
  return publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING }, plain);
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Header byte and sequence id of a written packet. */
function describePacket(bytes: Buffer): { sequenceId: number; first: number } {
  return { sequenceId: bytes[3]!, first: bytes[4]! };
}

describe('ServerLogin', () => {
  it('greets with HandshakeV10, caching_sha2_password and its capabilities', () => {
    const { written } = start();
    const greeting = written[0]!;
    expect(greeting[3]).toBe(0);
    expect(greeting[4]).toBe(10);
    expect(greeting.toString('latin1')).toContain('8.0.99-Warden\0');
    expect(greeting.toString('latin1').endsWith('caching_sha2_password\0')).toBe(true);
    const lowCapabilities = greeting.readUInt16LE(4 + 1 + 14 + 4 + 9);
    expect(lowCapabilities & Capability.Ssl).toBe(Capability.Ssl);
    expect(WARDEN_CAPABILITIES & (Capability.LocalFiles | Capability.Compress | Capability.QueryAttributes)).toBe(0);
  });

  it('over TLS, asks a caching_sha2_password client for full authentication and takes the cleartext token', () => {
    const run = start();
    run.feed(sslRequest());
    expect(run.events).toEqual(['startTls']);
    run.login.tlsEstablished();
    run.feed(handshakeResponse(2));
    expect(describePacket(run.written[1]!)).toEqual({ sequenceId: 3, first: 0x01 });
    expect(run.written[1]![5]).toBe(0x04);
    run.feed(packet('eyJ.token.sig\0', 4));
    expect(run.events).toEqual(['startTls', 'credential eyJ.token.sig user=agent-1 db=clinic app=mysql']);
    run.login.accept();
    expect(describePacket(run.written[2]!)).toEqual({ sequenceId: 5, first: 0x00 });
  });

  it('over TLS, switches a client that started with another plugin to caching_sha2_password', () => {
    const run = start();
    run.feed(sslRequest());
    run.login.tlsEstablished();
    run.feed(handshakeResponse(2, { plugin: AuthPlugin.NativePassword }));
    const switchRequest = run.written[1]!;
    expect(describePacket(switchRequest)).toEqual({ sequenceId: 3, first: 0xfe });
    expect(switchRequest.toString('latin1', 5)).toMatch(/^caching_sha2_password\0/);
    run.feed(packet(Buffer.alloc(32, 9), 4));
    expect(describePacket(run.written[2]!)).toEqual({ sequenceId: 5, first: 0x01 });
    run.feed(packet('tok\0', 6));
    expect(run.events).toContain('credential tok user=agent-1 db=clinic app=mysql');
  });

  it('without TLS where cleartext is allowed (loopback), switches to mysql_clear_password', () => {
    const run = start({ cleartextAllowed: true });
    run.feed(handshakeResponse(1));
    const switchRequest = run.written[1]!;
    expect(describePacket(switchRequest)).toEqual({ sequenceId: 2, first: 0xfe });
    expect(switchRequest.toString('latin1', 5)).toBe('mysql_clear_password\0');
    run.feed(packet('tok\0', 3));
    expect(run.events).toEqual(['credential tok user=agent-1 db=clinic app=mysql']);
  });

  it('takes the token from the first response when the client chose mysql_clear_password', () => {
    const run = start({ cleartextAllowed: true });
    run.feed(handshakeResponse(1, { plugin: AuthPlugin.ClearPassword, auth: Buffer.from('tok\0') }));
    expect(run.events).toEqual(['credential tok user=agent-1 db=clinic app=mysql']);
  });

  it('refuses a token without TLS from a non-loopback address with ERR 1045', () => {
    const run = start();
    run.feed(handshakeResponse(1));
    const err = run.written[1]!;
    expect(describePacket(err)).toEqual({ sequenceId: 2, first: 0xff });
    expect(err.readUInt16LE(5)).toBe(1045);
    expect(err.toString('utf8', 7)).toMatch(/^#28000Warden: a token is only accepted over TLS/);
    expect(run.events[0]).toMatch(/^failed /);
  });

  it('refuses a request for the RSA public key (the token must travel over TLS)', () => {
    const run = start();
    run.feed(sslRequest());
    run.login.tlsEstablished();
    run.feed(handshakeResponse(2));
    run.feed(packet(Buffer.from([0x02]), 4));
    expect(run.written[2]!.readUInt16LE(5)).toBe(1045);
  });

  it('refuses an empty password', () => {
    const run = start({ cleartextAllowed: true });
    run.feed(handshakeResponse(1, { plugin: AuthPlugin.ClearPassword, auth: Buffer.alloc(0) }));
    expect(run.written[1]!.toString('utf8', 13)).toContain('no token');
  });

  it('writes the core\'s refusal as ERR 1045 after the credential', () => {
    const run = start({ cleartextAllowed: true });
    run.feed(handshakeResponse(1, { plugin: AuthPlugin.ClearPassword, auth: Buffer.from('tok') }));
    run.login.refuse(1045, 'Warden: token expired at 2026-01-01T00:00:00Z');
    expect(describePacket(run.written[1]!)).toEqual({ sequenceId: 2, first: 0xff });
    expect(run.written[1]!.toString('utf8', 13)).toBe('Warden: token expired at 2026-01-01T00:00:00Z');
  });

  describe('without TLS, with an RSA key for caching_sha2_password', () => {
    // 2048 bits: fast to generate; the size limits are the key's business, tested below.
    const rsa = new RsaKeyExchange(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey);
    const rsaKey = (): Promise<RsaKeyExchange> => Promise.resolve(rsa);

    it('sends the public key on request and takes the token from the RSA ciphertext', async () => {
      const run = start({ rsaKey });
      run.feed(handshakeResponse(1));
      expect(describePacket(run.written[1]!)).toEqual({ sequenceId: 2, first: 0x01 });
      expect(run.written[1]![5]).toBe(0x04);
      run.feed(packet(Buffer.from([0x02]), 3));
      await settle();
      expect(describePacket(run.written[2]!)).toEqual({ sequenceId: 4, first: 0x01 });
      const pem = run.written[2]!.subarray(5);
      expect(pem.toString()).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
      run.feed(packet(encryptToken('eyJ.rsa.sig', nonceOf(run.written[0]!), pem), 5));
      await settle();
      expect(run.events).toEqual(['credential eyJ.rsa.sig user=agent-1 db=clinic app=mysql']);
      run.login.accept();
      expect(describePacket(run.written[3]!)).toEqual({ sequenceId: 6, first: 0x00 });
    });

    it('takes the ciphertext right away from a client that has the key, after switching it from another plugin', async () => {
      const run = start({ rsaKey });
      run.feed(handshakeResponse(1, { plugin: AuthPlugin.NativePassword }));
      expect(run.written[1]!.toString('latin1', 5)).toMatch(/^caching_sha2_password\0/);
      run.feed(packet(Buffer.alloc(32, 9), 3));
      expect(run.written[2]![5]).toBe(0x04);
      run.feed(packet(encryptToken('tok', nonceOf(run.written[0]!), rsa.publicKeyPem), 5));
      await settle();
      expect(run.events).toEqual(['credential tok user=agent-1 db=clinic app=mysql']);
    });

    it('refuses a ciphertext that does not decrypt with ERR 1045 and has it audited', async () => {
      const run = start({ rsaKey });
      run.feed(handshakeResponse(1));
      run.feed(packet(Buffer.alloc(rsa.keyBytes, 0x5a), 3));
      await settle();
      expect(run.written[2]!.readUInt16LE(5)).toBe(1045);
      expect(run.written[2]!.toString('utf8', 13)).toMatch(/does not decrypt with Warden's key/);
      expect(run.events[0]).toMatch(/^refused Warden: the client's RSA-encrypted token does not decrypt/);
      expect(run.events[1]).toMatch(/^failed /);
    });

    it('refuses a token sent in clear without TLS', async () => {
      const run = start({ rsaKey });
      run.feed(handshakeResponse(1));
      run.feed(packet('eyJ.clear.sig\0', 3));
      await settle();
      expect(run.written[2]!.readUInt16LE(5)).toBe(1045);
      expect(run.written[2]!.toString('utf8', 13)).toMatch(/sent its token in clear without TLS/);
      expect(run.events).not.toContainEqual(expect.stringMatching(/^credential/));
    });

    it('refuses a client that chose mysql_clear_password', () => {
      const run = start({ rsaKey });
      run.feed(handshakeResponse(1, { plugin: AuthPlugin.ClearPassword, auth: Buffer.from('tok\0') }));
      expect(run.written[1]!.readUInt16LE(5)).toBe(1045);
      expect(run.events[0]).toMatch(/^refused Warden: the client sent its token in clear/);
    });

    it('audits a client that leaves after receiving the key, naming the token limit', async () => {
      const run = start({ rsaKey });
      run.feed(handshakeResponse(1));
      run.feed(packet(Buffer.from([0x02]), 3));
      await settle();
      run.login.clientLeft();
      expect(run.events).toEqual([`refused Warden: the client left during caching_sha2_password's RSA key exchange without sending its token; a token too long for RSA key exchange (at most ${rsa.maxTokenBytes} bytes with Warden's 2048-bit key; libmariadb clients take at most 1023) cannot travel without TLS: connect with SSL`]);
      expect(rsa.maxTokenBytes).toBe(213);
    });
  });

  it('rejects packets out of sequence and clients without protocol 4.1', () => {
    expect(() => start().feed(handshakeResponse(3))).toThrow(/out of order/);
    expect(() => start().feed(handshakeResponse(1, { capabilities: Capability.SecureConnection }))).toThrow(/protocol 4.1/);
  });
});
