/**
 * A local HTTPS server speaking Azure Resource Manager for the official SDK clients
 * (@azure/arm-containerservice, @azure/arm-compute): resource ids as paths, a required
 * `api-version` query parameter, bearer tokens, `{ value, nextLink }` paging, long-running
 * operations (PUT → 201 + Azure-AsyncOperation; grant / revoke access and delete → 202 +
 * Location, polled to the end), and ARM's `{ error: { code, message } }` errors with 404, 409
 * and 429 + Retry-After. Response bodies are built from the official REST API examples copied
 * into test/data/cloud-api/azure/ (their shapes, with this fleet's names and values).
 *
 * Snapshots are real blobs: each managed disk is a page blob in Azurite (uploaded once, zero
 * pages skipped); a snapshot is an Azurite blob snapshot of it; grant access returns a real
 * service SAS of that blob snapshot, read by the engine as the production path reads a managed
 * disk's SAS. Faults can be injected at every stage (see {@link ArmFaults}).
 */
import { randomUUID } from 'node:crypto';
import { openSync, readSync, closeSync, fstatSync, readFileSync } from 'node:fs';
import { createServer, request as httpsRequest, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { AccountSASPermissions, AccountSASResourceTypes, AccountSASServices, BlobSASPermissions, generateAccountSASQueryParameters, generateBlobSASQueryParameters, SASProtocol, StorageSharedKeyCredential } from '@azure/storage-blob';
import { AZURITE_ACCOUNT, AZURITE_KEY, type RunningAzurite } from '../../helpers/azurite.ts';
import { testCertificate } from '../../helpers/tls.ts';

const DATA = join(import.meta.dirname, '..', '..', 'data', 'cloud-api', 'azure');
const CONTAINER = 'disks';
const PAGE_CHUNK_BYTES = 4 * 1024 * 1024;
const ZERO_CHUNK = Buffer.alloc(PAGE_CHUNK_BYTES);
export const ARM_TOKEN = 'test-arm-token';

function example(name: string): { responses: Record<string, { body?: unknown; headers?: Record<string, string> }> } {
  return JSON.parse(readFileSync(join(DATA, name), 'utf8')) as { responses: Record<string, { body?: unknown; headers?: Record<string, string> }> };
}
// The shapes every answer is cut from (official x-ms-examples).
const EX = {
  cluster: (example('ManagedClustersList.json').responses['200']!.body as { value: Array<Record<string, unknown>> }).value[0]!,
  pool: (example('AgentPoolsList.json').responses['200']!.body as { value: Array<Record<string, unknown>> }).value[0]!,
  ephemeralPool: example('AgentPoolsCreate_Ephemeral.json').responses['200']!.body as Record<string, unknown>,
  upgrade: example('AgentPoolsGetUpgradeProfile.json').responses['200']!.body as Record<string, unknown>,
  vm: example('VirtualMachineScaleSetVM_Get_WithUserData.json').responses['200']!.body as Record<string, unknown>,
  disk: example('Disk_Get.json').responses['200']!.body as Record<string, unknown>,
  snapshot: example('Snapshot_GetIncrementalSnapshot.json').responses['200']!.body as Record<string, unknown>,
};

export interface ArmNode {
  instanceId: string;
  computerName: string;
  /** The node's OS disk image (a fixed VHD, as Azure exports managed disks); omitted for an ephemeral OS disk. */
  vhd?: string;
}

export interface ArmPool {
  name: string;
  nodeImageVersion: string;
  latestNodeImageVersion?: string;
  osSku?: string;
  vmSize?: string;
  mode?: string;
  ephemeral?: boolean;
  tags?: Record<string, string>;
  nodes: ArmNode[];
}

export interface ArmCluster {
  name: string;
  resourceGroup: string;
  location: string;
  kubernetesVersion: string;
  tags?: Record<string, string>;
  pools: ArmPool[];
}

/** Faults, each at one stage of the snapshot's life. */
export interface ArmFaults {
  /** Snapshots_CreateOrUpdate answers 409 (fail), 403 (deny), or creates the snapshot and drops every answer (lose-answer). */
  create?: 'fail' | 'deny' | 'lose-answer';
  /** Snapshots_GrantAccess answers 409. */
  grant?: 'fail';
  /** The first N Snapshots_Delete calls answer 409 (the snapshot stays). */
  deleteFailures?: number;
  /** The SAS goes through this server; after N reads the snapshot's blob is deleted in Azurite (a read fails half-way with 404). */
  readFailAfter?: number;
  /** The first N requests to this path prefix answer 429 with Retry-After: 1. */
  throttle?: { path: string; times: number };
  /** Called on each proxied SAS read (after it is counted). */
  onRead?: (count: number) => void;
}

interface SnapshotState {
  id: string;
  name: string;
  resourceGroup: string;
  location: string;
  tags: Record<string, string>;
  source: string;
  blob: string;
  blobSnapshot: string;
  accessGranted: boolean;
  revoked: number;
}

interface Operation {
  polls: number;
  /** Result once done: status and body of the final Location GET. */
  result: () => { status: number; body?: unknown };
  async: boolean;
}

export interface ArmServer {
  endpoint: string;
  subscription: string;
  ca: string;
  faults: ArmFaults;
  /** "METHOD path" of every request, in order. */
  requests: string[];
  snapshots: Map<string, SnapshotState>;
  /** SAS reads proxied (readFailAfter). */
  reads: number;
  close(): Promise<void>;
}

function nodeResourceGroup(c: ArmCluster): string {
  return `MC_${c.resourceGroup}_${c.name}_${c.location}`;
}

function vmssName(p: ArmPool): string {
  return `aks-${p.name}-25481572-vmss`;
}

function diskName(c: ArmCluster, p: ArmPool, n: ArmNode): string {
  return `${vmssName(p)}_${n.instanceId}_OsDisk_1_${c.name}`;
}

async function blobCall(az: RunningAzurite, method: string, path: string, query: string, headers: Record<string, string | number>, body?: Buffer): Promise<{ status: number; headers: IncomingMessage['headers']; body: string }> {
  return new Promise((resolve, reject) => {
    // A connection of its own each time (agent: false): a kept-alive socket Azurite has already closed fails the next upload with EPIPE under load.
    const req = httpsRequest({ host: '127.0.0.1', port: az.port, method, path: `/${AZURITE_ACCOUNT}/${path}?${query}`, ca: az.ca, agent: false, headers: { 'x-ms-version': '2021-08-06', 'content-length': body?.length ?? 0, ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

export async function startArmServer(o: { subscription: string; clusters: ArmCluster[]; azurite: RunningAzurite; faults?: ArmFaults }): Promise<ArmServer> {
  const cert = testCertificate();
  const sub = o.subscription;
  const cred = new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY);
  const accountSas = generateAccountSASQueryParameters({ expiresOn: new Date(Date.now() + 24 * 3600_000), permissions: AccountSASPermissions.parse('rwdlacup'), resourceTypes: AccountSASResourceTypes.parse('sco').toString(), services: AccountSASServices.parse('b').toString(), protocol: SASProtocol.Https }, cred).toString();
  const ok = (r: { status: number; body: string }, what: string): void => {
    if (r.status >= 300) throw new Error(`azurite ${what}: ${r.status} ${r.body.slice(0, 300)}`);
  };
  const created = await blobCall(o.azurite, 'PUT', CONTAINER, `restype=container&${accountSas}`, {});
  if (created.status !== 409) ok(created, 'create container');

  // Every managed disk: a page blob holding its VHD (uploaded once; zero pages are not written).
  const disks = new Map<string, { id: string; location: string; blob: string; size: number }>();
  for (const c of o.clusters) {
    for (const p of c.pools) {
      for (const n of p.nodes) {
        if (p.ephemeral || n.vhd === undefined) continue;
        const name = diskName(c, p, n);
        const id = `/subscriptions/${sub}/resourceGroups/${nodeResourceGroup(c)}/providers/Microsoft.Compute/disks/${name}`;
        const fd = openSync(n.vhd, 'r');
        try {
          const size = fstatSync(fd).size;
          ok(await blobCall(o.azurite, 'PUT', `${CONTAINER}/${name}`, accountSas, { 'x-ms-blob-type': 'PageBlob', 'x-ms-blob-content-length': size }), 'create page blob');
          const buf = Buffer.alloc(PAGE_CHUNK_BYTES);
          for (let off = 0; off < size; off += PAGE_CHUNK_BYTES) {
            const len = readSync(fd, buf, 0, Math.min(PAGE_CHUNK_BYTES, size - off), off);
            const chunk = buf.subarray(0, len);
            // memcmp against zeros (Buffer.equals): a byte-by-byte test in JS took most of a minute per disk.
            if (chunk.equals(ZERO_CHUNK.subarray(0, len))) continue;
            ok(await blobCall(o.azurite, 'PUT', `${CONTAINER}/${name}`, `comp=page&${accountSas}`, { 'x-ms-page-write': 'update', 'x-ms-range': `bytes=${off}-${off + len - 1}` }, chunk), 'put pages');
          }
          disks.set(id.toLowerCase(), { id, location: c.location, blob: name, size });
        } finally {
          closeSync(fd);
        }
      }
    }
  }

  const state: ArmServer = { endpoint: '', subscription: sub, ca: cert.cert, faults: o.faults ?? {}, requests: [], snapshots: new Map(), reads: 0, close: async () => {} };
  const operations = new Map<string, Operation>();
  let throttled = 0;
  let deleteFailures = 0;

  const send = (res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void => {
    const text = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'x-ms-request-id': randomUUID(), ...headers, 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  const error = (res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void => send(res, status, { error: { code, message } }, headers);
  const base = (): string => state.endpoint;
  const startOperation = (location: string, op: Omit<Operation, 'polls'>): string => {
    const id = randomUUID();
    operations.set(id, { ...op, polls: 0 });
    return `${base()}/subscriptions/${sub}/providers/Microsoft.Compute/locations/${location}/operations/${id}?${op.async ? '' : 'monitor=true&'}api-version=2025-01-02`;
  };
  const page = <T>(res: ServerResponse, url: URL, items: T[], size = 1): void => {
    // Pages of `size` items with nextLink, so the SDK's pager is exercised.
    const skip = Number(url.searchParams.get('$skiptoken') ?? '0');
    const value = items.slice(skip, skip + size);
    const next = skip + size < items.length ? new URL(url.toString()) : undefined;
    next?.searchParams.set('$skiptoken', String(skip + size));
    send(res, 200, { value, ...(next && { nextLink: `${base()}${next.pathname}${next.search}` }) });
  };

  const clusterBody = (c: ArmCluster): unknown => {
    const b = structuredClone(EX.cluster) as { properties: Record<string, unknown> } & Record<string, unknown>;
    b['name'] = c.name;
    b['id'] = `/subscriptions/${sub}/resourceGroups/${c.resourceGroup}/providers/Microsoft.ContainerService/managedClusters/${c.name}`;
    b['location'] = c.location;
    b['tags'] = c.tags ?? {};
    b.properties['kubernetesVersion'] = c.kubernetesVersion;
    b.properties['currentKubernetesVersion'] = c.kubernetesVersion;
    b.properties['nodeResourceGroup'] = nodeResourceGroup(c);
    b.properties['agentPoolProfiles'] = c.pools.map((p) => ({ name: p.name, count: p.nodes.length, vmSize: p.vmSize ?? 'Standard_DS2_v2', osType: 'Linux', mode: p.mode ?? 'User' }));
    return b;
  };
  const poolBody = (c: ArmCluster, p: ArmPool): unknown => {
    const b = structuredClone(p.ephemeral ? EX.ephemeralPool : EX.pool) as { properties: Record<string, unknown> } & Record<string, unknown>;
    b['name'] = p.name;
    b['id'] = `/subscriptions/${sub}/resourceGroups/${c.resourceGroup}/providers/Microsoft.ContainerService/managedClusters/${c.name}/agentPools/${p.name}`;
    Object.assign(b.properties, { count: p.nodes.length, vmSize: p.vmSize ?? 'Standard_DS2_v2', nodeImageVersion: p.nodeImageVersion, osSKU: p.osSku ?? 'Ubuntu', mode: p.mode ?? 'User', osDiskType: p.ephemeral ? 'Ephemeral' : 'Managed', tags: p.tags ?? {}, provisioningState: 'Succeeded' });
    return b;
  };
  const vmBody = (c: ArmCluster, p: ArmPool, n: ArmNode): unknown => {
    const b = structuredClone(EX.vm) as { properties: Record<string, Record<string, unknown>> } & Record<string, unknown>;
    b['name'] = `${vmssName(p)}_${n.instanceId}`;
    b['instanceId'] = n.instanceId;
    b['id'] = `/subscriptions/${sub}/resourceGroups/${nodeResourceGroup(c)}/providers/Microsoft.Compute/virtualMachineScaleSets/${vmssName(p)}/virtualMachines/${n.instanceId}`;
    b['location'] = c.location;
    b['tags'] = { 'aks-managed-poolName': p.name };
    b.properties['osProfile'] = { ...(b.properties['osProfile'] ?? {}), computerName: n.computerName };
    const storage = b.properties['storageProfile'] as { osDisk: Record<string, unknown> };
    storage.osDisk = p.ephemeral
      ? { osType: 'Linux', name: `${vmssName(p)}_${n.instanceId}_OsDisk`, createOption: 'FromImage', caching: 'ReadOnly', diffDiskSettings: { option: 'Local', placement: 'CacheDisk' } }
      : { osType: 'Linux', name: diskName(c, p, n), createOption: 'FromImage', caching: 'ReadWrite', managedDisk: { storageAccountType: 'Premium_LRS', id: `/subscriptions/${sub}/resourceGroups/${nodeResourceGroup(c)}/providers/Microsoft.Compute/disks/${diskName(c, p, n)}` } };
    (storage as Record<string, unknown>)['dataDisks'] = [];
    return b;
  };
  const snapshotBody = (s: SnapshotState, provisioningState = 'Succeeded'): unknown => {
    const b = structuredClone(EX.snapshot) as { properties: Record<string, unknown> } & Record<string, unknown>;
    b['name'] = s.name;
    b['id'] = s.id;
    b['location'] = s.location;
    b['tags'] = s.tags;
    b.properties = { ...b.properties, osType: 'Linux', creationData: { createOption: 'Copy', sourceResourceId: s.source }, incremental: true, provisioningState, snapshotAccessState: 'Available' };
    delete b.properties['encryptionSettingsCollection'];
    delete b.properties['purchasePlan'];
    return b;
  };

  async function handle(req: IncomingMessage, res: ServerResponse, body: string): Promise<void> {
    const url = new URL(req.url ?? '/', base());
    const path = decodeURIComponent(url.pathname);
    state.requests.push(`${req.method} ${path}`);
    if (path.startsWith('/blob-proxy/')) return proxyRead(req, res, path.slice('/blob-proxy/'.length), url.search);
    if (req.headers.authorization !== `Bearer ${ARM_TOKEN}`) return error(res, 401, 'AuthenticationFailed', 'Authentication failed. The Authorization header is missing or invalid.');
    if (!url.searchParams.get('api-version')) return error(res, 400, 'MissingApiVersionParameter', "The api-version query parameter (?api-version=) is required for all requests.");
    const f = state.faults;
    if (f.throttle && path.startsWith(f.throttle.path) && throttled < f.throttle.times) {
      throttled++;
      return error(res, 429, 'TooManyRequests', 'The request is being throttled.', { 'retry-after': '1' });
    }
    const seg = path.split('/').filter(Boolean);
    const lower = seg.map((s) => s.toLowerCase());
    if (lower[0] !== 'subscriptions' || seg[1] !== sub) return error(res, 404, 'SubscriptionNotFound', `The subscription '${seg[1] ?? ''}' could not be found.`);
    // /subscriptions/{s}/providers/...
    if (lower[2] === 'providers') {
      if (lower[3] === 'microsoft.containerservice' && lower[4] === 'managedclusters' && seg.length === 5) return page(res, url, o.clusters.map(clusterBody));
      if (lower[3] === 'microsoft.compute' && lower[4] === 'snapshots' && seg.length === 5) return page(res, url, [...state.snapshots.values()].map((s) => snapshotBody(s)), 2);
      if (lower[3] === 'microsoft.compute' && lower[4] === 'locations' && lower[6] === 'operations') {
        const op = operations.get(seg[7] ?? '');
        if (!op) return error(res, 404, 'OperationNotFound', 'The operation was not found.');
        op.polls++;
        if (op.polls < 2) return op.async ? send(res, 200, { status: 'InProgress', name: seg[7] }, { 'retry-after': '0' }) : send(res, 202, undefined, { location: `${base()}${url.pathname}${url.search}`, 'retry-after': '0' });
        if (op.async) return send(res, 200, { status: 'Succeeded', name: seg[7], startTime: new Date().toISOString(), endTime: new Date().toISOString() });
        const r = op.result();
        return send(res, r.status, r.body);
      }
      return error(res, 404, 'InvalidResourceType', `no route for ${path}`);
    }
    // /subscriptions/{s}/resourceGroups/{rg}/providers/{ns}/{type}/{name}/...
    if (lower[2] !== 'resourcegroups' || lower[4] !== 'providers') return error(res, 404, 'InvalidResourceType', `no route for ${path}`);
    const rg = seg[3]!.toLowerCase();
    const ns = lower[5];
    const type = lower[6];
    if (ns === 'microsoft.containerservice' && type === 'managedclusters') {
      const c = o.clusters.find((x) => x.resourceGroup.toLowerCase() === rg && x.name === seg[7]);
      if (!c) return error(res, 404, 'ResourceNotFound', `The Resource 'Microsoft.ContainerService/managedClusters/${seg[7]}' under resource group '${seg[3]}' was not found.`);
      if (seg.length === 8) return send(res, 200, clusterBody(c));
      if (lower[8] === 'agentpools' && seg.length === 9) return page(res, url, c.pools.map((p) => poolBody(c, p)));
      const p = c.pools.find((x) => x.name === seg[9]);
      if (lower[8] === 'agentpools' && p && lower[10] === 'upgradeprofiles' && lower[11] === 'default') {
        const b = structuredClone(EX.upgrade) as { properties: Record<string, unknown> } & Record<string, unknown>;
        b['id'] = `${clusterBody(c) && `/subscriptions/${sub}/resourceGroups/${c.resourceGroup}/providers/Microsoft.ContainerService/managedClusters/${c.name}`}/agentPools/${p.name}/upgradeProfiles/default`;
        b.properties['kubernetesVersion'] = c.kubernetesVersion;
        b.properties['latestNodeImageVersion'] = p.latestNodeImageVersion ?? p.nodeImageVersion;
        b.properties['upgrades'] = [];
        return send(res, 200, b);
      }
      return error(res, 404, 'ResourceNotFound', `no route for ${path}`);
    }
    if (ns === 'microsoft.compute' && type === 'virtualmachinescalesets') {
      const c = o.clusters.find((x) => nodeResourceGroup(x).toLowerCase() === rg);
      if (!c) return error(res, 404, 'ResourceGroupNotFound', `Resource group '${seg[3]}' could not be found.`);
      if (seg.length === 7) return page(res, url, c.pools.map((p) => ({ name: vmssName(p), id: `/subscriptions/${sub}/resourceGroups/${nodeResourceGroup(c)}/providers/Microsoft.Compute/virtualMachineScaleSets/${vmssName(p)}`, location: c.location, tags: { 'aks-managed-poolName': p.name, 'aks-managed-orchestrator': `Kubernetes:${c.kubernetesVersion}` }, properties: { orchestrationMode: 'Uniform' } })));
      const p = c.pools.find((x) => vmssName(x) === seg[7]);
      if (p && lower[8] === 'virtualmachines' && seg.length === 9) return page(res, url, p.nodes.map((n) => vmBody(c, p, n)), 2);
      return error(res, 404, 'ResourceNotFound', `no route for ${path}`);
    }
    if (ns === 'microsoft.compute' && type === 'disks' && seg.length === 8 && req.method === 'GET') {
      const d = disks.get(path.toLowerCase());
      if (!d) return error(res, 404, 'ResourceNotFound', `The Resource 'Microsoft.Compute/disks/${seg[7]}' under resource group '${seg[3]}' was not found.`);
      const b = structuredClone(EX.disk) as { properties: Record<string, unknown> } & Record<string, unknown>;
      b['name'] = seg[7];
      b['id'] = d.id;
      b['location'] = d.location;
      b.properties = { ...b.properties, osType: 'Linux', diskSizeBytes: d.size - 512, diskState: 'Attached', provisioningState: 'Succeeded' };
      delete b.properties['encryptionSettingsCollection'];
      return send(res, 200, b);
    }
    if (ns === 'microsoft.compute' && type === 'snapshots' && seg.length >= 8) return snapshotRoute(req, res, url, seg, body);
    return error(res, 404, 'InvalidResourceType', `no route for ${path}`);
  }

  async function snapshotRoute(req: IncomingMessage, res: ServerResponse, url: URL, seg: string[], body: string): Promise<void> {
    const id = `/subscriptions/${sub}/resourceGroups/${seg[3]}/providers/Microsoft.Compute/snapshots/${seg[7]}`;
    const key = id.toLowerCase();
    const s = state.snapshots.get(key);
    const f = state.faults;
    const action = seg[8]?.toLowerCase();
    if (req.method === 'PUT' && action === undefined) {
      if (f.create === 'fail') return error(res, 409, 'OperationNotAllowed', 'Operation could not be completed as it results in exceeding approved snapshot quota.');
      if (f.create === 'deny') return error(res, 403, 'AuthorizationFailed', `The client does not have authorization to perform action 'Microsoft.Compute/snapshots/write' over scope '${id}'.`);
      const spec = JSON.parse(body) as { location: string; tags?: Record<string, string>; properties: { creationData: { sourceResourceId: string }; incremental?: boolean } };
      const disk = disks.get(spec.properties.creationData.sourceResourceId.toLowerCase());
      if (!disk) return error(res, 404, 'NotFound', `Source resource '${spec.properties.creationData.sourceResourceId}' was not found.`);
      if (spec.properties.incremental !== true) return error(res, 400, 'InvalidParameter', 'hullscan asks for incremental snapshots');
      let snap = s;
      if (!snap) {
        const r = await blobCall(o.azurite, 'PUT', `${CONTAINER}/${disk.blob}`, `comp=snapshot&${accountSas}`, {});
        ok(r, 'snapshot blob');
        snap = { id, name: seg[7]!, resourceGroup: seg[3]!, location: spec.location, tags: spec.tags ?? {}, source: disk.id, blob: disk.blob, blobSnapshot: String(r.headers['x-ms-snapshot']), accessGranted: false, revoked: 0 };
        state.snapshots.set(key, snap);
      }
      if (f.create === 'lose-answer') {
        res.socket?.destroy();
        return;
      }
      const created = snap;
      const op = startOperation(created.location, { async: true, result: () => ({ status: 200, body: snapshotBody(created) }) });
      return send(res, 201, snapshotBody(created, 'Creating'), { 'azure-asyncoperation': op });
    }
    if (!s) return req.method === 'DELETE' ? send(res, 204) : error(res, 404, 'ResourceNotFound', `The Resource 'Microsoft.Compute/snapshots/${seg[7]}' under resource group '${seg[3]}' was not found.`);
    if (req.method === 'GET' && action === undefined) return send(res, 200, snapshotBody(s));
    if (req.method === 'POST' && action === 'begingetaccess') {
      if (f.grant === 'fail') return error(res, 409, 'OperationNotAllowed', 'The snapshot is being copied: access cannot be granted now.');
      const grant = JSON.parse(body) as { access: string; durationInSeconds: number };
      if (grant.access !== 'Read') return error(res, 400, 'InvalidParameter', 'hullscan only ever asks for read access');
      s.accessGranted = true;
      const sas = generateBlobSASQueryParameters({ containerName: CONTAINER, blobName: s.blob, snapshotTime: s.blobSnapshot, permissions: BlobSASPermissions.parse('r'), expiresOn: new Date(Date.now() + grant.durationInSeconds * 1000), protocol: SASProtocol.Https }, cred).toString();
      const query = `snapshot=${encodeURIComponent(s.blobSnapshot)}&${sas}`;
      const accessSAS = f.readFailAfter !== undefined ? `${base()}/blob-proxy/${CONTAINER}/${s.blob}?${query}` : `${o.azurite.url}/${CONTAINER}/${s.blob}?${query}`;
      const op = startOperation(s.location, { async: false, result: () => ({ status: 200, body: { accessSAS } }) });
      return send(res, 202, undefined, { location: op, 'retry-after': '0' });
    }
    if (req.method === 'POST' && action === 'endgetaccess') {
      s.accessGranted = false;
      s.revoked++;
      const op = startOperation(s.location, { async: false, result: () => ({ status: 200 }) });
      return send(res, 202, undefined, { location: op, 'retry-after': '0' });
    }
    if (req.method === 'DELETE' && action === undefined) {
      if (deleteFailures < (f.deleteFailures ?? 0)) {
        deleteFailures++;
        return error(res, 409, 'OperationNotAllowed', 'The snapshot cannot be deleted now: an operation on it is in progress.');
      }
      state.snapshots.delete(key);
      await blobCall(o.azurite, 'DELETE', `${CONTAINER}/${s.blob}`, `snapshot=${encodeURIComponent(s.blobSnapshot)}&${accountSas}`, {});
      const op = startOperation(s.location, { async: false, result: () => ({ status: 200 }) });
      return send(res, 202, undefined, { location: op, 'retry-after': '0' });
    }
    void url;
    return error(res, 405, 'MethodNotAllowed', `${req.method} is not supported here`);
  }

  /** The SAS read, passed through to Azurite; after `readFailAfter` reads the blob snapshot is deleted first. */
  async function proxyRead(req: IncomingMessage, res: ServerResponse, blobPath: string, search: string): Promise<void> {
    state.reads++;
    state.faults.onRead?.(state.reads);
    if (state.faults.readFailAfter !== undefined && state.reads > state.faults.readFailAfter) {
      const snapshot = new URLSearchParams(search).get('snapshot') ?? '';
      await blobCall(o.azurite, 'DELETE', blobPath, `snapshot=${encodeURIComponent(snapshot)}&${accountSas}`, {});
    }
    const up = httpsRequest({ host: '127.0.0.1', port: o.azurite.port, method: req.method, path: `/${AZURITE_ACCOUNT}/${blobPath}${search}`, ca: o.azurite.ca, agent: false, headers: { ...req.headers, host: `127.0.0.1:${o.azurite.port}` } }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    up.end();
  }

  const server: Server = createServer({ cert: cert.cert, key: cert.key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      handle(req, res, Buffer.concat(chunks).toString('utf8')).catch((err: unknown) => {
        if (!res.headersSent) error(res, 500, 'InternalServerError', String(err));
        else res.destroy();
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  state.endpoint = `https://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  state.close = () => new Promise<void>((r) => {
    server.closeAllConnections();
    server.close(() => r());
  });
  return state;
}

export { nodeResourceGroup, vmssName, diskName };
