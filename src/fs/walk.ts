import { issueFromError, type Issue } from '../util/issues.ts';
import type { DirEntry, InodeId, Stat } from './index.ts';
import type { PathFileSystem } from './path-fs.ts';

export interface WalkEntry {
  /** Absolute in-image path. */
  path: string;
  entry: DirEntry;
  /** lstat of the entry (symlinks are not followed). */
  stat: Stat;
}

export interface WalkOptions {
  /** Directory to start from (default "/"). */
  root?: string;
  /** Stop after this many entries; the walk records a budget issue (default MAX_WALK_ENTRIES). */
  maxEntries?: number;
  /** Directories deeper than this are not descended (default MAX_WALK_DEPTH). */
  maxDepth?: number;
  /** Where unreadable directories and exhausted budgets are recorded. */
  issues?: Issue[];
  /** Skip descending into a directory when this returns false. */
  descend?: (path: string, stat: Stat) => boolean;
}

export const MAX_WALK_ENTRIES = 5_000_000;
/** Linux allows deeper trees, but PATH_MAX makes deeper paths unreachable by name anyway. */
export const MAX_WALK_DEPTH = 2048;

/**
 * Visits every entry below `root` once, depth first, without recursion (the depth of an image's
 * tree is attacker-controlled) and without following symlinks. A directory inode seen twice
 * (a corrupt image that links a directory into itself) is not descended again.
 */
export async function* walk(fs: PathFileSystem, options: WalkOptions = {}): AsyncGenerator<WalkEntry> {
  const issues = options.issues ?? [];
  const maxEntries = options.maxEntries ?? MAX_WALK_ENTRIES;
  const maxDepth = options.maxDepth ?? MAX_WALK_DEPTH;
  const start = await fs.resolve(options.root ?? '/', true);
  const seenDirs = new Set<InodeId>([start.ino]);
  interface Frame { path: string; depth: number; entries: DirEntry[]; next: number }
  const stack: Frame[] = [];
  const enter = async (ino: InodeId, path: string, depth: number): Promise<void> => {
    let entries: DirEntry[];
    try {
      entries = await fs.readdirInode(ino);
    } catch (err) {
      issues.push(issueFromError(err, 'walk.readdir', path));
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    stack.push({ path, depth, entries, next: 0 });
  };
  await enter(start.ino, start.path, 0);
  let count = 0;
  // Pre-order, names sorted: the walk's output is deterministic for listings and goldens.
  while (stack.length > 0) {
    const dir = stack[stack.length - 1]!;
    const entry = dir.entries[dir.next++];
    if (entry === undefined) {
      stack.pop();
      continue;
    }
    if (++count > maxEntries) {
      issues.push({ severity: 'error', code: 'walk.budget', message: `walk stopped after ${maxEntries} entries`, location: dir.path });
      return;
    }
    const path = dir.path === '/' ? `/${entry.name}` : `${dir.path}/${entry.name}`;
    let stat: Stat;
    try {
      stat = await fs.reader.stat(entry.ino);
    } catch (err) {
      issues.push(issueFromError(err, 'walk.stat', path));
      continue;
    }
    yield { path, entry, stat };
    if (stat.type !== 'dir') continue;
    if (seenDirs.has(entry.ino)) {
      issues.push({ severity: 'warning', code: 'walk.dir-cycle', message: `directory inode ${entry.ino} is linked more than once`, location: path });
      continue;
    }
    seenDirs.add(entry.ino);
    if (dir.depth + 1 > maxDepth) {
      issues.push({ severity: 'warning', code: 'walk.depth', message: `not descended: deeper than ${maxDepth}`, location: path });
      continue;
    }
    if (options.descend && !options.descend(path, stat)) continue;
    await enter(entry.ino, path, dir.depth + 1);
  }
}
