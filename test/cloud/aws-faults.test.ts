/**
 * Snapshot safety on AWS: a fault injected at every stage of an EBS snapshot's life, and after
 * each one no snapshot is left once the sweeper has run, and the node scan failed (or published)
 * with a typed reason. The official SDK v3 clients (client-ec2, client-eks, client-ebs) run
 * unchanged against a local HTTPS server speaking the documented wire protocols
 * (test/cloud/servers/aws.ts: EC2 Query, EKS and EBS direct REST-JSON) — no mock of our own
 * interfaces; the process killed mid-read is the real `hullscan run --once`. Also here: block
 * tokens that expire during the read, and two AWS accounts in one region.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ControlPlane } from '../../src/control/control-plane.ts';
import { importFeeds } from '../../src/vulndb/store.ts';
import { aksNodeImage } from '../fixtures/aks-node.ts';
import { fixtureOrSkip } from '../fixtures/node-image.ts';
import { startAwsServer, type AwsFaults, type AwsServer } from './servers/aws.ts';
import { AWS_NODE, AWS_TEST_KEYS, awsAccount, awsFleet, awsVolume } from './servers/aws-env.ts';

const REPO = join(import.meta.dirname, '..', '..');
const UBUNTU = 'AKSUbuntu-2204gen2containerd';
const FEEDS = ['data/vulndb/ubuntu-22.04.osv.aks-slice.jsonl.gz'].map((f) => join(REPO, f));

let work: string;
let dbPath: string;
let volume: string | undefined;
let n = 0;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'hullscan-aws-faults-'));
  dbPath = join(work, 'vuln.db');
  await importFeeds(dbPath, FEEDS);
  Object.assign(process.env, AWS_TEST_KEYS);
});

after(() => rmSync(work, { recursive: true, force: true }));

async function setUp(t: { skip(m?: string): void }, faults: AwsFaults): Promise<{ aws: AwsServer; config: string; data: string } | undefined> {
  if (volume === undefined) {
    const raw = await fixtureOrSkip(t, aksNodeImage(UBUNTU, '202608.20.0', 'raw'));
    if (!raw) return undefined;
    volume = awsVolume(raw, work);
  }
  const aws = await startAwsServer({ region: 'eu-west-1', accountId: '111122223333', clusters: awsFleet(volume), faults });
  const config = join(work, `env-${++n}.json`);
  writeFileSync(config, JSON.stringify({ accounts: [awsAccount(aws)] }));
  return { aws, config, data: join(work, `case-${n}`) };
}

/** Runs once with the fault; returns the node scan; then sweeps (faults off) and checks nothing is left. */
async function runWithFault(t: { skip(m?: string): void }, faults: AwsFaults, check: (aws: AwsServer, cp: ControlPlane) => Promise<void> = async () => {}) {
  const s = await setUp(t, faults);
  if (!s) return undefined;
  const cp = await ControlPlane.open({ dataDir: s.data, config: s.config, dbPath });
  try {
    await cp.runOnce();
    const node = (await cp.store.listNodes({})).find((x) => x.ref.node === AWS_NODE)!;
    await check(s.aws, cp);
    s.aws.faults = {};
    await cp.sweep();
    assert.equal(s.aws.snapshots.size, 0, 'no snapshot leaked once the sweeper has run');
    assert.deepEqual(await cp.store.openLeases(), [], 'every lease closed');
    return node.lastScan;
  } finally {
    await cp.close();
    await s.aws.close();
  }
}

const creates = (aws: AwsServer): number => aws.requests.filter((r) => r === 'EC2 CreateSnapshot').length;

describe('aws snapshot faults: 0 leaked after the sweeper, a typed reason each', () => {
  test('create fails (SnapshotLimitExceeded)', async (t) => {
    const scan = await runWithFault(t, { create: 'fail' });
    if (!scan) return;
    assert.equal(scan.state, 'failed');
    assert.equal(scan.reason, 'snapshot-failed');
    assert.match(scan.reasonDetail ?? '', /SnapshotLimitExceeded/);
  });

  test('create refused (403 UnauthorizedOperation)', async (t) => {
    const scan = await runWithFault(t, { create: 'deny' });
    if (!scan) return;
    assert.equal(scan.reason, 'snapshot-denied');
  });

  test('create succeeds but every answer is lost: each snapshot the SDK\'s retries made is found by its lease tag and deleted', async (t) => {
    const scan = await runWithFault(t, { create: 'lose-answer' }, async (aws) => {
      assert.ok(creates(aws) > 1, 'the SDK retried the lost call, making another snapshot each time');
      assert.equal(aws.snapshots.size, 0, 'deleted by the node scan itself, found by tag');
    });
    if (!scan) return;
    assert.equal(scan.state, 'failed');
    assert.equal(scan.reason, 'snapshot-failed');
  });

  test('the first create answer is lost, the retry answered: the duplicate is deleted at once and the scan goes on', async (t) => {
    const scan = await runWithFault(t, { createAnswersLost: 1 }, async (aws) => {
      assert.equal(creates(aws), 2);
      assert.equal(aws.snapshots.size, 0, 'both snapshots deleted without the sweeper');
      assert.equal(aws.requests.filter((r) => r === 'EC2 DeleteSnapshot').length, 2);
    });
    if (!scan) return;
    assert.equal(scan.state, 'published', scan.reasonDetail);
  });

  test('the read fails half-way (the snapshot is deleted under the reader): snapshot-lost', async (t) => {
    const scan = await runWithFault(t, { readFailAfter: 6 }, async (aws) => {
      assert.ok(aws.blockReads > 6);
      assert.equal(aws.snapshots.size, 0);
    });
    if (!scan) return;
    assert.equal(scan.state, 'failed');
    assert.equal(scan.reason, 'snapshot-lost', scan.reasonDetail);
  });

  test('block tokens expire during the read: the blocks are listed again and the scan completes', async (t) => {
    const scan = await runWithFault(t, { expireTokensAfter: 3 }, async (aws) => {
      assert.equal(aws.blockListings, 2, 'listed once to open, once more after the tokens expired — not once per refused block');
    });
    if (!scan) return;
    assert.equal(scan.state, 'published', scan.reasonDetail);
  });

  test('the process is killed mid-read (kill -9): the restart sweeps the snapshot', async (t) => {
    let killed = false;
    let kill = (): void => {};
    const s = await setUp(t, {
      onBlockRead: (count) => {
        if (count === 8 && !killed) {
          killed = true;
          kill();
        }
      },
    });
    if (!s) return;
    try {
      const child = spawn(process.execPath, [join(REPO, 'bin', 'hullscan.js'), 'run', '--once', '--data', s.data, '--config', s.config, '--db', dbPath], { stdio: 'ignore', env: { ...process.env, ...AWS_TEST_KEYS } });
      kill = () => child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      assert.ok(killed, 'killed while reading the snapshot');
      assert.equal(s.aws.snapshots.size, 1, 'the killed process left its snapshot');
      s.aws.faults = {};
      const cp = await ControlPlane.open({ dataDir: s.data, config: s.config, dbPath });
      try {
        await cp.applyConfig();
        const r = await cp.recover();
        assert.equal(r.swept.deleted, 1);
        assert.equal(s.aws.snapshots.size, 0);
        assert.deepEqual(await cp.store.openLeases(), []);
      } finally {
        await cp.close();
      }
    } finally {
      await s.aws.close();
    }
  });
});

describe('two aws accounts in one region', () => {
  test('each node is snapshotted, read and deleted through its own account; the sweeper lists both', async (t) => {
    const s = await setUp(t, {});
    if (!s) return;
    // A second AWS account: its own endpoint (its own server), the same region, other names.
    const other = await startAwsServer({ region: 'eu-west-1', accountId: '444455556666', clusters: awsFleet(volume!, { cluster: 'eks-other', volumeId: 'vol-0fedcba9876543210', instanceId: 'i-0f1e2d3c4b5a69788', node: 'ip-10-9-1-23.eu-west-1.compute.internal' }), faults: { deleteFailures: 1 } });
    try {
      writeFileSync(s.config, JSON.stringify({ accounts: [awsAccount(s.aws, 'aws-a'), awsAccount(other, 'aws-b')] }));
      const cp = await ControlPlane.open({ dataDir: s.data, config: s.config, dbPath });
      try {
        const { runs } = await cp.runOnce();
        assert.deepEqual(runs.map((r) => [r.account, r.counts.published, r.counts.failed]).sort(), [['aws-a', 1, 0], ['aws-b', 1, 0]]);
        assert.equal(creates(s.aws), 1, 'account a snapshotted its own volume');
        assert.equal(creates(other), 1, 'account b snapshotted its own volume');
        assert.ok(s.aws.blockReads > 0 || other.blockReads > 0);
        assert.equal(s.aws.snapshots.size, 0);
        assert.equal(other.snapshots.size, 1, "b's delete failed once");
        await cp.sweep();
        assert.equal(other.snapshots.size, 0, 'the sweeper lists and deletes in the second account of the region too');
        assert.deepEqual(await cp.store.openLeases(), []);
      } finally {
        await cp.close();
      }
    } finally {
      await other.close();
      await s.aws.close();
    }
  });
});
