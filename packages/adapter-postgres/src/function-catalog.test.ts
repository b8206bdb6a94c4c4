import type { Classification, StatementClass } from '@warden/core';
import { loadSqlParsers } from '@warden/sql';
import { catalogSnapshot, FunctionCatalog } from './function-catalog';

beforeAll(() => loadSqlParsers());

type FunctionRow = readonly [schema: string, name: string, volatility: string, onRow?: boolean, oid?: number];

const BUILT_IN: readonly FunctionRow[] = [
  ['pg_catalog', 'lower', 'i'],
  ['pg_catalog', 'now', 's'],
  ['pg_catalog', 'random', 'v'],
  ['pg_catalog', 'pg_advisory_lock', 'v'],
  ['pg_catalog', 'txid_current', 's'],
  ['pg_catalog', 'int4pl', 'i'],
];
const OPERATORS = [['pg_catalog', '+', 'pg_catalog', 'int4pl', 'i'] as const, ['public', '+', 'public', 'sneaky_plus', 'v'] as const];

function read(extra: Partial<StatementClass>): Classification {
  const statement: StatementClass = { action: 'read', objects: [], bulk: false, ...extra };
  return { action: 'read', objects: [], bulk: false, statementCount: 1, statements: [statement] };
}

/** A catalog over `rows` (changeable between loads), a clock the test moves, and a count of loads. */
function setUp(rows: FunctionRow[] = [...BUILT_IN]) {
  const clock = { now: 1_000_000 };
  const loads = { count: 0, fail: false };
  const catalog = new FunctionCatalog(async (startedAt) => {
    loads.count++;
    if (loads.fail) throw new Error('connection refused');
    return catalogSnapshot(startedAt, [...rows], OPERATORS);
  }, () => clock.now);
  return { catalog, clock, loads, rows };
}

async function judged(catalog: FunctionCatalog, classification: Classification, access: 'read-only' | 'read-write' | 'full' = 'read-only'): Promise<StatementClass> {
  return (await catalog.judge(classification, access)).statements[0]!;
}

describe('FunctionCatalog', () => {
  it('lets immutable, stable and reviewed volatile functions read', async () => {
    const { catalog } = setUp();
    expect(await judged(catalog, read({ functions: ['lower', 'pg_catalog.now', 'random'] }))).toMatchObject({ action: 'read' });
  });

  it('makes a read that calls a volatile function a write, naming it', async () => {
    const { catalog } = setUp();
    expect(await judged(catalog, read({ functions: ['lower', 'pg_advisory_lock'] }))).toMatchObject({ action: 'write', note: 'calls volatile function pg_catalog.pg_advisory_lock' });
    expect(await judged(catalog, read({ functions: ['txid_current'] }))).toMatchObject({ action: 'write', note: 'calls txid_current, which assigns a transaction ID' });
  });

  it('judges every overload and schema of an unqualified name, only the named schema of a qualified one', async () => {
    const { catalog } = setUp([...BUILT_IN, ['public', 'lower', 'v'], ['public', 'random', 'v']]);
    expect(await judged(catalog, read({ functions: ['lower'] }))).toMatchObject({ action: 'write', note: 'calls volatile function public.lower' });
    expect(await judged(catalog, read({ functions: ['pg_catalog.lower'] }))).toMatchObject({ action: 'read' });
    // The volatile allowlist covers pg_catalog only.
    expect(await judged(catalog, read({ functions: ['random'] }))).toMatchObject({ action: 'write', note: 'calls volatile function public.random' });
  });

  it('judges operators by the functions they run', async () => {
    const { catalog } = setUp();
    expect(await judged(catalog, read({ operators: ['pg_catalog.+'] }))).toMatchObject({ action: 'read' });
    expect(await judged(catalog, read({ operators: ['+'] }))).toMatchObject({ action: 'write', note: 'calls volatile function public.sneaky_plus' });
  });

  it('judges row.name selections as calls name(row) of functions that can take a row (functional notation)', async () => {
    const { catalog } = setUp([...BUILT_IN, ['public', 'bump', 'v', true], ['public', 'quiet', 's', true], ['public', 'system', 'v', false]]);
    expect(await judged(catalog, read({ rowFields: ['bump'] }))).toMatchObject({ action: 'write', note: 'calls volatile function public.bump' });
    expect(await judged(catalog, read({ rowFields: ['quiet', 'full_name', 'system'] }))).toMatchObject({ action: 'read' });
  });

  it('leaves statements that are not reads alone, and answers without a promise once loaded', async () => {
    const { catalog, loads } = setUp();
    const write: Classification = { ...read({}), action: 'write', statements: [{ action: 'write', objects: [], bulk: false, functions: ['pg_advisory_lock'] }] };
    expect(catalog.judge(write, 'read-only')).toBe(write);
    expect(loads.count).toBe(0);
    await catalog.judge(read({ functions: ['lower'] }), 'read-only');
    const again = read({ functions: ['now'] });
    expect(catalog.judge(again, 'read-only')).toBe(again);
    expect(loads.count).toBe(1);
  });

  it('reloads once for a name it does not hold; still missing, the statement is unknown (write on full access)', async () => {
    const { catalog, clock, loads, rows } = setUp();
    await catalog.judge(read({ functions: ['lower'] }), 'read-only');
    clock.now += 5_000;
    rows.push(['public', 'created_later', 's']);
    expect(await judged(catalog, read({ functions: ['created_later'] }))).toMatchObject({ action: 'read' });
    expect(loads.count).toBe(2);
    clock.now += 5_000;
    expect(await judged(catalog, read({ functions: ['nowhere'] }))).toMatchObject({ action: 'unknown', note: "calls function nowhere, which the target's catalog does not hold" });
    expect(loads.count).toBe(3);
    // Right after a reload, a made-up name does not reload again.
    expect(await judged(catalog, read({ functions: ['nowhere_else'] }))).toMatchObject({ action: 'unknown' });
    expect(loads.count).toBe(3);
    expect(await judged(catalog, read({ functions: ['nowhere'] }), 'full')).toMatchObject({ action: 'write' });
  });

  it('reloads after its TTL and after invalidate()', async () => {
    const { catalog, clock, loads, rows } = setUp();
    expect(await judged(catalog, read({ functions: ['now'] }))).toMatchObject({ action: 'read' });
    rows[1] = ['pg_catalog', 'now', 'v'];
    clock.now += 30_000;
    expect(await judged(catalog, read({ functions: ['now'] }))).toMatchObject({ action: 'read' });
    catalog.invalidate();
    clock.now += 1;
    expect(await judged(catalog, read({ functions: ['now'] }))).toMatchObject({ action: 'write' });
    expect(loads.count).toBe(2);
    rows[1] = ['pg_catalog', 'now', 's'];
    clock.now += 61_000;
    expect(await judged(catalog, read({ functions: ['now'] }))).toMatchObject({ action: 'read' });
    expect(loads.count).toBe(3);
  });

  it('does not answer from a load that started before an invalidation (it may miss the change)', async () => {
    const clock = { now: 1_000_000 };
    const releases: Array<() => void> = [];
    let volatility = 's';
    const catalog = new FunctionCatalog(
      (startedAt) => {
        const rows: FunctionRow[] = [['public', 'f', volatility]];
        return new Promise((resolve) => releases.push(() => resolve(catalogSnapshot(startedAt, rows, []))));
      },
      () => clock.now,
    );
    const first = catalog.judge(read({ functions: ['f'] }), 'read-only');
    clock.now += 10;
    volatility = 'v';
    catalog.invalidate();
    clock.now += 10;
    const second = catalog.judge(read({ functions: ['f'] }), 'read-only');
    expect(releases).toHaveLength(2);
    releases.forEach((release) => release());
    expect((await first).statements[0]).toMatchObject({ action: 'read' });
    expect((await second).statements[0]).toMatchObject({ action: 'write', note: 'calls volatile function public.f' });
  });

  it('judges a fast-path call by the function its OID names', async () => {
    const { catalog, clock, rows } = setUp([...BUILT_IN, ['pg_catalog', 'loread', 'v', false, 954], ['pg_catalog', 'lowrite', 'v', false, 955]]);
    expect((await catalog.judgeFastPath(954, 'read-only')).statements[0]).toMatchObject({ action: 'read', functions: ['pg_catalog.loread'] });
    expect((await catalog.judgeFastPath(955, 'read-only')).statements[0]).toMatchObject({ action: 'write', note: 'calls volatile function pg_catalog.lowrite' });
    // By name first: lo_import reads a server file, set_config's arguments are not seen.
    rows.push(['pg_catalog', 'lo_import', 'v', false, 764], ['pg_catalog', 'set_config', 'v', false, 2078]);
    clock.now += 1_000;
    expect((await catalog.judgeFastPath(764, 'read-write')).statements[0]).toMatchObject({ action: 'admin', note: 'fast-path call of pg_catalog.lo_import: calls lo_import' });
    expect((await catalog.judgeFastPath(2078, 'read-write')).statements[0]).toMatchObject({ action: 'admin' });
    clock.now += 1_000;
    rows.push(['public', 'fresh', 's', false, 99_999]);
    expect((await catalog.judgeFastPath(99_999, 'read-only')).statements[0]).toMatchObject({ action: 'read' });
    clock.now += 1_000;
    expect((await catalog.judgeFastPath(12_345, 'read-only')).statements[0]).toMatchObject({ action: 'unknown', note: "fast-path call of function OID 12345, which the target's catalog does not hold" });
  });

  it('without a catalog, statements that call functions are unknown; operators alone pass', async () => {
    const { catalog, loads } = setUp();
    loads.fail = true;
    expect(await judged(catalog, read({ functions: ['lower'] }))).toMatchObject({ action: 'unknown', note: expect.stringContaining("the target's function catalog could not be read (connection refused)") });
    expect(await judged(catalog, read({ operators: ['='] }))).toMatchObject({ action: 'read' });
    expect(await judged(catalog, read({ functions: ['lower'] }), 'full')).toMatchObject({ action: 'write' });
    // No new attempt for a while: the target is not asked again on every statement.
    expect(loads.count).toBe(1);
  });
});
