import { loadMysqlParser, classifyMysql } from '@warden/sql';
import { ViewCatalog, flagViews } from './view-catalog';

beforeAll(() => loadMysqlParser());

const VIEWS = [
  ['clinic', 'adults', 'select `clinic`.`patients`.`id` AS `id` from `clinic`.`patients` where `clinic`.`patients`.`dob` < 19700201'],
  ['clinic', 'locking', "select get_lock('x',0) AS `l`"],
  ['clinic', 'touching', 'select `clinic`.`touch_canary`() AS `touched`'],
  ['clinic', 'over_touching', 'select `clinic`.`touching`.`touched` AS `touched` from `clinic`.`touching`'],
  ['clinic', 'secret', undefined],
] as const;

describe('flagViews', () => {
  it('flags views that call what a read may not, views over them, and views it cannot read', () => {
    const flags = flagViews(VIEWS);
    expect(flags.has('adults')).toBe(false);
    expect(flags.get('locking')).toMatch(/calls function get_lock/);
    expect(flags.get('clinic.touching')).toMatch(/calls function clinic.touch_canary/);
    expect(flags.get('over_touching')).toBe('reads view clinic.touching');
    expect(flags.get('secret')).toBe('has a definition Warden cannot read');
  });
});

describe('ViewCatalog', () => {
  it('raises a read of a flagged view to a write, loads once per TTL, and leaves other reads alone', async () => {
    let loads = 0;
    let now = 0;
    const catalog = new ViewCatalog(
      async () => {
        loads++;
        return VIEWS;
      },
      () => now,
    );
    const judged = await catalog.judge(classifyMysql('SELECT * FROM touching'));
    expect(judged).toMatchObject({ action: 'write', statements: [{ action: 'write', note: expect.stringContaining('reads view touching, which calls function') }] });
    expect(await catalog.judge(classifyMysql('SELECT * FROM adults'))).toMatchObject({ action: 'read' });
    expect(loads).toBe(1);
    now = 5_000;
    await catalog.judge(classifyMysql('SELECT * FROM Locking'));
    expect(loads).toBe(2);
    // Nothing read: no lookup at all.
    await catalog.judge(classifyMysql('SELECT 1'));
    expect(loads).toBe(2);
  });

  it('fails when the catalog cannot be read', async () => {
    const catalog = new ViewCatalog(() => Promise.reject(new Error('down')));
    await expect(catalog.judge(classifyMysql('SELECT * FROM patients'))).rejects.toThrow('down');
  });
});
