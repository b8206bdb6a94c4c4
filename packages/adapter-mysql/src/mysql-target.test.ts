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

  it.each([
    [{ host: 'db', database: 'c', user: 'u', bogus: 1 }, ['bogus']],
    [{ host: 'db', database: 'c', user: 'u', port: 0 }, ['port']],
    [{ host: 'db', database: 'c', user: 'u', ssl: 'maybe' }, ['ssl']],
    [{ database: 'c', user: 'u' }, ['host']],
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
