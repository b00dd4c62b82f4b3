/**
 * SARIF 2.1.0 (OASIS, https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html): one
 * run; a rule per vulnerability id and per malware rule; one result per finding / alert whose
 * locations are the evidence files inside the image (the package database record, the Go
 * binary, the flagged file), relative to the uriBaseId IMAGEROOT ("file:///" of the image).
 * `security-severity` (the CVSS-like number GitHub code scanning sorts by) follows GitHub's
 * documented bands. Validated against the official schema in test/report/sarif.test.ts.
 */
import type { Alert } from '../malware/index.ts';
import type { Finding } from '../match/index.ts';
import type { ScanResult } from '../scan/result.ts';
import type { Severity } from '../vulndb/index.ts';
import { evidencePaths, findingPurl } from './common.ts';
import { cvssScore } from '../match/common.ts';

export const SARIF_SCHEMA_URI = 'https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json';

interface SarifLocation {
  physicalLocation: { artifactLocation: { uri: string; uriBaseId: string }; region?: { startLine: number } };
  message?: { text: string };
}

const LEVEL: Record<Severity, 'error' | 'warning' | 'note'> = { critical: 'error', high: 'error', medium: 'warning', low: 'note', negligible: 'note', unknown: 'warning' };
/** Representative security-severity when no CVSS score is known (GitHub: ≥9 critical, 7–8.9 high, 4–6.9 medium, <4 low). */
const SECURITY_SEVERITY: Record<Severity, number> = { critical: 9.5, high: 8.0, medium: 5.5, low: 2.0, negligible: 0.5, unknown: 5.0 };
const ALERT_LEVEL: Record<Alert['severity'], 'error' | 'warning' | 'note'> = { high: 'error', medium: 'warning', low: 'note', informational: 'note' };
const ALERT_SECURITY_SEVERITY: Record<Alert['severity'], number> = { high: 8.0, medium: 5.5, low: 2.0, informational: 0.5 };

/** An in-image absolute path as a relative URI reference (percent-encoded per RFC 3986). */
function imageUri(path: string): string {
  return path.replace(/^\/+/, '').split('/').map((seg) => encodeURIComponent(seg)).join('/');
}

function location(path: string, line?: number): SarifLocation {
  const loc: SarifLocation = { physicalLocation: { artifactLocation: { uri: imageUri(path), uriBaseId: 'IMAGEROOT' } } };
  if (line !== undefined && line >= 1) loc.physicalLocation.region = { startLine: line };
  return loc;
}

function helpUri(id: string): string | undefined {
  if (/^CVE-\d{4}-\d+$/.test(id)) return `https://nvd.nist.gov/vuln/detail/${id}`;
  if (/^GO-\d{4}-\d+$/.test(id)) return `https://pkg.go.dev/vuln/${id}`;
  if (/^GHSA-/.test(id)) return `https://github.com/advisories/${id}`;
  return undefined;
}

function findingScore(f: Finding): number {
  let best: number | undefined;
  for (const c of f.cvss) {
    const s = cvssScore(c);
    if (s !== undefined && (best === undefined || s > best)) best = s;
  }
  // The vendor's rating decides the severity; a CVSS number contradicting it would re-sort the list.
  if (best !== undefined && f.vendorSeverity === undefined) return best;
  return SECURITY_SEVERITY[f.severity];
}

export interface SarifOptions {
  toolVersion: string;
}

/** How the SARIF message says why there is no fix. */
const UNFIXED_WORDS: Partial<Record<string, string>> = { 'wont-fix': 'the vendor will not fix it', deferred: 'the vendor deferred the fix', unimportant: 'the vendor rates it unimportant, no fix planned' };

export function renderSarif(result: ScanResult, options: SarifOptions): string {
  const rules: Record<string, unknown>[] = [];
  const ruleIndex = new Map<string, number>();
  const results: Record<string, unknown>[] = [];
  const addRule = (id: string, rule: Record<string, unknown>): number => {
    let i = ruleIndex.get(id);
    if (i === undefined) {
      i = rules.length;
      rules.push({ id, ...rule });
      ruleIndex.set(id, i);
    }
    return i;
  };
  for (const f of result.findings) {
    const score = findingScore(f);
    const help = helpUri(f.vulnerabilityId);
    const idx = addRule(f.vulnerabilityId, {
      shortDescription: { text: f.vulnerabilityId },
      ...(f.summary !== undefined && { fullDescription: { text: f.summary } }),
      ...(help !== undefined && { helpUri: help }),
      defaultConfiguration: { level: LEVEL[f.severity] },
      properties: { 'security-severity': score.toFixed(1), tags: ['security', 'vulnerability', f.severity] },
    });
    const fix = f.fixedVersion !== undefined ? `fixed in ${f.fixedVersion}` : (UNFIXED_WORDS[f.state] ?? 'no fix available') + (f.vendorStatus?.note ? ` (${f.vendorStatus.note})` : '');
    const pkgs = f.packages !== undefined && f.packages.length > 1 ? ` and ${f.packages.length - 1} more packages of that kernel (${f.packages.slice(1).map((p) => p.name).join(', ')})` : '';
    const paths = evidencePaths(f);
    results.push({
      ruleId: f.vulnerabilityId,
      ruleIndex: idx,
      level: LEVEL[f.severity],
      message: { text: `${f.vulnerabilityId} in ${f.package.name} ${f.package.version}${pkgs} (${f.severity}; ${fix}). ${f.evidence.comparison} per ${f.evidence.advisory.id}.` },
      locations: (paths.length > 0 ? paths : [{ path: '/' }]).map((p) => location(p.path, p.line)),
      partialFingerprints: { 'hullscanFinding/v1': f.id },
      properties: {
        package: findingPurl(f, result),
        installedVersion: f.package.version,
        ...(f.fixedVersion !== undefined && { fixedVersion: f.fixedVersion }),
        state: f.state,
        severity: f.severity,
        ...(f.epss !== undefined && { epss: f.epss.score }),
        ...(f.kev !== undefined && { kev: true }),
        ...(f.kernel !== undefined && { kernel: f.kernel }),
        ...(f.packages !== undefined && { packages: f.packages.map((p) => `${p.name} ${p.version}`) }),
        ...(f.vendorStatus !== undefined && { vendorStatus: f.vendorStatus }),
        advisory: f.evidence.advisory.id,
        namespace: f.evidence.namespace,
        ...(f.node !== undefined && { node: f.node }),
      },
    });
  }
  for (const a of result.alerts) {
    const id = `malware/${a.engine}/${a.rule}`;
    const idx = addRule(id, {
      shortDescription: { text: `${a.kind}: ${a.rule} (${a.engine})` },
      ...(a.description !== undefined && { fullDescription: { text: a.description } }),
      defaultConfiguration: { level: ALERT_LEVEL[a.severity] },
      properties: { 'security-severity': ALERT_SECURITY_SEVERITY[a.severity].toFixed(1), tags: [...new Set(['security', 'malware', a.kind])] },
    });
    const r: Record<string, unknown> = {
      ruleId: id,
      ruleIndex: idx,
      level: ALERT_LEVEL[a.severity],
      message: { text: `${a.kind} ${a.rule} by ${a.engine} in ${a.path} (sha256 ${a.sha256})` },
      locations: [location(a.path.split('!')[0]!)],
      partialFingerprints: { 'hullscanAlert/v1': a.id },
      properties: { sha256: a.sha256, size: a.size, engine: a.engine, ...(a.package !== undefined && { package: a.package }), ...(a.node !== undefined && { node: a.node }) },
    };
    if (a.suppressed !== undefined) r.suppressions = [{ kind: 'external', justification: `${a.suppressed.reason} (${a.suppressed.rule})` }];
    results.push(r);
  }
  for (const s of result.suppressed ?? []) {
    const f = s.finding;
    const idx = addRule(f.vulnerabilityId, { shortDescription: { text: f.vulnerabilityId }, defaultConfiguration: { level: LEVEL[f.severity] }, properties: { 'security-severity': findingScore(f).toFixed(1), tags: ['security', 'vulnerability', f.severity] } });
    const paths = evidencePaths(f);
    results.push({
      ruleId: f.vulnerabilityId,
      ruleIndex: idx,
      level: LEVEL[f.severity],
      message: { text: `${f.vulnerabilityId} in ${f.package.name} ${f.package.version} (suppressed by ${s.by})` },
      locations: (paths.length > 0 ? paths : [{ path: '/' }]).map((p) => location(p.path, p.line)),
      partialFingerprints: { 'hullscanFinding/v1': f.id },
      suppressions: [{ kind: 'external', justification: `${s.rule}${s.reason ? `: ${s.reason}` : ''}` }],
    });
  }
  const sarif = {
    $schema: SARIF_SCHEMA_URI,
    version: '2.1.0',
    runs: [{
      tool: { driver: { name: 'hullscan', version: options.toolVersion, informationUri: 'https://github.com/hullscan/hullscan', rules } },
      originalUriBaseIds: { IMAGEROOT: { uri: 'file:///', description: { text: `Root of the scanned image ${result.target}` } } },
      invocations: [{ executionSuccessful: true, startTimeUtc: result.startedAt, endTimeUtc: result.finishedAt }],
      results,
      properties: { target: result.target, ...(result.node !== undefined && { node: result.node }), coverage: { vulnAssessed: result.coverage.vuln?.assessed ?? false, malwareAssessed: result.coverage.malware?.assessed ?? false } },
    }],
  };
  return JSON.stringify(sarif, null, 2) + '\n';
}
