#!/usr/bin/env node
// Prints per-detector precision and recall on the evaluation set.
// Run: npm run build && node tools/masking-eval/dist/main.js [--verbose]
import { loadEvalSet } from './load-eval-set';
import { formatScoreTable, scoreDetectors } from './score-detectors';

const score = scoreDetectors(loadEvalSet());
console.log(formatScoreTable(score));
if (process.argv.includes('--verbose')) {
  console.log(`\nfalse positives (${score.falsePositives.length}):\n${score.falsePositives.join('\n')}`);
  console.log(`\nmisses (${score.misses.length}):\n${score.misses.join('\n')}`);
}
