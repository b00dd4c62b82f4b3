/**
 * A real fleet behind a real API server on loopback, for the API tests: two accounts (sub-a,
 * sub-b) and a third with scanning off (sub-c), each with a cluster and a node pool of
 * ephemeral-OS-disk nodes that the control plane assesses from the node-image catalogue (real
 * AKS Ubuntu 22.04 package lists matched against the bundled vulnerability data) in a
 * `run --once`, plus one malware alert per account published through the store's own
 * publication path. Names differ per account so that a leak shows in any answer's text.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createApi, hashSecret, listen, type Api, type ApiOptions, type RunningServer } from '../../src/api/index.ts';
import { ControlPlane } from '../../src/control/control-plane.ts';
import type { Alert } from '../../src/malware/index.ts';
import { SecurityService } from '../../src/service/index.ts';
import { AuthStore, type Role } from '../../src/store/index.ts';
import { importFeeds } from '../../src/vulndb/store.ts';

const REPO = join(import.meta.dirname, '..', '..');
export const FEEDS = ['data/vulndb/ubuntu-22.04.osv.aks-slice.jsonl.gz', 'data/vulndb/known_exploited_vulnerabilities.json.gz'].map((f) => join(REPO, f));
const UBUNTU = 'AKSUbuntu-2204gen2containerd';

export const OWN = 'sub-a';
export const OTHER = 'sub-b';

export function environment() {
  return {
    accounts: [
      { id: OWN, provider: 'local', name: 'Alpha subscription', settings: { agentlessScanning: true }, clusters: [{ name: 'aks-alpha', pools: [{ name: 'np-alpha', nodeImage: `${UBUNTU}-202309.06.0`, nodes: [{ name: 'alpha-0', ephemeralOsDisk: true }, { name: 'alpha-1', ephemeralOsDisk: true }] }] }] },
      { id: OTHER, provider: 'local', name: 'Bravo subscription', settings: { agentlessScanning: true }, clusters: [{ name: 'aks-bravo', pools: [{ name: 'np-bravo', nodeImage: `${UBUNTU}-202408.05.0`, nodes: [{ name: 'bravo-0', ephemeralOsDisk: true }] }] }] },
      { id: 'sub-c', provider: 'local', name: 'Charlie subscription', settings: { agentlessScanning: false }, clusters: [{ name: 'aks-charlie', pools: [{ name: 'np-charlie', nodes: [{ name: 'charlie-0', ephemeralOsDisk: true }] }] }] },
    ],
  };
}

function alert(path: string): Alert {
  return { id: `malware|yara|EICAR_Test_File|${path}`, kind: 'malware', severity: 'high', engine: 'yara', rule: 'EICAR_Test_File', path, sha256: '275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f', size: 68, mtimeMs: 0 } as Alert;
}

export interface Fixture {
  work: string;
  cp: ControlPlane;
  auth: AuthStore;
  api: Api;
  server: RunningServer;
  logs: string[];
  /** An owner token of the whole tenant. */
  root: string;
  token(role: Role, accounts?: string[]): Promise<string>;
  /** Calls the server with a bearer token (or none). `json` is the parsed body, loosely typed: the tests read what they assert. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers are checked field by field in the tests
  call(method: string, path: string, o?: { token?: string | undefined; body?: unknown; headers?: Record<string, string> }): Promise<{ status: number; headers: Headers; text: string; json: any }>;
  close(): Promise<void>;
}

export async function startFixture(options: Partial<ApiOptions> = {}, port = 0): Promise<Fixture> {
  const work = mkdtempSync(join(tmpdir(), 'hullscan-api-'));
  const dbPath = join(work, 'vuln.db');
  await importFeeds(dbPath, FEEDS);
  const config = join(work, 'env.yaml');
  writeFileSync(config, JSON.stringify(environment()));
  const cp = await ControlPlane.open({ dataDir: join(work, 'data'), config, dbPath });
  await cp.runOnce({ requestedBy: 'test' });
  // One malware alert per scanned account, through the store's publication path.
  for (const account of [OWN, OTHER]) {
    const [n] = await cp.store.listNodes({ account });
    const run = await cp.store.createRun({ account, trigger: 'on-demand', requestedBy: 'test', at: new Date().toISOString() });
    await cp.store.startRun(run.id, [{ nodeId: n!.node.id, state: 'queued' }], new Date().toISOString());
    const scan = await cp.store.claimNodeScan('test-worker', new Date().toISOString(), { nodes: [n!.node.id] });
    await cp.store.publishNodeScan({ nodeScanId: scan!.id, worker: 'test-worker', state: 'published', inventory: { id: n!.node.currentInventoryId! }, alerts: [alert(`/usr/local/bin/${account}-miner`)], bytesRead: 0, durationMs: 1, at: new Date().toISOString() });
    await cp.store.refreshRun(run.id, new Date().toISOString());
  }
  const auth = new AuthStore(cp.store.driver);
  const logs: string[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => void logs.push(s) });
  const api = createApi({
    store: cp.store,
    auth,
    service: new SecurityService({ store: cp.store, vulnDb: () => cp.vulnDb() }),
    scans: { start: (account, scope, by) => cp.startRun(account, 'on-demand', by, scope) },
    vulnDbStatus: () => cp.vulnDb()?.status(),
    ready: () => true,
    log,
    rateLimit: false,
    ...options,
  });
  const server = await listen(api, { host: '127.0.0.1', port });
  const root = 'hs_root-owner-token-for-the-api-tests-0123456789';
  await auth.createToken({ name: 'root', role: 'owner', tokenHash: hashSecret(root), createdBy: 'test', at: new Date().toISOString() });
  const call: Fixture['call'] = async (method, path, o = {}) => {
    const headers: Record<string, string> = { ...(o.headers ?? {}) };
    if (o.token !== undefined) headers['authorization'] = `Bearer ${o.token}`;
    let body: string | undefined;
    if (o.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(o.body);
    }
    const res = await fetch(server.url + path, { method, headers, ...(body !== undefined && { body }), redirect: 'manual' });
    const text = await res.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, text, json };
  };
  let n = 0;
  return {
    work, cp, auth, api, server, logs, root, call,
    async token(role, accounts) {
      const r = await call('POST', '/api/v1/tokens', { token: root, body: { name: `t${n++}-${role}`, role, ...(accounts !== undefined && { accounts }) } });
      if (r.status !== 201) throw new Error(`token not created: ${r.status} ${r.text}`);
      return r.json.token as string;
    },
    async close() {
      await server.close();
      await cp.close();
      rmSync(work, { recursive: true, force: true });
    },
  };
}
