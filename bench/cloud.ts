/**
 * Cloud read benchmark (issue #12), run as its own process by bench/run.ts: a node's inventory
 * read remotely, as the cloud providers read a snapshot, against the same inventory read from
 * the local file in the same run.
 *  - the disk: AKS Ubuntu 22.04 202608.20.0, as a fixed VHD (what Azure exports a managed disk
 *    as) and as a raw volume padded to whole GiB (what an EBS volume holds);
 *  - Azure: the VHD is a page blob in Azurite (started here, HTTPS on loopback); the read URL is
 *    a real SAS from Snapshots_GrantAccess of the production AzureSnapshotProvider against the
 *    tests' ARM server (test/cloud/servers/arm.ts); the engine reads it with its HTTP range source;
 *  - AWS: the raw volume behind the tests' EBS direct server (test/cloud/servers/aws.ts);
 *    the production EbsDirectSource (ListSnapshotBlocks, GetSnapshotBlock in parallel, every
 *    block's SHA-256 checked) under the engine;
 *  - each read: scanNodeDisk without a database (open, walk, fingerprint, inventory, close) in
 *    a fresh child process, one warm-up read then the best of PASSES (a scanner that stays up);
 *    the servers run in this process, over loopback: the figures are the protocol's and the
 *    client's cost, not a network's; bytes transferred are the remote medium's counters (HTTP
 *    body bytes; 512 KiB blocks), beside the bytes the local read took from the file;
 *  - goal: remote time ≤ 1.5× the local file's.
 * Warm page cache throughout. Prints a markdown section on stdout, progress on stderr. Not a test.
 *
 * Child mode: node bench/cloud.ts --case '{"kind":"local"|"http"|"ebs",…}'; prints one JSON line.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EBSClient } from '@aws-sdk/client-ebs';
import { CreateSnapshotCommand, EC2Client } from '@aws-sdk/client-ec2';
import { EbsDirectSource } from '../src/cloud/aws/ebs-direct-source.ts';
import { azureClients } from '../src/cloud/azure/clients.ts';
import { StaticTokenCredential } from '../src/cloud/azure/credential.ts';
import { AzureSnapshotProvider } from '../src/cloud/azure/snapshots.ts';
import { scanNodeDisk } from '../src/scan/node-scan.ts';
import type { TargetOptions } from '../src/scan/target.ts';
import { aksNodeImage } from '../test/fixtures/aks-node.ts';
import { setBuildLogger } from '../test/fixtures/node-image.ts';
import { startAzurite } from '../test/helpers/azurite.ts';
import { testCertificate } from '../test/helpers/tls.ts';
import { ARM_TOKEN, diskName, nodeResourceGroup, startArmServer, type ArmCluster } from '../test/cloud/servers/arm.ts';
import { startAwsServer } from '../test/cloud/servers/aws.ts';
import { AWS_TEST_KEYS, awsFleet, awsVolume } from '../test/cloud/servers/aws-env.ts';
import { SUBSCRIPTION } from '../test/cloud/servers/azure-env.ts';

const UBUNTU = 'AKSUbuntu-2204gen2containerd';
const VERSION = '202608.20.0';
const PASSES = 3;
const REGION = 'eu-west-1';

interface Case {
  kind: 'local' | 'http' | 'ebs';
  /** local: a path; http: the SAS URL; ebs: the snapshot id. */
  spec: string;
  caFile?: string;
  endpoint?: string;
}

interface Result {
  /** The first read in the child (code not compiled yet), then the best of PASSES. */
  firstSeconds: number;
  seconds: number;
  /** Bytes the medium delivered in the best pass (file bytes read; HTTP body bytes; EBS blocks × 512 KiB). */
  bytes: number;
  requests: number;
  packages: number;
  maxRssMiB: number;
}

async function readOnce(c: Case): Promise<{ seconds: number; bytes: number; requests: number; packages: number }> {
  const t0 = performance.now();
  let target: TargetOptions | undefined;
  let ebs: EbsDirectSource | undefined;
  if (c.kind === 'http') target = { http: { ca: readFileSync(c.caFile!, 'utf8'), allowPrivateNetwork: true } };
  if (c.kind === 'ebs') {
    const client = new EBSClient({ region: REGION, endpoint: c.endpoint!, requestHandler: { httpsAgent: new Agent({ ca: readFileSync(c.caFile!, 'utf8'), keepAlive: true }) } });
    ebs = await EbsDirectSource.open(client, c.spec);
    target = { source: ebs };
  }
  const r = await scanNodeDisk(c.kind === 'ebs' ? `ebs-direct ${c.spec}` : c.spec, { ...(target !== undefined && { target }) });
  const seconds = (performance.now() - t0) / 1000;
  const stats = ebs?.stats();
  return { seconds, bytes: stats?.bytesRead ?? r.bytesRead, requests: stats?.reads ?? 0, packages: r.result.inventory.packages.length };
}

async function child(c: Case): Promise<Result> {
  Object.assign(process.env, AWS_TEST_KEYS);
  const first = await readOnce(c);
  let best = first;
  for (let i = 0; i < PASSES; i++) {
    const r = await readOnce(c);
    if (r.seconds < best.seconds) best = r;
  }
  return { firstSeconds: first.seconds, seconds: best.seconds, bytes: best.bytes, requests: best.requests, packages: best.packages, maxRssMiB: process.resourceUsage().maxRSS / 1024 };
}

/** Runs a child without blocking this process's event loop: the servers it reads answer from here. */
function runChild(c: Case): Promise<Result> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [import.meta.filename, '--case', JSON.stringify(c)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').at(-1)!) as Result) : reject(new Error(`bench child ${c.kind} failed (${code})`))));
  });
}

const fmt = (n: number, d = 2) => n.toFixed(d);
const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;

async function main(): Promise<void> {
  setBuildLogger((e) => void process.stderr.write(`[cloud] fixture ${e.name}: ${e.action}\n`));
  process.stderr.write('[cloud] building (or reusing) the node images\n');
  const [vhd, raw] = await Promise.all([aksNodeImage(UBUNTU, VERSION, 'vhd-fixed'), aksNodeImage(UBUNTU, VERSION, 'raw')]);
  const work = mkdtempSync(join(tmpdir(), 'hullscan-bench-cloud-'));
  const cert = testCertificate();
  const azurite = await startAzurite();
  let arm: Awaited<ReturnType<typeof startArmServer>> | undefined;
  let aws: Awaited<ReturnType<typeof startAwsServer>> | undefined;
  try {
    const volume = awsVolume(raw, work);
    process.stderr.write('[cloud] uploading the VHD to Azurite as a page blob\n');
    const cluster: ArmCluster = { name: 'aks-bench', resourceGroup: 'rg-bench', location: 'westeurope', kubernetesVersion: '1.30.4', pools: [{ name: 'nodepool1', nodeImageVersion: `${UBUNTU}-${VERSION}`, nodes: [{ instanceId: '0', computerName: 'aks-nodepool1-0', vhd }] }] };
    arm = await startArmServer({ subscription: SUBSCRIPTION, clusters: [cluster], azurite });
    // The production Azure provider: an incremental snapshot of the node's disk and a read SAS for it.
    const config = { subscriptionId: SUBSCRIPTION, endpoint: arm.endpoint, caFile: cert.certFile, pollIntervalMs: 5, sasSeconds: 4 * 3600 };
    const azure = new AzureSnapshotProvider([{ clients: azureClients(config, new StaticTokenCredential(ARM_TOKEN)), config }]);
    const diskId = `/subscriptions/${SUBSCRIPTION}/resourceGroups/${nodeResourceGroup(cluster)}/providers/Microsoft.Compute/disks/${diskName(cluster, cluster.pools[0]!, cluster.pools[0]!.nodes[0]!)}`;
    const now = new Date().toISOString();
    const node = { id: 'n', account: 'bench', cluster: 'c', pool: 'p', name: 'aks-nodepool1-0', diskRef: diskId, ephemeralOsDisk: false, tags: {}, firstSeen: now, lastSeen: now };
    const snap = await azure.create(node, { owner: 'hullscan', lease: 'bench', expires: new Date(Date.now() + 3600_000).toISOString() });
    const sas = (await azure.open(snap)).spec;

    Object.assign(process.env, AWS_TEST_KEYS);
    aws = await startAwsServer({ region: REGION, accountId: '111122223333', clusters: awsFleet(volume) });
    const ec2 = new EC2Client({ region: REGION, endpoint: aws.endpoint, requestHandler: { httpsAgent: new Agent({ ca: cert.cert }) } });
    const ebsSnap = (await ec2.send(new CreateSnapshotCommand({ VolumeId: 'vol-0123456789abcdef0', TagSpecifications: [{ ResourceType: 'snapshot', Tags: [{ Key: 'hullscan-owner', Value: 'hullscan' }] }] }))).SnapshotId!;

    const cases: Array<{ name: string; c: Case }> = [
      { name: 'local VHD', c: { kind: 'local', spec: vhd } },
      { name: 'Azurite SAS (HTTP range)', c: { kind: 'http', spec: sas, caFile: cert.certFile } },
      { name: 'local raw volume', c: { kind: 'local', spec: volume } },
      { name: 'EBS direct', c: { kind: 'ebs', spec: ebsSnap, caFile: cert.certFile, endpoint: aws.endpoint } },
    ];
    const results = new Map<string, Result>();
    for (const { name, c } of cases) {
      process.stderr.write(`[cloud] ${name}: 1 + ${PASSES} reads in a fresh child\n`);
      results.set(name, await runChild(c));
    }
    await azure.close?.(snap);
    await azure.delete(snap);
    const row = (name: string, ref: string): string => {
      const r = results.get(name)!;
      const l = results.get(ref)!;
      const ratio = r.seconds / l.seconds;
      const goal = name === ref ? '' : `≤ 1.5× ${ratio <= 1.5 ? '(met)' : '(not met)'}`;
      const req = r.requests > 0 ? ` (${r.requests} blocks)` : '';
      return `| ${name} | ${fmt(r.seconds)} s | ${fmt(r.firstSeconds)} s | ${name === ref ? '1.00×' : `${fmt(ratio)}×`} | ${mib(r.bytes)}${req} | ${fmt(r.bytes / l.bytes, 2)}× | ${r.packages} | ${fmt(r.maxRssMiB, 0)} MiB | ${goal} |`;
    };
    const out = [
      '### Cloud reads: a node inventory through Azurite (SAS, HTTP range) and EBS direct against the local file (issue #12)',
      '',
      `AKS Ubuntu 22.04 ${VERSION}; scanNodeDisk without a database (open, walk, fingerprint, inventory, close); best of ${PASSES} after a warm-up read, each case in a fresh child; servers in the parent over loopback HTTPS. Each remote row is compared with the local row above it (the same bytes: the VHD for Azure, the padded raw volume for EBS).`,
      '',
      '| read | time (best) | first read | ratio | bytes transferred | bytes ratio | packages | peak RSS | goal |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
      row('local VHD', 'local VHD'),
      row('Azurite SAS (HTTP range)', 'local VHD'),
      row('local raw volume', 'local raw volume'),
      row('EBS direct', 'local raw volume'),
    ];
    process.stdout.write(out.join('\n') + '\n');
  } finally {
    await arm?.close();
    await aws?.close();
    await azurite.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

const caseArg = process.argv.indexOf('--case');
if (caseArg > 0) process.stdout.write(JSON.stringify(await child(JSON.parse(process.argv[caseArg + 1]!) as Case)) + '\n');
else await main();
