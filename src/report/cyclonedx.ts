/**
 * CycloneDX 1.6 JSON with `vulnerabilities[]` (https://cyclonedx.org/docs/1.6/json/), built with
 * @cyclonedx/cyclonedx-library's models and JSON serializer. The SBOM part is the SBOM writer's
 * (inventory/sbom/cyclonedx.ts `inventoryToBom`: node, OS, one component per package with
 * bom-ref = package id, plus its evidence occurrences); this adds `vulnerabilities[]`: one per
 * vulnerability id, `affects[].ref` → the affected package components, ratings (vendor
 * severity, then each CVSS vector), the advisory as `source`, fix state / EPSS / KEV as
 * properties, and `analysis` for suppressed (VEX / ignore-file) findings.
 */
import * as CDX from '@cyclonedx/cyclonedx-library';
import { inventoryToBom } from '../inventory/sbom/cyclonedx.ts';
import type { Evidence } from '../inventory/index.ts';
import type { Finding } from '../match/index.ts';
import type { ScanResult } from '../scan/result.ts';

export interface CycloneDxOptions {
  toolVersion: string;
  /** A fixed serial number for reproducible output (tests); default a random urn:uuid. */
  serialNumber?: string;
}

const SEV = CDX.Enums.Vulnerability.Severity;
const SEVERITY_MAP: Record<Finding['severity'], CDX.Enums.Vulnerability.Severity> = { critical: SEV.Critical, high: SEV.High, medium: SEV.Medium, low: SEV.Low, negligible: SEV.Info, unknown: SEV.Unknown };

function ratingMethod(version: string): CDX.Enums.Vulnerability.RatingMethod {
  const M = CDX.Enums.Vulnerability.RatingMethod;
  if (version === '2.0') return M.CVSSv2;
  if (version === '3.0') return M.CVSSv3;
  if (version === '3.1') return M.CVSSv31;
  if (version === '4.0') return M.CVSSv4;
  return M.Other;
}

function sourceOf(id: string, feed: string): CDX.Models.Vulnerability.Source {
  if (/^CVE-/.test(id)) return new CDX.Models.Vulnerability.Source({ name: 'NVD', url: `https://nvd.nist.gov/vuln/detail/${id}` });
  return new CDX.Models.Vulnerability.Source({ name: feed });
}

export function renderCycloneDx(result: ScanResult, options: CycloneDxOptions): string {
  const bom = inventoryToBom(result.inventory, { toolVersion: options.toolVersion, timestamp: new Date(result.finishedAt), ...(options.serialNumber !== undefined && { uuid: options.serialNumber.replace(/^urn:uuid:/, '') }) });
  const refs = new Map<string, CDX.Models.Component>();
  for (const c of bom.components) if (c.bomRef.value !== undefined) refs.set(c.bomRef.value, c);
  const byVuln = new Map<string, { finding: Finding; suppressed?: { by: string; rule: string; reason?: string } }[]>();
  for (const f of result.findings) byVuln.set(f.vulnerabilityId, [...(byVuln.get(f.vulnerabilityId) ?? []), { finding: f }]);
  for (const s of result.suppressed ?? []) byVuln.set(s.finding.vulnerabilityId, [...(byVuln.get(s.finding.vulnerabilityId) ?? []), { finding: s.finding, suppressed: s }]);
  for (const [id, list] of byVuln) {
    const first = list[0]!.finding;
    const v = new CDX.Models.Vulnerability.Vulnerability({ id, bomRef: `vuln:${id}`, source: sourceOf(id, first.evidence.advisory.feed) });
    if (first.summary !== undefined) v.description = first.summary;
    if (first.vendorSeverity !== undefined) {
      v.ratings.add(new CDX.Models.Vulnerability.Rating({ source: new CDX.Models.Vulnerability.Source({ name: first.vendorSeverity.source }), severity: SEVERITY_MAP[first.severity], method: CDX.Enums.Vulnerability.RatingMethod.Other }));
    }
    for (const c of first.cvss) {
      v.ratings.add(new CDX.Models.Vulnerability.Rating({ ...(c.source !== undefined && { source: new CDX.Models.Vulnerability.Source({ name: c.source }) }), ...(c.score !== undefined && { score: c.score }), method: ratingMethod(c.version), vector: c.vector }));
    }
    if (first.vendorSeverity === undefined && first.cvss.length === 0) v.ratings.add(new CDX.Models.Vulnerability.Rating({ severity: SEVERITY_MAP[first.severity] }));
    for (const a of first.aliases) v.references.add(new CDX.Models.Vulnerability.Reference(a, new CDX.Models.Vulnerability.Source({ name: a.split('-')[0] ?? a })));
    const fixes = new Set<string>();
    for (const { finding: f, suppressed } of list) {
      const status = suppressed === undefined ? CDX.Enums.Vulnerability.AffectStatus.Affected : CDX.Enums.Vulnerability.AffectStatus.Unknown;
      // A grouped kernel finding affects each of its binary packages' components.
      for (const p of f.packages ?? [f.package]) {
        const comp = refs.get(p.id);
        if (comp !== undefined) v.affects.add(new CDX.Models.Vulnerability.Affect(comp.bomRef, { versions: new CDX.Models.Vulnerability.AffectedVersionRepository([new CDX.Models.Vulnerability.AffectedSingleVersion(p.version, { status })]) }));
      }
      if (refs.get(f.package.id) === undefined) continue;
      if (f.fixedVersion !== undefined) fixes.add(`${f.package.name} ${f.fixedVersion}`);
      if (suppressed !== undefined) {
        v.analysis = new CDX.Models.Vulnerability.Analysis({ state: suppressed.by === 'vex' ? CDX.Enums.Vulnerability.AnalysisState.NotAffected : CDX.Enums.Vulnerability.AnalysisState.FalsePositive, detail: `${suppressed.by}: ${suppressed.rule}${suppressed.reason ? ` (${suppressed.reason})` : ''}` });
      }
    }
    if (fixes.size > 0) v.recommendation = `Upgrade: ${[...fixes].sort().join(', ')}`;
    v.properties.add(new CDX.Models.Property('hullscan:state', first.state));
    v.properties.add(new CDX.Models.Property('hullscan:advisory', first.evidence.advisory.id));
    if (first.epss !== undefined) v.properties.add(new CDX.Models.Property('hullscan:epss', String(first.epss.score)));
    if (first.kev !== undefined) v.properties.add(new CDX.Models.Property('hullscan:kev', first.kev.dateAdded));
    bom.vulnerabilities.add(v);
  }
  const serializer = new CDX.Serialize.JsonSerializer(new CDX.Serialize.JSON.Normalize.Factory(CDX.Spec.Spec1dot6));
  const doc = JSON.parse(serializer.serialize(bom, { sortLists: true })) as { components?: { 'bom-ref'?: string; evidence?: unknown }[] };
  // As writeCycloneDx does: the library models no evidence.occurrences, so they are added to the JSON.
  const evidence = new Map<string, Evidence[]>();
  for (const p of result.inventory.packages) if (p.evidence.length > 0) evidence.set(p.id, p.evidence);
  for (const c of doc.components ?? []) {
    const ev = c['bom-ref'] === undefined ? undefined : evidence.get(c['bom-ref']);
    if (ev) c.evidence = { occurrences: ev.map((e) => (e.line === undefined ? { location: e.path } : { location: e.path, line: e.line })) };
  }
  return JSON.stringify(doc, null, 2) + '\n';
}
