/**
 * The rpm analyzer on an Azure Linux 3.0 node's package set (azurelinux.ts): the 393 real
 * packages of AKS node image 202608.20.0 in an rpmdb.sqlite written by rpm, read back exactly —
 * against the list itself and against `rpm --root R -qa`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rpmAnalyzer } from '../../../src/analyze/rpm/index.ts';
import { fixtureOrSkip } from '../../fixtures/node-image.ts';
import { needTools } from '../../helpers/tools.ts';
import { azureLinuxList, azureLinuxRoot } from './azurelinux.ts';
import { analyzeTree, qaLine, QA_FORMAT, rpmQa } from './helpers.ts';

test('Azure Linux 3.0 AKS node (202608.20.0, 393 packages): the inventory is the image\'s rpm -qa list and equals rpm -qa', { skip: needTools('rpm', 'rpmbuild') }, async (t) => {
  const root = await fixtureOrSkip(t, azureLinuxRoot());
  if (!root) return;
  const r = await analyzeTree(rpmAnalyzer, root);
  assert.deepEqual(r.issues, []);
  const packages = r.packages ?? [];
  const listed = azureLinuxList().filter((p) => p.name !== 'gpg-pubkey').map((p) => p.nvra).sort();
  assert.equal(listed.length, 393);
  assert.deepEqual(packages.map((p) => `${p.name}-${p.version}.${p.arch}`).sort(), listed);
  assert.deepEqual(packages.map(qaLine).sort(), await rpmQa(root, QA_FORMAT));
  const openssl = packages.find((p) => p.name === 'openssl-libs');
  assert.ok(openssl);
  assert.equal(openssl.versionScheme, 'rpm');
  assert.equal(openssl.arch, 'x86_64');
});
