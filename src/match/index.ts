/**
 * match/ — turns an Inventory into vulnerability findings against a VulnDb. Central interface:
 * {@link Matcher} (one per package family: distro packages by source, Go modules, …, listed in
 * match/registry.ts). Every finding records what was searched and why it matched.
 */
import type { Evidence, Inventory, NodeIdentity, Package } from '../inventory/index.ts';
import type { Issue } from '../util/issues.ts';
import type { Cvss, EpssScore, FixState, KevEntry, Namespace, Severity, VendorStatus, VersionRange, VulnDb } from '../vulndb/index.ts';

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
  /**
   * Grouped kernel findings only: what was compared for each binary package of the group (the
   * image, its modules, the metapackage, headers, linux-libc-dev, …), in `Finding.packages` order.
   */
  packages?: PackageMatchEvidence[];
}

/** One binary package's part of a grouped kernel finding. */
export interface PackageMatchEvidence {
  packageId: string;
  /** The package record(s) (file, line). */
  package: Evidence[];
  matchedOn: FindingEvidence['matchedOn'];
  comparedName: string;
  comparedVersion: string;
  range?: VersionRange;
  comparison: string;
  state: Finding['state'];
  fixedVersion?: string;
  /** Whether this package carries the kernel that boots (image, modules); headers, meta packages and libc headers do not. */
  carriesKernel: boolean;
}

export interface Finding {
  /**
   * Stable across scans (the control plane keys findings by it): `${vulnerabilityId}|${package.id}`;
   * a grouped kernel finding is `${vulnerabilityId}|kernel:${release}` (one installed kernel), or
   * `${vulnerabilityId}|kernel-source:${name}@${version}` for kernel-source packages that belong to
   * no installed kernel (Ubuntu's linux-libc-dev from "linux" next to a linux-azure kernel).
   */
  id: string;
  /** The CVE id when there is one, else the advisory id. */
  vulnerabilityId: string;
  aliases: string[];
  /** The package; for a grouped kernel finding, the one that carries the kernel (the first of `packages`). */
  package: Pick<Package, 'id' | 'type' | 'name' | 'version' | 'arch' | 'source' | 'binaryPath'>;
  /**
   * Grouped kernel findings only: every binary package built from that kernel (image, modules,
   * metapackage, headers, linux-libc-dev, …), the kernel carriers first. Per-package comparisons
   * are in `evidence.packages`.
   */
  packages?: Pick<Package, 'id' | 'type' | 'name' | 'version' | 'arch' | 'source' | 'binaryPath'>[];
  /**
   * fixed: a fix exists (see fixedVersion); affected: no fix yet; wont-fix: the vendor will not fix
   * (Ubuntu "ignored", "end-of-life"); deferred: the vendor postponed the fix (Ubuntu "deferred");
   * unimportant: the vendor rates it not worth a fix (Debian urgency "unimportant", unfixed).
   */
  state: Exclude<FixState, 'not-affected'>;
  fixedVersion?: string;
  /** The vendor's own triage word and note where the feed gives them (UCT status and note, Debian urgency). */
  vendorStatus?: VendorStatus;
  /** Vendor severity when given, else from CVSS, else unknown. */
  severity: Severity;
  vendorSeverity?: { source: string; level: string };
  cvss: Cvss[];
  epss?: EpssScore;
  kev?: KevEntry;
  /** Kernel findings: the installed kernel (release) and whether it is the one that boots by default. */
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
