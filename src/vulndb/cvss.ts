/**
 * CVSS base scores computed from vectors, for feeds that give a vector without a score (OSV
 * `severity[]` carries only the vector).
 *
 * - CVSS v3.1: FIRST, "CVSS v3.1 Specification Document", §7.1 (base metric equations), §7.4
 *   (metric values) and Appendix A (Roundup), https://www.first.org/cvss/v3.1/specification-document
 * - CVSS v3.0: FIRST, "CVSS v3.0 Specification Document", §8.1; same equations, but Roundup is
 *   the plain "smallest number, to 1 decimal place, equal to or higher than its input".
 * - CVSS v2.0: FIRST, "A Complete Guide to the Common Vulnerability Scoring System Version 2.0",
 *   §3.2.1 (base equation).
 * - CVSS v4.0 uses a lookup of macro-vectors rather than an equation; we keep the vector and
 *   use a score only when the feed gives one.
 */
import type { Cvss, Severity } from './index.ts';

/** Longest vector string parsed (a full v3.1 vector with every environmental metric is ~150). */
export const MAX_CVSS_VECTOR_CHARS = 512;

const V3_WEIGHTS = {
  AV: { N: 0.85, A: 0.62, L: 0.55, P: 0.2 },
  AC: { L: 0.77, H: 0.44 },
  PR: { N: 0.85, L: 0.62, H: 0.27 },
  UI: { N: 0.85, R: 0.62 },
  S: { U: 0, C: 1 },
  C: { H: 0.56, L: 0.22, N: 0 },
  I: { H: 0.56, L: 0.22, N: 0 },
  A: { H: 0.56, L: 0.22, N: 0 },
} as const;
/** PR weights change when scope is changed (§7.4, footnote to Table 16). */
const V3_PR_SCOPE_CHANGED = { N: 0.85, L: 0.68, H: 0.5 } as const;

const V2_WEIGHTS = {
  AV: { L: 0.395, A: 0.646, N: 1.0 },
  AC: { H: 0.35, M: 0.61, L: 0.71 },
  Au: { M: 0.45, S: 0.56, N: 0.704 },
  C: { N: 0, P: 0.275, C: 0.66 },
  I: { N: 0, P: 0.275, C: 0.66 },
  A: { N: 0, P: 0.275, C: 0.66 },
} as const;

/** Splits "K:V/K:V" into a map; undefined when a metric repeats or a part is not K:V. */
function metrics(parts: string[]): Map<string, string> | undefined {
  const out = new Map<string, string>();
  for (const part of parts) {
    const colon = part.indexOf(':');
    if (colon <= 0 || colon === part.length - 1) return undefined;
    const key = part.slice(0, colon);
    if (out.has(key)) return undefined;
    out.set(key, part.slice(colon + 1));
  }
  return out;
}

function weight<T extends Record<string, Record<string, number>>>(table: T, m: Map<string, string>, key: keyof T & string): number | undefined {
  const value = m.get(key);
  if (value === undefined) return undefined;
  const row = table[key]!;
  return Object.hasOwn(row, value) ? row[value] : undefined;
}

/** CVSS v3.1 Appendix A Roundup: avoids floating-point artefacts by working in 1e-5 units. */
function roundup31(x: number): number {
  const i = Math.round(x * 100000);
  return i % 10000 === 0 ? i / 100000 : (Math.floor(i / 10000) + 1) / 10;
}

/** CVSS v3.0 Roundup: the smallest one-decimal number ≥ x. */
function roundup30(x: number): number {
  return Math.ceil(x * 10) / 10;
}

/** The base score of a CVSS 3.0 / 3.1 vector, or undefined when the vector is not valid. */
export function cvss3BaseScore(vector: string): number | undefined {
  if (vector.length > MAX_CVSS_VECTOR_CHARS) return undefined;
  const parts = vector.split('/');
  const version = parts.shift();
  if (version !== 'CVSS:3.0' && version !== 'CVSS:3.1') return undefined;
  const m = metrics(parts);
  if (!m) return undefined;
  const av = weight(V3_WEIGHTS, m, 'AV');
  const ac = weight(V3_WEIGHTS, m, 'AC');
  const ui = weight(V3_WEIGHTS, m, 'UI');
  const s = weight(V3_WEIGHTS, m, 'S');
  const c = weight(V3_WEIGHTS, m, 'C');
  const i = weight(V3_WEIGHTS, m, 'I');
  const a = weight(V3_WEIGHTS, m, 'A');
  const prValue = m.get('PR');
  if (av === undefined || ac === undefined || ui === undefined || s === undefined || c === undefined || i === undefined || a === undefined || prValue === undefined) return undefined;
  const changed = s === 1;
  const prTable: Record<string, number> = changed ? V3_PR_SCOPE_CHANGED : V3_WEIGHTS.PR;
  if (!Object.hasOwn(prTable, prValue)) return undefined;
  const pr = prTable[prValue]!;
  const roundup = version === 'CVSS:3.1' ? roundup31 : roundup30;
  const iss = 1 - (1 - c) * (1 - i) * (1 - a);
  const impact = changed ? 7.52 * (iss - 0.029) - 3.25 * Math.pow(iss - 0.02, 15) : 6.42 * iss;
  const exploitability = 8.22 * av * ac * pr * ui;
  if (impact <= 0) return 0;
  return changed ? roundup(Math.min(1.08 * (impact + exploitability), 10)) : roundup(Math.min(impact + exploitability, 10));
}

/** The base score of a CVSS 2.0 vector ("AV:N/AC:L/Au:N/C:P/I:P/A:P", optionally "(…)"). */
export function cvss2BaseScore(vector: string): number | undefined {
  if (vector.length > MAX_CVSS_VECTOR_CHARS) return undefined;
  let v = vector.startsWith('(') && vector.endsWith(')') ? vector.slice(1, -1) : vector;
  if (v.startsWith('CVSS:2.0/')) v = v.slice('CVSS:2.0/'.length);
  const m = metrics(v.split('/'));
  if (!m) return undefined;
  const av = weight(V2_WEIGHTS, m, 'AV');
  const ac = weight(V2_WEIGHTS, m, 'AC');
  const au = weight(V2_WEIGHTS, m, 'Au');
  const c = weight(V2_WEIGHTS, m, 'C');
  const i = weight(V2_WEIGHTS, m, 'I');
  const a = weight(V2_WEIGHTS, m, 'A');
  if (av === undefined || ac === undefined || au === undefined || c === undefined || i === undefined || a === undefined) return undefined;
  const impact = 10.41 * (1 - (1 - c) * (1 - i) * (1 - a));
  const exploitability = 20 * av * ac * au;
  const f = impact === 0 ? 0 : 1.176;
  return Math.round((0.6 * impact + 0.4 * exploitability - 1.5) * f * 10) / 10;
}

/**
 * A Cvss record from a vector: version from its prefix, score computed for 2.0 / 3.x, kept as
 * given for 4.0. Undefined when the string is not a CVSS vector we recognise.
 */
export function parseCvssVector(vector: string, source?: string, givenScore?: number): Cvss | undefined {
  const v = vector.trim();
  if (v.length === 0 || v.length > MAX_CVSS_VECTOR_CHARS) return undefined;
  const withSource = (c: Cvss): Cvss => (source === undefined ? c : { ...c, source });
  if (v.startsWith('CVSS:3.1/') || v.startsWith('CVSS:3.0/')) {
    const score = cvss3BaseScore(v);
    if (score === undefined) return undefined;
    return withSource({ version: v.startsWith('CVSS:3.1/') ? '3.1' : '3.0', vector: v, score });
  }
  if (v.startsWith('CVSS:4.0/')) {
    const c: Cvss = { version: '4.0', vector: v };
    if (givenScore !== undefined && Number.isFinite(givenScore) && givenScore >= 0 && givenScore <= 10) c.score = givenScore;
    return withSource(c);
  }
  const score2 = cvss2BaseScore(v);
  if (score2 !== undefined) return withSource({ version: '2.0', vector: v, score: score2 });
  return undefined;
}

/** Qualitative rating of a base score (CVSS v3.1 §5, Table 14; v4.0 uses the same bands). */
export function cvssSeverity(score: number): Severity {
  if (!Number.isFinite(score) || score <= 0) return 'unknown';
  if (score < 4) return 'low';
  if (score < 7) return 'medium';
  if (score < 9) return 'high';
  return 'critical';
}
