/**
 * The Kubernetes API's node view. The real @kubernetes/client-node runs, through a kubeconfig,
 * against a local HTTPS server answering the documented path (`GET /api/v1/nodes`, a NodeList
 * with `metadata.continue` paging) with Node objects recorded from AKS, EKS and GKE clusters
 * (test/data/cloud-api/kubernetes-nodes/, unchanged).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { KubeconfigNodes, parseProviderId } from '../../src/cloud/kubernetes/nodes.ts';
import { testCertificate } from '../helpers/tls.ts';

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
