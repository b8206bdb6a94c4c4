import { loadEvalSet } from './load-eval-set';
import { STRUCTURED_LABELS, formatScoreTable, scoreDetectors } from './score-detectors';

const score = scoreDetectors(loadEvalSet());

describe('PHI detectors on the labelled evaluation set', () => {
  it('is a real set: hundreds of notes with every structured label present', () => {
    for (const label of STRUCTURED_LABELS) expect(score.labels.find((s) => s.label === label)?.gold).toBeGreaterThan(50);
  });

  it.each(STRUCTURED_LABELS)('recall on %s is at least 0.99', (label) => {
    const recall = score.labels.find((s) => s.label === label)!.recall!;
    if (recall < 0.99) console.log(formatScoreTable(score), score.misses.filter((m) => m.includes(` ${label}:`)).slice(0, 20));
    expect(recall).toBeGreaterThanOrEqual(0.99);
  });

  it('precision overall is at least 0.95', () => {
    if (score.overall.precision! < 0.95) console.log(formatScoreTable(score), score.falsePositives.slice(0, 40));
    expect(score.overall.precision).toBeGreaterThanOrEqual(0.95);
  });
});
