/**
 * Azure (AKS) end to end. The official SDK clients (@azure/arm-containerservice,
 * @azure/arm-compute) run unchanged against a local HTTPS server speaking the documented ARM
 * wire protocol (test/cloud/servers/arm.ts: resource ids, api-version, paging, long-running
 * operations, 404/409/429), and the snapshot is read through a real SAS from Azurite (the Azure
 * Storage emulator) — no mock of our own interfaces anywhere. The node disks are real AKS
 * Ubuntu 22.04 node images as fixed VHDs (test/fixtures/aks-node.ts), the format Azure exports
 * a managed disk in.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AZURE_TOKEN_ENV } from '../../src/cloud/azure/credential.ts';
import { ControlPlane } from '../../src/control/control-plane.ts';
import { scanTarget } from '../../src/scan/scan.ts';
import type { FleetStore } from '../../src/store/index.ts';
import { importFeeds } from '../../src/vulndb/store.ts';
import { aksNodeImage } from '../fixtures/aks-node.ts';
import { fixtureOrSkip } from '../fixtures/node-image.ts';
import { azuriteOrSkip, type RunningAzurite } from '../helpers/azurite.ts';
import { ARM_TOKEN, startArmServer, type ArmCluster } from './servers/arm.ts';
import { azureEnv, SUBSCRIPTION } from './servers/azure-env.ts';

const REPO = join(import.meta.dirname, '..', '..');
const UBUNTU = 'AKSUbuntu-2204gen2containerd';
const FEEDS = ['data/vulndb/ubuntu-22.04.osv.aks-slice.jsonl.gz', 'data/vulndb/known_exploited_vulnerabilities.json.gz'].map((f) => join(REPO, f));

let work: string;
let dbPath: string;
let azurite: RunningAzurite | undefined;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'hullscan-azure-'));
  dbPath = join(work, 'vuln.db');
  await importFeeds(dbPath, FEEDS);
  process.env[AZURE_TOKEN_ENV] = ARM_TOKEN;
});

after(async () => {
  await azurite?.stop();
  rmSync(work, { recursive: true, force: true });
});

function key(f: { vulnerabilityId: string; package: { name: string; version: string } }): string {
  return `${f.vulnerabilityId}|${f.package.name}|${f.package.version}`;
}

async function storeKeys(store: FleetStore, node: string): Promise<Set<string>> {
  return new Set((await store.listFindings({ node })).filter((f) => f.resolvedAt === undefined).map((f) => key(f.finding)));
}

function clusters(vhd: string): ArmCluster[] {
  return [
    {
      name: 'aks-prod',
      resourceGroup: 'rg-prod',
      location: 'westeurope',
      kubernetesVersion: '1.30.4',
      tags: { env: 'prod' },
      pools: [
        { name: 'nodepool1', nodeImageVersion: `${UBUNTU}-202608.20.0`, latestNodeImageVersion: `${UBUNTU}-202609.01.0`, vmSize: 'Standard_D4s_v5', mode: 'System', nodes: [{ instanceId: '0', computerName: 'aks-nodepool1-25481572-vmss000000', vhd }, { instanceId: '1', computerName: 'aks-nodepool1-25481572-vmss000001', vhd }] },
        { name: 'eph', nodeImageVersion: `${UBUNTU}-202508.20.0`, ephemeral: true, vmSize: 'Standard_D8ds_v5', nodes: [{ instanceId: '0', computerName: 'aks-eph-25481572-vmss000000' }] },
      ],
    },
  ];
}

describe('azure provider against ARM + Azurite', () => {
  test('discover → snapshot → SAS read → findings equal a local scan of the same VHD → snapshot revoked and deleted', async (t) => {
    const vhd = await fixtureOrSkip(t, aksNodeImage(UBUNTU, '202608.20.0', 'vhd-fixed'));
    if (!vhd) return;
    azurite = await azuriteOrSkip(t);
    if (!azurite) return;
    const arm = await startArmServer({ subscription: SUBSCRIPTION, clusters: clusters(vhd), azurite, faults: { throttle: { path: `/subscriptions/${SUBSCRIPTION}/providers/Microsoft.ContainerService`, times: 1 } } });
    const config = join(work, 'env.yaml');
    azureEnv(config, arm);
    const cp = await ControlPlane.open({ dataDir: join(work, 'data'), config, dbPath, allowPrivateUrls: true, concurrency: 2 });
    try {
      const { runs } = await cp.runOnce();
      assert.equal(runs.length, 1);
      assert.equal(runs[0]!.state, 'completed');
      assert.deepEqual(runs[0]!.counts, { total: 3, published: 3, failed: 0, skipped: 0 });

      // Discovery: the pool's image, latest image, size, mode; nodes named as Kubernetes names them; the disk by resource id.
      const nodes = await cp.store.listNodes({});
      const byName = new Map(nodes.map((n) => [n.ref.node, n]));
      const n0 = byName.get('aks-nodepool1-25481572-vmss000000')!;
      assert.ok(n0, 'node named by its computer name');
      assert.match(n0.node.diskRef ?? '', /\/providers\/Microsoft\.Compute\/disks\/aks-nodepool1-25481572-vmss_0_OsDisk_1_aks-prod$/);
      assert.equal(n0.node.providerId, `azure:///subscriptions/${SUBSCRIPTION}/resourceGroups/MC_rg-prod_aks-prod_westeurope/providers/Microsoft.Compute/virtualMachineScaleSets/aks-nodepool1-25481572-vmss/virtualMachines/0`);
      const e0 = byName.get('aks-eph-25481572-vmss000000')!;
      assert.equal(e0.node.ephemeralOsDisk, true);
      assert.equal(e0.node.diskRef, undefined);
      assert.equal(e0.lastScan?.reason, 'ephemeral-disk');
      assert.equal(e0.lastScan?.inventorySource, 'catalog');

      // The throttled first list was retried after Retry-After, by the SDK.
      assert.equal(arm.requests.filter((r) => r.endsWith('/providers/Microsoft.ContainerService/managedClusters')).length, 2);

      const expected = new Set((await scanTarget(vhd, { dbPath })).findings.map(key));
      assert.ok(expected.size > 100);
      for (const name of ['aks-nodepool1-25481572-vmss000000', 'aks-nodepool1-25481572-vmss000001']) {
        assert.deepEqual(await storeKeys(cp.store, name), expected, `${name}: findings from the SAS read = a local scan of the VHD`);
      }
      const sources = ['aks-nodepool1-25481572-vmss000000', 'aks-nodepool1-25481572-vmss000001'].map((n) => byName.get(n)!.lastScan!.inventorySource).sort();
      assert.deepEqual(sources, ['disk', 'reused'], 'one image: read once, reused once');
      assert.ok(byName.get('aks-nodepool1-25481572-vmss000000')!.lastScan!.bytesRead + byName.get('aks-nodepool1-25481572-vmss000001')!.lastScan!.bytesRead > 0);

      // Every snapshot incremental, tagged, read through a SAS, revoked and deleted.
      const puts = arm.requests.filter((r) => r.startsWith('PUT ') && r.includes('/snapshots/hullscan-'));
      assert.equal(new Set(puts).size, 2);
      assert.equal(arm.requests.filter((r) => r.endsWith('/beginGetAccess')).length, 2);
      assert.equal(arm.requests.filter((r) => r.endsWith('/endGetAccess')).length, 2);
      assert.equal(arm.snapshots.size, 0, 'no snapshot left');
      assert.deepEqual(await cp.store.openLeases(), []);
      assert.equal(await cp.store.count('snapshot_leases', "state = 'deleted'"), 2);
    } finally {
      await cp.close();
      await arm.close();
    }
  });
});
