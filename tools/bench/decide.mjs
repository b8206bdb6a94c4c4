#!/usr/bin/env node
/**
 * The cost of the per-statement decision path: `PolicyEngine.decide()` alone, and classification
 * (`classifyPostgres`, the real PostgreSQL parser in WASM) followed by `decide()`, for texts the
 * classifier has cached (repeated statements: prepared statements, ORMs) and for texts it has not
 * (each text new: literals inlined).
 *
 * Runs the built packages: `npx tsc -b tsconfig.build.json` first. See tools/bench/README.md.
 *
 *   node tools/bench/decide.mjs [--iterations N] [--json]
 */
import { createRequire } from 'node:module';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const { PolicyEngine } = require('@warden/core');
const { classifyPostgres, loadSqlParsers } = require('@warden/sql');

const { values } = parseArgs({ options: { iterations: { type: 'string', default: '200000' }, json: { type: 'boolean', default: false } }, strict: true });
const ITERATIONS = Number(values.iterations);
if (!Number.isInteger(ITERATIONS) || ITERATIONS < 1000) {
  process.stderr.write('decide.mjs: --iterations is an integer ≥ 1000\n');
  process.exit(2);
}

// A policy of 20 rules, in the shapes the README and issue describe: most match on connection,
// action, groups and objects; two use the text regex (the slowest matcher); one is audit-only.
const rules = [
  { name: 'billing-no-writes', match: { connection: 'billing', action: 'write' }, effect: 'block' },
  { name: 'billing-analysts-read', match: { connection: 'billing', groups: ['analysts'], action: 'read' }, effect: 'allow' },
  { name: 'no-ddl-outside-dba', match: { connection: 'clinic', action: 'ddl', groups: ['clinicians', 'coding-agents', 'analysts'] }, effect: 'block', reason: 'schema changes are reserved for the dba group' },
  { name: 'no-admin-for-agents', match: { kind: 'agent', action: 'admin' }, effect: 'block' },
  { name: 'no-bulk-phi-writes', match: { action: 'write', bulk: true, objects: ['patients', 'encounters', 'public.pat*'] }, effect: 'block' },
  { name: 'audit-only-bulk-notes', match: { action: 'write', bulk: true, objects: ['notes'] }, effect: 'block', mode: 'audit-only' },
  { name: 'no-copy-program', match: { text: 'copy\\s.*\\sprogram\\s' }, effect: 'block' },
  { name: 'no-sleep', match: { text: 'pg_sleep' }, effect: 'block' },
  { name: 'phi-deletes-need-review', match: { action: 'write', objects: ['patients', 'encounters'], text: '^\\s*delete' }, effect: 'review', approvers: ['security-officers'] },
  { name: 'agents-no-ssn', match: { kind: 'agent', objects: ['ssn_vault', 'public.ssn_*'] }, effect: 'block' },
  { name: 'dba-anything', match: { connection: 'clinic', groups: ['dba'] }, effect: 'allow' },
  { name: 'pharmacy-writes-review', match: { objects: ['prescriptions'], action: 'write', groups: ['clinicians'] }, effect: 'review', approvers: ['pharmacists'] },
  { name: 'lab-results-agents', match: { objects: ['lab_results'], kind: 'agent', action: 'write' }, effect: 'block' },
  { name: 'ops-maintenance', match: { identities: ['ops-bot'], action: 'admin' }, effect: 'allow' },
  { name: 'staging-anything', match: { connection: ['staging', 'dev'] }, effect: 'allow' },
  { name: 'mysql-reads', match: { protocol: 'mysql', action: 'read' }, effect: 'allow' },
  { name: 'no-truncate-audit', match: { objects: ['audit.*'], action: ['write', 'ddl'] }, effect: 'block' },
  { name: 'clinicians-notes', match: { groups: ['clinicians'], objects: ['notes', 'appointments'] }, effect: 'allow' },
  { name: 'analysts-reads', match: { groups: ['analysts'], action: 'read' }, effect: 'allow' },
  { name: 'reads-ok', match: { action: ['read', 'transaction', 'session'] }, effect: 'allow' },
];
const grants = [
  { connection: 'clinic', groups: ['coding-agents'], access: 'read-only' },
  { connection: 'clinic', groups: ['clinicians'], access: 'read-write' },
  { connection: 'clinic', groups: ['dba'], access: 'full' },
];
const policy = new PolicyEngine({ grants, rules, connectionDefaults: { clinic: { effect: 'allow' } } });

const expiresAt = new Date(Date.now() + 3_600_000);
const contexts = [
  { identity: { subject: 'agent-1', issuer: 'bench', groups: ['coding-agents'], kind: 'agent', expiresAt }, connection: 'clinic', protocol: 'postgres', access: 'read-only' },
  { identity: { subject: 'nurse-1', issuer: 'bench', groups: ['clinicians'], kind: 'human', expiresAt }, connection: 'clinic', protocol: 'postgres', access: 'read-write' },
  { identity: { subject: 'dba-1', issuer: 'bench', groups: ['dba'], kind: 'human', expiresAt }, connection: 'clinic', protocol: 'postgres', access: 'full' },
];

// A realistic mix: mostly point reads and small writes, some transaction control and session
// settings, a few joins, CTEs, bulk writes, DDL and multi-statement strings. `$ID` is replaced by a
// number: the same number every time (cached texts) or a new one each time (uncached texts).
const statements = [
  'SELECT abalance FROM pgbench_accounts WHERE aid = $ID',
  'SELECT * FROM patients WHERE id = $ID',
  'SELECT full_name, dob FROM patients WHERE id = $ID',
  'SELECT p.full_name, e.reason FROM patients p JOIN encounters e ON e.patient_id = p.id WHERE p.id = $ID ORDER BY e.at DESC LIMIT 10',
  "SELECT count(*) FROM appointments WHERE starts_at > now() - interval '1 day' AND clinic_id = $ID",
  'SELECT id, body FROM notes WHERE patient_id = $ID ORDER BY id DESC LIMIT 20',
  'WITH recent AS (SELECT patient_id FROM encounters WHERE at > now() - interval \'7 days\') SELECT count(*) FROM recent WHERE patient_id = $ID',
  'SELECT * FROM lab_results WHERE patient_id = $ID AND status = \'final\'',
  "INSERT INTO notes (patient_id, body) VALUES ($ID, 'follow up in two weeks')",
  'UPDATE appointments SET status = \'confirmed\' WHERE id = $ID',
  'UPDATE patients SET phone = \'555-0100\' WHERE id = $ID',
  'DELETE FROM notes WHERE id = $ID',
  'DELETE FROM patients WHERE id = $ID',
  "INSERT INTO prescriptions (patient_id, drug, dose) VALUES ($ID, 'amoxicillin', '500 mg')",
  'BEGIN',
  'COMMIT',
  'ROLLBACK',
  "SET application_name = 'app-$ID'",
  'SET statement_timeout = $ID',
  'SHOW search_path',
  'SELECT 1',
  'BEGIN; UPDATE accounts SET balance = balance - 1 WHERE id = $ID; COMMIT',
  'DELETE FROM notes',
  'CREATE INDEX CONCURRENTLY notes_patient_$ID ON notes (patient_id)',
  'EXPLAIN ANALYZE SELECT * FROM encounters WHERE patient_id = $ID',
  'SELECT pg_sleep(0.$ID)',
];

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Times `body(i)` one call at a time; returns µs p50/p99/mean after a warm-up. */
function measure(body) {
  for (let i = 0; i < Math.min(50_000, ITERATIONS); i++) body(i);
  const samples = new Float64Array(ITERATIONS);
  for (let i = 0; i < ITERATIONS; i++) {
    const start = process.hrtime.bigint();
    body(i);
    samples[i] = Number(process.hrtime.bigint() - start) / 1000;
  }
  samples.sort();
  let total = 0;
  for (const sample of samples) total += sample;
  return { p50: percentile(samples, 50), p99: percentile(samples, 99), mean: total / ITERATIONS };
}

await loadSqlParsers();
const cachedTexts = statements.map((sql) => sql.replaceAll('$ID', '42'));
const preclassified = cachedTexts.map((text) => classifyPostgres(text));
const pick = (i) => i % statements.length;
const contextOf = (i) => contexts[Math.floor(i / statements.length) % contexts.length];

// A counter the optimiser cannot drop: every decision's effect feeds it.
let effects = 0;
const note = (decision) => {
  effects += decision.effect.length;
};

const timerOverhead = measure(() => undefined);
const decideOnly = measure((i) => note(policy.decide(contextOf(i), preclassified[pick(i)], cachedTexts[pick(i)])));
const cached = measure((i) => {
  const text = cachedTexts[pick(i)];
  note(policy.decide(contextOf(i), classifyPostgres(text), text));
});
// New literals: a fresh number each call, beyond anything the 2,000-entry text cache has seen (plain
// DML whose analysis never read a literal is then shared by its literal template).
let serial = 1_000_000;
const uncached = measure((i) => {
  const text = statements[pick(i)].replaceAll('$ID', String(serial++));
  note(policy.decide(contextOf(i), classifyPostgres(text), text));
});
// Never-seen texts: a unique comment makes every text new to both caches, so each one is parsed.
const unseen = measure((i) => {
  const text = `${statements[pick(i)].replaceAll('$ID', '42')} /* ${serial++} */`;
  note(policy.decide(contextOf(i), classifyPostgres(text), text));
});

// The decisions the mix gets, to show the policy is doing real work.
const outcomes = {};
for (let i = 0; i < statements.length * contexts.length; i++) {
  const decision = policy.decide(contextOf(i), preclassified[pick(i)], cachedTexts[pick(i)]);
  const key = decision.wouldHave ? `${decision.effect} (would have: ${decision.wouldHave.effect})` : decision.effect;
  outcomes[key] = (outcomes[key] ?? 0) + 1;
}

const fmt = (value) => value.toFixed(2).padStart(8);
const rows = [
  ['decide() alone', decideOnly],
  ['classify + decide, cached text', cached],
  ['classify + decide, new literals', uncached],
  ['classify + decide, never-seen text', unseen],
  ['(timer overhead, empty body)', timerOverhead],
];
const lines = [
  `decide.mjs: ${ITERATIONS} calls per row, ${rules.length} rules, ${statements.length} statements × ${contexts.length} identities (read-only, read-write, full)`,
  `node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'} × ${os.cpus().length}`,
  `decisions over the mix: ${Object.entries(outcomes).map(([key, count]) => `${key} ${count}`).join(', ')}`,
  '',
  `${'path'.padEnd(34)}  ${'p50 µs'.padStart(8)}  ${'p99 µs'.padStart(8)}  ${'mean µs'.padStart(8)}`,
  ...rows.map(([name, r]) => `${name.padEnd(34)}  ${fmt(r.p50)}  ${fmt(r.p99)}  ${fmt(r.mean)}`),
  '',
];
process.stdout.write(lines.join('\n'));
if (effects === 0) process.stderr.write('no decisions were made\n');

const result = {
  at: new Date().toISOString(),
  iterations: ITERATIONS,
  rules: rules.length,
  statements: statements.length,
  node: process.version,
  cpu: os.cpus()[0]?.model,
  cores: os.cpus().length,
  outcomes,
  microseconds: { decideOnly, classifyDecideCached: cached, classifyDecideNewLiterals: uncached, classifyDecideUnseen: unseen, timerOverhead },
};
const resultsDir = path.join(here, 'results');
mkdirSync(resultsDir, { recursive: true });
const file = path.join(resultsDir, `decide-${result.at.replaceAll(':', '-')}.json`);
writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
process.stdout.write(`results: ${path.relative(process.cwd(), file)}\n`);
