/**
 * Through the real inventory runner (analyze/run.ts): a Fedora / SUSE style tree where
 * /var/lib/rpm is a relative symlink to ../../usr/lib/sysimage/rpm reads the database once,
 * under its canonical path, and equals rpm -qa.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { openDirectory } from '../../../src/fs/directory/index.ts';
import { runAnalyzers } from '../../../src/analyze/run.ts';
import { rpmAnalyzer } from '../../../src/analyze/rpm/index.ts';
import { fixtureOrSkip } from '../../fixtures/node-image.ts';
import { needTools, tempDir } from '../../helpers/tools.ts';
import { rpmSqliteRoot } from './fixture.ts';
import { qaLine, QA_FORMAT, rpmQa } from './helpers.ts';

test('runner: /var/lib/rpm -> ../../usr/lib/sysimage/rpm is read once, at the canonical path, equal to rpm -qa', { skip: needTools('rpm', 'rpmbuild') }, async (t) => {
  const root = await fixtureOrSkip(t, rpmSqliteRoot());
  if (!root) return;
  const tmp = tempDir();
  try {
    mkdirSync(join(tmp.dir, 'usr/lib/sysimage/rpm'), { recursive: true });
    cpSync(join(root, 'var/lib/rpm/rpmdb.sqlite'), join(tmp.dir, 'usr/lib/sysimage/rpm/rpmdb.sqlite'));
    mkdirSync(join(tmp.dir, 'var/lib'), { recursive: true });
    symlinkSync('../../usr/lib/sysimage/rpm', join(tmp.dir, 'var/lib/rpm'));
    const inv = await runAnalyzers(await openDirectory(tmp.dir), [rpmAnalyzer], { target: tmp.dir });
    assert.deepEqual(inv.issues, []);
    assert.deepEqual(inv.packages.map(qaLine).sort(), await rpmQa(root, QA_FORMAT));
    assert.ok(inv.packages.every((p) => p.evidence[0]!.path === '/usr/lib/sysimage/rpm/rpmdb.sqlite'));
    assert.equal(inv.analyzers['rpm'], rpmAnalyzer.version);
  } finally {
    tmp.cleanup();
  }
});
