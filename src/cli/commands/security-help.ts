/**
 * The security commands' help texts, the `findings` view options and when they apply: kept
 * apart from security.ts so that fleet.ts (which shows the help of `findings` and `alerts`)
 * does not load the service to print a help text.
 */
import { EXEMPTION_REASONS, VULNERABILITY_SORTS } from '../../store/security-store.ts';

export const SECURITY_COMMON_HELP = `Common options:
  --data DIR            Data directory: the store (hullscan.db), vuln.db
                        (default: $HULLSCAN_DATA, else ~/.local/share/hullscan)
  --store URL           The store: a SQLite file or postgres://user@host/db (default: DIR/hullscan.db)
  --format FORMAT       table | json (default: table)
  -h, --help            Show this help`;

export const RECOMMENDATIONS_HELP = `Usage: hullscan recommendations [--account ID] [--cluster C] [--by cluster|account] [options]
       hullscan recommendations threshold ACCOUNT SEVERITY [options]
       hullscan recommendations history [--account ID] [--cluster C] [--days N] [options]

"Kubernetes nodes should have vulnerability findings resolved", per cluster: unhealthy when
any assessed node has an open, non-exempt finding at or above the account's threshold
(every severity by default), healthy when none has, not-applicable (scanning off, cluster
or all its pools excluded) or not-assessed (no node could be assessed) with the reason.
--by account rolls the clusters up per account. 'threshold' sets an account's threshold.
'history': per cluster, open findings by severity at the end of each day and the mean time
to remediate (first seen → resolved), over --days (default and at most: the retention).

Options:
  --account ID, --cluster NAME   Filter
  --by cluster|account  One line per cluster (default) or per account
${SECURITY_COMMON_HELP}
`;

export const REMEDIATION_HELP = `Usage: hullscan remediation [--account ID] [--cluster C] [--pool P] [--to VERSION] [options]

Per node pool: its node image, the newest known image of its family (the pool's upgrade
profile, else the node-image catalogue) and what upgrading does: the target image's
package list matched against the vulnerability database, compared per vulnerability with
what is open on the pool now — fixed, remaining, introduced. Nodes that differ from their
image (drift) are listed with the packages that differ.

Options:
  --account ID, --cluster NAME, --pool NAME   Filter
  --to VERSION          Target node-image version (default: the newest known)
  --db PATH             Vulnerability database (default: DIR/vuln.db)
  --details             Table: list every fixed / remaining / introduced vulnerability
${SECURITY_COMMON_HELP}
`;

export const IMAGE_CHECK_HELP = `Usage: hullscan image check (--catalog VERSION | --disk IMAGE) [--against POOL] [options]

The candidate-image gate: what a node image would fix and introduce on a pool before it is
rolled out — a catalogue version of the pool's family, or a disk image read as a node disk.

Options:
  --catalog VERSION     A node-image version from the catalogue (e.g. 202608.20.0)
  --disk IMAGE          A node disk image (raw, VHD, VHDX, VMDK, qcow2) or a directory
  --against POOL        The pool to compare with (default: every pool of the image's family)
  --cluster NAME, --account ID   Narrow --against
  --family NAME         Node-image family for --catalog (default: the pools')
  --fail-on SEVERITY    Fail when the image introduces a vulnerability at or above this
                        severity (default: unknown = any)
  --exit-code N         Exit code when it does (default 1)
  --db PATH             Vulnerability database (default: DIR/vuln.db)
${SECURITY_COMMON_HELP}

Exit codes: 0 nothing introduced at or above --fail-on, N (--exit-code) otherwise, 2 usage
error, 3 unreadable disk image, 4 internal error.
`;

export const EXEMPTIONS_HELP = `Usage: hullscan exemptions [list] [--account ID] [--all] [options]
       hullscan exemptions add --account ID [--cluster C] [--pool P] [--node N]
                               (--cve PATTERN | --package PATTERN) --reason REASON --owner WHO
                               [--expires DATE] [--note TEXT] [options]
       hullscan exemptions remove ID [options]

Exemptions keep findings out of the recommendation's status while they stay visible, marked
exempt; when one expires (or is removed) its findings count again. Patterns are globs (*, ?),
matched without regard to case. Reasons: ${EXEMPTION_REASONS.join(', ')}.

Options:
  --all                 list: expired and removed ones too
  --by NAME             Who makes the change (default: $USER)
${SECURITY_COMMON_HELP}
`;

export const ALERTS_SECURITY_HELP = `Usage: hullscan alerts [list] [--account ID] [--cluster C] [--pool P] [--node N] [--all] [options]
       hullscan alerts dismiss ID --reason TEXT [options]
       hullscan alerts resolve ID [--reason TEXT] [options]
       hullscan alerts reactivate ID [options]
       hullscan alerts history ID [options]
       hullscan alerts suppress [list|add|remove] …   (see below)

Malware and package-integrity alerts: active and dismissed ones (--all: resolved too). An
alert is dismissed with a reason, or resolved; it resolves by itself when a later scan no
longer finds the file. IDs: the first 8 characters shown (any unique prefix of 4 or more).

Suppression rules dismiss the matching alerts that appear after the rule is made:
  hullscan alerts suppress add --account ID [--cluster C] [--pool P] [--node N]
           (--path GLOB | --rule NAME | --sha256 HASH) --reason TEXT [--expires DATE] [--existing]
  hullscan alerts suppress list [--all]
  hullscan alerts suppress remove ID

Options:
  --account ID, --cluster NAME, --pool NAME, --node NAME   Filter (list)
  --all                 Include resolved alerts
  --by NAME             Who makes the change (default: $USER)
${SECURITY_COMMON_HELP}
`;

export const FINDINGS_VIEW_HELP = `The Findings list and the CVE pane (hullscan findings):
  --by cve              One row per vulnerability: severity, CVSS, EPSS, KEV, fix state,
                        packages, affected nodes / pools / clusters, first seen
  --sort KEY            ${VULNERABILITY_SORTS.join(' | ')} (default severity); --desc reverses
  --fix-available, --no-fix   Only vulnerabilities with / without a fixed version
  --kev                 Only known-exploited (CISA KEV) vulnerabilities
  --package NAME        Only vulnerabilities on this package
  --search TEXT         Substring of the id, the title or a package name
  --page N, --page-size N     Pagination (default page 1 of 50)
  --export csv|json     The whole filtered list (every page) as CSV or JSON
  --cve ID (table)      The CVE pane: details, references, every affected cluster / pool / node
  --pane                With --cve and --format json: the pane object instead of the finding rows
  --db PATH             Vulnerability database for the pane's references (default: DIR/vuln.db)`;

export const FINDINGS_VIEW_SPEC = {
  by: { type: 'string' },
  sort: { type: 'string' },
  desc: { type: 'boolean', default: false },
  'fix-available': { type: 'boolean', default: false },
  'no-fix': { type: 'boolean', default: false },
  kev: { type: 'boolean', default: false },
  package: { type: 'string' },
  search: { type: 'string' },
  page: { type: 'string' },
  'page-size': { type: 'string' },
  export: { type: 'string' },
  pane: { type: 'boolean', default: false },
  db: { type: 'string' },
} as const;

/** Whether `hullscan findings` is asked for the Findings list or the CVE pane (else its per-finding rows, #11's contract). */
export function wantsFindingsView(v: { by?: string | undefined; cve?: string | undefined; format: string; pane?: boolean | undefined }): boolean {
  return v.by !== undefined || v.pane === true || (v.cve !== undefined && v.format === 'table');
}

