import path from 'node:path';
import { ADAPTERS } from '../adapters';
import { loadConfigFile } from './load-config';

/** deploy/warden.yaml is what docker-compose.yml mounts: it must stay a valid configuration. */
describe('deploy/warden.yaml', () => {
  const file = path.resolve(__dirname, '../../../../deploy/warden.yaml');
  const env = { CLINIC_DB_PASSWORD: 'example-db-password', CLINIC_MYSQL_PASSWORD: 'example-mysql-password' };

  it('loads, validates, and every connection target passes its adapter', () => {
    const { config } = loadConfigFile(file, env);
    expect(config.connections.map((connection) => [connection.name, connection.protocol])).toEqual([
      ['clinic', 'postgres'],
      ['clinic-mysql', 'mysql'],
    ]);
    for (const connection of config.connections) {
      const adapter = ADAPTERS.get(connection.protocol);
      expect(adapter).toBeDefined();
      expect(() => adapter!.parseTarget(connection.target)).not.toThrow();
    }
    expect(config.admin?.listen).toBe('0.0.0.0:15480');
  });

  it('names the missing secret when its environment variable is not set', () => {
    expect(() => loadConfigFile(file, {})).toThrow(/CLINIC_DB_PASSWORD/);
  });
});
