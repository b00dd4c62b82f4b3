import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Analyzer, AnalyzerInput } from '../../src/analyze/index.ts';
import { dpkgAnalyzer } from '../../src/analyze/dpkg/index.ts';
import { ANALYZERS } from '../../src/analyze/registry.ts';
import { runAnalyzers } from '../../src/analyze/run.ts';
import { openDirectory } from '../../src/fs/directory/index.ts';
import { packageId, type Package } from '../../src/inventory/index.ts';
import { tempDir } from '../helpers/tools.ts';
import { plantTree } from './tree.ts';

/** An analyzer that records what the runner offered and gave it (the runner is what is under test). */
function recorder(id: string, roots: string[], onAnalyze?: (input: AnalyzerInput) => void): Analyzer & { offered: string[] } {
  const offered: string[] = [];
  return {
    id,
    version: 7,
    roots,
    offered,
    wants(path) {
      offered.push(path);
      return roots.some((r) => path === r || path.startsWith(r + '/'));
    },
    async analyze(input) {
      onAnalyze?.(input);
      const pkg: Package = { type: 'binary', name: id, version: '1', versionScheme: 'semver', foundBy: id, evidence: input.files.map((f) => ({ path: f.path })), id: '' };
      pkg.id = packageId(pkg);
      return { packages: [pkg] };
    },
  };
}

const TREE = {
  'etc/os-release': 'ID=debian\nVERSION_ID=12\n',
  'etc/ssl/certs/a.pem': 'x',
  'var/lib/dpkg/status': '',
  'var/lib/dpkg/info/a.md5sums': '',
  'var/cache/apt/huge.bin': 'x',
  'home/user/.bashrc': 'x',
  'opt/cni/bin/bridge': 'x',
};

async function withFs<R>(fn: (fs: Awaited<ReturnType<typeof openDirectory>>) => Promise<R>): Promise<R> {
  const t = tempDir();
  try {
    plantTree(t.dir, TREE);
    const fs = await openDirectory(t.dir);
    try {
      return await fn(fs);
    } finally {
      await fs.close();
    }
  } finally {
    t.cleanup();
  }
}

test('runner: one walk restricted to analyzer roots; each analyzer gets only its claimed paths', async () => {
  const a = recorder('a', ['/var/lib/dpkg']);
  const b = recorder('b', ['/etc/os-release']);
  const inv = await withFs((fs) => runAnalyzers(fs, [a, b], { target: 't', scannedAt: new Date(0) }));
  // Both saw the same entries (one walk), none below /home, /opt, /var/cache or /etc/ssl.
  assert.deepEqual(a.offered, b.offered);
  for (const p of a.offered) assert.ok(!/^\/(home|opt)\/|^\/var\/cache\/|^\/etc\/ssl\//.test(p), `walked into ${p}`);
  assert.ok(a.offered.includes('/etc/ssl'), 'siblings on the way to a root are listed, not descended');
  assert.deepEqual(inv.packages.find((p) => p.name === 'a')!.evidence.map((e) => e.path), ['/var/lib/dpkg', '/var/lib/dpkg/info', '/var/lib/dpkg/info/a.md5sums', '/var/lib/dpkg/status']);
  assert.deepEqual(inv.packages.find((p) => p.name === 'b')!.evidence.map((e) => e.path), ['/etc/os-release']);
  assert.deepEqual(inv.analyzers, { a: 7, b: 7 });
  assert.equal(inv.scannedAt, '1970-01-01T00:00:00.000Z');
  assert.equal(inv.target, 't');
});

test('runner: an analyzer that throws is a coverage issue; later analyzers still run and see earlier results', async () => {
  const boom: Analyzer = { id: 'boom', version: 1, roots: ['/etc/os-release'], wants: () => true, analyze: () => Promise.reject(new Error('parser exploded')) };
  let seen: string[] = [];
  const first = recorder('first', ['/etc/os-release']);
  const last = recorder('last', ['/opt/cni/bin'], (input) => (seen = input.previous.packages.map((p) => p.name)));
  const inv = await withFs((fs) => runAnalyzers(fs, [first, boom, last], { target: 't' }));
  assert.deepEqual(seen, ['first']);
  assert.deepEqual(inv.packages.map((p) => p.name), ['first', 'last']);
  assert.deepEqual(inv.issues, [{ severity: 'error', code: 'inventory.analyzer-failed', message: 'parser exploded', location: 'analyzer boom' }]);
  assert.equal(inv.analyzers['boom'], 1);
});

test('runner: the entry budget stops the walk with an issue', async () => {
  const a = recorder('a', ['/']);
  const inv = await withFs((fs) => runAnalyzers(fs, [a], { target: 't', maxEntries: 3 }));
  assert.equal(a.offered.length, 3);
  assert.ok(inv.issues.some((i) => i.code === 'walk.budget'));
});

test('runner: carried-in issues (opening the target) come first', async () => {
  const inv = await withFs((fs) => runAnalyzers(fs, [], { target: 't', issues: [{ severity: 'warning', code: 'fs.open', message: 'volume p2: not a filesystem' }] }));
  assert.deepEqual(inv.issues.map((i) => i.code), ['fs.open']);
});

test('registry contract: unique ids, versions, absolute roots, os first, kernel after the package analyzers', () => {
  const ids = ANALYZERS.map((a) => a.id);
  assert.equal(new Set(ids).size, ids.length);
  assert.equal(ids[0], 'os-release');
  for (const pkgDb of ['dpkg', 'rpm', 'apk']) {
    if (ids.includes(pkgDb)) assert.ok(ids.indexOf(pkgDb) < ids.indexOf('kernel'), `${pkgDb} before kernel`);
  }
  if (ids.includes('go-binary')) assert.ok(ids.indexOf('go-binary') > ids.indexOf('dpkg'));
  for (const a of ANALYZERS) {
    assert.ok(Number.isInteger(a.version) && a.version > 0, a.id);
    assert.ok(a.roots.length > 0 && a.roots.every((r) => r.startsWith('/') && (r === '/' || !r.endsWith('/'))), a.id);
    // wants() is called for every entry: it must be a pure function of path and stat.
    assert.equal(typeof a.wants('/nonexistent', { type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0, nlink: 1, ino: 1, mtimeMs: 0 }), 'boolean');
  }
});

test('runner: a root reached through an in-image symlink is walked at its target and offered under the declared path', async () => {
  const t = tempDir();
  try {
    plantTree(t.dir, {
      'data/dpkg/status': 'Package: bash\nStatus: install ok installed\nArchitecture: amd64\nVersion: 5.2.15-2+b7\n',
      'data/dpkg/info/bash.md5sums': 'd41d8cd98f00b204e9800998ecf8427e  bin/bash\n',
      'var/lib/dpkg': { link: '../../data/dpkg' },
      'data/unrelated/big.bin': 'x',
    });
    const fs = await openDirectory(t.dir);
    const a = recorder('a', ['/var/lib/dpkg']);
    try {
      const inv = await runAnalyzers(fs, [dpkgAnalyzer, a], { target: 't' });
      assert.deepEqual(inv.packages.filter((p) => p.foundBy === 'dpkg').map((p) => [p.name, p.evidence[0]!.path, p.files?.length]), [['bash', '/var/lib/dpkg/status', 1]]);
      assert.ok(!a.offered.some((p) => p.startsWith('/data/unrelated/')), 'only the link target is walked');
      // The declared spelling, each path once (the link itself is /var/lib/dpkg too).
      const claimed = inv.packages.find((p) => p.name === 'a')!.evidence.map((e) => e.path);
      assert.deepEqual(claimed, ['/var/lib/dpkg', '/var/lib/dpkg/info', '/var/lib/dpkg/info/bash.md5sums', '/var/lib/dpkg/status']);
    } finally {
      await fs.close();
    }
  } finally {
    t.cleanup();
  }
});
