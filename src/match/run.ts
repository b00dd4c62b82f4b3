/**
 * matchInventory: an Inventory against a VulnDb. Packages are handed to the first matcher in
 * MATCHERS that handles them; packages no matcher handles are a coverage gap, not silence.
 */
import type { Inventory, Package } from '../inventory/index.ts';
import type { EpssScore, KevEntry, VulnDb } from '../vulndb/index.ts';
import { compareFindings, namedIssue } from './common.ts';
import type { Matcher, MatchResult } from './index.ts';
import { MATCHERS } from './registry.ts';

/** EPSS and KEV answers memoized for one match: a CVE of a source package repeats for each of its binaries. */
function memoized(db: VulnDb): VulnDb {
  const epss = new Map<string, EpssScore | undefined>();
  const kev = new Map<string, KevEntry | undefined>();
  return {
    lookup: (ns, name) => db.lookup(ns, name),
    hasNamespace: (ns) => db.hasNamespace(ns),
    epss: (cve) => (epss.has(cve) ? epss.get(cve) : (epss.set(cve, db.epss(cve)), epss.get(cve))),
    kev: (cve) => (kev.has(cve) ? kev.get(cve) : (kev.set(cve, db.kev(cve)), kev.get(cve))),
    status: () => db.status(),
    close: () => db.close(),
  };
}

export function matchInventory(inventory: Inventory, vulnDb: VulnDb, matchers: readonly Matcher[] = MATCHERS): MatchResult {
  const db = memoized(vulnDb);
  const groups = new Map<Matcher, Package[]>();
  const unhandled: Package[] = [];
  for (const pkg of inventory.packages) {
    const m = matchers.find((x) => x.handles(pkg, inventory));
    if (m === undefined) {
      unhandled.push(pkg);
      continue;
    }
    const list = groups.get(m);
    if (list) list.push(pkg);
    else groups.set(m, [pkg]);
  }
  const result: MatchResult = { findings: [], issues: [], assessed: [] };
  const hasOsPackages = inventory.packages.some((p) => p.type === 'deb' || p.type === 'rpm' || p.type === 'apk');
  if (inventory.os === undefined && !hasOsPackages) {
    result.issues.push({ severity: 'error', code: 'match.no-os', message: 'no operating system detected and no OS packages found: OS packages not assessed' });
  } else if (inventory.os !== undefined && !hasOsPackages) {
    // An OS whose package database could not be read is not a clean OS (the inventory's issues say why).
    result.issues.push({ severity: 'error', code: 'match.no-packages', message: `${inventory.os.prettyName ?? `${inventory.os.family} ${inventory.os.versionId}`} detected but no OS packages were read: OS packages not assessed`, location: inventory.os.evidence[0]?.path ?? 'os-release' });
  }
  for (const m of matchers) {
    const packages = groups.get(m);
    if (packages === undefined) continue;
    const r = m.match(packages, inventory, db);
    result.findings.push(...r.findings);
    result.issues.push(...r.issues);
    result.assessed.push(...r.assessed);
  }
  if (unhandled.length > 0) {
    const byType = new Map<string, string[]>();
    for (const p of unhandled) byType.set(p.type, [...(byType.get(p.type) ?? []), `${p.name} ${p.version}`]);
    for (const [type, names] of byType) {
      result.issues.push(namedIssue('warning', 'match.unsupported-type', `${names.length} ${type} packages not assessed: no vulnerability matcher for this package type`, names));
    }
  }
  if (inventory.node !== undefined) for (const f of result.findings) f.node = { ...inventory.node };
  result.findings.sort(compareFindings);
  return result;
}

/** Whether a match result assessed anything: false means "not assessed", never "0 findings". */
export function wasAssessed(result: MatchResult): boolean {
  return result.assessed.some((a) => a.packages > 0);
}
