/** The security views' shared vocabulary. */
import { ServiceError } from './errors.ts';

/** Severities, highest first (the store's severity ranks are indexes into this). */
export const SEVERITY_ORDER = ['critical', 'high', 'medium', 'low', 'negligible', 'unknown'] as const;
export type Severity = (typeof SEVERITY_ORDER)[number];

export type SeverityCounts = Record<Severity, number>;

export function zeroCounts(): SeverityCounts {
  return { critical: 0, high: 0, medium: 0, low: 0, negligible: 0, unknown: 0 };
}

export function parseSeverity(s: string): Severity {
  const v = s.trim().toLowerCase();
  if (!(SEVERITY_ORDER as readonly string[]).includes(v)) throw new ServiceError(`unknown severity '${s}': use ${SEVERITY_ORDER.join(', ')}`);
  return v as Severity;
}
