/**
 * Snapshot safety on Azure: a fault injected at every stage of a snapshot's life, and after each
 * one no snapshot is left once the sweeper has run, and the node scan failed (or published) with
 * a typed reason. The official SDK clients run against a local HTTPS server speaking the
 * documented ARM wire protocol (test/cloud/servers/arm.ts), the snapshot is read through a real
 * SAS from Azurite; the process killed mid-read is the real `hullscan run --once`.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AZURE_TOKEN_ENV } from '../../src/cloud/azure/credential.ts';
import { ControlPlane } from '../../src/control/control-plane.ts';
import { importFeeds } from '../../src/vulndb/store.ts';
import { aksNodeImage } from '../fixtures/aks-node.ts';
import { fixtureOrSkip } from '../fixtures/node-image.ts';
import { azuriteOrSkip, type RunningAzurite } from '../helpers/azurite.ts';
import { ARM_TOKEN, startArmServer, type ArmCluster, type ArmFaults, type ArmServer } from './servers/arm.ts';
import { azureEnv, SUBSCRIPTION } from './servers/azure-env.ts';

const REPO = join(import.meta.dirname, '..', '..');
const UBUNTU = 'AKSUbuntu-2204gen2containerd';
const FEEDS = ['data/vulndb/ubuntu-22.04.osv.aks-slice.jsonl.gz'].map((f) => join(REPO, f));
const NODE = 'aks-nodepool1-25481572-vmss000000';

let work: string;
let dbPath: string;
let azurite: RunningAzurite | undefined;
let vhd: string | undefined;
let n = 0;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'hullscan-azure-faults-'));
  dbPath = join(work, 'vuln.db');
  await importFeeds(dbPath, FEEDS);
  process.env[AZURE_TOKEN_ENV] = ARM_TOKEN;
});

after(async () => {
  await azurite?.stop();
  rmSync(work, { recursive: true, force: true });
});

function fleet(image: string): ArmCluster[] {
  return [{ name: 'aks-prod', resourceGroup: 'rg-prod', location: 'westeurope', kubernetesVersion: '1.30.4', pools: [{ name: 'nodepool1', nodeImageVersion: `${UBUNTU}-202608.20.0`, nodes: [{ instanceId: '0', computerName: NODE, vhd: image }] }] }];
}

async function setUp(t: { skip(m?: string): void }, faults: ArmFaults): Promise<{ arm: ArmServer; config: string; data: string } | undefined> {
  vhd ??= await fixtureOrSkip(t, aksNodeImage(UBUNTU, '202608.20.0', 'vhd-fixed'));
  if (!vhd) return undefined;
  azurite ??= await azuriteOrSkip(t);
  if (!azurite) return undefined;
  const arm = await startArmServer({ subscription: SUBSCRIPTION, clusters: fleet(vhd), azurite, faults });
  const dir = join(work, `case-${++n}`);
  const config = join(work, `env-${n}.yaml`);
  azureEnv(config, arm);
  return { arm, config, data: dir };
}

/** Runs once with the fault; returns the node scan; then sweeps and checks nothing is left. */
async function runWithFault(t: { skip(m?: string): void }, faults: ArmFaults, check: (arm: ArmServer, cp: ControlPlane) => Promise<void> = async () => {}) {
  const s = await setUp(t, faults);
  if (!s) return undefined;
  const cp = await ControlPlane.open({ dataDir: s.data, config: s.config, dbPath, allowPrivateUrls: true });
  try {
    await cp.runOnce();
    const node = (await cp.store.listNodes({})).find((x) => x.ref.node === NODE)!;
    await check(s.arm, cp);
    s.arm.faults = {};
    await cp.sweep();
    assert.equal(s.arm.snapshots.size, 0, 'no snapshot leaked once the sweeper has run');
    assert.deepEqual(await cp.store.openLeases(), [], 'every lease closed');
    return node.lastScan;
  } finally {
    await cp.close();
    await s.arm.close();
  }
}

describe('azure snapshot faults: 0 leaked after the sweeper, a typed reason each', () => {
  test('create fails (409 quota)', async (t) => {
    const scan = await runWithFault(t, { create: 'fail' });
    if (!scan) return;
    assert.equal(scan.state, 'failed');
    assert.equal(scan.reason, 'snapshot-failed');
    assert.match(scan.reasonDetail ?? '', /OperationNotAllowed/);
  });

  test('create refused (403 AuthorizationFailed)', async (t) => {
    const scan = await runWithFault(t, { create: 'deny' });
    if (!scan) return;
    assert.equal(scan.reason, 'snapshot-denied');
  });

  test('create succeeds but every answer is lost: the snapshot is found by its lease tag and deleted', async (t) => {
    const scan = await runWithFault(t, { create: 'lose-answer' }, async (arm) => {
      assert.equal(arm.snapshots.size, 0, 'deleted by the node scan itself, found by tag');
      assert.ok(arm.requests.some((r) => r.startsWith('DELETE ') && r.includes('/snapshots/hullscan-')));
    });
    if (!scan) return;
    assert.equal(scan.reason, 'snapshot-failed');
  });

  test('grant access fails', async (t) => {
    const scan = await runWithFault(t, { grant: 'fail' }, async (arm) => assert.equal(arm.snapshots.size, 0));
    if (!scan) return;
    assert.equal(scan.reason, 'snapshot-failed');
    assert.match(scan.reasonDetail ?? '', /read access/);
  });

  test('the read fails half-way (the snapshot blob disappears): snapshot-lost, access revoked, deleted', async (t) => {
    const scan = await runWithFault(t, { readFailAfter: 6 }, async (arm) => {
      assert.ok(arm.reads > 6);
      assert.equal(arm.requests.filter((r) => r.endsWith('/endGetAccess')).length, 1);
      assert.equal(arm.snapshots.size, 0);
    });
    if (!scan) return;
    assert.equal(scan.state, 'failed');
    assert.equal(scan.reason, 'snapshot-lost', scan.reasonDetail);
    assert.doesNotMatch(scan.reasonDetail ?? '', /sig=|se=|sp=/, 'the SAS never reaches a message');
  });

  test('delete fails, then succeeds on the sweep', async (t) => {
    const scan = await runWithFault(t, { deleteFailures: 1 }, async (arm, cp) => {
      assert.equal(arm.snapshots.size, 1, 'left by the failed delete');
      const leases = await cp.store.openLeases();
      assert.equal(leases.length, 1);
      assert.equal(leases[0]!.state, 'delete-failed');
    });
    if (!scan) return;
    assert.equal(scan.state, 'published', 'the scan itself succeeded');
  });

  test('the process is killed mid-read: the restart sweeps the snapshot', async (t) => {
    let killed = false;
    let kill = (): void => {};
    // Reads go through the ARM server's proxy, which counts them: the kill lands in the middle of the read.
    const s = await setUp(t, {
      readFailAfter: Number.MAX_SAFE_INTEGER,
      onRead: (count) => {
        if (count === 8 && !killed) {
          killed = true;
          kill();
        }
      },
    });
    if (!s) return;
    try {
      const child = spawn(process.execPath, [join(REPO, 'bin', 'hullscan.js'), 'run', '--once', '--data', s.data, '--config', s.config, '--db', dbPath, '--allow-private-urls'], { stdio: 'ignore', env: { ...process.env, [AZURE_TOKEN_ENV]: ARM_TOKEN } });
      kill = () => child.kill('SIGKILL');
      const exited = new Promise((r) => child.once('exit', r));
      await exited;
      assert.ok(killed, 'killed while reading the snapshot');
      assert.equal(s.arm.snapshots.size, 1, 'the killed process left its snapshot');
      s.arm.faults = {};
      const cp = await ControlPlane.open({ dataDir: s.data, config: s.config, dbPath, allowPrivateUrls: true });
      try {
        await cp.applyConfig();
        const r = await cp.recover();
        assert.equal(r.swept.deleted, 1);
        assert.equal(s.arm.snapshots.size, 0);
        assert.deepEqual(await cp.store.openLeases(), []);
      } finally {
        await cp.close();
      }
    } finally {
      await s.arm.close();
    }
  });
});
