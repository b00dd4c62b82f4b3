/**
 * Through the real inventory runner (analyze/run.ts) with the real dpkg analyzer before it: on
 * the Debian node tree every Go binary is dpkg-owned, so none is read or reported as Go packages
 * and one `go-binary.owned` issue summarises the skipped executables; a copy planted in
 * /usr/local/bin is reported.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { cp } from 'node:fs/promises';
import { openDirectory } from '../../../src/fs/directory/index.ts';
import { runAnalyzers } from '../../../src/analyze/run.ts';
import { dpkgAnalyzer } from '../../../src/analyze/dpkg/index.ts';
import { goBinaryAnalyzer } from '../../../src/analyze/go-binary/index.ts';
import { debianRoot, fixtureOrSkip } from '../../fixtures/node-image.ts';
import { tempDir } from '../../helpers/tools.ts';

test('runner + dpkg + go-binary on the Debian tree: owned executables are one summary issue, not packages; a planted /usr/local/bin copy is a package', async (t) => {
  const root = await fixtureOrSkip(t, debianRoot());
  if (!root) return;
  const inv = await runAnalyzers(await openDirectory(root), [dpkgAnalyzer, goBinaryAnalyzer], { target: root });
  assert.deepEqual(inv.packages.filter((p) => p.type === 'golang'), []);
  const owned = inv.issues.filter((i) => i.code === 'go-binary.owned');
  assert.equal(owned.length, 1);
  // Every executable the walk gave the analyzer is dpkg-owned on this tree: the count is theirs.
  const executables = inv.issues.filter((i) => i.code.startsWith('go-binary.') && i.code !== 'go-binary.owned');
  assert.deepEqual(executables, []);
  const count = Number(/^(\d+) executable\(s\) in component directories are owned by OS packages and were not inspected/.exec(owned[0]!.message)?.[1]);
  assert.ok(count > 100, owned[0]!.message);
  assert.match(owned[0]!.message, /: \/usr\/bin\/\S+ \(deb package [a-z0-9+.-]+\)/);

  // A private copy of the dpkg database and the binaries, with containerd also in /usr/local/bin.
  const tmp = tempDir();
  try {
    await cp(join(root, 'var/lib/dpkg'), join(tmp.dir, 'var/lib/dpkg'), { recursive: true });
    for (const d of ['usr/bin', 'usr/local/bin']) mkdirSync(join(tmp.dir, d), { recursive: true });
    copyFileSync(join(root, 'usr/bin/containerd'), join(tmp.dir, 'usr/bin/containerd'));
    copyFileSync(join(root, 'usr/bin/containerd'), join(tmp.dir, 'usr/local/bin/containerd'));
    chmodSync(join(tmp.dir, 'usr/local/bin/containerd'), 0o755);
    chmodSync(join(tmp.dir, 'usr/bin/containerd'), 0o755);
    const inv2 = await runAnalyzers(await openDirectory(tmp.dir), [dpkgAnalyzer, goBinaryAnalyzer], { target: tmp.dir });
    assert.deepEqual(inv2.packages.filter((p) => p.type === 'golang').map((p) => [p.binaryPath, p.name, p.version]), [['/usr/local/bin/containerd', 'stdlib', 'go1.19.8']]);
    assert.deepEqual(inv2.issues.filter((i) => i.code === 'go-binary.owned').map((i) => [i.location, i.message]), [
      ['/usr/bin/containerd', '1 executable(s) in component directories are owned by OS packages and were not inspected; their packages are matched instead: /usr/bin/containerd (deb package containerd)'],
    ]);
  } finally {
    tmp.cleanup();
  }
});
