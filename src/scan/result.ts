/**
 * The result of scanning one node: what the engine hands to reports, the store and (later) the
 * control plane. It carries the node's identity (cluster / node pool / node) so findings and
 * alerts can be grouped per cluster, per pool and per CVE. JSON form: docs/scan-result.md.
 */
import type { Inventory, NodeIdentity } from '../inventory/index.ts';
import type { Alert, MalwareCoverage } from '../malware/index.ts';
import type { Finding } from '../match/index.ts';
import type { Issue } from '../util/issues.ts';
import type { Namespace } from '../vulndb/index.ts';

export type { MalwareCoverage };

export const SCAN_RESULT_SCHEMA_VERSION = 1;

export const SCANNERS = ['vuln', 'malware'] as const;
export type ScannerId = (typeof SCANNERS)[number];

export interface VulnCoverage {
  /** False when the node could not be assessed (unknown OS, no data): never "0 findings". */
  assessed: boolean;
  namespaces: { namespace: Namespace; packages: number }[];
  /** The database the findings came from: its path and build date. */
  db?: { path: string; builtAt?: string };
  issues: Issue[];
}


/** Why a finding was taken out of `findings` by the scan's policy (it is kept here, never dropped silently). */
export interface SuppressedFinding {
  finding: Finding;
  /** Which filter: the severity list, --ignore-unfixed, --ignore-status, an ignore-file entry, or a VEX statement. */
  by: 'severity' | 'ignore-unfixed' | 'ignore-status' | 'ignorefile' | 'vex';
  /** The rule that matched: "severity not in critical,high", "CVE-2024-1234 (.hullscanignore:3)", a VEX statement id. */
  rule: string;
  reason?: string;
  /** Ignore-file entries: the expiry date (YYYY-MM-DD), after which the entry stops applying. */
  expires?: string;
}

/** The filters that were applied, and what they reported (expired ignore entries, VEX statements that matched nothing). */
export interface PolicySummary {
  severities?: string[];
  ignoreUnfixed: boolean;
  /** --ignore-status: the fix states dropped. */
  ignoreStates?: string[];
  ignorefile?: string;
  vex?: string[];
  issues: Issue[];
}

export interface ScanResult {
  schemaVersion: typeof SCAN_RESULT_SCHEMA_VERSION;
  target: string;
  node?: NodeIdentity;
  /** ISO-8601 UTC. */
  startedAt: string;
  finishedAt: string;
  scanners: ScannerId[];
  inventory: Inventory;
  findings: Finding[];
  alerts: Alert[];
  /** Findings the policy (severity, --ignore-unfixed, ignore file, VEX) removed from `findings`. */
  suppressed?: SuppressedFinding[];
  policy?: PolicySummary;
  coverage: {
    vuln?: VulnCoverage;
    malware?: MalwareCoverage;
    /** Disk, volume and filesystem issues met on the way to the files. */
    target: Issue[];
  };
}
