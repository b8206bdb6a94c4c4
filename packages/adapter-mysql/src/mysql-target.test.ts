import { WardenError } from '@warden/core';
import { parseMysqlTarget } from './mysql-target';

describe('parseMysqlTarget', () => {
  it('fills in defaults', () => {
    expect(parseMysqlTarget({ host: 'db', database: 'clinic', user: 'warden', password: '' })).toEqual({
      host: 'db',
      port: 3306,
      database: 'clinic',
      user: 'warden',
      password: '',
      ssl: 'disable',
      connectTimeoutMs: 10_000,
    });
  });

  it('turns on the RSA key exchange with an 8192-bit key unless told otherwise', () => {
    const base = { host: 'db', database: 'c', user: 'u' };
    expect(parseMysqlTarget({ ...base, rsaKeyExchange: true }).rsaKeyExchange).toEqual({ bits: 8192 });
    expect(parseMysqlTarget({ ...base, rsaKeyExchange: true, rsaKeyBits: 4096, rsaKeyFile: '/k.pem' }).rsaKeyExchange).toEqual({ bits: 4096, keyFile: '/k.pem' });
    expect(parseMysqlTarget({ ...base, rsaKeyExchange: false }).rsaKeyExchange).toBeUndefined();
  });

  it.each([
    [{ host: 'db', database: 'c', user: 'u', bogus: 1 }, ['bogus']],
    [{ host: 'db', database: 'c', user: 'u', port: 0 }, ['port']],
    [{ host: 'db', database: 'c', user: 'u', ssl: 'maybe' }, ['ssl']],
    [{ database: 'c', user: 'u' }, ['host']],
    [{ host: 'db', database: 'c', user: 'u', rsaKeyExchange: 'yes' }, ['rsaKeyExchange']],
    [{ host: 'db', database: 'c', user: 'u', rsaKeyExchange: true, rsaKeyBits: 16384 }, ['rsaKeyBits']],
    [{ host: 'db', database: 'c', user: 'u', rsaKeyBits: 4096 }, ['rsaKeyBits']],
    [{ host: 'db', database: 'c', user: 'u', rsaKeyFile: '/k.pem' }, ['rsaKeyFile']],
  ])('names the bad field of %j', (raw, path) => {
    let error: unknown;
    try {
      parseMysqlTarget(raw);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(WardenError);
    expect((error as WardenError).path).toEqual(path);
  });
});
