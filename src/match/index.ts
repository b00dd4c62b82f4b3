/**
 * match/ — turns an Inventory into vulnerability findings against a VulnDb. Central interface:
 * {@link Matcher} (one per package family: distro packages by source, Go modules, …, listed in
 * match/registry.ts). Every finding records what was searched and why it matched.
 */
import type { Evidence, Inventory, NodeIdentity, Package } from '../inventory/index.ts';
import type { Issue } from '../util/issues.ts';
import type { Cvss, EpssScore, FixState, KevEntry, Namespace, Severity, VersionRange, VulnDb } from '../vulndb/index.ts';

export interface FindingEvidence {
  /** The package record(s) the installed version came from (file, line). */
  package: Evidence[];
  /** The advisory that matched: feed id, source, its modified date. */
  advisory: { id: string; source: string; feed: string; modified?: string };
  namespace: Namespace;
  /** Whether the source package or the binary package name/version was compared. */
  matchedOn: 'source' | 'binary' | 'module';
  /** The name and version that were compared. */
  comparedName: string;
  comparedVersion: string;
  range?: VersionRange;
  /** Human-readable comparison that hit: "1:2.3-1 < 1:2.3-2 (deb)". */
  comparison: string;
}

export interface Finding {
  /** Stable: `${vulnerabilityId}|${package.id}`. */
  id: string;
  /** The CVE id when there is one, else the advisory id. */
  vulnerabilityId: string;
  aliases: string[];
  package: Pick<Package, 'id' | 'type' | 'name' | 'version' | 'arch' | 'source' | 'binaryPath'>;
  /** fixed: a fix exists (see fixedVersion); affected: no fix yet; wont-fix: vendor will not fix. */
  state: Exclude<FixState, 'not-affected'>;
  fixedVersion?: string;
  /** Vendor severity when given, else from CVSS, else unknown. */
  severity: Severity;
  vendorSeverity?: { source: string; level: string };
  cvss: Cvss[];
  epss?: EpssScore;
  kev?: KevEntry;
  /** Kernel findings: whether the affected kernel is the one that boots by default. */
  kernel?: { release: string; bootsByDefault: boolean };
  summary?: string;
  evidence: FindingEvidence;
  node?: NodeIdentity;
}

export interface MatchResult {
  findings: Finding[];
  /** Coverage gaps: "no vulnerability data for flatcar 3815", unparseable versions, … */
  issues: Issue[];
  /** Namespaces that were assessed, and packages checked per namespace. */
  assessed: { namespace: Namespace; packages: number }[];
}

export interface Matcher {
  readonly id: string;
  /** Packages this matcher handles. */
  handles(pkg: Package, inventory: Inventory): boolean;
  match(packages: Package[], inventory: Inventory, db: VulnDb): MatchResult;
}
