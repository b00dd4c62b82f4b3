/**
 * Remediation by node-image upgrade. For each pool: its image now, the newest known image of its
 * family (the provider's upgrade profile when known, else the catalogue) and what the upgrade
 * does — the target image's package list (the node-image catalogue) matched against the current
 * vulnerability data, compared per vulnerability with what is open on the pool's nodes now:
 * fixed (open now, absent from the target), remaining (open now, still in the target),
 * introduced (absent now, present in the target). "Fixes N of M" is fixed.length of
 * fixed.length + remaining.length. Drift: nodes whose inventory differs from their pool's image.
 * The candidate-image gate (`image check`) is the same comparison for an image given by the user.
 */
import { catalogInventory, compareImageVersions, type CatalogImage, type NodeImageCatalog } from '../catalog/index.ts';
import type { Inventory } from '../inventory/index.ts';
import { matchInventory } from '../match/run.ts';
import type { FleetStore, NodePool } from '../store/index.ts';
import type { SecurityStore } from '../store/security-store.ts';
import type { VulnDb } from '../vulndb/index.ts';
import { scopeFor, severityOf, severityRank, type FleetView, type ResourceFilter } from './context.ts';
import { ServiceError } from './errors.ts';
import type { Severity } from './types.ts';

export interface VulnerabilityPackages {
  vulnerabilityId: string;
  severity: Severity;
  packages: string[];
}

export interface PackageDrift {
  name: string;
  /** null: not in the image (installed on the node) / not on the node (removed). */
  image: string | null;
  node: string | null;
}

export interface NodeDrift {
  node: string;
  /** Packages whose version differs, that the node has and the image not, or the reverse. */
  changed: PackageDrift[];
  added: PackageDrift[];
  removed: PackageDrift[];
}

export interface PoolRemediation {
  account: string;
  cluster: string;
  nodePool: string;
  imageFamily: string | null;
  currentImage: string | null;
  targetImage: string | null;
  /** Where the target came from: the pool's upgrade profile, the catalogue's newest, or asked for. */
  targetFrom: 'upgrade-profile' | 'catalog' | 'requested' | null;
  /** Nodes whose findings count here. */
  nodes: number;
  fixed: VulnerabilityPackages[];
  remaining: VulnerabilityPackages[];
  introduced: VulnerabilityPackages[];
  drift: NodeDrift[];
  /** Why no comparison could be made, or a caveat. */
  note?: string;
}

/** Per vulnerability, the binary packages an inventory has it on. */
export function vulnerabilitiesOf(inventory: Inventory, db: VulnDb): Map<string, VulnerabilityPackages> {
  const out = new Map<string, VulnerabilityPackages>();
  for (const f of matchInventory(inventory, db).findings) {
    const v = out.get(f.vulnerabilityId) ?? { vulnerabilityId: f.vulnerabilityId, severity: f.severity, packages: [] };
    if (!v.packages.includes(f.package.name)) v.packages.push(f.package.name);
    if (severityRank(f.severity) < severityRank(v.severity)) v.severity = f.severity;
    out.set(f.vulnerabilityId, v);
  }
  for (const v of out.values()) v.packages.sort();
  return out;
}

/** now vs target, per vulnerability. */
export function compareVulnerabilities(now: ReadonlyMap<string, VulnerabilityPackages>, target: ReadonlyMap<string, VulnerabilityPackages>): Pick<PoolRemediation, 'fixed' | 'remaining' | 'introduced'> {
  const order = (a: VulnerabilityPackages, b: VulnerabilityPackages) => severityRank(a.severity) - severityRank(b.severity) || (a.vulnerabilityId < b.vulnerabilityId ? -1 : 1);
  const fixed = [...now.values()].filter((v) => !target.has(v.vulnerabilityId)).sort(order);
  const remaining = [...now.values()].filter((v) => target.has(v.vulnerabilityId)).sort(order);
  const introduced = [...target.values()].filter((v) => !now.has(v.vulnerabilityId)).sort(order);
  return { fixed, remaining, introduced };
}

/** Matches catalogue images once per (family, version) for one service call. */
export class ImageMatcher {
  readonly #db: VulnDb;
  readonly #cache = new Map<string, Map<string, VulnerabilityPackages>>();
  constructor(db: VulnDb) {
    this.#db = db;
  }
  image(img: CatalogImage): Map<string, VulnerabilityPackages> {
    const k = `${img.family}@${img.version}`;
    let v = this.#cache.get(k);
    if (v === undefined) this.#cache.set(k, (v = vulnerabilitiesOf(catalogInventory(img), this.#db)));
    return v;
  }
  inventory(inv: Inventory): Map<string, VulnerabilityPackages> {
    return vulnerabilitiesOf(inv, this.#db);
  }
}

/** The target image of a pool: asked for, else the upgrade profile's newest when the catalogue has it, else the catalogue's newest. */
export function targetImage(pool: NodePool, catalog: NodeImageCatalog, requested?: string): { image?: CatalogImage; from?: PoolRemediation['targetFrom']; note?: string } {
  const family = pool.imageFamily;
  if (family === undefined) return { note: 'the pool does not report its node image' };
  if (catalog.versions(family).length === 0) return { note: `node-image family ${family} is not in the catalogue` };
  if (requested !== undefined) {
    const img = catalog.get(family, requested);
    return img ? { image: img, from: 'requested' } : { note: `${family} ${requested} is not in the catalogue (known: ${catalog.versions(family).slice(-3).join(', ')}, …)` };
  }
  const profile = pool.latestImageVersion !== undefined ? catalog.get(family, pool.latestImageVersion) : undefined;
  if (profile !== undefined) return { image: profile, from: 'upgrade-profile' };
  const latest = catalog.latest(family)!;
  const note = pool.latestImageVersion !== undefined ? `the upgrade profile's ${pool.latestImageVersion} is not in the catalogue; compared with the catalogue's newest` : undefined;
  return { image: latest, from: 'catalog', ...(note !== undefined && { note }) };
}

/** What is open on a pool's counted nodes now, per vulnerability (exempt findings included: an upgrade fixes them too). */
export async function poolNow(view: FleetView, security: SecurityStore, pool: NodePool): Promise<Map<string, VulnerabilityPackages>> {
  const scope = scopeFor(view);
  const rows = await security.poolVulnerabilities(pool.id, scope, []);
  return new Map(rows.map((r) => [r.vulnerabilityId, { vulnerabilityId: r.vulnerabilityId, severity: severityOf(r.severityRank), packages: r.packages }]));
}

/** Nodes of the pool whose stored inventory (read from their disk) differs from the catalogue image's package list. */
export async function poolDrift(view: FleetView, store: FleetStore, pool: NodePool, catalog: NodeImageCatalog): Promise<NodeDrift[]> {
  if (pool.imageFamily === undefined || pool.imageVersion === undefined) return [];
  const img = catalog.get(pool.imageFamily, pool.imageVersion);
  if (img === undefined) return [];
  const imagePkgs = new Map(img.packages.map((p) => [p.name, p.version]));
  const out: NodeDrift[] = [];
  const inventories = new Map<string, Inventory | undefined>();
  for (const n of view.nodes) {
    if (n.poolId !== pool.id || n.exclusion !== undefined || n.currentInventoryId === undefined) continue;
    // A node assessed from the catalogue is the image by construction: nothing to compare.
    if (n.lastScan?.inventorySource === 'catalog') continue;
    if (!inventories.has(n.currentInventoryId)) inventories.set(n.currentInventoryId, await store.getInventory(n.currentInventoryId));
    const inv = inventories.get(n.currentInventoryId);
    if (inv === undefined || inv.analyzers['catalog'] !== undefined) continue;
    const nodePkgs = new Map(inv.packages.filter((p) => p.type === 'deb' || p.type === 'rpm').map((p) => [p.name, p.version]));
    const d: NodeDrift = { node: n.ref.node, changed: [], added: [], removed: [] };
    for (const [name, v] of nodePkgs) {
      const iv = imagePkgs.get(name);
      if (iv === undefined) d.added.push({ name, image: null, node: v });
      else if (iv !== v) d.changed.push({ name, image: iv, node: v });
    }
    for (const [name, iv] of imagePkgs) if (!nodePkgs.has(name)) d.removed.push({ name, image: iv, node: null });
    for (const list of [d.changed, d.added, d.removed]) list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    if (d.changed.length + d.added.length + d.removed.length > 0) out.push(d);
  }
  return out;
}

export interface RemediationQuery extends ResourceFilter {
  /** Target node-image version (default: the newest known for each pool's family). */
  to?: string;
}

export async function remediation(view: FleetView, store: FleetStore, security: SecurityStore, catalog: NodeImageCatalog, db: VulnDb, q: RemediationQuery = {}): Promise<PoolRemediation[]> {
  const matcher = new ImageMatcher(db);
  const out: PoolRemediation[] = [];
  const pools = [...view.pools.values()]
    .filter((p) => p.goneAt === undefined && view.accounts.get(p.account)?.settings.agentlessScanning)
    .filter((p) => (q.account === undefined || p.account === q.account) && (q.pool === undefined || p.name === q.pool) && (q.cluster === undefined || view.clusters.get(p.cluster)?.name === q.cluster));
  for (const pool of pools) {
    const cluster = view.clusters.get(pool.cluster)!;
    const counted = view.nodes.filter((n) => n.poolId === pool.id && n.exclusion === undefined);
    const base: PoolRemediation = {
      account: pool.account, cluster: cluster.name, nodePool: pool.name, imageFamily: pool.imageFamily ?? null, currentImage: pool.imageVersion ?? null,
      targetImage: null, targetFrom: null, nodes: counted.length, fixed: [], remaining: [], introduced: [], drift: [],
    };
    if (counted.length === 0) {
      const why = view.nodes.find((n) => n.poolId === pool.id && n.exclusion !== undefined && n.exclusion !== 'gone')?.why;
      out.push({ ...base, note: `no node of the pool was assessed${why ? ` (${why})` : ''}` });
      continue;
    }
    const t = targetImage(pool, catalog, q.to);
    const drift = await poolDrift(view, store, pool, catalog);
    if (t.image === undefined) {
      out.push({ ...base, drift, ...(t.note !== undefined && { note: t.note }) });
      continue;
    }
    const now = await poolNow(view, security, pool);
    const r: PoolRemediation = { ...base, targetImage: t.image.version, targetFrom: t.from ?? null, ...compareVulnerabilities(now, matcher.image(t.image)), drift };
    if (pool.imageVersion !== undefined && compareImageVersions(t.image.version, pool.imageVersion) < 0) r.note = `the target ${t.image.version} is older than the pool's ${pool.imageVersion}`;
    else if (t.note !== undefined) r.note = t.note;
    out.push(r);
  }
  return out;
}

/** One sentence: "upgrade np1 from 202309.06.0 to 202608.20.0: fixes 1,034 of 1,090 vulnerabilities; 56 remain". */
export function remediationSentence(r: PoolRemediation): string {
  const n = (x: number) => x.toLocaleString('en-US');
  if (r.targetImage === null) return `${r.cluster}/${r.nodePool}: ${r.note ?? 'no target image'}`;
  const m = r.fixed.length + r.remaining.length;
  const same = r.targetImage === r.currentImage;
  const head = same ? `${r.cluster}/${r.nodePool} runs the newest known image ${r.currentImage}` : `upgrade ${r.cluster}/${r.nodePool} from ${r.currentImage ?? 'an unknown image'} to ${r.targetImage}`;
  const intro = r.introduced.length ? `; introduces ${n(r.introduced.length)}` : '';
  return `${head}: fixes ${n(r.fixed.length)} of ${n(m)} vulnerabilities; ${n(r.remaining.length)} remain (not fixed in ${r.targetImage})${intro}`;
}

// ---- the candidate-image gate -----------------------------------------------------------

export interface ImageCheckResult {
  candidate: string;
  /** Vulnerabilities of the candidate itself. */
  candidateVulnerabilities: number;
  pools: PoolRemediation[];
}

/**
 * What a candidate image (an Inventory: a catalogue image or one read from a disk by the CLI)
 * would fix and introduce on each selected pool, compared with what is open there now.
 */
export async function imageCheck(view: FleetView, security: SecurityStore, db: VulnDb, candidate: { label: string; inventory: Inventory; family?: string }, against: ResourceFilter = {}): Promise<ImageCheckResult> {
  const target = vulnerabilitiesOf(candidate.inventory, db);
  const pools = [...view.pools.values()].filter(
    (p) =>
      p.goneAt === undefined &&
      view.accounts.get(p.account)?.settings.agentlessScanning &&
      (against.account === undefined || p.account === against.account) &&
      (against.pool === undefined || p.name === against.pool) &&
      (against.cluster === undefined || view.clusters.get(p.cluster)?.name === against.cluster) &&
      // Without --against, the pools of the candidate's family.
      (against.pool !== undefined || against.cluster !== undefined || candidate.family === undefined || p.imageFamily === candidate.family),
  );
  if (pools.length === 0) throw new ServiceError(`no node pool to check ${candidate.label} against`, 'not-found');
  const out: PoolRemediation[] = [];
  for (const pool of pools) {
    const counted = view.nodes.filter((n) => n.poolId === pool.id && n.exclusion === undefined);
    const base: PoolRemediation = {
      account: pool.account, cluster: view.clusters.get(pool.cluster)!.name, nodePool: pool.name, imageFamily: pool.imageFamily ?? null, currentImage: pool.imageVersion ?? null,
      targetImage: candidate.label, targetFrom: 'requested', nodes: counted.length, fixed: [], remaining: [], introduced: [], drift: [],
    };
    if (counted.length === 0) {
      out.push({ ...base, note: 'no node of the pool was assessed: nothing to compare with' });
      continue;
    }
    out.push({ ...base, ...compareVulnerabilities(await poolNow(view, security, pool), target) });
  }
  return { candidate: candidate.label, candidateVulnerabilities: target.size, pools: out };
}
