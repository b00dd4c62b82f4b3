/**
 * Builds the test fixtures (real node disk images) into the cache and prints their paths.
 *
 *   node scripts/fixtures.ts --list                 names, and whether each is in the cache
 *   node scripts/fixtures.ts --all                  build everything from the Debian root (CI does this once)
 *   node scripts/fixtures.ts disk:gpt-ext4 fs:xfs   build some; prints "<name>\t<path>"
 *   node scripts/fixtures.ts --small --all          the same images made from the small synthetic tree
 *   node scripts/fixtures.ts --paths disk:gpt-ext4  print only the path (for the README: hullscan scan "$(...)")
 *   node scripts/fixtures.ts --rebuild fs:xfs       remove the named artefacts first (not their inputs), then build
 *   node scripts/fixtures.ts --clean                remove every artefact of this builder from the cache
 *
 * Names: debian-root, small-tree, disk:<layout>, fs:<kind>, container:<format> (of disk:gpt-ext4).
 * HULLSCAN_FIXTURE_CACHE moves the cache; HULLSCAN_DEBIAN_MIRROR changes the apt mirror. See docs/fixtures.md.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fixtureCacheDir } from '../test/helpers/tools.ts';
import { removeArtefacts } from '../test/fixtures/cache.ts';
import {
  buildEvents,
  CONTAINER_FORMATS,
  containerImage,
  debianRoot,
  DISK_LAYOUTS,
  SPLIT_LAYOUTS,
  FixtureUnavailableError,
  FS_KINDS,
  fsImage,
  nodeDisk,
  setBuildLogger,
  smallTree,
  type ContainerFormat,
  type DiskLayout,
  type FsKind,
} from '../test/fixtures/node-image.ts';

interface Target {
  name: string;
  /** The cache directory name of the artefact (for --list). */
  artefact(treeName: string): string;
  build(tree: () => Promise<string>): Promise<string>;
}

function targets(): Target[] {
  const list: Target[] = [
    { name: 'debian-root', artefact: () => 'debian-root', build: () => debianRoot() },
    { name: 'small-tree', artefact: () => 'small-tree', build: () => smallTree() },
  ];
  for (const layout of [...DISK_LAYOUTS, ...SPLIT_LAYOUTS]) {
    list.push({ name: `disk:${layout}`, artefact: (t) => `disk-${layout}.${t}`, build: (tree) => nodeDisk(layout as DiskLayout, { tree: tree() }) });
  }
  for (const kind of FS_KINDS) {
    list.push({ name: `fs:${kind}`, artefact: (t) => `fs-${kind}.${t}`, build: (tree) => fsImage(kind as FsKind, tree()) });
  }
  for (const format of CONTAINER_FORMATS) {
    list.push({
      name: `container:${format}`,
      artefact: (t) => `ctr-${format}.disk-gpt-ext4.${t}`,
      build: async (tree) => containerImage(await nodeDisk('gpt-ext4', { tree: tree() }), format as ContainerFormat),
    });
  }
  return list;
}

function fmtSeconds(s: number): string {
  return `${s.toFixed(1)} s`;
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      all: { type: 'boolean', default: false },
      list: { type: 'boolean', default: false },
      small: { type: 'boolean', default: false },
      clean: { type: 'boolean', default: false },
      rebuild: { type: 'boolean', default: false },
      quiet: { type: 'boolean', short: 'q', default: false },
      paths: { type: 'boolean', default: false },
      'if-available': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const all = targets();
  if (values.help) {
    console.log('usage: node scripts/fixtures.ts [--all|names...] [--small] [--list] [--paths] [--rebuild] [--clean] [--if-available] [-q]');
    console.log('--if-available: exit 0 when the only failures are missing host prerequisites (npm test uses it; ignored when CI=true)');
    console.log(`names: ${all.map((t) => t.name).join(' ')}`);
    return 0;
  }
  if (values.clean) {
    const removed = removeArtefacts();
    console.log(`removed ${removed.length} artefacts from ${fixtureCacheDir()}`);
    return 0;
  }
  const treeName = values.small ? 'small-tree' : 'debian-root';
  const tree = values.small ? smallTree : debianRoot;
  if (values.list) {
    const cache = fixtureCacheDir();
    console.log(`cache: ${cache}`);
    for (const t of all) {
      const dir = join(cache, t.artefact(treeName));
      console.log(`${t.name.padEnd(28)} ${existsSync(join(dir, 'manifest.json')) ? `cached  ${dir}` : 'not built'}`);
    }
    return 0;
  }
  const unknown = positionals.filter((n) => !all.some((t) => t.name === n));
  if (unknown.length > 0) {
    console.error(`unknown fixture names: ${unknown.join(', ')} (see --list)`);
    return 2;
  }
  const chosen = values.all ? all : positionals.map((n) => all.find((t) => t.name === n) as Target);
  if (chosen.length === 0) {
    console.error('nothing to build: give names or --all (see --help)');
    return 2;
  }
  if (values.rebuild) removeArtefacts(chosen.map((t) => t.artefact(treeName)));
  if (values.paths) values.quiet = true;
  if (!values.quiet) {
    setBuildLogger((e) => {
      if (e.action === 'building') console.error(`building ${e.name} ...`);
      else if (e.action === 'built') console.error(`built    ${e.name} in ${fmtSeconds(e.seconds)}`);
    });
  }
  const started = performance.now();
  let failed = 0;
  let unavailable = 0;
  for (const t of chosen) {
    try {
      const path = await t.build(tree);
      console.log(values.paths ? path : `${t.name}\t${path}`);
    } catch (err) {
      if (err instanceof FixtureUnavailableError) unavailable++;
      else failed++;
      const msg = err instanceof Error ? err.message : String(err);
      console.log(`${t.name}\t${err instanceof FixtureUnavailableError ? 'UNAVAILABLE' : 'FAILED'}: ${msg}`);
    }
  }
  const built = buildEvents().filter((e) => e.action !== 'reused');
  if (built.length > 0 && !values.quiet) {
    console.error('\nbuild times (own build of each artefact, dependencies counted separately):');
    const seen = new Set<string>();
    for (const e of built) {
      if (seen.has(e.name)) continue;
      seen.add(e.name);
      console.error(`  ${e.name.padEnd(48)} ${e.action === 'waited' ? 'waited for another process' : fmtSeconds(e.seconds)}`);
    }
    console.error(`  ${'total'.padEnd(48)} ${fmtSeconds((performance.now() - started) / 1000)}`);
  }
  if (failed > 0) return 1;
  // In CI every fixture must build: an unavailable one would turn its tests into skips.
  const lenient = values['if-available'] && !isCi();
  if (unavailable > 0 && values['if-available'] && !lenient) console.error(`fixtures: ${unavailable} unavailable; --if-available does not apply when CI=true`);
  return unavailable > 0 && !lenient ? 1 : 0;
}

/** CI runners set CI=true (GitHub Actions, GitLab, Azure Pipelines as TF_BUILD, Buildkite, …). */
function isCi(): boolean {
  const v = process.env['CI'];
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

process.exitCode = await main();
