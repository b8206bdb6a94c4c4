import { DETECTOR_NAMES, Masker } from '@warden/core';

/** One labelled document of the evaluation set. */
export interface EvalDocument {
  readonly id: string;
  readonly text: string;
  readonly spans: ReadonlyArray<{ readonly start: number; readonly end: number; readonly label: string }>;
}

export interface LabelScore {
  readonly label: string;
  /** Labelled spans, and how many of them a detection of the same label overlaps. */
  readonly gold: number;
  readonly found: number;
  /** Detections, and how many of them overlap a labelled span of the same label. */
  readonly detections: number;
  readonly correct: number;
  readonly precision: number | undefined;
  readonly recall: number | undefined;
}

export interface Score {
  readonly labels: readonly LabelScore[];
  readonly overall: LabelScore;
  /** Detections that matched nothing, for inspection: `label: "text"`. */
  readonly falsePositives: readonly string[];
  /** Labelled spans nothing found. */
  readonly misses: readonly string[];
}

/** Identifiers with a fixed format, where recall must be near perfect. */
export const STRUCTURED_LABELS = ['ssn', 'email', 'phone', 'credit-card', 'mrn', 'date'] as const;

/**
 * Runs every detector over the documents and scores them per label. A detection counts as correct
 * when it overlaps a labelled span of the same label (boundaries may differ, e.g. a trailing
 * extension); a labelled span counts as found when such a detection exists.
 */
export function scoreDetectors(documents: readonly EvalDocument[]): Score {
  const masker = new Masker({ key: Buffer.alloc(32, 1), detectors: [...DETECTOR_NAMES] });
  const counts = new Map<string, { gold: number; found: number; detections: number; correct: number }>();
  const bucket = (label: string) => {
    let c = counts.get(label);
    if (!c) counts.set(label, (c = { gold: 0, found: 0, detections: 0, correct: 0 }));
    return c;
  };
  for (const name of DETECTOR_NAMES) bucket(name);
  const falsePositives: string[] = [];
  const misses: string[] = [];
  for (const doc of documents) {
    const detections = masker.detect(doc.text);
    const overlaps = (a: { start: number; end: number }, b: { start: number; end: number }) => a.start < b.end && b.start < a.end;
    for (const span of doc.spans) {
      const c = bucket(span.label);
      c.gold++;
      if (detections.some((d) => d.detector === span.label && overlaps(d, span))) c.found++;
      else misses.push(`${doc.id} ${span.label}: ${JSON.stringify(doc.text.slice(span.start, span.end))}`);
    }
    for (const d of detections) {
      const c = bucket(d.detector);
      c.detections++;
      if (doc.spans.some((span) => span.label === d.detector && overlaps(d, span))) c.correct++;
      else falsePositives.push(`${doc.id} ${d.detector}: ${JSON.stringify(doc.text.slice(d.start, d.end))}`);
    }
  }
  const toScore = (label: string, c: { gold: number; found: number; detections: number; correct: number }): LabelScore => ({
    label,
    ...c,
    precision: c.detections === 0 ? undefined : c.correct / c.detections,
    recall: c.gold === 0 ? undefined : c.found / c.gold,
  });
  const labels = [...counts.entries()].map(([label, c]) => toScore(label, c)).sort((a, b) => a.label.localeCompare(b.label));
  const total = { gold: 0, found: 0, detections: 0, correct: 0 };
  for (const c of counts.values()) {
    total.gold += c.gold;
    total.found += c.found;
    total.detections += c.detections;
    total.correct += c.correct;
  }
  return { labels, overall: toScore('overall', total), falsePositives, misses };
}

/** The score as a fixed-width text table. */
export function formatScoreTable(score: Score): string {
  const fmt = (n: number | undefined) => (n === undefined ? '   n/a' : n.toFixed(4));
  const rows = [...score.labels, score.overall].map(
    (s) => `${s.label.padEnd(16)} ${String(s.gold).padStart(5)} ${String(s.detections).padStart(6)}  ${fmt(s.precision)}  ${fmt(s.recall)}`,
  );
  const header = `${'label'.padEnd(16)} ${'spans'.padStart(5)} ${'found'.padStart(6)}  prec.   recall`;
  return [header, '-'.repeat(header.length), ...rows.slice(0, -1), '-'.repeat(header.length), rows[rows.length - 1]].join('\n');
}
