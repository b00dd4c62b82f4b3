/**
 * A local HTTPS server speaking three AWS wire protocols for the official SDK v3 clients:
 * - EC2 Query (`aws.protocols#ec2Query`, version 2016-11-15): form-encoded POST with Action and
 *   Version; XML answers under `<ActionResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">`
 *   with `item` lists; errors as `<Response><Errors><Error><Code>`: DescribeInstances,
 *   CreateSnapshot, DescribeSnapshots, DeleteSnapshot.
 * - EKS REST-JSON (`restJson1`, 2017-11-01): GET /clusters, /clusters/{name},
 *   /clusters/{name}/node-groups, /clusters/{name}/node-groups/{ng}.
 * - EBS direct REST-JSON (2019-11-02): GET /snapshots/{id}/blocks (block tokens, 512 KiB blocks,
 *   VolumeSize in GiB) and GET /snapshots/{id}/blocks/{index}?blockToken= (octet-stream body,
 *   x-amz-Data-Length, x-amz-Checksum base64 SHA-256, x-amz-Checksum-Algorithm); errors with
 *   X-Amzn-Errortype.
 * Shapes from the models and protocol tests copied into test/data/cloud-api/aws/. Requests must
 * carry a SigV4 Authorization header (not verified: the signature's maths is the SDK's).
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { testCertificate } from '../../helpers/tls.ts';

const BLOCK = 512 * 1024;
/** Compared with memcmp (Buffer.equals): testing 2 GiB byte by byte in JS took most of a minute. */
const ZERO_BLOCK = Buffer.alloc(BLOCK);
const GiB = 1024 * 1024 * 1024;
const XMLNS = 'http://ec2.amazonaws.com/doc/2016-11-15/';

export interface AwsNode {
  instanceId: string;
  zone: string;
  privateDnsName: string;
  volumeId: string;
  /** The root volume's bytes (a raw disk image). */
  image: string;
}

export interface AwsNodegroup {
  name: string;
  amiType: string;
  releaseVersion: string;
  instanceType: string;
  nodes: AwsNode[];
}

export interface AwsCluster {
  name: string;
  version: string;
  nodegroups: AwsNodegroup[];
}

export interface AwsFaults {
  /** CreateSnapshot answers SnapshotLimitExceeded (fail, 400) or UnauthorizedOperation (deny, 403); lose-answer creates the snapshot and drops every answer. */
  create?: 'fail' | 'deny' | 'lose-answer';
  /** The first N CreateSnapshot answers are dropped after the snapshot is made (the SDK retries, making another). */
  createAnswersLost?: number;
  /** This block index is served with a checksum that does not match its bytes. */
  corruptBlock?: number;
  /** The first N DeleteSnapshot calls fail with IncorrectState. */
  deleteFailures?: number;
  /** After N GetSnapshotBlock reads the snapshot is deleted (the read fails half-way with ResourceNotFoundException). */
  readFailAfter?: number;
  /** After N GetSnapshotBlock reads every block token of the snapshot expires (new ones from ListSnapshotBlocks; old ones: ValidationException INVALID_BLOCK_TOKEN). */
  expireTokensAfter?: number;
  /** Called on each GetSnapshotBlock (after it is counted), before it is answered. */
  onBlockRead?: (count: number) => void;
}

interface EbsSnapshot {
  id: string;
  volumeId: string;
  volumeGiB: number;
  tags: Array<[string, string]>;
  polls: number;
  image: string;
  /** Block index → token and checksum, for the blocks holding any non-zero byte. */
  blocks: Map<number, { token: string; sha: string }>;
}

export interface AwsServer {
  endpoint: string;
  region: string;
  faults: AwsFaults;
  requests: string[];
  snapshots: Map<string, EbsSnapshot>;
  blockReads: number;
  /** ListSnapshotBlocks listings (calls for a first page). */
  blockListings: number;
  close(): Promise<void>;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function tagSet(tags: Array<[string, string]>): string {
  return `<tagSet>${tags.map(([k, v]) => `<item><key>${esc(k)}</key><value>${esc(v)}</value></item>`).join('')}</tagSet>`;
}

/** Form values of a query-protocol list: `Prefix.1`, `Prefix.2`, … */
function list(form: URLSearchParams, prefix: string): string[] {
  const out: string[] = [];
  for (let i = 1; form.has(`${prefix}.${i}`); i++) out.push(form.get(`${prefix}.${i}`)!);
  return out;
}

function filters(form: URLSearchParams): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (let i = 1; form.has(`Filter.${i}.Name`); i++) out.set(form.get(`Filter.${i}.Name`)!, list(form, `Filter.${i}.Value`));
  return out;
}

const blockCache = new Map<string, { volumeGiB: number; blocks: Map<number, { token: string; sha: string }> }>();

/** The volume's written blocks (any non-zero byte) with their SHA-256, computed once per image. */
function blocksOf(image: string): { volumeGiB: number; blocks: Map<number, { token: string; sha: string }> } {
  const hit = blockCache.get(image);
  if (hit) return { volumeGiB: hit.volumeGiB, blocks: new Map([...hit.blocks].map(([i, b]) => [i, { ...b, token: randomBytes(24).toString('base64url') }])) };
  const made = blocksUncached(image);
  blockCache.set(image, made);
  return made;
}

function blocksUncached(image: string): { volumeGiB: number; blocks: Map<number, { token: string; sha: string }> } {
  const fd = openSync(image, 'r');
  try {
    const size = fstatSync(fd).size;
    const blocks = new Map<number, { token: string; sha: string }>();
    const buf = Buffer.alloc(BLOCK);
    for (let i = 0; i * BLOCK < size; i++) {
      buf.fill(0);
      readSync(fd, buf, 0, Math.min(BLOCK, size - i * BLOCK), i * BLOCK);
      if (buf.equals(ZERO_BLOCK)) continue;
      blocks.set(i, { token: randomBytes(24).toString('base64url'), sha: createHash('sha256').update(buf).digest('base64') });
    }
    return { volumeGiB: Math.max(1, Math.ceil(size / GiB)), blocks };
  } finally {
    closeSync(fd);
  }
}

export async function startAwsServer(o: { region: string; accountId: string; clusters: AwsCluster[]; faults?: AwsFaults }): Promise<AwsServer> {
  const cert = testCertificate();
  const state: AwsServer = { endpoint: '', region: o.region, faults: o.faults ?? {}, requests: [], snapshots: new Map(), blockReads: 0, blockListings: 0, close: async () => {} };
  const nodes = o.clusters.flatMap((c) => c.nodegroups.flatMap((g) => g.nodes.map((n) => ({ c, g, n }))));
  let deleteFailures = 0;
  let createAnswersLost = 0;
  let tokensExpired = false;

  const xml = (res: ServerResponse, action: string, inner: string): void => {
    const body = `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${XMLNS}"><requestId>${randomBytes(8).toString('hex')}</requestId>${inner}</${action}Response>`;
    res.writeHead(200, { 'content-type': 'text/xml;charset=UTF-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  const ec2Error = (res: ServerResponse, status: number, code: string, message: string): void => {
    const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${code}</Code><Message>${esc(message)}</Message></Error></Errors><RequestID>${randomBytes(8).toString('hex')}</RequestID></Response>`;
    res.writeHead(status, { 'content-type': 'text/xml;charset=UTF-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
    res.end(text);
  };
  const restError = (res: ServerResponse, status: number, type: string, message: string, extra: Record<string, string> = {}): void => json(res, status, { message, ...extra }, { 'x-amzn-errortype': type });

  const snapshotXml = (s: EbsSnapshot, state = 'completed'): string =>
    `<item><snapshotId>${s.id}</snapshotId><volumeId>${s.volumeId}</volumeId><status>${state}</status><startTime>2026-01-01T00:00:00.000Z</startTime><progress>${state === 'completed' ? '100%' : '0%'}</progress><ownerId>${o.accountId}</ownerId><volumeSize>${s.volumeGiB}</volumeSize><encrypted>false</encrypted>${tagSet(s.tags)}</item>`;

  function ec2(res: ServerResponse, form: URLSearchParams): void {
    const action = form.get('Action') ?? '';
    if (form.get('Version') !== '2016-11-15') return ec2Error(res, 400, 'InvalidParameterValue', 'Version must be 2016-11-15');
    state.requests.push(`EC2 ${action}`);
    if (action === 'DescribeInstances') {
      const f = filters(form);
      const hits = nodes.filter(({ c, g }) => (f.get('tag:eks:cluster-name') ?? [c.name]).includes(c.name) && (f.get('tag:eks:nodegroup-name') ?? [g.name]).includes(g.name));
      const items = hits
        .map(({ c, g, n }) => `<item><reservationId>r-${n.instanceId.slice(2)}</reservationId><ownerId>${o.accountId}</ownerId><instancesSet><item><instanceId>${n.instanceId}</instanceId><imageId>ami-0abcdef1234567890</imageId><instanceState><code>16</code><name>running</name></instanceState><privateDnsName>${n.privateDnsName}</privateDnsName><instanceType>${g.instanceType}</instanceType><placement><availabilityZone>${n.zone}</availabilityZone></placement><rootDeviceType>ebs</rootDeviceType><rootDeviceName>/dev/xvda</rootDeviceName><blockDeviceMapping><item><deviceName>/dev/xvda</deviceName><ebs><volumeId>${n.volumeId}</volumeId><status>attached</status><deleteOnTermination>true</deleteOnTermination></ebs></item></blockDeviceMapping>${tagSet([['eks:cluster-name', c.name], ['eks:nodegroup-name', g.name], ['kubernetes.io/cluster/' + c.name, 'owned']])}</item></instancesSet></item>`)
        .join('');
      return xml(res, action, `<reservationSet>${items}</reservationSet>`);
    }
    if (action === 'CreateSnapshot') {
      const volumeId = form.get('VolumeId') ?? '';
      const hit = nodes.find(({ n }) => n.volumeId === volumeId);
      if (!hit) return ec2Error(res, 400, 'InvalidVolume.NotFound', `The volume '${volumeId}' does not exist.`);
      if (state.faults.create === 'fail') return ec2Error(res, 400, 'SnapshotLimitExceeded', 'The maximum number of snapshots has been reached.');
      if (state.faults.create === 'deny') return ec2Error(res, 403, 'UnauthorizedOperation', 'You are not authorized to perform this operation.');
      const tags: Array<[string, string]> = [];
      for (let i = 1; form.has(`TagSpecification.1.Tag.${i}.Key`); i++) tags.push([form.get(`TagSpecification.1.Tag.${i}.Key`)!, form.get(`TagSpecification.1.Tag.${i}.Value`) ?? '']);
      if (form.get('TagSpecification.1.ResourceType') !== 'snapshot') return ec2Error(res, 400, 'InvalidParameterValue', 'tags must be given for the snapshot at creation');
      const { volumeGiB, blocks } = blocksOf(hit.n.image);
      const s: EbsSnapshot = { id: `snap-${randomBytes(8).toString('hex')}`, volumeId, volumeGiB, tags, polls: 0, image: hit.n.image, blocks };
      state.snapshots.set(s.id, s);
      if (state.faults.create === 'lose-answer' || createAnswersLost < (state.faults.createAnswersLost ?? 0)) {
        createAnswersLost++;
        res.socket?.destroy();
        return;
      }
      return xml(res, action, `<snapshotId>${s.id}</snapshotId><volumeId>${volumeId}</volumeId><status>pending</status><startTime>2026-01-01T00:00:00.000Z</startTime><progress></progress><ownerId>${o.accountId}</ownerId><volumeSize>${volumeGiB}</volumeSize><encrypted>false</encrypted>${tagSet(tags)}`);
    }
    if (action === 'DescribeSnapshots') {
      const ids = list(form, 'SnapshotId');
      const f = filters(form);
      let hits = [...state.snapshots.values()];
      if (ids.length) {
        const missing = ids.find((id) => !state.snapshots.has(id));
        if (missing) return ec2Error(res, 400, 'InvalidSnapshot.NotFound', `The snapshot '${missing}' does not exist.`);
        hits = hits.filter((s) => ids.includes(s.id));
      }
      for (const [name, values] of f) {
        if (!name.startsWith('tag:')) continue;
        hits = hits.filter((s) => s.tags.some(([k, v]) => k === name.slice(4) && values.includes(v)));
      }
      return xml(res, action, `<snapshotSet>${hits.map((s) => snapshotXml(s, s.polls++ === 0 && ids.length ? 'pending' : 'completed')).join('')}</snapshotSet>`);
    }
    if (action === 'DeleteSnapshot') {
      const id = form.get('SnapshotId') ?? '';
      if (!state.snapshots.has(id)) return ec2Error(res, 400, 'InvalidSnapshot.NotFound', `The snapshot '${id}' does not exist.`);
      if (deleteFailures < (state.faults.deleteFailures ?? 0)) {
        deleteFailures++;
        return ec2Error(res, 400, 'IncorrectState', `The snapshot '${id}' is in use.`);
      }
      state.snapshots.delete(id);
      return xml(res, action, '<return>true</return>');
    }
    return ec2Error(res, 400, 'InvalidAction', `The action ${action} is not valid for this web service.`);
  }

  function rest(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const seg = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    state.requests.push(`${req.method} /${seg.join('/')}`);
    if (seg[0] === 'clusters') {
      const eksCluster = (c: AwsCluster) => ({ name: c.name, arn: `arn:aws:eks:${o.region}:${o.accountId}:cluster/${c.name}`, version: c.version, status: 'ACTIVE', platformVersion: 'eks.1', tags: { team: 'platform' } });
      if (seg.length === 1) return json(res, 200, { clusters: o.clusters.map((c) => c.name) });
      const c = o.clusters.find((x) => x.name === seg[1]);
      if (!c) return restError(res, 404, 'ResourceNotFoundException', `No cluster found for name: ${seg[1]}.`);
      if (seg.length === 2) return json(res, 200, { cluster: eksCluster(c) });
      if (seg[2] === 'node-groups' && seg.length === 3) return json(res, 200, { nodegroups: c.nodegroups.map((g) => g.name) });
      const g = c.nodegroups.find((x) => x.name === seg[3]);
      if (!g) return restError(res, 404, 'ResourceNotFoundException', `No node group found for name: ${seg[3]}.`);
      return json(res, 200, { nodegroup: { nodegroupName: g.name, nodegroupArn: `arn:aws:eks:${o.region}:${o.accountId}:nodegroup/${c.name}/${g.name}/0`, clusterName: c.name, version: c.version, releaseVersion: g.releaseVersion, amiType: g.amiType, capacityType: 'ON_DEMAND', instanceTypes: [g.instanceType], status: 'ACTIVE', scalingConfig: { minSize: 1, maxSize: 3, desiredSize: g.nodes.length }, resources: { autoScalingGroups: [{ name: `eks-${g.name}-0` }] }, tags: {} } });
    }
    if (seg[0] === 'snapshots' && seg[2] === 'blocks') {
      const s = state.snapshots.get(seg[1] ?? '');
      if (!s) return restError(res, 404, 'ResourceNotFoundException', `The snapshot '${seg[1]}' does not exist.`);
      if (seg.length === 3) {
        const start = Number(url.searchParams.get('startingBlockIndex') ?? '0');
        const max = Number(url.searchParams.get('maxResults') ?? '10000');
        if (!url.searchParams.has('pageToken')) state.blockListings++;
        const after = Number(url.searchParams.get('pageToken') ?? String(start));
        const all = [...s.blocks.entries()].filter(([i]) => i >= after).sort((a, b) => a[0] - b[0]);
        // Small pages, so the client's paging is exercised.
        const pageSize = Math.min(max, 100);
        const page = all.slice(0, pageSize);
        const next = all.length > pageSize ? String(all[pageSize]![0]) : undefined;
        return json(res, 200, { Blocks: page.map(([i, b]) => ({ BlockIndex: i, BlockToken: b.token })), ExpiryTime: Date.now() / 1000 + 3600, VolumeSize: s.volumeGiB, BlockSize: BLOCK, ...(next !== undefined && { NextToken: next }) });
      }
      const index = Number(seg[3]);
      state.blockReads++;
      state.faults.onBlockRead?.(state.blockReads);
      const f = state.faults;
      if (f.readFailAfter !== undefined && state.blockReads > f.readFailAfter) {
        state.snapshots.delete(s.id);
        return restError(res, 404, 'ResourceNotFoundException', `The snapshot '${s.id}' does not exist.`, { Reason: 'SNAPSHOT_NOT_FOUND' });
      }
      if (f.expireTokensAfter !== undefined && state.blockReads > f.expireTokensAfter && !tokensExpired) {
        tokensExpired = true;
        for (const blk of s.blocks.values()) blk.token = randomBytes(24).toString('base64url');
      }
      const b = s.blocks.get(index);
      if (!b || url.searchParams.get('blockToken') !== b.token) return restError(res, 400, 'ValidationException', 'The block token is not valid or has expired.', { Reason: 'INVALID_BLOCK_TOKEN' });
      const fd = openSync(s.image, 'r');
      const data = Buffer.alloc(BLOCK);
      try {
        readSync(fd, data, 0, BLOCK, index * BLOCK);
      } finally {
        closeSync(fd);
      }
      const sha = state.faults.corruptBlock === index ? createHash('sha256').update('not these bytes').digest('base64') : b.sha;
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': BLOCK, 'x-amz-data-length': String(BLOCK), 'x-amz-checksum': sha, 'x-amz-checksum-algorithm': 'SHA256' });
      res.end(data);
      return;
    }
    return restError(res, 404, 'UnknownOperationException', `no route for ${url.pathname}`);
  }

  const server: Server = createServer({ cert: cert.cert, key: cert.key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        if (!String(req.headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256 Credential=')) return restError(res, 403, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
        const url = new URL(req.url ?? '/', 'https://localhost');
        if (req.method === 'POST' && url.pathname === '/') return ec2(res, new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
        return rest(req, res, url);
      } catch (err) {
        if (!res.headersSent) restError(res, 500, 'InternalServerException', String(err));
      }
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
