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
 * - otherwise refuses with ERR 1045, saying to use TLS.
 * A client that picks `mysql_clear_password` itself sends the token in its first response.
 */
import { randomBytes } from 'node:crypto';
import { WardenError } from '@warden/core';
import { decodeAuthData, decodeHandshakeResponse, type HandshakeResponse } from './client-messages';
import type { Packet } from './packet-splitter';
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
}

export interface ServerLoginOptions {
  readonly connectionId: number;
  readonly serverVersion: string;
  readonly tlsAvailable: boolean;
  /** Whether a token may travel without TLS on this connection (loopback peer, or allowInsecureAuth). */
  readonly cleartextAllowed: boolean;
}

type State = 'response' | 'tls-response' | 'switch-response' | 'cleartext' | 'clear-switch' | 'deciding' | 'done';

export class ServerLogin {
  private state: State = 'response';
  private sequence = 0;
  private tls = false;
  private response: HandshakeResponse | undefined;
  private readonly nonce = scrambleNonce();
  private readonly capabilities: number;

  constructor(
    private readonly options: ServerLoginOptions,
    private readonly events: ServerLoginEvents,
  ) {
    this.capabilities = WARDEN_CAPABILITIES | (options.tlsAvailable ? Capability.Ssl : 0);
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
        this.state = 'cleartext';
        return;
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
