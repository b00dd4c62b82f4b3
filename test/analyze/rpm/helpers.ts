/** Shared by the rpm tests: run an analyzer over a host tree, and ask the real rpm for the truth. */
import { openDirectory } from '../../../src/fs/directory/index.ts';
import { walk } from '../../../src/fs/index.ts';
import type { Analyzer, PartialInventory } from '../../../src/analyze/index.ts';
import type { Package } from '../../../src/inventory/index.ts';
import { run } from '../../helpers/tools.ts';
import { DBPATH_DEFINE } from './fixture.ts';

/** Walks `root` (only the analyzer's roots) and runs the analyzer on what it wants, as the runner will. */
export async function analyzeTree(analyzer: Analyzer, root: string, previous: Package[] = []): Promise<PartialInventory> {
  const fs = await openDirectory(root);
  const files: { path: string; stat: import('../../../src/fs/index.ts').Stat }[] = [];
  const under = (p: string, r: string): boolean => p === r || p.startsWith(`${r}/`);
  // As analyze/run.ts: ancestors of a root are descended; at or below a root, the analyzer's `descend` decides.
  const descend = (p: string): boolean => analyzer.roots.some((r) => under(r, p) && r !== p) || (analyzer.roots.some((r) => under(p, r)) && (analyzer.descend?.(p) ?? true));
  for await (const e of walk(fs, { descend: (p) => descend(p) })) {
    if (analyzer.wants(e.path, e.stat)) files.push({ path: e.path, stat: e.stat });
  }
  return analyzer.analyze({ fs, files, previous: { packages: previous } });
}

/** `rpm -qa` on a root: one line per package (gpg-pubkey left out), sorted. */
export async function rpmQa(root: string, qf: string, backend?: 'bdb_ro'): Promise<string[]> {
  const args = [DBPATH_DEFINE, ...(backend ? [`--define=_db_backend ${backend}`] : []), '--root', root, '-qa', '--qf', qf];
  const out = await run('rpm', args);
  return out.split('\n').filter((l) => l !== '' && !l.startsWith('gpg-pubkey\t')).sort();
}

/**
 * The oracle's line for one of our packages: NAME, EPOCHNUM, EVR, ARCH, VENDOR, LICENSE and
 * SOURCERPM (rebuilt from our source name and version, whose epoch the file name never has).
 */
export const QA_FORMAT = '%{NAME}\\t%{EPOCHNUM}\\t%{EVR}\\t%{ARCH}\\t%{VENDOR}\\t%{LICENSE}\\t%{SOURCERPM}\\n';
export function qaLine(p: Package): string {
  const srpm = p.source === undefined ? '(none)' : `${p.source.name}-${p.source.version.replace(/^\d+:/, '')}.src.rpm`;
  return [p.name, p.epoch ?? 0, p.version, p.arch ?? '(none)', p.vendor ?? '(none)', p.license ?? '(none)', srpm].join('\t');
}
