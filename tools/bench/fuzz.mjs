#!/usr/bin/env node
/**
 * The fuzz target: runs the property-based fuzz suites of every protocol parser Warden owns with a
 * large case count (default 100,000 per property), and reports per property the cases run, the
 * time taken and, for a failure, fast-check's counterexample and seed (replay it with
 * `WARDEN_FUZZ_SEED=<seed>`).
 *
 * The suites are the jest ones (`*fuzz.test.ts`), so the bench and `npm test` check the same
 * properties; the test suite runs a few thousand cases each, this runs many more.
 *
 *   node tools/bench/fuzz.mjs [--runs N] [--seed S] [--suite pattern] [--json]
 *
 * Exit status: 0 when every property held, 1 when one failed, 2 for bad flags.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');

/** The unit-level fuzz suites: parsers driven directly (fast enough for 100k cases each). */
const SUITES = [
  'packages/adapter-postgres/src/frontend-fuzz.test.ts',
  'packages/adapter-mysql/src/packet-fuzz.test.ts',
  'packages/adapter-kubernetes/src/request-fuzz.test.ts',
  'apps/gateway/src/config/load-config-fuzz.test.ts',
];

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '100000' },
    seed: { type: 'string' },
    suite: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
  strict: true,
});
const RUNS = Number(values.runs);
if (!Number.isInteger(RUNS) || RUNS < 1) {
  process.stderr.write('fuzz.mjs: --runs is a positive integer\n');
  process.exit(2);
}
const suites = SUITES.filter((suite) => !values.suite || suite.includes(values.suite));
if (suites.length === 0) {
  process.stderr.write(`fuzz.mjs: no suite matches ${values.suite}\n`);
  process.exit(2);
}

const report = path.join(os.tmpdir(), `warden-fuzz-${process.pid}.json`);
const began = Date.now();
const jest = spawnSync(process.execPath, [path.join(root, 'node_modules/jest/bin/jest.js'), '--runInBand', '--json', `--outputFile=${report}`, '--testTimeout=86400000', ...suites], {
  cwd: root,
  env: { ...process.env, WARDEN_FUZZ_RUNS: String(RUNS), ...(values.seed ? { WARDEN_FUZZ_SEED: values.seed } : {}) },
  stdio: ['ignore', 'ignore', 'pipe'],
  encoding: 'utf8',
});
let results;
try {
  results = JSON.parse(readFileSync(report, 'utf8'));
} catch {
  process.stderr.write(jest.stderr);
  process.stderr.write('fuzz.mjs: jest did not produce a report\n');
  process.exit(1);
} finally {
  rmSync(report, { force: true });
}

const properties = results.testResults.flatMap((file) =>
  file.assertionResults.map((test) => ({
    suite: path.relative(root, file.name),
    property: test.title,
    status: test.status,
    seconds: (test.duration ?? 0) / 1000,
    failure: test.failureMessages.join('\n').split('\n').filter((line) => !/^\s+at /.test(line)).slice(0, 12).join('\n'),
  })),
);
const failed = properties.filter((p) => p.status !== 'passed');
const summary = { runsPerProperty: RUNS, seed: values.seed ?? null, seconds: (Date.now() - began) / 1000, properties, failed: failed.length, machine: { cpus: os.cpus().length, node: process.version } };

mkdirSync(path.join(here, 'results'), { recursive: true });
writeFileSync(path.join(here, 'results', `fuzz-${new Date().toISOString().replace(/[:.]/g, '-')}.json`), `${JSON.stringify(summary, null, 2)}\n`);

if (values.json) {
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
} else {
  process.stdout.write(`fuzz: ${RUNS} cases per property\n\n`);
  for (const p of properties) {
    const mark = p.status === 'passed' ? 'ok  ' : 'FAIL';
    process.stdout.write(`${mark} ${p.seconds.toFixed(1).padStart(7)} s  ${p.suite}: ${p.property}\n`);
    if (p.status !== 'passed') process.stdout.write(`${p.failure.replace(/^/gm, '       ')}\n`);
  }
  process.stdout.write(`\n${properties.length - failed.length}/${properties.length} properties held in ${summary.seconds.toFixed(0)} s\n`);
}
process.exit(failed.length === 0 ? 0 : 1);
