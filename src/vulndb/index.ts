/**
 * vulndb/ — vulnerability data: sources (each a folder behind {@link VulnSource}: osv, Ubuntu CVE
 * Tracker, azurelinux OVAL, alpine secdb, kev, epss) fetched raw, stored raw, normalized into
 * {@link Advisory} records, kept in a local SQLite file and queried through {@link VulnDb}.
 *
 * Namespaces: every affected package is keyed by a namespace naming the distro release (or
 * language ecosystem) whose rules apply, and the package name the feed uses there. Distro feeds
 * are keyed by SOURCE package (Debian, Ubuntu, Azure Linux OVAL); Alpine by origin; Go by module.
 */
import type { VersionSchemeId } from '../version/index.ts';

/**
 * "ubuntu:22.04", "debian:12", "azurelinux:3.0", "mariner:2.0", "alpine:3.21", "go".
 * Built by `osNamespace` (vulndb/namespace.ts) from an inventory's OsInfo and by each source
 * from its feed's ecosystem names.
 */
export type Namespace = string;

export const FIX_STATES = ['fixed', 'affected', 'wont-fix', 'deferred', 'unimportant', 'not-affected'] as const;
/**
 * fixed: versions below `fixed` are vulnerable and a fix exists; affected: vulnerable, no fix yet;
 * wont-fix: the vendor will not fix (Ubuntu "ignored", "end-of-life"); deferred: the vendor
 * postponed the fix (Ubuntu "deferred"); unimportant: vulnerable, no fix, and the vendor rates it
 * not worth one (Debian urgency "unimportant" on an unfixed entry); not-affected: the vendor says
 * this package is not affected (kept to explain non-findings). The three "no fix, and the vendor
 * says why" states only apply where the version has no fix: a fixed range stays `fixed`.
 */
export type FixState = (typeof FIX_STATES)[number];

/** The states that mean "vulnerable and no fix to install". */
export const UNFIXED_STATES: readonly FixState[] = ['affected', 'wont-fix', 'deferred', 'unimportant'];

/**
 * The vendor's own triage of an affected package, verbatim: UCT `status` and `note` ("ignored",
 * "end of kernel support"; "deferred", "2024-03-01"; "needs-triage"), Debian's urgency
 * ("unimportant"). Kept so that a user sees the vendor's words, not only our state.
 */
export interface VendorStatus {
  source: string;
  status: string;
  note?: string;
}

/** A version range in the namespace's scheme: introduced ≤ v < fixed (or ≤ lastAffected). */
export interface VersionRange {
  /** Absent or "0": from the beginning. */
  introduced?: string;
  fixed?: string;
  lastAffected?: string;
}

export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'negligible', 'unknown'] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface Cvss {
  version: '2.0' | '3.0' | '3.1' | '4.0';
  vector: string;
  /** Base score, when the feed gives or we can compute it. */
  score?: number;
  /** Who scored it ("nvd", "ubuntu", "microsoft"). */
  source?: string;
}

export interface AffectedPackage {
  namespace: Namespace;
  /** Package name as the feed keys it (a source package for Debian/Ubuntu/Azure Linux). */
  name: string;
  /** Whether `name` is a source or binary package name in this feed. */
  nameKind: 'source' | 'binary' | 'module';
  versionScheme: VersionSchemeId;
  state: FixState;
  ranges: VersionRange[];
  /** Explicitly enumerated affected versions (OSV `versions`), when a feed lists them. */
  versions?: string[];
  /** Vendor severity for this package in this namespace (Ubuntu priority, Debian urgency, Azure Linux severity). */
  vendorSeverity?: { source: string; level: string; severity: Severity };
  /** The vendor's triage status and note, where the feed has them (UCT; Debian "unimportant"). */
  vendorStatus?: VendorStatus;
}

export interface Advisory {
  /** The feed's own id ("UBUNTU-CVE-2024-1234", "DEBIAN-CVE-2024-1234", "oval:com.microsoft.azurelinux:def:1234"). */
  id: string;
  /** The CVE (or GHSA/GO) ids it is about, CVE first. */
  aliases: string[];
  /** Source id ("osv", "azurelinux-oval"). */
  source: string;
  /** What was imported (file name or URL without query string). */
  feed: string;
  /** ISO-8601 UTC, when the feed gives one. */
  published?: string;
  modified?: string;
  summary?: string;
  cvss: Cvss[];
  references: string[];
  affected: AffectedPackage[];
}

export interface KevEntry {
  cve: string;
  dateAdded: string;
  dueDate?: string;
  knownRansomwareCampaignUse?: string;
  vendorProject?: string;
  product?: string;
}

export interface EpssScore {
  cve: string;
  score: number;
  percentile: number;
  /** Score date (YYYY-MM-DD). */
  date: string;
}

/** One row answered by VulnDb.lookup: an affected package with the advisory it came from. */
export interface AffectedRecord {
  advisory: Omit<Advisory, 'affected'>;
  affected: AffectedPackage;
}

export interface SourceStatus {
  source: string;
  feeds: string[];
  advisories: number;
  affectedPackages: number;
  /** Newest `modified` (or published) date among the records. */
  newestRecord?: string;
  importedAt: string;
  /** Malformed records counted and skipped at import. */
  malformed: number;
}

export interface DbStatus {
  path: string;
  schemaVersion: number;
  builtAt?: string;
  sources: SourceStatus[];
  namespaces: { namespace: Namespace; advisories: number }[];
  kevEntries: number;
  epssScores: number;
  epssDate?: string;
}

/** The read side of the vulnerability database, used by the matcher. Synchronous (node:sqlite). */
export interface VulnDb {
  /**
   * Every affected-package row for this package name in this namespace. Answers may be cached
   * and shared between calls: treat the returned records as read-only.
   */
  lookup(namespace: Namespace, name: string): AffectedRecord[];
  /** Whether any data exists for the namespace (no data is a coverage gap, never 0 findings). */
  hasNamespace(namespace: Namespace): boolean;
  kev(cve: string): KevEntry | undefined;
  epss(cve: string): EpssScore | undefined;
  status(): DbStatus;
  close(): void;
}

/** Counts of what one normalize pass produced. */
export interface NormalizeReport {
  advisories: number;
  malformed: number;
  /** The first few malformed records' reasons, for the import report. */
  malformedExamples: string[];
  /**
   * Well-formed data deliberately not imported, by reason ("withdrawn", "git-range",
   * "unsupported-ecosystem:PyPI"): counted so that a coverage question can be answered.
   */
  skipped?: Record<string, number>;
}

/**
 * A feed. Three stages: `fetch` downloads raw bytes (tests serve them from a local HTTP server),
 * the store keeps the raw file, `normalize` turns raw bytes into advisories (or KEV / EPSS rows).
 */
export interface VulnSource {
  readonly id: string;
  /** Whether this source recognises a raw file by its content (and name as a hint). */
  detect(name: string, head: Uint8Array): boolean;
  normalize(name: string, raw: Uint8Array, sink: NormalizeSink): Promise<NormalizeReport>;
}

export interface NormalizeSink {
  advisory(a: Advisory): void;
  kev(e: KevEntry): void;
  epss(s: EpssScore): void;
}
