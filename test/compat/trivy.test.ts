/**
 * Compatibility with Trivy (issue #4, docs/compat-trivy.md): on the same trees and disk, Trivy's
 * CycloneDX package set equals ours, field for field (name, full version, arch, purl type,
 * vendor, distro, source package, Go executable), modulo KNOWN_DIFFERENCES in trivy.ts, each
 * explained there. Any new difference fails. Trivy is optional: scripts/trivy.sh installs it
 * (HULLSCAN_TRIVY names another binary); without it these tests skip saying so.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeCycloneDx } from '../../src/inventory/sbom/index.ts';
import { inventoryTarget } from '../../src/scan/inventory.ts';
import { azureLinuxList, azureLinuxRoot } from '../analyze/rpm/azurelinux.ts';
import { goTestBinaries } from '../analyze/go-binary/fixture.ts';
import { debianRoot, FixtureUnavailableError, fixtureOrSkip, nodeDisk } from '../fixtures/node-image.ts';
import { tempDir } from '../helpers/tools.ts';
import { aksUbuntuStatus, plantAksUbuntuTree } from './trees.ts';
import {
  comparableSbom,
  diffSboms,
  explain,
  formatDifference,
  KNOWN_DIFFERENCES,
  locateTrivy,
  runTrivy,
  TRIVY_TOOLS_PATH,
  type CdxDocument,
  type ComparableSbom,
} from './trivy.ts';

const located = locateTrivy();
const TRIVY = 'path' in located ? located.path : undefined;
const SKIP = 'skip' in located ? located.skip : false;
/** The known differences are pinned to the Trivy scripts/trivy.sh installs; another Trivy may have fewer. */
const PINNED = TRIVY === TRIVY_TOOLS_PATH;

async function ourSbom(target: string): Promise<CdxDocument> {
  const r = await inventoryTarget(target);
  try {
    return JSON.parse(writeCycloneDx(r.inventory)) as CdxDocument;
  } finally {
    await r.close();
  }
}

interface Compared {
  trivy: ComparableSbom;
  ours: ComparableSbom;
  used: Record<string, number>;
}

/**
 * Runs both tools on `target` and asserts that every difference is a known one and, with the
 * pinned Trivy, that exactly the `expected` known differences occur (a fixed one must leave the list).
 */
async function compare(subcommand: 'rootfs' | 'vm', target: string, expected: readonly string[]): Promise<Compared> {
  const [trivyDoc, ourDoc] = await Promise.all([runTrivy(TRIVY!, subcommand, target), ourSbom(target)]);
  const trivy = comparableSbom(trivyDoc, 'trivy');
  const ours = comparableSbom(ourDoc, 'hullscan');
  const { unexplained, used } = explain(diffSboms(trivy, ours), { trivy, ours });
  assert.deepEqual(unexplained.map(formatDifference), [], `differences from Trivy no KNOWN_DIFFERENCES entry explains (${target})`);
  if (PINNED) assert.deepEqual(Object.keys(used).sort(), [...expected].sort(), 'the known differences this tree shows');
  return { trivy, ours, used };
}

function osPackages(s: ComparableSbom): number {
  return [...s.packages.values()].filter((p) => p.type !== 'golang').length;
}

test('the comparison undoes spelling only: Trivy deb epoch= and Src* parts equal our version and source; a missing package and a wrong source fail', () => {
  const trivyDoc: CdxDocument = {
    components: [
      { type: 'operating-system', name: 'ubuntu', version: '22.04' },
      {
        type: 'library',
        name: 'bsdutils',
        purl: 'pkg:deb/ubuntu/bsdutils@2.37.2-4ubuntu3.4?arch=amd64&epoch=1&distro=ubuntu-22.04',
        properties: [
          { name: 'aquasecurity:trivy:SrcName', value: 'util-linux' },
          { name: 'aquasecurity:trivy:SrcVersion', value: '2.37.2' },
          { name: 'aquasecurity:trivy:SrcRelease', value: '4ubuntu3.4' },
        ],
      },
      { type: 'library', name: 'zstd', purl: 'pkg:deb/ubuntu/zstd@1.4.8+dfsg-3build1?arch=amd64&distro=ubuntu-22.04', properties: [{ name: 'aquasecurity:trivy:SrcName', value: 'libzstd' }, { name: 'aquasecurity:trivy:SrcVersion', value: '1.4.8+dfsg' }, { name: 'aquasecurity:trivy:SrcRelease', value: '3build1' }] },
    ],
  };
  const ourDoc = (sourceVersion: string): CdxDocument => ({
    components: [
      { type: 'operating-system', name: 'ubuntu', version: '22.04' },
      {
        type: 'library',
        name: 'bsdutils',
        purl: 'pkg:deb/ubuntu/bsdutils@1:2.37.2-4ubuntu3.4?arch=amd64&distro=ubuntu-22.04&upstream=util-linux%402.37.2-4ubuntu3.4',
        properties: [
          { name: 'hullscan:source:name', value: 'util-linux' },
          { name: 'hullscan:source:version', value: sourceVersion },
        ],
      },
    ],
  });
  const trivy = comparableSbom(trivyDoc, 'trivy');
  assert.equal(trivy.packages.get('bsdutils@1:2.37.2-4ubuntu3.4?arch=amd64')?.sourceVersion, '2.37.2-4ubuntu3.4');
  const good = comparableSbom(ourDoc('2.37.2-4ubuntu3.4'), 'hullscan');
  const ctx = { trivy, ours: good };
  assert.deepEqual(explain(diffSboms(trivy, good), ctx).unexplained.map(formatDifference), ['only-trivy zstd@1.4.8+dfsg-3build1?arch=amd64']);
  const bad = comparableSbom(ourDoc('1:2.37.2-4ubuntu3.4'), 'hullscan');
  assert.deepEqual(explain(diffSboms(trivy, bad), { trivy, ours: bad }).unexplained.map(formatDifference), [
    "field bsdutils@1:2.37.2-4ubuntu3.4?arch=amd64 sourceVersion: trivy '2.37.2-4ubuntu3.4' vs hullscan '1:2.37.2-4ubuntu3.4'",
    'only-trivy zstd@1.4.8+dfsg-3build1?arch=amd64',
  ]);
  // Every known difference says why, for docs/compat-trivy.md and failure messages.
  for (const k of KNOWN_DIFFERENCES) assert.ok(k.reason.length > 80, k.id);
});

test('Debian bookworm root (debootstrap): Trivy rootfs lists our packages exactly; OS both debian', { skip: SKIP }, async (t: TestContext) => {
  const root = await fixtureOrSkip(t, debianRoot());
  if (!root) return;
  const r = await compare('rootfs', root, ['debian-point-release']);
  assert.ok(osPackages(r.ours) > 100, `${osPackages(r.ours)} packages`);
  assert.equal(r.trivy.packages.size, r.ours.packages.size);
  assert.deepEqual([r.trivy.os[0]?.name, r.ours.os[0]?.name, r.ours.os[0]?.version], ['debian', 'debian', '12']);
  // The comparison is live: one package fewer on our side is an unexplained difference.
  const dropped = [...r.ours.packages.keys()].find((k) => k.startsWith('libc6@'))!;
  const fewer: ComparableSbom = { os: r.ours.os, packages: new Map([...r.ours.packages].filter(([k]) => k !== dropped)) };
  assert.deepEqual(explain(diffSboms(r.trivy, fewer), { trivy: r.trivy, ours: fewer }).unexplained.map(formatDifference), [`only-trivy ${dropped}`]);
});

test('Debian bookworm node disk (GPT + ext4, raw): Trivy vm lists our packages exactly', { skip: SKIP }, async (t: TestContext) => {
  const disk = await fixtureOrSkip(t, nodeDisk('gpt-ext4'));
  if (!disk) return;
  const r = await compare('vm', disk, ['debian-point-release']);
  assert.ok(osPackages(r.ours) > 100);
  assert.equal(r.trivy.packages.size, r.ours.packages.size);
});

test('Ubuntu 22.04 AKS node (real package list, lsb-release, unowned Go binaries): same packages; Go differences are the known ones', { skip: SKIP }, async (t: TestContext) => {
  // Without a Go toolchain the Go binaries are missing: compare the OS packages alone rather than skip them.
  const bins = await goTestBinaries().catch((err: unknown) => {
    if (!(err instanceof FixtureUnavailableError)) throw err;
    t.diagnostic(`no Go binaries planted: ${err.message}`);
    return undefined;
  });
  const tmp = tempDir('hullscan-compat-');
  try {
    plantAksUbuntuTree(tmp.dir, bins === undefined ? {} : { goBinaries: [join(bins, 'gotest-amd64'), join(bins, 'gotest-ldflags')] });
    const r = await compare('rootfs', tmp.dir, bins === undefined ? [] : ['go-stdlib', 'go-main-module-ldflags-version', 'go-local-replace']);
    assert.equal(osPackages(r.ours), aksUbuntuStatus().packages);
    assert.deepEqual([r.trivy.os[0], r.ours.os[0]], [{ name: 'ubuntu', version: '22.04' }, { name: 'ubuntu', version: '22.04' }]);
    if (bins === undefined) return;
    // Both see the modules both binaries hold, per binary.
    const shared = (s: ComparableSbom): string[] => [...s.packages.values()].filter((p) => p.type === 'golang' && p.name.startsWith('github.com/')).map((p) => `${p.name}@${p.version} ${p.binaryPath}`).sort();
    assert.deepEqual(shared(r.trivy), shared(r.ours));
    assert.equal(shared(r.ours).length, 4);
  } finally {
    tmp.cleanup();
  }
});

test('Ubuntu 22.04 tree with os-release only (as test/analyze/aks-ubuntu.test.ts builds it): Trivy finds no OS, the packages still agree', { skip: SKIP }, async () => {
  const tmp = tempDir('hullscan-compat-');
  try {
    plantAksUbuntuTree(tmp.dir, { lsbRelease: false });
    const r = await compare('rootfs', tmp.dir, ['ubuntu-without-lsb-release']);
    assert.deepEqual([r.trivy.os[0]?.name, r.ours.os[0]?.name], ['none', 'ubuntu']);
    assert.equal(r.trivy.packages.size, aksUbuntuStatus().packages);
    assert.equal(r.ours.packages.size, aksUbuntuStatus().packages);
  } finally {
    tmp.cleanup();
  }
});

test('Azure Linux 3.0 AKS node (real rpm -qa list in rpmdb.sqlite): same 393 packages, versions, arches and source rpms', { skip: SKIP }, async (t: TestContext) => {
  const root = await fixtureOrSkip(t, azureLinuxRoot());
  if (!root) return;
  const r = await compare('rootfs', root, ['trivy-0.44-predates-azurelinux']);
  const listed = azureLinuxList().filter((p) => p.name !== 'gpg-pubkey').length;
  assert.equal(r.ours.packages.size, listed);
  assert.equal(r.trivy.packages.size, listed);
  assert.deepEqual([r.ours.os[0]?.name, r.ours.os[0]?.version], ['azurelinux', '3.0']);
  assert.ok([...r.ours.packages.values()].every((p) => p.type === 'rpm' && p.sourceName !== ''));
});
