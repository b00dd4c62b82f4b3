/**
 * What every matcher shares: deciding whether an installed version falls in an affected
 * package's ranges, choosing one advisory per (vulnerability, package) when several feeds speak
 * about it, and building the Finding with its evidence, severity, EPSS and KEV.
 *
 * Range semantics follow the OSV schema ("Evaluation", ossf/osv-schema docs/schema.md v1.6):
 * a version is affected when introduced ≤ v < fixed, or introduced ≤ v ≤ last_affected, or it is
 * listed in `versions`; an introduced-only range affects every later version.
 */
import type { Package } from '../inventory/index.ts';
import type { Issue } from '../util/issues.ts';
import { schemeFor, type VersionScheme } from '../version/index.ts';
import type { AffectedPackage, AffectedRecord, Cvss, Namespace, Severity, VersionRange, VulnDb } from '../vulndb/index.ts';
import { SEVERITIES } from '../vulndb/index.ts';
import { cvss2BaseScore, cvss3BaseScore, cvssSeverity } from '../vulndb/cvss.ts';
import type { Finding, FindingEvidence } from './index.ts';

/** How many offending package names an issue message lists before "and N more". */
export const MAX_NAMES_IN_ISSUE = 10;

const CVE_ID = /^CVE-\d{4}-\d{4,}$/;
const CVE_IN_ID = /CVE-\d{4}-\d{4,}/;

/** The outcome of comparing one installed version with one affected-package entry. */
export interface Verdict {
  vulnerable: boolean;
  state: Finding['state'] | 'not-affected';
  fixedVersion?: string;
  range?: VersionRange;
  /** "1:2.3-1 < 1:2.3-2 (deb)"; for a non-vulnerable verdict, why not. */
  comparison: string;
}

function isStart(v: string | undefined): boolean {
  return v === undefined || v === '' || v === '0';
}

/** The state of an entry's unfixed hit: the vendor's reason when the feed gives one, else plain affected. */
function unfixedStateOf(affected: AffectedPackage): Finding['state'] {
  return affected.state === 'wont-fix' || affected.state === 'deferred' || affected.state === 'unimportant' ? affected.state : 'affected';
}

/** Whether a range with a fix covers `version` (introduced ≤ version < fixed). */
function fixedRangeCovers(range: VersionRange, version: string, scheme: VersionScheme): boolean {
  if (range.fixed === undefined || range.fixed === '') return false;
  if (!isStart(range.introduced) && scheme.compare(version, range.introduced!) < 0) return false;
  return scheme.compare(version, range.fixed) < 0;
}

/**
 * Several fixes cover one installed version (ranges [0, A) and [0, B) of a re-fixed CVE, as
 * osv.dev's Alpine export lists intel-ucode's CVE-2018-12126 three times): the fix reported is
 * the lowest one that no range still covers, i.e. the upgrade that resolves every covering
 * range; the highest when each is covered by another (a broken feed). Disjoint ranges (Go's
 * per-branch pairs) cover a version once, so there the single covering fix wins.
 */
export function resolvingFix(fixes: string[], stillAffected: (fix: string) => boolean, scheme: VersionScheme): string {
  const sorted = [...new Set(fixes)].sort((a, b) => scheme.compare(a, b));
  return sorted.find((f) => !stillAffected(f)) ?? sorted[sorted.length - 1]!;
}

/**
 * Compares `version` with an affected entry. Returns undefined when the entry cannot be decided
 * (state fixed with no range and no versions: a feed placeholder the importer should have dropped).
 * `introduced` is inclusive: a version equal to it (in the scheme's order) is affected.
 */
export function evaluate(affected: AffectedPackage, version: string, scheme: VersionScheme): Verdict | undefined {
  const id = scheme.id;
  if (affected.state === 'not-affected') return { vulnerable: false, state: 'not-affected', comparison: `vendor: ${affected.name} not affected` };
  const unfixedState = unfixedStateOf(affected);
  const versions = affected.versions ?? [];
  if (affected.ranges.length === 0 && versions.length === 0) {
    if (affected.state === 'fixed') return undefined;
    return { vulnerable: true, state: unfixedState, comparison: `${version}: every version affected, no fix (${affected.state})` };
  }
  let hit: Verdict | undefined;
  const fixedHits: Verdict[] = [];
  const misses: string[] = [];
  for (const range of affected.ranges) {
    if (!isStart(range.introduced) && scheme.compare(version, range.introduced!) < 0) {
      misses.push(`${version} < introduced ${range.introduced}`);
      continue;
    }
    const from = isStart(range.introduced) ? '' : `${range.introduced} <= `;
    if (range.fixed !== undefined && range.fixed !== '') {
      if (scheme.compare(version, range.fixed) < 0) {
        fixedHits.push({ vulnerable: true, state: 'fixed', fixedVersion: range.fixed, range, comparison: `${from}${version} < ${range.fixed} (${id})` });
      } else {
        misses.push(`${version} >= ${range.fixed} (${id})`);
      }
      continue;
    }
    if (range.lastAffected !== undefined && range.lastAffected !== '') {
      if (scheme.compare(version, range.lastAffected) <= 0) {
        hit ??= { vulnerable: true, state: unfixedState, range, comparison: `${from}${version} <= last affected ${range.lastAffected} (${id})` };
      } else {
        misses.push(`${version} > last affected ${range.lastAffected} (${id})`);
      }
      continue;
    }
    hit ??= { vulnerable: true, state: unfixedState, range, comparison: `${from || `${range.introduced ?? '0'} <= `}${version}, no fix (${affected.state})` };
  }
  // A fix, when one covers the version, is reported over an open range: it is what to install.
  if (fixedHits.length > 0) {
    const fix = resolvingFix(fixedHits.map((h) => h.fixedVersion!), (f) => affected.ranges.some((r) => fixedRangeCovers(r, f, scheme)), scheme);
    hit = fixedHits.find((h) => h.fixedVersion === fix)!;
  }
  if (hit === undefined) {
    const listed = versions.find((v) => scheme.compare(version, v) === 0);
    if (listed !== undefined) hit = { vulnerable: true, state: unfixedState, comparison: `${version} == listed affected version ${listed} (${id})` };
  }
  return hit ?? { vulnerable: false, state: 'not-affected', comparison: misses.join('; ') || `${version} not in the affected versions` };
}

/** The CVE ids an advisory is about (aliases, else a CVE embedded in its id); its own id when none. */
export function vulnerabilityIds(advisory: AffectedRecord['advisory']): string[] {
  const cves = advisory.aliases.filter((a) => CVE_ID.test(a));
  if (cves.length === 0) {
    if (CVE_ID.test(advisory.id)) return [advisory.id];
    const embedded = CVE_IN_ID.exec(advisory.id);
    if (embedded) return [embedded[0]];
    return [advisory.id];
  }
  return [...new Set(cves)];
}

/** Advisory id prefixes of each distro's own feeds: these win over third-party records for the same CVE. */
const VENDOR_ID_PREFIXES: Record<string, readonly string[]> = {
  ubuntu: ['UBUNTU-', 'USN-'],
  debian: ['DEBIAN-', 'DSA-', 'DLA-', 'DTSA-'],
  alpine: ['ALPINE-'],
  azurelinux: ['oval:com.microsoft.azurelinux', 'AZL-'],
  mariner: ['oval:com.microsoft.cbl-mariner', 'CBL-'],
  go: ['GO-'],
};

/**
 * Higher is preferred. First a record about exactly this one CVE (the per-CVE triage: Ubuntu's
 * UBUNTU-CVE-*, Debian's tracker CVE-* records) over a notice naming many (USN-*, DSA-*), whose
 * fixed version is the notice's and whose "not affected" is not said per CVE; then the distro's
 * own id prefixes over third-party records in the same namespace.
 */
export function advisoryRank(advisory: AffectedRecord['advisory'], namespace: Namespace, cve: string): number {
  const family = namespace.split(':')[0] ?? namespace;
  const prefixes = VENDOR_ID_PREFIXES[family] ?? [];
  const vendor = prefixes.some((p) => advisory.id.startsWith(p)) || advisory.source.includes(family) ? 1 : 0;
  const ids = vulnerabilityIds(advisory);
  const single = ids.length === 1 && ids[0] === cve ? 2 : 0;
  return single + vendor;
}

/** One advisory entry's verdict for a package, as a matcher gathers them. */
export interface Candidate {
  record: AffectedRecord;
  vulnerabilityId: string;
  verdict: Verdict;
  matchedOn: FindingEvidence['matchedOn'];
  comparedName: string;
  comparedVersion: string;
  rank: number;
}

function severityOf(level: Severity | undefined): Severity | undefined {
  return level !== undefined && level !== 'unknown' && (SEVERITIES as readonly string[]).includes(level) ? level : undefined;
}

/** Highest CVSS score (feed's or computed from the vector) as a severity; undefined with no scorable entry. */
/** The score of an entry: the feed's number, else computed from a 2.0 / 3.x vector (vulndb/cvss.ts). */
export function cvssScore(c: Cvss): number | undefined {
  if (c.score !== undefined && Number.isFinite(c.score)) return c.score;
  if (c.version === '3.0' || c.version === '3.1') return cvss3BaseScore(c.vector);
  if (c.version === '2.0') return cvss2BaseScore(c.vector);
  return undefined;
}

export function severityFromCvss(cvss: Cvss[]): Severity | undefined {
  let best: number | undefined;
  for (const c of cvss) {
    const s = cvssScore(c);
    if (s !== undefined && (best === undefined || s > best)) best = s;
  }
  if (best === undefined) return undefined;
  const sev = cvssSeverity(best);
  return sev === 'unknown' ? undefined : sev;
}

function mergeCvss(lists: Cvss[][]): Cvss[] {
  const out: Cvss[] = [];
  const seen = new Set<string>();
  for (const list of lists) {
    for (const c of list) {
      const key = `${c.source ?? ''}|${c.vector}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const score = cvssScore(c);
      out.push(score !== undefined && c.score === undefined ? { ...c, score } : c);
    }
  }
  return out;
}

export type FindingPackage = Finding['package'];

export function findingPackage(pkg: Package): FindingPackage {
  const out: FindingPackage = { id: pkg.id, type: pkg.type, name: pkg.name, version: pkg.version };
  if (pkg.arch !== undefined) out.arch = pkg.arch;
  if (pkg.source !== undefined) out.source = { ...pkg.source };
  if (pkg.binaryPath !== undefined) out.binaryPath = pkg.binaryPath;
  return out;
}

/**
 * One advisory may name a package in several entries (osv.dev's Alpine export lists a re-fixed
 * CVE once per fix): the vulnerable entry whose fix resolves them all is chosen (see
 * resolvingFix); an entry without a fix when none has one.
 */
function chooseWithinAdvisory(list: Candidate[]): Candidate | undefined {
  const vulnerable = list.filter((c) => c.verdict.vulnerable);
  const fixed = vulnerable.filter((c) => c.verdict.fixedVersion !== undefined);
  if (fixed.length <= 1) return fixed[0] ?? vulnerable[0];
  const scheme = schemeFor(fixed[0]!.record.affected.versionScheme);
  const fix = resolvingFix(fixed.map((c) => c.verdict.fixedVersion!), (f) => fixed.some((c) => c.record.affected.ranges.some((r) => fixedRangeCovers(r, f, scheme))), scheme);
  return fixed.find((c) => c.verdict.fixedVersion === fix);
}

/**
 * Groups candidates by vulnerability id and picks, per id, the best-ranked advisory's verdict:
 * when the vendor says "fixed in X" and the version is at X, a third-party "affected" does not
 * override it. Returns one Finding per vulnerable id.
 */
export function decide(pkg: Package, namespace: Namespace, candidates: Candidate[], db: VulnDb): Finding[] {
  const byId = new Map<string, Candidate[]>();
  for (const c of candidates) {
    const list = byId.get(c.vulnerabilityId);
    if (list) list.push(c);
    else byId.set(c.vulnerabilityId, [c]);
  }
  const findings: Finding[] = [];
  for (const [vid, list] of byId) {
    // Stable order: rank, then vulnerable before not (within one advisory any vulnerable row wins), then advisory id.
    // A record with the vendor's triage status (UCT) before one without (the OSV rendering of the same triage).
    list.sort((a, b) => b.rank - a.rank || Number(b.verdict.vulnerable) - Number(a.verdict.vulnerable)
      || Number(b.record.affected.vendorStatus !== undefined) - Number(a.record.affected.vendorStatus !== undefined) || (a.record.advisory.id < b.record.advisory.id ? -1 : a.record.advisory.id > b.record.advisory.id ? 1 : 0));
    const top = list[0]!;
    const sameAdvisory = list.filter((c) => c.record.advisory.id === top.record.advisory.id && c.rank === top.rank);
    const chosen = chooseWithinAdvisory(sameAdvisory) ?? top;
    if (!chosen.verdict.vulnerable) continue;
    const advisory = chosen.record.advisory;
    const aliases = new Set<string>();
    for (const c of list) {
      if (c.record.advisory.id !== vid) aliases.add(c.record.advisory.id);
      for (const a of c.record.advisory.aliases) if (a !== vid) aliases.add(a);
    }
    const cvss = mergeCvss(list.map((c) => c.record.advisory.cvss));
    const vendor = [chosen, ...list].map((c) => c.record.affected.vendorSeverity).find((v) => v !== undefined && severityOf(v.severity) !== undefined);
    const severity = severityOf(vendor?.severity) ?? severityFromCvss(cvss) ?? 'unknown';
    const verdict = chosen.verdict;
    const evidence: FindingEvidence = {
      package: pkg.evidence.map((e) => ({ ...e })),
      advisory: { id: advisory.id, source: advisory.source, feed: advisory.feed, ...(advisory.modified !== undefined && { modified: advisory.modified }) },
      namespace,
      matchedOn: chosen.matchedOn,
      comparedName: chosen.comparedName,
      comparedVersion: chosen.comparedVersion,
      ...(verdict.range !== undefined && { range: { ...verdict.range } }),
      comparison: verdict.comparison,
    };
    const finding: Finding = {
      id: `${vid}|${pkg.id}`,
      vulnerabilityId: vid,
      aliases: [...aliases].sort(),
      package: findingPackage(pkg),
      state: verdict.state === 'not-affected' ? 'affected' : verdict.state,
      severity,
      cvss,
      evidence,
    };
    if (verdict.fixedVersion !== undefined) finding.fixedVersion = verdict.fixedVersion;
    if (vendor !== undefined) finding.vendorSeverity = { source: vendor.source, level: vendor.level };
    const status = chosen.record.affected.vendorStatus;
    if (status !== undefined) finding.vendorStatus = { ...status };
    if (CVE_ID.test(vid)) {
      const epss = db.epss(vid);
      if (epss !== undefined) finding.epss = epss;
      const kev = db.kev(vid);
      if (kev !== undefined) finding.kev = kev;
    }
    const summary = list.map((c) => c.record.advisory.summary).find((s) => s !== undefined && s !== '');
    if (summary !== undefined) finding.summary = summary;
    findings.push(finding);
  }
  return findings;
}

/** An issue naming up to MAX_NAMES_IN_ISSUE packages. */
export function namedIssue(severity: Issue['severity'], code: string, lead: string, names: string[], location?: string): Issue {
  const shown = names.slice(0, MAX_NAMES_IN_ISSUE).join(', ');
  const more = names.length > MAX_NAMES_IN_ISSUE ? ` and ${names.length - MAX_NAMES_IN_ISSUE} more` : '';
  const issue: Issue = { severity, code, message: `${lead}: ${shown}${more}` };
  if (location !== undefined) issue.location = location;
  return issue;
}

const SEVERITY_ORDER = new Map<string, number>(SEVERITIES.map((s, i) => [s, i]));

/** Deterministic order: severity (critical first), vulnerability id, package id. */
export function compareFindings(a: Finding, b: Finding): number {
  return (SEVERITY_ORDER.get(a.severity) ?? 99) - (SEVERITY_ORDER.get(b.severity) ?? 99)
    || (a.vulnerabilityId < b.vulnerabilityId ? -1 : a.vulnerabilityId > b.vulnerabilityId ? 1 : 0)
    || (a.package.id < b.package.id ? -1 : a.package.id > b.package.id ? 1 : 0);
}
