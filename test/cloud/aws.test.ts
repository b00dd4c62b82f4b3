/**
 * AWS (EKS) end to end. The official SDK v3 clients (@aws-sdk/client-eks, client-ec2,
 * client-ebs) run unchanged against a local HTTPS server speaking the documented wire protocols
 * (test/cloud/servers/aws.ts: EC2 Query, EKS and EBS direct REST-JSON) — no mock of our own
 * interfaces. The root volume is a real node disk (the AKS Ubuntu 22.04 image as a raw GPT/ext4
 * disk, an Ubuntu EKS node's layout), read block by block through EBS direct with every block's
 * SHA-256 checked by us.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { EBSClient } from '@aws-sdk/client-ebs';
import { EbsDirectSource, EBS_BLOCK_BYTES } from '../../src/cloud/aws/ebs-direct-source.ts';
import { ControlPlane } from '../../src/control/control-plane.ts';
import { scanTarget } from '../../src/scan/scan.ts';
import { importFeeds } from '../../src/vulndb/store.ts';
import { aksNodeImage } from '../fixtures/aks-node.ts';
import { fixtureOrSkip } from '../fixtures/node-image.ts';
import { testCertificate } from '../helpers/tls.ts';
import { startAwsServer, type AwsCluster, type AwsFaults, type AwsServer } from './servers/aws.ts';
import { Agent } from 'node:https';

const REPO = join(import.meta.dirname, '..', '..');
const UBUNTU = 'AKSUbuntu-2204gen2containerd';
const FEEDS = ['data/vulndb/ubuntu-22.04.osv.aks-slice.jsonl.gz'].map((f) => join(REPO, f));
const GiB = 1024 * 1024 * 1024;
const NODE = 'ip-10-0-1-23.eu-west-1.compute.internal';

let work: string;
let dbPath: string;
let padded: string | undefined;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'hullscan-aws-'));
  dbPath = join(work, 'vuln.db');
  await importFeeds(dbPath, FEEDS);
  // The SDK's default credential chain reads these (the local server checks only that requests are SigV4-signed).
  process.env['AWS_ACCESS_KEY_ID'] = 'AKIDEXAMPLE';
  process.env['AWS_SECRET_ACCESS_KEY'] = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
});

after(() => rmSync(work, { recursive: true, force: true }));

/** The node's root volume: the raw disk padded (sparse) to whole GiB, as an EBS volume is sized. */
async function volumeImage(t: { skip(m?: string): void }): Promise<string | undefined> {
  if (padded) return padded;
  const raw = await fixtureOrSkip(t, aksNodeImage(UBUNTU, '202608.20.0', 'raw'));
  if (!raw) return undefined;
  const out = join(work, 'root-volume.img');
  copyFileSync(raw, out);
  truncateSync(out, Math.ceil(statSync(raw).size / GiB) * GiB);
  padded = out;
  return out;
}

function fleet(image: string): AwsCluster[] {
  return [{ name: 'eks-prod', version: '1.30', nodegroups: [{ name: 'ng-ubuntu', amiType: 'CUSTOM', releaseVersion: '1.30.4-20260820', instanceType: 'm6i.large', nodes: [{ instanceId: 'i-0a1b2c3d4e5f60718', zone: 'eu-west-1a', privateDnsName: NODE, volumeId: 'vol-0123456789abcdef0', image }] }] }];
}

function env(path: string, aws: AwsServer): void {
  const account = { id: 'aws-prod', provider: 'aws', settings: { agentlessScanning: true }, aws: { region: aws.region, endpoints: { eks: aws.endpoint, ec2: aws.endpoint, ebs: aws.endpoint }, caFile: testCertificate().certFile, pollIntervalMs: 5 } };
  writeFileSync(path, JSON.stringify({ accounts: [account] }));
}

async function run(t: { skip(m?: string): void }, faults: AwsFaults = {}) {
  const image = await volumeImage(t);
  if (!image) return undefined;
  const aws = await startAwsServer({ region: 'eu-west-1', accountId: '111122223333', clusters: fleet(image), faults });
  const config = join(work, `env-${Math.random().toString(36).slice(2)}.yaml`);
  env(config, aws);
  const cp = await ControlPlane.open({ dataDir: join(work, `data-${Math.random().toString(36).slice(2)}`), config, dbPath });
  return { aws, cp, image };
}

describe('aws provider against EKS / EC2 / EBS direct', () => {
  test('discover → CreateSnapshot → EBS direct read → findings equal a local scan of the same volume → DeleteSnapshot', async (t) => {
    const r = await run(t);
    if (!r) return;
    const { aws, cp, image } = r;
    try {
      const { runs } = await cp.runOnce();
      assert.equal(runs[0]?.state, 'completed');
      assert.deepEqual(runs[0]!.counts, { total: 1, published: 1, failed: 0, skipped: 0 });
      const node = (await cp.store.listNodes({})).find((n) => n.ref.node === NODE)!;
      assert.equal(node.node.providerId, 'aws:///eu-west-1a/i-0a1b2c3d4e5f60718');
      assert.equal(node.node.diskRef, 'arn:aws:ec2:eu-west-1::volume/vol-0123456789abcdef0');
      const expected = new Set((await scanTarget(image, { dbPath })).findings.map((f) => `${f.vulnerabilityId}|${f.package.name}|${f.package.version}`));
      assert.ok(expected.size > 100);
      const got = new Set((await cp.store.listFindings({ node: NODE })).map((f) => `${f.finding.vulnerabilityId}|${f.finding.package.name}|${f.finding.package.version}`));
      assert.deepEqual(got, expected);
      assert.ok(aws.blockReads > 0 && node.lastScan!.bytesRead > 0);
      assert.ok(aws.requests.includes('EC2 CreateSnapshot') && aws.requests.includes('EC2 DeleteSnapshot'));
      assert.equal(aws.snapshots.size, 0, 'snapshot deleted');
      assert.deepEqual(await cp.store.openLeases(), []);
    } finally {
      await cp.close();
      await aws.close();
    }
  });

  test('a block whose SHA-256 does not match: the scan fails as an unreadable disk, the snapshot is still deleted', async (t) => {
    const r = await run(t, { corruptBlock: 0 });
    if (!r) return;
    const { aws, cp } = r;
    try {
      await cp.runOnce();
      const node = (await cp.store.listNodes({})).find((n) => n.ref.node === NODE)!;
      assert.equal(node.lastScan?.state, 'failed');
      assert.equal(node.lastScan?.reason, 'unreadable-disk');
      assert.match(node.lastScan?.reasonDetail ?? '', /fails its SHA-256 checksum/);
      assert.equal(aws.snapshots.size, 0);
    } finally {
      await cp.close();
      await aws.close();
    }
  });

  test('delete fails, then the sweeper deletes the snapshot', async (t) => {
    const r = await run(t, { deleteFailures: 1 });
    if (!r) return;
    const { aws, cp } = r;
    try {
      await cp.runOnce();
      assert.equal(aws.snapshots.size, 1);
      await cp.sweep();
      assert.equal(aws.snapshots.size, 0);
      assert.deepEqual(await cp.store.openLeases(), []);
    } finally {
      await cp.close();
      await aws.close();
    }
  });

  test('EbsDirectSource: written blocks byte-identical to the volume, absent blocks zeros, reads spanning blocks', async (t) => {
    const image = await volumeImage(t);
    if (!image) return;
    const aws = await startAwsServer({ region: 'eu-west-1', accountId: '111122223333', clusters: fleet(image) });
    try {
      const ec2 = (await import('@aws-sdk/client-ec2'));
      const agent = new Agent({ ca: testCertificate().cert });
      const client = new ec2.EC2Client({ region: 'eu-west-1', endpoint: aws.endpoint, requestHandler: { httpsAgent: agent } });
      const snap = await client.send(new ec2.CreateSnapshotCommand({ VolumeId: 'vol-0123456789abcdef0', TagSpecifications: [{ ResourceType: 'snapshot', Tags: [{ Key: 'k', Value: 'v' }] }] }));
      const ebs = new EBSClient({ region: 'eu-west-1', endpoint: aws.endpoint, requestHandler: { httpsAgent: agent } });
      const src = await EbsDirectSource.open(ebs, snap.SnapshotId!);
      assert.equal(src.size, statSync(image).size);
      const { openSync, readSync, closeSync } = await import('node:fs');
      const fd = openSync(image, 'r');
      try {
        for (const [offset, length] of [[0, 4096], [EBS_BLOCK_BYTES - 100, 300], [3 * EBS_BLOCK_BYTES + 7, 2 * EBS_BLOCK_BYTES], [src.size - 4096, 4096]] as const) {
          const want = Buffer.alloc(length);
          readSync(fd, want, 0, length, offset);
          assert.deepEqual(Buffer.from(await src.read(offset, length)), want, `bytes at ${offset}+${length}`);
        }
      } finally {
        closeSync(fd);
      }
      assert.ok(src.writtenBlocks < src.size / EBS_BLOCK_BYTES, 'a sparse volume: some blocks were never written');
      await src.close();
    } finally {
      await aws.close();
    }
  });
});
