/**
 * analyze/ — analyzers read a node's files into a partial inventory. Central interface:
 * {@link Analyzer}. Each analyzer is a folder whose index.ts exports one Analyzer; the list is
 * explicit in analyze/registry.ts. Finding files (one walk, analyze/run.ts) is apart from parsing
 * them: the runner offers each walked path to every analyzer's `wants`, then calls `analyze`
 * once with the FileSystem and the paths it claimed.
 */
import type { FileSystem, Stat } from '../fs/index.ts';
import type { Evidence, Inventory, KernelInfo, OsInfo, Package } from '../inventory/index.ts';
import type { Issue } from '../util/issues.ts';

/** What one analyzer contributes; the runner merges these into an Inventory. */
export interface PartialInventory {
  os?: OsInfo;
  packages?: Package[];
  kernel?: Partial<KernelInfo>;
  /** Located issues: a package DB that could not be read is a coverage gap here, never an empty list. */
  issues?: Issue[];
}

export interface AnalyzerInput {
  fs: FileSystem;
  /** The paths this analyzer claimed during the walk, in walk order, with their lstat. */
  files: { path: string; stat: Stat }[];
  /** Results of analyzers listed before this one (OS first, packages before kernel and go-binary). */
  previous: Readonly<Pick<Inventory, 'os' | 'packages'>>;
}

export interface Analyzer {
  /** Stable id ("os-release", "dpkg", "rpm", "apk", "kernel", "go-binary"). */
  readonly id: string;
  /** Bumped whenever output for the same input can change (part of inventory cache keys). */
  readonly version: number;
  /**
   * Whether this analyzer needs the file (called for every walked entry, so it must be cheap:
   * string tests on the path and stat, never I/O).
   */
  wants(path: string, stat: Stat): boolean;
  /**
   * Directories the walk must descend for this analyzer (prefixes like "/var/lib/dpkg"). The walk
   * skips directories no analyzer names (e.g. /proc, /home, container layers) so inventory reads
   * only metadata, not the disk.
   */
  readonly roots: readonly string[];
  /**
   * Optional: whether a directory at or below one of `roots` must be descended (default: yes).
   * Lets an analyzer list `/usr/lib/modules` without walking every `.ko` below it.
   */
  descend?(path: string): boolean;
  analyze(input: AnalyzerInput): Promise<PartialInventory>;
}

export type { Evidence };
