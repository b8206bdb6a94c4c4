/** A span of text a content detector recognised as an identifier. */
export interface Detection {
  readonly start: number;
  readonly end: number;
  readonly detector: DetectorName;
  /** 0–1: how sure the detector is (validation and context words raise it). */
  readonly confidence: number;
}

/**
 * The content detectors, named after the HIPAA Safe Harbor identifiers they recognise
 * (45 CFR 164.514(b)(2)(i)). `health-plan`, `account-number` and `license-number` need a context
 * word ("member ID", "acct", "licence"): their values have no format of their own.
 */
export const DETECTOR_NAMES = [
  'ssn',
  'email',
  'phone',
  'credit-card',
  'mrn',
  'date',
  'ip-address',
  'url',
  'zip-code',
  'street-address',
  'city',
  'health-plan',
  'account-number',
  'license-number',
  'vin',
  'device-id',
  'name',
] as const;

export type DetectorName = (typeof DETECTOR_NAMES)[number];

/** A content detector: a cheap prefilter, then patterns with validation. */
export interface Detector {
  readonly name: DetectorName;
  /** False means `find` cannot match this text: a fast exit for the common case. */
  hint(text: string): boolean;
  /** Appends what it finds to `out`. */
  find(text: string, out: Detection[]): void;
}

/** Keeps the earliest, then longest, of overlapping detections; sorted by position. */
export function resolveOverlaps(detections: Detection[]): Detection[] {
  if (detections.length < 2) return detections;
  detections.sort((a, b) => a.start - b.start || b.end - a.end || b.confidence - a.confidence);
  const kept: Detection[] = [];
  let end = -1;
  for (const d of detections) {
    if (d.start < end) {
      const last = kept[kept.length - 1]!;
      // A longer, overlapping detection (an email inside a URL's query) wins.
      if (d.end > last.end && d.end - d.start > last.end - last.start && d.start === last.start) {
        kept[kept.length - 1] = d;
        end = d.end;
      }
      continue;
    }
    kept.push(d);
    end = d.end;
  }
  return kept;
}
