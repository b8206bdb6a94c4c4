import { mkdir } from 'node:fs/promises';
import { WardenError, type Adapter, type AdapterContext, type AdapterFactory, type ListenAddress } from '@warden/core';
import { listenOn } from '@warden/adapter-kit';
import { Server } from 'ssh2';
import { ClientConnection, parseBoundKeys, recordingsDirOf } from './client-connection';
import { SshCertificateAuthority } from './certificate-authority';
import { loadOrCreateHostKey } from './host-key';
import { loadShellParser } from './shell-classifier';
import { parseSshTarget, type SshTarget } from './ssh-target';

/** The SSH adapter, registered under protocol `ssh`. */
export const sshAdapter: AdapterFactory<SshTarget> = {
  protocol: 'ssh',
  parseTarget: parseSshTarget,
  create: (context) => new SshAdapter(context),
};

class SshAdapter implements Adapter {
  private server: Server | undefined;
  private readonly connections = new Set<ClientConnection>();

  constructor(private readonly context: AdapterContext<SshTarget>) {}

  async start(): Promise<ListenAddress> {
    const { connection, dataDir } = this.context;
    // The host key must survive restarts and recordings need a home: no data directory, no SSH.
    if (dataDir === undefined) throw new WardenError('config', `connection ${connection.name}: the ssh adapter needs a data directory (host key, recordings)`);
    loadShellParser();
    const hostKey = await loadOrCreateHostKey(dataDir, connection.name);
    const certificates = await SshCertificateAuthority.open(dataDir);
    const recordingsDir = recordingsDirOf(dataDir);
    const boundKeys = parseBoundKeys(connection.target.publicKeys);
    await mkdir(recordingsDir, { recursive: true, mode: 0o700 });

    const server = new Server({ hostKeys: [hostKey], ident: 'Warden' }, (client, info) => {
      const handled = new ClientConnection(client, {
        context: this.context,
        recordingsDir,
        certificates,
        boundKeys,
        address: `${info.ip}:${info.port}`,
        software: info.header.versions.software,
        onClose: (closed) => this.connections.delete(closed),
      });
      this.connections.add(handled);
    });
    this.server = server;
    const { listen } = connection;
    return listenOn(server, listen, this.context.log, { protocol: 'ssh' });
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const connection of [...this.connections]) connection.shutdown();
    await closed;
  }
}
