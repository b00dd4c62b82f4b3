/**
 * The node-image catalogue (src/catalog, data/node-images/): real AKS package lists with derived
 * source names. The 202408.05.0 image is checked against the list the matcher and e2e accuracy
 * tests already use (test/data/match/aks-ubuntu2204-202408.05.0.packages.tsv, made by
 * make-slices.py from the same shared data), and its catalogue inventory is matched against the
 * real database of the derived Ubuntu OSV slice: it must give exactly the findings of the
 * inventory read from the real node tree built from that list (test/e2e/trees.ts).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { catalogInventory, compareImageVersions, loadCatalog, parseNodeImage, type CatalogImage } from '../../src/catalog/index.ts';
import type { Finding } from '../../src/match/index.ts';
import { matchInventory } from '../../src/match/run.ts';
import { inventoryTarget } from '../../src/scan/inventory.ts';
import type { VulnDb } from '../../src/vulndb/index.ts';
import { importFeeds, openVulnDb } from '../../src/vulndb/store.ts';
import { UBUNTU_KERNEL, ubuntuAksRoot } from '../e2e/trees.ts';
import { fixtureOrSkip } from '../fixtures/node-image.ts';

const MATCH_DATA = new URL('../data/match/', import.meta.url).pathname;
const UBUNTU = 'AKSUbuntu-2204gen2containerd';
const catalog = loadCatalog();

/** The 24 versions of shared/data/aks-node-images/README.md, in build-date order. */
const UBUNTU_2204_VERSIONS = ['202309.06.0', '202310.19.0', '202312.06.0', '202401.17.0', '202403.13.0', '202405.03.0', '202406.07.0', '202408.05.0', '202409.09.0', '202411.03.0', '202412.29.0', '202502.03.0', '202503.21.0', '202505.14.0', '202507.02.0', '202508.20.0', '202510.03.0', '202511.20.0', '202601.07.0', '202602.19.0', '202604.13.0', '202605.27.0', '202607.09.0', '202608.20.0'];

function image(family: string, version: string): CatalogImage {
  const i = catalog.get(family, version);
  assert.ok(i, `${family} ${version} is in the catalogue`);
  return i;
}

describe('parseNodeImage', () => {
  const cases: [string, string[], { family: string; version: string } | undefined][] = [
    ['AKS nodeImageVersion of an Ubuntu 22.04 pool', ['AKSUbuntu-2204gen2containerd-202309.06.0'], { family: UBUNTU, version: '202309.06.0' }],
    ['Azure Linux 3 gen2', ['AKSAzureLinuxV3-gen2-202502.26.0'], { family: 'AKSAzureLinuxV3-gen2', version: '202502.26.0' }],
    ['Ubuntu 24.04', ['AKSUbuntu-2404gen2containerd-202608.20.0'], { family: 'AKSUbuntu-2404gen2containerd', version: '202608.20.0' }],
    ['family and version apart', [UBUNTU, '202408.05.0'], { family: UBUNTU, version: '202408.05.0' }],
    ['full name and the same version apart', [`${UBUNTU}-202408.05.0`, '202408.05.0'], { family: UBUNTU, version: '202408.05.0' }],
    ['surrounding whitespace', [' AKSUbuntu-2204gen2containerd-202408.05.0\n'], { family: UBUNTU, version: '202408.05.0' }],
    ['a family without a version', [UBUNTU], undefined],
    ['a version alone', ['202408.05.0'], undefined],
    ['a Kubernetes osImage string', ['Ubuntu 22.04.5 LTS'], undefined],
    ['a version not of the YYYYMM.DD.N shape', ['AKSUbuntu-2204gen2containerd-2024.08.05'], undefined],
    ['a separate version not of the shape', [UBUNTU, 'latest'], undefined],
    ['empty', [''], undefined],
  ];
  for (const [name, args, want] of cases) {
    it(name, () => assert.deepEqual(parseNodeImage(args[0]!, args[1]), want));
  }
});

describe('node-image catalogue: families, versions, latest', () => {
  it('holds the three families of the shared data', () => {
    assert.deepEqual(catalog.families(), ['AKSAzureLinuxV3-gen2', UBUNTU, 'AKSUbuntu-2404gen2containerd']);
  });

  it('lists the 24 Ubuntu 22.04 versions oldest → newest; latest is 202608.20.0', () => {
    assert.deepEqual(catalog.versions(UBUNTU), UBUNTU_2204_VERSIONS);
    assert.equal(catalog.latest(UBUNTU)?.version, '202608.20.0');
    assert.deepEqual(catalog.versions('AKSAzureLinuxV3-gen2'), ['202502.26.0', '202608.20.0']);
    assert.equal(catalog.latest('AKSUbuntu-2404gen2containerd')?.version, '202608.20.0');
  });

  it('unknown families and versions give nothing', () => {
    assert.deepEqual(catalog.versions('AKSUbuntu-1804gen2containerd'), []);
    assert.equal(catalog.latest('AKSUbuntu-1804gen2containerd'), undefined);
    assert.equal(catalog.get(UBUNTU, '202001.01.0'), undefined);
  });

  it('orders versions by date, then by the same-day counter', () => {
    assert.deepEqual(['202410.01.1', '202409.30.0', '202410.01.0', '202309.06.0'].sort(compareImageVersions), ['202309.06.0', '202409.30.0', '202410.01.0', '202410.01.1']);
  });

  it('images carry OS, build date and kernel as the release notes give them', () => {
    const first = image(UBUNTU, '202309.06.0');
    assert.deepEqual(first.os, { family: 'ubuntu', id: 'ubuntu', versionId: '22.04', codename: 'jammy', prettyName: 'Ubuntu 22.04.3 LTS' });
    assert.equal(first.builtAt, '2023-09-06');
    assert.equal(first.kernel, '5.15.0-1041-azure');
    assert.equal(first.packages.length, 717);
    assert.equal(image(UBUNTU, '202608.20.0').kernel, '5.15.0-1118-azure');
    // An HWE kernel (6.2 on 22.04): its packages come from the versioned sources.
    const hwe = image(UBUNTU, '202310.19.0');
    assert.equal(hwe.kernel, '6.2.0-1014-azure');
    assert.equal(hwe.packages.find((p) => p.name === 'linux-image-6.2.0-1014-azure')?.source.name, 'linux-signed-azure-6.2');
    assert.equal(hwe.packages.find((p) => p.name === 'linux-modules-6.2.0-1014-azure')?.source.name, 'linux-azure-6.2');
    // A later image with an older kernel than the one before it (a planner must not assume order).
    assert.equal(image(UBUNTU, '202604.13.0').kernel, '5.15.0-1102-azure');
    assert.equal(image(UBUNTU, '202602.19.0').kernel, '5.15.0-1103-azure');
    const azl = image('AKSAzureLinuxV3-gen2', '202502.26.0');
    // 387 lines of rpm -qa less gpg-pubkey, rpm's pseudo-package for a signing key.
    assert.deepEqual([azl.os.family, azl.os.id, azl.os.versionId, azl.kernel, azl.packages.length], ['azurelinux', 'azurelinux', '3.0', '6.6.64.2-9.azl3', 386]);
    assert.equal(azl.packages.find((p) => p.name === 'openssl-libs')?.source.name, 'openssl');
    assert.equal(image('AKSUbuntu-2404gen2containerd', '202608.20.0').os.prettyName, 'Ubuntu 24.04.4 LTS');
  });
});

describe('node-image catalogue: 202408.05.0 equals the e2e list and matches like the node tree', () => {
  const img = image(UBUNTU, '202408.05.0');
  let dir: string;
  let db: VulnDb;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hullscan-catalog-'));
    await importFeeds(join(dir, 'vuln.db'), ['ubuntu-22.04.osv.slice.jsonl.gz', 'kev.slice.json', 'epss_scores-2026-08-16.slice.csv'].map((f) => join(MATCH_DATA, f)));
    db = openVulnDb(join(dir, 'vuln.db'));
  });
  after(() => {
    db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('has the package and source set of test/data/match/aks-ubuntu2204-202408.05.0.packages.tsv', () => {
    const tsv = readFileSync(join(MATCH_DATA, 'aks-ubuntu2204-202408.05.0.packages.tsv'), 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    const want = tsv.map((l) => l.split('\t').slice(0, 5).join(' ')).sort();
    const got = img.packages.map((p) => [p.name, p.version, p.source.name, p.source.version, p.sourceFrom].join(' ')).sort();
    assert.equal(got.length, 714);
    assert.deepEqual(got, want);
  });

  it('its inventory names the catalogue as evidence, the image kernel as installed and booting', () => {
    const inv = catalogInventory(img, { node: { cluster: 'aks-dev', nodePool: 'np1', node: 'aks-np1-0' }, scannedAt: new Date('2026-12-01T00:00:00Z') });
    assert.equal(inv.target, `catalog:${UBUNTU}@202408.05.0`);
    assert.equal(inv.scannedAt, '2026-12-01T00:00:00.000Z');
    assert.deepEqual(inv.analyzers, { catalog: 1 });
    assert.deepEqual(inv.node, { cluster: 'aks-dev', nodePool: 'np1', node: 'aks-np1-0', nodeImage: { name: UBUNTU, version: '202408.05.0' } });
    assert.deepEqual([inv.os?.family, inv.os?.versionId, inv.os?.codename], ['ubuntu', '22.04', 'jammy']);
    assert.equal(inv.kernel?.bootDefault, UBUNTU_KERNEL);
    assert.deepEqual(inv.kernel?.installed.map((k) => [k.release, k.packageName, k.hasModules]), [[UBUNTU_KERNEL, `linux-image-${UBUNTU_KERNEL}`, true]]);
    for (const p of inv.packages) {
      assert.equal(p.evidence[0]?.path, `catalog:${UBUNTU}/202408.05.0`);
      assert.match(p.evidence[0]?.note ?? '', /from the image catalogue, not the disk/);
      assert.equal(p.id, `deb:${p.name}@${p.version}:${p.arch ?? ''}:`);
    }
    assert.deepEqual(inv.issues.map((i) => [i.severity, i.code]), [['info', 'catalog.not-from-disk']]);
  });

  it('matched by the engine, gives the findings of the inventory read from the real node tree', async (t) => {
    const root = await fixtureOrSkip(t, ubuntuAksRoot());
    if (root === undefined) return;
    const tree = await inventoryTarget(root);
    let fromDisk;
    try {
      fromDisk = tree.inventory;
    } finally {
      await tree.close();
    }
    const key = (p: { name: string; version: string; source?: { name: string; version: string } }): string => `${p.name} ${p.version} ${p.source?.name} ${p.source?.version}`;
    const inv = catalogInventory(img);
    assert.deepEqual(inv.packages.map(key).sort(), fromDisk.packages.map(key).sort(), 'same packages and sources as dpkg status on the tree');
    const view = (f: Finding): string => JSON.stringify([f.vulnerabilityId, f.package.name, f.package.version, f.package.arch, f.package.source, f.state, f.fixedVersion ?? null, f.severity, f.kernel ?? null, f.epss?.score ?? null, f.kev?.cve ?? null]);
    const fromCatalog = matchInventory(inv, db);
    const fromTree = matchInventory(fromDisk, db);
    assert.ok(fromTree.findings.length > 200, `the tree has a real number of findings (${fromTree.findings.length})`);
    assert.deepEqual(fromCatalog.findings.map(view), fromTree.findings.map(view));
    assert.deepEqual(fromCatalog.assessed, fromTree.assessed);
    assert.ok(fromCatalog.findings.some((f) => f.kernel?.release === UBUNTU_KERNEL && f.kernel.bootsByDefault), 'the booting kernel is marked');
    for (const f of fromCatalog.findings) assert.equal(f.evidence.package[0]?.path, `catalog:${UBUNTU}/202408.05.0`);
  });
});
