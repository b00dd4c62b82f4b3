/** Shared helpers for the report writers: counts, the coverage sentence, purls of findings. */
import { packagePurl } from '../inventory/sbom/purl.ts';
import type { Package } from '../inventory/index.ts';
import type { Finding } from '../match/index.ts';
import type { ScanResult } from '../scan/result.ts';
import { SEVERITIES, type Severity } from '../vulndb/index.ts';

export function severityCounts(findings: Finding[]): Record<Severity, number> {
  const counts = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  for (const f of findings) counts[f.severity]++;
  return counts;
}

/**
 * One line saying what the vulnerability scan covered. It never says "0 vulnerabilities" for a
 * node that was not assessed: an unassessed node reads "NOT ASSESSED: <reasons>".
 */
export function vulnCoverageLine(result: ScanResult): string {
  const cov = result.coverage.vuln;
  if (!result.scanners.includes('vuln') || cov === undefined) return 'Vulnerabilities: not scanned (scanner not selected)';
  const reasons = cov.issues.filter((i) => i.severity === 'error' || i.code === 'match.no-data').map((i) => i.message);
  if (!cov.assessed) return `Vulnerabilities: NOT ASSESSED: ${reasons.join('; ') || 'no package could be matched'}`;
  const counts = severityCounts(result.findings);
  const parts = SEVERITIES.filter((s) => counts[s] > 0).map((s) => `${s} ${counts[s]}`);
  const ns = cov.namespaces.map((n) => `${n.namespace} (${n.packages} packages)`).join(', ');
  const hidden = hiddenPhrase(result);
  const partial = reasons.length > 0 ? `; partly not assessed: ${reasons.join('; ')}` : '';
  return `Vulnerabilities: ${result.findings.length}${parts.length ? ` (${parts.join(', ')})` : ''} in ${ns}${hidden ? `; ${hidden}` : ''}${partial}`;
}

/** How each filter's removals are named: output filters hide, recorded decisions suppress. */
const HIDDEN_BY: Record<NonNullable<ScanResult['suppressed']>[number]['by'], string> = {
  severity: 'hidden by --severity',
  'ignore-unfixed': 'hidden by --ignore-unfixed',
  'ignore-status': 'hidden by --ignore-status',
  ignorefile: 'suppressed by the ignore file',
  vex: 'suppressed by VEX',
};

/** "990 hidden by --severity, 1 suppressed by the ignore file": what took the findings not shown. */
export function hiddenPhrase(result: ScanResult): string {
  const counts = new Map<string, number>();
  for (const s of result.suppressed ?? []) counts.set(s.by, (counts.get(s.by) ?? 0) + 1);
  return (Object.keys(HIDDEN_BY) as (keyof typeof HIDDEN_BY)[])
    .filter((by) => counts.has(by))
    .map((by) => `${counts.get(by)} ${HIDDEN_BY[by]}`)
    .join(', ');
}

export function malwareCoverageLine(result: ScanResult): string {
  const cov = result.coverage.malware;
  if (!result.scanners.includes('malware') || cov === undefined) return 'Malware: not scanned (scanner not selected)';
  if (!cov.assessed) return `Malware: NOT ASSESSED: ${cov.issues.map((i) => i.message).join('; ') || 'no engine ran'}`;
  const active = result.alerts.filter((a) => a.suppressed === undefined).length;
  const suppressed = result.alerts.length - active;
  const engines = cov.engines.map((e) => `${e.id} (${e.signatures !== undefined ? `${e.signatures} signatures, ` : ''}${e.version})`).join(', ');
  return `Malware: ${active} alerts${suppressed ? ` (${suppressed} suppressed)` : ''}; ${cov.filesScanned} files scanned, ${cov.filesVerifiedByManifest} verified by package manifest; engines: ${engines || 'none'}`;
}

/** The purl of a finding's package (from the inventory record when present: it has the epoch). */
export function findingPurl(f: Finding, result: ScanResult): string {
  const pkg: Package | undefined = result.inventory.packages.find((p) => p.id === f.package.id);
  return packagePurl(pkg ?? ({ ...f.package, versionScheme: 'deb', foundBy: '', evidence: [] } as Package), result.inventory.os);
}

/** Evidence file paths of a finding, in order, without duplicates. */
export function evidencePaths(f: Finding): { path: string; line?: number }[] {
  const seen = new Set<string>();
  const out: { path: string; line?: number }[] = [];
  for (const e of f.evidence.package) {
    const key = `${e.path}:${e.line ?? ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(e.line === undefined ? { path: e.path } : { path: e.path, line: e.line });
  }
  if (f.package.binaryPath !== undefined && !seen.has(`${f.package.binaryPath}:`)) out.push({ path: f.package.binaryPath });
  return out;
}

export function nodeLabel(result: ScanResult): string | undefined {
  const n = result.node;
  if (n === undefined) return undefined;
  const parts = [n.cluster && `cluster ${n.cluster}`, n.nodePool && `pool ${n.nodePool}`, n.node && `node ${n.node}`].filter(Boolean);
  return parts.length ? parts.join(', ') : undefined;
}
