/**
 * The Findings list (one row per vulnerability over the counted nodes: severity, CVSS, EPSS,
 * KEV, fix state, packages, how many nodes / pools / clusters, first seen; sorted, filtered,
 * searched, paged; CSV or JSON) and the CVE pane (a vulnerability's details and every affected
 * cluster → node pool → node with its package, versions, kernel and first seen).
 */
import type { Finding } from '../match/index.ts';
import type { SecurityStore, VulnerabilityPackages, VulnerabilityRow, VulnerabilitySort } from '../store/security-store.ts';
import type { VulnDb } from '../vulndb/index.ts';
import { refreshRollup, rollupFilterFor, scopeFor, severityOf, severityRank, type FleetView, type ResourceFilter } from './context.ts';
import { ServiceError } from './errors.ts';
import type { Severity } from './types.ts';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 1000;

export interface FindingsQuery extends ResourceFilter {
  severities?: readonly Severity[];
  /** Only vulnerabilities with a fix (true) / without one (false). */
  fixAvailable?: boolean;
  kev?: boolean;
  package?: string;
  /** Substring of the id, the title or a package name. */
  search?: string;
  sort?: VulnerabilitySort;
  descending?: boolean;
  /** 1-based. */
  page?: number;
  pageSize?: number;
}

/** fixed: a fixed version exists for some finding; the rest say why there is none. */
export type FixSummary = 'fixed' | 'no-fix' | 'wont-fix' | 'deferred' | 'unimportant';

export interface VulnerabilityListItem {
  vulnerabilityId: string;
  title: string | null;
  severity: Severity;
  cvss: { score: number | null; vector: string; version: string; source: string | null } | null;
  epss: { score: number; percentile: number } | null;
  kev: boolean;
  kevDateAdded: string | null;
  fixState: FixSummary;
  fixedVersions: string[];
  packages: string[];
  nodes: number;
  pools: number;
  clusters: number;
  findings: number;
  exemptFindings: number;
  /** exempt when every finding of it in the scope is exempt. */
  status: 'open' | 'exempt';
  firstSeen: string;
}

export interface FindingsPage {
  total: number;
  page: number;
  pageSize: number;
  items: VulnerabilityListItem[];
}

export function fixSummary(states: readonly Finding['state'][]): FixSummary {
  if (states.includes('fixed')) return 'fixed';
  for (const s of ['wont-fix', 'deferred', 'unimportant'] as const) if (states.length > 0 && states.every((x) => x === s)) return s;
  return 'no-fix';
}

export function fixLabel(state: FixSummary, fixedVersions: readonly string[]): string {
  switch (state) {
    case 'fixed':
      return `fixed in ${fixedVersions.join(', ')}`;
    case 'wont-fix':
      return "won't fix";
    case 'deferred':
      return 'fix deferred';
    case 'unimportant':
      return 'no fix (unimportant)';
    default:
      return 'no fix yet';
  }
}

/** The CVSS to show: the highest-scored v3+ vector, else any. */
function bestCvss(cvss: Finding['cvss']): VulnerabilityListItem['cvss'] {
  const sorted = [...cvss].sort((a, b) => (b.score ?? -1) - (a.score ?? -1) || b.version.localeCompare(a.version));
  const c = sorted[0];
  return c === undefined ? null : { score: c.score ?? null, vector: c.vector, version: c.version, source: c.source ?? null };
}

export async function listFindings(view: FleetView, security: SecurityStore, q: FindingsQuery = {}): Promise<FindingsPage> {
  const pageSize = q.pageSize ?? DEFAULT_PAGE_SIZE;
  const page = q.page ?? 1;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) throw new ServiceError(`page size must be 1..${MAX_PAGE_SIZE}`);
  if (!Number.isInteger(page) || page < 1) throw new ServiceError('page must be 1 or more');
  const order = { sort: q.sort ?? 'severity', descending: q.descending ?? false, limit: pageSize, offset: (page - 1) * pageSize };
  let total: number;
  let rows: VulnerabilityRow[];
  let details: Map<string, VulnerabilityPackages>;
  if (q.node === undefined) {
    // The per-pool roll-up: a page costs a GROUP BY over (pool, vulnerability) rows, not over findings.
    await refreshRollup(view, security);
    const f = rollupFilterFor(view, q);
    if (q.severities?.length) f.severityRanks = q.severities.map(severityRank);
    if (q.fixAvailable !== undefined) f.fixAvailable = q.fixAvailable;
    if (q.kev) f.kev = true;
    if (q.package !== undefined) f.packageName = q.package;
    if (q.search !== undefined) f.search = q.search;
    ({ total, rows } = await security.rollupPage(f, order));
    details = await security.rollupPackages(rows.map((r) => r.vulnerabilityId), f);
  } else {
    // One node: straight from its findings.
    const scope = scopeFor(view, q);
    if (q.severities?.length) scope.severityRanks = q.severities.map(severityRank);
    if (q.fixAvailable !== undefined) scope.fixAvailable = q.fixAvailable;
    if (q.kev) scope.kev = true;
    if (q.package !== undefined) scope.packageName = q.package;
    if (q.search !== undefined) scope.search = q.search;
    ({ total, rows } = await security.vulnerabilityPage(scope, view.exemptions, order));
    details = await security.vulnerabilityPackages(rows.map((r) => r.vulnerabilityId), scope);
  }
  return {
    total,
    page,
    pageSize,
    items: rows.map((r) => {
      const d = details.get(r.vulnerabilityId);
      const state = fixSummary(d?.states ?? []);
      return {
        vulnerabilityId: r.vulnerabilityId,
        title: r.title ?? null,
        severity: severityOf(r.severityRank),
        cvss: bestCvss(r.cvss),
        epss: r.epss ?? null,
        kev: r.kev !== undefined,
        kevDateAdded: r.kev?.dateAdded ?? null,
        fixState: state,
        fixedVersions: d?.fixedVersions ?? [],
        packages: d?.packages ?? [],
        nodes: r.nodes,
        pools: r.pools,
        clusters: r.clusters,
        findings: r.findings,
        exemptFindings: r.exemptFindings,
        status: r.exemptFindings === r.findings ? 'exempt' : 'open',
        firstSeen: r.firstSeen,
      };
    }),
  };
}

const CSV_COLUMNS = ['vulnerabilityId', 'severity', 'cvss', 'epss', 'kev', 'fixState', 'fixedVersions', 'packages', 'nodes', 'pools', 'clusters', 'findings', 'exemptFindings', 'status', 'firstSeen', 'title'] as const;

function csvCell(v: string): string {
  // A cell a spreadsheet would run as a formula is prefixed (OWASP CSV injection).
  const safe = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\n\r]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** The Findings list as CSV (RFC 4180), one line per vulnerability. */
export function findingsCsv(items: readonly VulnerabilityListItem[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const i of items) {
    const cells: Record<(typeof CSV_COLUMNS)[number], string> = {
      vulnerabilityId: i.vulnerabilityId, severity: i.severity, cvss: i.cvss?.score?.toString() ?? '', epss: i.epss?.score.toString() ?? '', kev: i.kev ? 'yes' : 'no',
      fixState: i.fixState, fixedVersions: i.fixedVersions.join(' '), packages: i.packages.join(' '), nodes: String(i.nodes), pools: String(i.pools), clusters: String(i.clusters),
      findings: String(i.findings), exemptFindings: String(i.exemptFindings), status: i.status, firstSeen: i.firstSeen, title: i.title ?? '',
    };
    lines.push(CSV_COLUMNS.map((c) => csvCell(cells[c])).join(','));
  }
  return lines.join('\r\n') + '\r\n';
}

// ---- the CVE pane -----------------------------------------------------------------------

export interface AffectedResource {
  account: string;
  cluster: string;
  nodePool: string;
  node: string;
  /** The package the finding is on (for a kernel finding, the one carrying the kernel). */
  package: string;
  installedVersion: string;
  fixedVersion: string | null;
  state: Finding['state'];
  /** Kernel findings: every binary package of that kernel build. */
  packages: string[];
  /** Kernel findings: the kernel release the finding is about and the node's running kernel. */
  kernelRelease: string | null;
  nodeKernel: string | null;
  /** Kernel findings: whether the node runs that kernel (null when not a kernel finding or the kernel is not reported). */
  runsVulnerableKernel: boolean | null;
  exempt: boolean;
  firstSeen: string;
  lastSeen: string;
}

export interface CvePane {
  vulnerabilityId: string;
  title: string | null;
  description: string | null;
  aliases: string[];
  severity: Severity;
  vendorSeverity: { source: string; level: string } | null;
  cvss: Finding['cvss'];
  epss: { score: number; percentile: number } | null;
  kev: NonNullable<Finding['kev']> | null;
  fixState: FixSummary;
  fixedVersions: string[];
  vendorStatus: Finding['vendorStatus'] | null;
  /** From the vulnerability database when one is given (the advisory's references and dates). */
  references: string[];
  published: string | null;
  modified: string | null;
  advisories: { id: string; source: string; feed: string; modified: string | null }[];
  counts: { findings: number; exempt: number; nodes: number; pools: number; clusters: number };
  affected: AffectedResource[];
}

export async function cvePane(view: FleetView, security: SecurityStore, id: string, filter: ResourceFilter = {}, db?: VulnDb): Promise<CvePane> {
  const scope = scopeFor(view, filter);
  const rows = await security.affected(id, scope, view.exemptions);
  const details = await security.vulnerability(id);
  if (rows.length === 0 && details === undefined) throw new ServiceError(`no finding of ${id} in the store`, 'not-found');
  const affected: AffectedResource[] = rows.map((r) => {
    const f = r.finding;
    const kernel = f.kernel?.release ?? null;
    return {
      ...r.ref,
      package: f.package.name,
      installedVersion: f.package.version,
      fixedVersion: f.fixedVersion ?? null,
      state: f.state,
      packages: (f.packages ?? [f.package]).map((p) => p.name),
      kernelRelease: kernel,
      nodeKernel: r.nodeKernel ?? null,
      runsVulnerableKernel: kernel === null || r.nodeKernel === undefined ? null : r.nodeKernel === kernel,
      exempt: r.exempt,
      firstSeen: r.firstSeen,
      lastSeen: r.lastSeen,
    };
  });
  const states = [...new Set(rows.map((r) => r.finding.state))];
  const fixed = [...new Set(rows.flatMap((r) => (r.finding.fixedVersion !== undefined ? [r.finding.fixedVersion] : [])))];
  const advisories = new Map<string, CvePane['advisories'][number]>();
  for (const r of rows) {
    const a = r.finding.evidence.advisory;
    if (!advisories.has(a.id)) advisories.set(a.id, { id: a.id, source: a.source, feed: a.feed, modified: a.modified ?? null });
  }
  const refs = new Set<string>();
  let published: string | null = null;
  let modified: string | null = null;
  if (db !== undefined) {
    const seen = new Set<string>();
    for (const r of rows) {
      const e = r.finding.evidence;
      const k = `${e.namespace}\u0000${e.comparedName}`;
      if (seen.has(k)) continue;
      seen.add(k);
      for (const rec of db.lookup(e.namespace, e.comparedName)) {
        if (rec.advisory.id !== e.advisory.id && !rec.advisory.aliases.includes(id)) continue;
        for (const ref of rec.advisory.references) refs.add(ref);
        if (rec.advisory.published !== undefined && (published === null || rec.advisory.published < published)) published = rec.advisory.published;
        if (rec.advisory.modified !== undefined && (modified === null || rec.advisory.modified > modified)) modified = rec.advisory.modified;
      }
    }
  }
  const first = rows[0]?.finding;
  const topRank = rows.length ? Math.min(...rows.map((r) => severityRank(r.finding.severity))) : severityRank('unknown');
  return {
    vulnerabilityId: id,
    title: details?.summary ?? null,
    description: details?.summary ?? null,
    aliases: details?.aliases ?? [],
    severity: severityOf(topRank),
    vendorSeverity: first?.vendorSeverity ?? null,
    cvss: details?.cvss ?? [],
    epss: details?.epss ?? null,
    kev: details?.kev ?? null,
    fixState: fixSummary(states),
    fixedVersions: fixed,
    vendorStatus: first?.vendorStatus ?? null,
    references: [...refs].sort(),
    published,
    modified,
    advisories: [...advisories.values()],
    counts: {
      findings: rows.length,
      exempt: rows.filter((r) => r.exempt).length,
      nodes: new Set(rows.map((r) => r.nodeId)).size,
      pools: new Set(rows.map((r) => r.poolId)).size,
      clusters: new Set(rows.map((r) => r.clusterId)).size,
    },
    affected,
  };
}
