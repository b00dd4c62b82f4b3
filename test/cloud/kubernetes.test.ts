/**
 * The Kubernetes API's node view. The real @kubernetes/client-node runs, through a kubeconfig,
 * against a local HTTPS server answering the documented path (`GET /api/v1/nodes`, a NodeList
 * with `metadata.continue` paging) with Node objects recorded from AKS, EKS and GKE clusters
 * (test/data/cloud-api/kubernetes-nodes/, unchanged). The last test runs it inside an EKS
 * discovery end to end: the official AWS SDK against the tests' EC2 / EKS / EBS direct server
 * (test/cloud/servers/aws.ts), the kubeconfig from the environment file's account.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { KubeconfigNodes, parseProviderId } from '../../src/cloud/kubernetes/nodes.ts';
import { ControlPlane } from '../../src/control/control-plane.ts';
import { importFeeds } from '../../src/vulndb/store.ts';
import { aksNodeImage } from '../fixtures/aks-node.ts';
import { fixtureOrSkip } from '../fixtures/node-image.ts';
import { testCertificate } from '../helpers/tls.ts';
import { startAwsServer } from './servers/aws.ts';
import { AWS_TEST_KEYS, awsAccount, awsFleet, awsVolume } from './servers/aws-env.ts';

const DATA = join(import.meta.dirname, '..', 'data', 'cloud-api', 'kubernetes-nodes');
const NODES = ['aks/kubescape-k8s-interface-aks.json', 'eks/kubescape-k8s-interface-eks.json', 'gke/kubescape-k8s-interface-gke.json'].map((f) => JSON.parse(readFileSync(join(DATA, f), 'utf8')) as { metadata: { name: string }; spec: { providerID: string } });

test('providerID forms of the three clouds', () => {
  assert.deepEqual(parseProviderId('aws:///eu-west-1b/i-000000fff00eeaa00'), { cloud: 'aws', zone: 'eu-west-1b', instanceId: 'i-000000fff00eeaa00' });
  assert.deepEqual(parseProviderId('gce://kubescape-123456/us-west1-a/gke-cluster-pool-1-123456'), { cloud: 'gce', project: 'kubescape-123456', zone: 'us-west1-a', name: 'gke-cluster-pool-1-123456' });
  assert.equal(parseProviderId(NODES[0]!.spec.providerID)?.cloud, 'azure');
  assert.equal(parseProviderId('azure:///subscriptions/x?y'), undefined);
});

test('lists nodes page by page through a kubeconfig context named after the cluster; kernel, OS image, labels by providerID', async () => {
  const cert = testCertificate();
  const seen: string[] = [];
  const server = createServer({ cert: cert.cert, key: cert.key }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://localhost');
    seen.push(`${req.method} ${url.pathname} ${req.headers.authorization ?? ''}`);
    if (url.pathname !== '/api/v1/nodes') {
      res.writeHead(404, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 }));
    }
    const from = Number(url.searchParams.get('continue') ?? '0');
    const limit = Math.min(Number(url.searchParams.get('limit') ?? '500'), 2);
    const items = NODES.slice(from, from + limit);
    const next = from + limit < NODES.length ? String(from + limit) : undefined;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: 'NodeList', apiVersion: 'v1', metadata: { resourceVersion: '1', ...(next && { continue: next }) }, items }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const dir = mkdtempSync(join(tmpdir(), 'hullscan-kube-'));
  try {
    const kubeconfig = join(dir, 'config');
    writeFileSync(kubeconfig, JSON.stringify({ apiVersion: 'v1', kind: 'Config', clusters: [{ name: 'aks-prod', cluster: { server: `https://127.0.0.1:${port}`, 'certificate-authority-data': Buffer.from(cert.cert).toString('base64') } }], users: [{ name: 'scanner', user: { token: 'kube-token' } }], contexts: [{ name: 'aks-prod', context: { cluster: 'aks-prod', user: 'scanner' } }], 'current-context': 'aks-prod' }));
    const nodes = await new KubeconfigNodes({ kubeconfig }).nodes('aks-prod');
    assert.ok(nodes);
    assert.equal(nodes.size, 3);
    assert.equal(seen.length, 2, 'two pages');
    assert.ok(seen.every((s) => s.endsWith('Bearer kube-token')));
    const aks = nodes.get(NODES[0]!.spec.providerID.toLowerCase())!;
    assert.equal(aks.name, NODES[0]!.metadata.name);
    assert.equal(aks.nodeImageVersion, 'AKSUbuntu-2204gen2containerd-202410.15.0');
    assert.match(aks.osImage ?? '', /Ubuntu 22\.04/);
    assert.ok(aks.kernel);
    assert.equal(aks.kubelet, 'v1.28.14');
    assert.ok(aks.pool);
    const eks = nodes.get('aws:///eu-west-1b/i-000000fff00eeaa00')!;
    assert.equal(eks.zone, 'eu-west-1b');
    assert.match(eks.osImage ?? '', /Amazon Linux 2/);
    assert.equal(await new KubeconfigNodes({ kubeconfig }).nodes('no-such-cluster'), undefined, 'no context for the cluster: nothing to add');
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('EKS discovery with the account\'s kubeconfig: the node gets its Kubernetes name, running kernel and OS image, and is scanned', async (t) => {
  const raw = await fixtureOrSkip(t, aksNodeImage('AKSUbuntu-2204gen2containerd', '202608.20.0', 'raw'));
  if (!raw) return;
  const cert = testCertificate();
  // The recorded EKS Node (unchanged): its providerID names instance i-000000fff00eeaa00 in eu-west-1b.
  const eks = NODES[1]!;
  const server = createServer({ cert: cert.cert, key: cert.key }, (req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: 'NodeList', apiVersion: 'v1', metadata: { resourceVersion: '1' }, items: [eks] }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const dir = mkdtempSync(join(tmpdir(), 'hullscan-kube-eks-'));
  Object.assign(process.env, AWS_TEST_KEYS);
  const aws = await startAwsServer({ region: 'eu-west-1', accountId: '111122223333', clusters: awsFleet(awsVolume(raw, dir), { instanceId: 'i-000000fff00eeaa00', zone: 'eu-west-1b', node: 'ip-10-0-1-23.eu-west-1.compute.internal' }) });
  try {
    const kubeconfig = join(dir, 'kubeconfig');
    // Named as `aws eks update-kubeconfig` names it: after the cluster's ARN.
    const context = 'arn:aws:eks:eu-west-1:111122223333:cluster/eks-prod';
    writeFileSync(kubeconfig, JSON.stringify({ apiVersion: 'v1', kind: 'Config', clusters: [{ name: context, cluster: { server: `https://127.0.0.1:${(server.address() as { port: number }).port}`, 'certificate-authority-data': Buffer.from(cert.cert).toString('base64') } }], users: [{ name: 'scanner', user: { token: 'kube-token' } }], contexts: [{ name: context, context: { cluster: context, user: 'scanner' } }] }));
    const config = join(dir, 'env.json');
    writeFileSync(config, JSON.stringify({ accounts: [{ ...awsAccount(aws), kubernetes: { kubeconfig } }] }));
    const dbPath = join(dir, 'vuln.db');
    await importFeeds(dbPath, [join(import.meta.dirname, '..', '..', 'data', 'vulndb', 'ubuntu-22.04.osv.aks-slice.jsonl.gz')]);
    const cp = await ControlPlane.open({ dataDir: join(dir, 'data'), config, dbPath });
    try {
      const { runs } = await cp.runOnce();
      assert.deepEqual(runs[0]?.counts, { total: 1, published: 1, failed: 0, skipped: 0 });
      const [node] = await cp.store.listNodes({});
      assert.equal(node?.ref.node, eks.metadata.name, 'named as Kubernetes names it, not by the instance\'s DNS name');
      assert.equal(node?.node.providerId, eks.spec.providerID);
      assert.equal(node?.node.kernel, '5.10.219-208.866.amzn2.aarch64');
      assert.equal(node?.node.osImage, 'Amazon Linux 2');
      assert.equal(aws.snapshots.size, 0);
    } finally {
      await cp.close();
    }
  } finally {
    await aws.close();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
