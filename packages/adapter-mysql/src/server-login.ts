/**
 * The connection phase towards the client, free of sockets: packets in, packets and events out.
 * https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_connection_phase.html
 *
 * The client's password slot carries an OIDC token, so Warden needs it in clear. It greets with
 * `caching_sha2_password` (what MySQL 8 clients expect) and then:
 * - over TLS: asks for full authentication (AuthMoreData 0x04), which makes the client send the
 *   password as cleartext inside TLS; a client that started with another plugin is first switched
 *   to caching_sha2_password;
 * - without TLS, where the connection allows it (loopback, or `allowInsecureAuth`): switches the
 *   client to `mysql_clear_password`;
 * - without TLS otherwise, when the adapter has an RSA key for the exchange: asks for full
 *   authentication, sends the public key when the client asks for it (0x02) and decrypts the
 *   token from the client's RSA-OAEP ciphertext (see rsa-key-exchange.ts); a client that sends its
 *   token in clear there is refused;
 * - otherwise refuses with ERR 1045, saying to use TLS.
 * A client that picks `mysql_clear_password` itself sends the token in its first response.
 */
import { randomBytes } from 'node:crypto';
import { WardenError } from '@warden/core';
import { decodeAuthData, decodeHandshakeResponse, type HandshakeResponse } from './client-messages';
import type { Packet } from './packet-splitter';
import type { RsaKeyExchange } from './rsa-key-exchange';
import { AuthPlugin, CachingSha2, Capability, ErrorCode, WARDEN_CAPABILITIES } from './protocol';
import { authMoreData, authSwitchRequest, errPacket, handshakeV10, okPacket, type WardenErrorCode } from './server-messages';

export interface ServerLoginEvents {
  write(bytes: Buffer): void;
  /** The client asked for TLS: upgrade the stream; packets continue on the encrypted stream. */
  startTls(): void;
  /** The client sent its token. Call `accept()` or `refuse()` when the core has decided. */
  credential(token: string, response: HandshakeResponse): void;
  /** The login failed: the ERR packet was written; close the connection. */
  failed(reason: string): void;
  /**
   * Warden itself refused the client's credential before the core saw it (an RSA ciphertext that
   * does not decrypt, a token sent in clear without TLS, a client that gave up on the exchange):
   * audit it as an authentication failure. `reason` is safe to show and holds no secret.
   */
  credentialRefused(reason: string): void;
}

export interface ServerLoginOptions {
  readonly connectionId: number;
  readonly serverVersion: string;
  readonly tlsAvailable: boolean;
  /** Whether a token may travel without TLS on this connection (loopback peer, or allowInsecureAuth). */
  readonly cleartextAllowed: boolean;
  /**
   * The key for caching_sha2_password's RSA exchange (loaded or generated on first use); absent
   * when the connection has none, and then a client without TLS is refused where cleartext is not allowed.
   */
  readonly rsaKey?: () => Promise<RsaKeyExchange>;
}

type State = 'response' | 'tls-response' | 'switch-response' | 'cleartext' | 'clear-switch' | 'full-auth' | 'rsa-token' | 'rsa-pending' | 'deciding' | 'done';

export class ServerLogin {
  private state: State = 'response';
  private sequence = 0;
  private tls = false;
  private response: HandshakeResponse | undefined;
  private readonly nonce = scrambleNonce();
  private readonly capabilities: number;
  /** The key once loaded, for the messages about the exchange. */
  private rsa: RsaKeyExchange | undefined;

  constructor(
    private readonly options: ServerLoginOptions,
    private readonly events: ServerLoginEvents,
  ) {
    this.capabilities = WARDEN_CAPABILITIES | (options.tlsAvailable ? Capability.Ssl : 0);
  }

  /** The user name the client claimed in its handshake response (unverified). */
  get claimedUser(): string | undefined {
    return this.response?.user || undefined;
  }

  /** What the client and Warden agreed on (after the handshake response). */
  get negotiated(): number {
    return (this.response?.capabilities ?? 0) & this.capabilities;
  }

  greet(): void {
    this.events.write(handshakeV10({ serverVersion: this.options.serverVersion, connectionId: this.options.connectionId, nonce: this.nonce, capabilities: this.capabilities }));
  }

  /** The stream is encrypted now (after `startTls`). */
  tlsEstablished(): void {
    this.tls = true;
    this.state = 'tls-response';
  }

  /** Feeds one packet of the client's connection phase. */
  receive(packet: Packet): void {
    if (packet.continuation || packet.continues) throw new WardenError('protocol', 'oversized packet during login');
    if (packet.sequenceId !== ((this.sequence + 1) & 0xff)) throw new WardenError('protocol', `packet out of order during login (sequence ${packet.sequenceId})`);
    this.sequence = packet.sequenceId;
    switch (this.state) {
      case 'response':
      case 'tls-response':
        return this.onHandshakeResponse(packet);
      case 'switch-response':
        // The client's caching_sha2 scramble: useless to Warden; ask for the password itself.
        this.send(authMoreData(this.next(), Buffer.from([CachingSha2.PerformFullAuthentication])));
        this.state = this.tls ? 'cleartext' : 'full-auth';
        return;
      case 'full-auth':
      case 'rsa-token':
        // Raw: a ciphertext may end in a zero byte that decodeAuthData would take for a NUL.
        return this.onFullAuthentication(Buffer.from(packet.buffer.subarray(packet.start + 4, packet.end)));
      case 'cleartext': {
        const data = decodeAuthData(packet.buffer, packet.start, packet.end);
        if (data.length === 1 && data[0] === CachingSha2.RequestPublicKey) {
          return this.refuse(ErrorCode.AccessDenied, 'Warden: the token must travel over TLS; connect with SSL (e.g. --ssl, or ssl: {} in mysql2)');
        }
        return this.deliver(data);
      }
      case 'clear-switch':
        return this.deliver(decodeAuthData(packet.buffer, packet.start, packet.end));
      default:
        throw new WardenError('protocol', 'unexpected packet during login');
    }
  }

  /** The core admitted the client and the target session is ready. */
  accept(): void {
    if (this.state !== 'deciding') return;
    this.state = 'done';
    this.events.write(okPacket(this.next()));
  }

  /** Sends ERR (`1045` for authentication) with `message` and ends the login. */
  refuse(code: WardenErrorCode, message: string): void {
    if (this.state === 'done') return;
    this.state = 'done';
    this.events.write(errPacket(this.next(), code, message));
    this.events.failed(message);
  }

  private onHandshakeResponse(packet: Packet): void {
    const decoded = decodeHandshakeResponse(packet.buffer, packet.start, packet.end);
    if ('sslRequest' in decoded) {
      if (this.state !== 'response' || !this.options.tlsAvailable) throw new WardenError('protocol', 'unexpected SSL request');
      this.events.startTls();
      return;
    }
    this.response = decoded;
    const secure = this.tls;
    if (!secure && !this.options.cleartextAllowed && this.options.rsaKey) return this.startRsaExchange(decoded);
    if (!secure && !this.options.cleartextAllowed) {
      const hint = this.options.tlsAvailable ? 'connect with SSL (e.g. --ssl, or ssl: {} in mysql2)' : 'this connection has no TLS configured';
      return this.refuse(ErrorCode.AccessDenied, `Warden: a token is only accepted over TLS from this address; ${hint}`);
    }
    if (decoded.plugin === AuthPlugin.ClearPassword) return this.deliver(stripNul(decoded.authResponse));
    if (!secure) {
      this.send(authSwitchRequest(this.next(), AuthPlugin.ClearPassword, Buffer.alloc(0)));
      this.state = 'clear-switch';
      return;
    }
    if (decoded.plugin === AuthPlugin.CachingSha2) {
      this.send(authMoreData(this.next(), Buffer.from([CachingSha2.PerformFullAuthentication])));
      this.state = 'cleartext';
      return;
    }
    this.send(authSwitchRequest(this.next(), AuthPlugin.CachingSha2, Buffer.concat([this.nonce, Buffer.from([0])])));
    this.state = 'switch-response';
  }

  /** Without TLS, where cleartext is not allowed: caching_sha2_password full authentication over RSA. */
  private startRsaExchange(response: HandshakeResponse): void {
    // Known before the client answers, for the audit record of a client that gives up.
    this.options.rsaKey!().then(
      (key) => (this.rsa = key),
      () => undefined,
    );
    if (response.plugin === AuthPlugin.ClearPassword) {
      return this.refuseCredential('Warden: the client sent its token in clear without TLS; connect with SSL (e.g. --ssl, or ssl: {} in mysql2), or use caching_sha2_password, which encrypts it with RSA');
    }
    if (response.plugin === AuthPlugin.CachingSha2) {
      this.send(authMoreData(this.next(), Buffer.from([CachingSha2.PerformFullAuthentication])));
      this.state = 'full-auth';
      return;
    }
    this.send(authSwitchRequest(this.next(), AuthPlugin.CachingSha2, Buffer.concat([this.nonce, Buffer.from([0])])));
    this.state = 'switch-response';
  }

  /** After "perform full authentication" without TLS: a request for the public key, or the encrypted token. */
  private onFullAuthentication(data: Buffer): void {
    const keyRequest = this.state === 'full-auth' && data.length === 1 && data[0] === CachingSha2.RequestPublicKey;
    this.state = 'rsa-pending';
    this.options
      .rsaKey!()
      .then((key) => {
        if (this.state !== 'rsa-pending') return;
        this.rsa = key;
        if (keyRequest) {
          this.state = 'rsa-token';
          this.send(authMoreData(this.next(), key.publicKeyPem));
          return;
        }
        if (data.length === 0) return this.deliver(data);
        if (data.length !== key.keyBytes && data[data.length - 1] === 0) {
          return this.refuseCredential('Warden: the client sent its token in clear without TLS; connect with SSL (e.g. --ssl, or ssl: {} in mysql2)');
        }
        const result = key.decryptToken(data, this.nonce);
        if ('refused' in result) return this.refuseCredential(`Warden: ${result.refused}`);
        this.deliver(result.token);
      })
      .catch((error: unknown) => {
        if (this.state !== 'rsa-pending') return;
        const message = error instanceof Error ? error.message : String(error);
        this.refuse(ErrorCode.HandshakeError, `Warden: the RSA key for caching_sha2_password is unavailable (${message}); connect with SSL`);
      });
  }

  /**
   * The client closed the connection. Where that happens during the RSA exchange, the likely cause
   * is a token too long for the key (the client cannot encrypt it and gives up without a word):
   * say so in the audit record, since the client never reads an ERR.
   */
  clientLeft(): void {
    if (this.state !== 'full-auth' && this.state !== 'rsa-token') return;
    const limit = this.rsa ? ` (at most ${this.rsa.maxTokenBytes} bytes with Warden's ${this.rsa.keyBytes * 8}-bit key; libmariadb clients take at most 1023)` : '';
    const reason = `Warden: the client left during caching_sha2_password's RSA key exchange without sending its token; a token too long for RSA key exchange${limit} cannot travel without TLS: connect with SSL`;
    this.state = 'done';
    this.events.credentialRefused(reason);
  }

  /** Refuses the credential itself (ERR 1045) and has it audited. */
  private refuseCredential(message: string): void {
    if (this.state === 'done') return;
    this.events.credentialRefused(message);
    this.refuse(ErrorCode.AccessDenied, message);
  }

  private deliver(data: Buffer): void {
    const token = data.toString('utf8');
    if (token === '') return this.refuse(ErrorCode.AccessDenied, 'Warden: no token: send your OIDC access token as the password');
    this.state = 'deciding';
    this.events.credential(token, this.response!);
  }

  private next(): number {
    this.sequence = (this.sequence + 1) & 0xff;
    return this.sequence;
  }

  private send(bytes: Buffer): void {
    this.events.write(bytes);
  }
}

/** 20 printable bytes: some clients treat the nonce as a C string. */
function scrambleNonce(): Buffer {
  const nonce = randomBytes(20);
  for (let i = 0; i < nonce.length; i++) nonce[i] = (nonce[i]! % 94) + 33;
  return nonce;
}

function stripNul(data: Buffer): Buffer {
  return data.length > 0 && data[data.length - 1] === 0 ? data.subarray(0, data.length - 1) : data;
}
