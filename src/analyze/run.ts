/**
 * The analyzer runner: ONE walk of the filesystem, restricted to the directories some analyzer
 * declares in `roots` (so an inventory reads metadata and package databases, never the whole
 * disk — the lesson of trivy#8481), offering each entry to every analyzer's `wants`; then each
 * analyzer in registry order, later ones seeing the OS and packages found before them. An
 * analyzer that throws becomes a coverage Issue; the scan goes on.
 */
import type { FileSystem, Stat } from '../fs/index.ts';
import type { PathFileSystem } from '../fs/path-fs.ts';
import { walk } from '../fs/walk.ts';
import type { Inventory, NodeIdentity, Package } from '../inventory/index.ts';
import { mergeInventory } from './merge.ts';
import { issueFromError, type Issue } from '../util/issues.ts';
import type { Analyzer, PartialInventory } from './index.ts';

/**
 * Entries the inventory walk visits at most. The walk covers only analyzer roots (a few
 * thousand entries on a real node), so reaching this means a hostile or unusual tree.
 */
export const MAX_INVENTORY_WALK_ENTRIES = 2_000_000;
/** Paths one analyzer may claim; more are dropped with an issue. */
export const MAX_CLAIMED_FILES_PER_ANALYZER = 200_000;

export interface RunOptions {
  /** The target as shown to users. */
  target: string;
  node?: NodeIdentity;
  /** Default: now. */
  scannedAt?: Date;
  /** Default MAX_INVENTORY_WALK_ENTRIES. */
  maxEntries?: number;
  /** Issues found before the inventory (opening the target) to carry into it. */
  issues?: Issue[];
}

/**
 * A root as the walk sees it. When a root's path goes through a symlink inside the image
 * (`/var/lib/rpm -> ../../usr/lib/sysimage/rpm`, `/lib -> usr/lib`), the walk, which never
 * follows links, reaches its files under the canonical path; `alias` maps them back.
 */
export interface WalkRoot {
  analyzer: number;
  /** The canonical (walked) path. */
  path: string;
  /** The path the analyzer declared, when it differs from `path`. */
  alias?: string;
}

/** The declared roots plus, for each that resolves elsewhere inside the image, its canonical path. */
export async function walkRoots(fs: PathFileSystem, analyzers: readonly Analyzer[]): Promise<WalkRoot[]> {
  const roots: WalkRoot[] = [];
  for (const [i, a] of analyzers.entries()) {
    for (const root of a.roots) {
      roots.push({ analyzer: i, path: root });
      let canonical: string;
      try {
        canonical = await fs.realpath(root);
      } catch {
        // absent, or a link loop: the analyzer sees (and reports) what the walk finds
        continue;
      }
      if (canonical !== root) roots.push({ analyzer: i, path: canonical, alias: root });
    }
  }
  return roots;
}

function mapAlias(r: WalkRoot, path: string): string {
  return r.alias === undefined ? path : r.alias + path.slice(r.path.length);
}

/** Whether a directory must be descended: it leads to a root, or lies at/under one the analyzer wants descended. */
export function shouldDescend(analyzers: readonly Analyzer[], dir: string, roots?: readonly WalkRoot[]): boolean {
  const list = roots ?? analyzers.flatMap((a, i) => a.roots.map((path) => ({ analyzer: i, path })));
  for (const r of list) {
    const a = analyzers[r.analyzer]!;
    if (r.path === '/' || r.path.startsWith(dir === '/' ? '/' : dir + '/')) return true;
    if (dir === r.path || dir.startsWith(r.path + '/')) {
      if (a.descend === undefined || a.descend(mapAlias(r, dir))) return true;
    }
  }
  return false;
}

/** What the walk gathered for the analyzers: each one's claimed paths, and what went wrong on the way. */
export interface Claims {
  /** Per analyzer (registry order): the paths it claimed, in walk order, with their lstat. */
  files: { path: string; stat: Stat }[][];
  /** Analyzers that claimed more than MAX_CLAIMED_FILES_PER_ANALYZER paths. */
  overflow: boolean[];
  issues: Issue[];
  /** fs.issues.length before the walk: issues the filesystem reports from here on belong to this inventory. */
  fsIssuesBefore: number;
}

/**
 * The walk half of an inventory: one walk restricted to the analyzers' roots, offering each
 * entry to every analyzer. Reads metadata only; the control plane fingerprints a node from the
 * claims before deciding whether to analyze them (analyzeClaims) or reuse a stored inventory.
 */
export async function walkClaims(fs: PathFileSystem, analyzers: readonly Analyzer[], options: { maxEntries?: number } = {}): Promise<Claims> {
  const walkIssues: Issue[] = [];
  const claimed = analyzers.map(() => [] as { path: string; stat: Stat }[]);
  const seen = analyzers.map(() => new Set<string>());
  const overflow = analyzers.map(() => false);
  const fsIssuesBefore = fs.issues.length;
  const claim = (i: number, path: string, stat: Stat) => {
    if (seen[i]!.has(path)) return;
    if (claimed[i]!.length >= MAX_CLAIMED_FILES_PER_ANALYZER) {
      overflow[i] = true;
      return;
    }
    seen[i]!.add(path);
    claimed[i]!.push({ path, stat });
  };
  try {
    const roots = await walkRoots(fs, analyzers);
    const aliases = roots.filter((r) => r.alias !== undefined);
    // One array for every entry's answers (the walk offers each entry to every analyzer).
    const direct: boolean[] = analyzers.map(() => false);
    for await (const entry of walk(fs, { issues: walkIssues, maxEntries: options.maxEntries ?? MAX_INVENTORY_WALK_ENTRIES, descend: (p) => shouldDescend(analyzers, p, roots) })) {
      for (let i = 0; i < analyzers.length; i++) {
        direct[i] = analyzers[i]!.wants(entry.path, entry.stat);
        if (direct[i]) claim(i, entry.path, entry.stat);
      }
      // Offer the declared spelling of a path found under a root's canonical path, unless the
      // analyzer already takes the canonical spelling (the kernel analyzer lists both /lib/modules and /usr/lib/modules).
      for (const r of aliases) {
        if (direct[r.analyzer] || !(entry.path === r.path || entry.path.startsWith(r.path + '/'))) continue;
        const alias = mapAlias(r, entry.path);
        if (analyzers[r.analyzer]!.wants(alias, entry.stat)) claim(r.analyzer, alias, entry.stat);
      }
    }
  } catch (err) {
    // A walk that cannot even start (unreadable root) leaves every analyzer without input.
    walkIssues.push(issueFromError(err, 'inventory.walk', '/'));
  }
  return { files: claimed, overflow, issues: walkIssues, fsIssuesBefore };
}

/** The parse half: each analyzer in registry order over what it claimed, merged into an Inventory. */
export async function analyzeClaims(fs: PathFileSystem, analyzers: readonly Analyzer[], claims: Claims, options: RunOptions): Promise<Inventory> {
  const parts: PartialInventory[] = [{ issues: [...(options.issues ?? []), ...claims.issues] }];
  const versions: Record<string, number> = {};
  let os: Inventory['os'];
  const packages: Package[] = [];
  for (const [i, a] of analyzers.entries()) {
    versions[a.id] = a.version;
    if (claims.overflow[i]) {
      parts.push({ issues: [{ severity: 'error', code: 'inventory.claim-budget', message: `analyzer ${a.id} claimed more than ${MAX_CLAIMED_FILES_PER_ANALYZER} paths; the rest were not read` }] });
    }
    try {
      const previous = os === undefined ? { packages: [...packages] } : { os, packages: [...packages] };
      const part = await a.analyze({ fs: fs as FileSystem, files: claims.files[i]!, previous });
      if (part.os && !os) os = part.os;
      packages.push(...(part.packages ?? []));
      parts.push(part);
    } catch (err) {
      parts.push({ issues: [issueFromError(err, 'inventory.analyzer-failed', `analyzer ${a.id}`)] });
    }
  }
  parts.push({ issues: fs.issues.slice(claims.fsIssuesBefore) });
  const header = { target: options.target, scannedAt: (options.scannedAt ?? new Date()).toISOString(), analyzers: versions };
  return mergeInventory(options.node ? { ...header, node: options.node } : header, parts);
}

export async function runAnalyzers(fs: PathFileSystem, analyzers: readonly Analyzer[], options: RunOptions): Promise<Inventory> {
  const claims = await walkClaims(fs, analyzers, options.maxEntries === undefined ? {} : { maxEntries: options.maxEntries });
  return analyzeClaims(fs, analyzers, claims, options);
}
