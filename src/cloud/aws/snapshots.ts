/**
 * EBS snapshots of EKS node root volumes:
 * - create: EC2 CreateSnapshot of the root volume, tagged as ours at creation (TagSpecifications:
 *   owner, lease, scan, expiry), then DescribeSnapshots until it is `completed` (EBS direct reads
 *   completed snapshots only).
 * - open: an EBS direct BlockSource (ebs-direct-source.ts): ListSnapshotBlocks, GetSnapshotBlock
 *   with our own SHA-256 check of every block.
 * - delete: DeleteSnapshot (already gone is success). listOurs: DescribeSnapshots of our own
 *   snapshots filtered by the owner tag.
 * Writes go through one budget per account and region (cloud/limiter.ts).
 *
 * Several accounts may share a region: a volume is snapshotted with the clients of its node's
 * account; a snapshot is read and deleted with the clients that made or listed it (references
 * carry no account, as the ledger stores them), found by asking the region's accounts when this
 * process has not seen it. A CreateSnapshot the SDK had to retry (an answer lost on the way) may
 * have made more than one snapshot: the others, found by the lease tag, are deleted at once.
 */
import { CreateSnapshotCommand, DeleteSnapshotCommand, DescribeSnapshotsCommand, type EC2Client, type Snapshot as Ec2Snapshot } from '@aws-sdk/client-ec2';
import type { Node } from '../../store/index.ts';
import type { AwsAccountConfig } from '../config.ts';
import { SnapshotError, type Snapshot, type SnapshotFailure, type SnapshotProvider, type SnapshotTags, type SnapshotTarget, type TaggedSnapshot } from '../index.ts';
import { KeyedLimiter } from '../limiter.ts';
import { awsCodeOf, awsStatusOf, type AwsClients } from './clients.ts';
import { EbsDirectSource } from './ebs-direct-source.ts';
import { parseRef, snapshotRef } from './refs.ts';

export const AWS_TAGS = { owner: 'hullscan-owner', lease: 'hullscan-lease', scan: 'hullscan-scan', expires: 'hullscan-expires' } as const;
const OWNER = 'hullscan';
const DEFAULT_WRITES_IN_FLIGHT = 4;
/** How often a pending snapshot is polled, and for how long at most. */
const DEFAULT_POLL_MS = 5_000;
const MAX_WAIT_MS = 60 * 60_000;

interface Region {
  account: string;
  clients: AwsClients;
  config: AwsAccountConfig & { pollIntervalMs?: number };
}

function failure(err: unknown, what: string, notFound: SnapshotFailure): SnapshotError {
  const code = awsCodeOf(err);
  const status = awsStatusOf(err);
  const detail = `${what}: ${code !== undefined ? `${code}: ` : ''}${(err as Error)?.message ?? String(err)}`;
  if (code !== undefined && /NotFound$/.test(code)) return new SnapshotError(notFound, detail, { cause: err });
  if (code === 'UnauthorizedOperation' || code === 'AccessDeniedException' || status === 403) return new SnapshotError('snapshot-denied', detail, { cause: err });
  return new SnapshotError('snapshot-failed', detail, { cause: err });
}

export class AwsSnapshotProvider implements SnapshotProvider {
  readonly provider = 'aws';
  readonly #accounts: Region[];
  /** Which account made or listed a snapshot, by snapshot id. */
  readonly #owners = new Map<string, Region>();
  readonly #writes = new KeyedLimiter(DEFAULT_WRITES_IN_FLIGHT);

  /** One entry per account (several may share a region). */
  constructor(accounts: ReadonlyArray<Region>) {
    this.#accounts = [...accounts];
  }

  #parse(ref: string): { region: string; id: string; inRegion: Region[] } {
    const p = parseRef(ref);
    if (!p) throw new SnapshotError('snapshot-failed', `'${ref}' is not an EBS volume or snapshot reference`);
    const inRegion = this.#accounts.filter((a) => a.config.region === p.region);
    if (inRegion.length === 0) throw new SnapshotError('snapshot-failed', `no aws account in the environment file has region ${p.region}`);
    return { region: p.region, id: p.id, inRegion };
  }

  /** The account whose volume this node's disk is: the node's own account. */
  #forNode(node: Node & { diskRef: string }): { r: Region; id: string } {
    const { id, inRegion, region } = this.#parse(node.diskRef);
    const r = inRegion.find((a) => a.account === node.account) ?? (inRegion.length === 1 ? inRegion[0] : undefined);
    if (!r) throw new SnapshotError('snapshot-failed', `node ${node.name}: its account '${node.account}' is not an aws account of region ${region} in the environment file`);
    return { r, id };
  }

  /** The account holding a snapshot: the one that made or listed it, else the one of the region's accounts that finds it. */
  async #forSnapshot(ref: string): Promise<{ r: Region; id: string }> {
    const { id, inRegion } = this.#parse(ref);
    const known = this.#owners.get(id);
    if (known) return { r: known, id };
    if (inRegion.length === 1) return { r: inRegion[0]!, id };
    for (const r of inRegion) {
      try {
        const found = (await r.clients.ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [id] }))).Snapshots?.length ?? 0;
        if (found > 0) {
          this.#owners.set(id, r);
          return { r, id };
        }
      } catch (err) {
        if (!/NotFound$/.test(awsCodeOf(err) ?? '')) throw failure(err, `finding the account of ${ref}`, 'snapshot-lost');
      }
    }
    // No account has it: gone. The first account's answers say so (not found) to open and delete.
    return { r: inRegion[0]!, id };
  }

  async create(node: Node, tags: SnapshotTags): Promise<Snapshot> {
    if (node.diskRef === undefined || node.diskRef === '') throw new SnapshotError('no-disk', `node ${node.name} has no EBS root volume`);
    const { r, id } = this.#forNode({ ...node, diskRef: node.diskRef });
    const ec2Tags = [
      { Key: AWS_TAGS.owner, Value: OWNER },
      { Key: AWS_TAGS.lease, Value: tags.lease },
      { Key: AWS_TAGS.expires, Value: tags.expires },
      ...(tags.scan !== undefined ? [{ Key: AWS_TAGS.scan, Value: tags.scan }] : []),
    ];
    let snapshotId: string | undefined;
    let attempts: number | undefined;
    try {
      const out = await this.#writes.run(r.account, () => r.clients.ec2.send(new CreateSnapshotCommand({ VolumeId: id, Description: `hullscan node scan ${tags.scan ?? ''} (lease ${tags.lease})`, TagSpecifications: [{ ResourceType: 'snapshot', Tags: ec2Tags }] })));
      snapshotId = out.SnapshotId;
      attempts = out.$metadata.attempts ?? 1;
    } catch (err) {
      throw failure(err, `snapshot of ${node.diskRef}`, 'disk-not-found');
    }
    if (snapshotId === undefined) throw new SnapshotError('snapshot-failed', `snapshot of ${node.diskRef}: EC2 returned no snapshot id`);
    this.#owners.set(snapshotId, r);
    // CreateSnapshot has no idempotency token: a retried call whose first answer was lost made a snapshot nobody holds.
    if ((attempts ?? 1) > 1) await this.#deleteDuplicates(r, tags.lease, snapshotId);
    const ref = snapshotRef(r.config.region, snapshotId);
    await this.#waitCompleted(r, snapshotId, ref);
    return { provider: this.provider, id: ref, ref };
  }

  async #deleteDuplicates(r: Region, lease: string, keep: string): Promise<void> {
    for (const s of await describeTagged(r.clients.ec2, AWS_TAGS.lease, lease)) {
      if (s.SnapshotId === undefined || s.SnapshotId === keep) continue;
      try {
        await this.#writes.run(r.account, () => r.clients.ec2.send(new DeleteSnapshotCommand({ SnapshotId: s.SnapshotId })));
      } catch (err) {
        if (awsCodeOf(err) !== 'InvalidSnapshot.NotFound') throw failure(err, `deleting the duplicate snapshot ${s.SnapshotId} of lease ${lease}`, 'snapshot-failed');
      }
    }
  }

  async #waitCompleted(r: Region, snapshotId: string, ref: string): Promise<void> {
    const poll = r.config.pollIntervalMs ?? DEFAULT_POLL_MS;
    const deadline = Date.now() + MAX_WAIT_MS;
    for (;;) {
      let s: Ec2Snapshot | undefined;
      try {
        s = (await r.clients.ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] }))).Snapshots?.[0];
      } catch (err) {
        throw failure(err, `waiting for ${ref}`, 'snapshot-lost');
      }
      if (s?.State === 'completed') return;
      if (s === undefined) throw new SnapshotError('snapshot-lost', `${ref} disappeared before it completed`);
      if (s.State === 'error') throw new SnapshotError('snapshot-failed', `${ref} failed: ${s.StateMessage ?? 'state error'}`);
      if (Date.now() > deadline) throw new SnapshotError('snapshot-failed', `${ref} did not complete in ${MAX_WAIT_MS / 60_000} min`);
      await new Promise((res) => setTimeout(res, poll));
    }
  }

  async open(snapshot: Snapshot): Promise<SnapshotTarget> {
    const { r, id } = await this.#forSnapshot(snapshot.ref);
    try {
      const source = await EbsDirectSource.open(r.clients.ebs, id, { ...(r.config.blockConcurrency !== undefined && { concurrency: r.config.blockConcurrency }) });
      return { spec: snapshot.ref, options: { source }, readFailure: () => source.failure };
    } catch (err) {
      throw failure(err, `EBS direct read of ${snapshot.ref}`, 'snapshot-lost');
    }
  }

  async delete(snapshot: Snapshot): Promise<void> {
    const { r, id } = await this.#forSnapshot(snapshot.id);
    try {
      await this.#writes.run(r.account, () => r.clients.ec2.send(new DeleteSnapshotCommand({ SnapshotId: id })));
    } catch (err) {
      if (awsCodeOf(err) !== 'InvalidSnapshot.NotFound') throw failure(err, `deleting ${snapshot.id}`, 'snapshot-lost');
    }
  }

  async listOurs(): Promise<TaggedSnapshot[]> {
    const out: TaggedSnapshot[] = [];
    for (const r of this.#accounts) {
      for (const s of await describeTagged(r.clients.ec2, AWS_TAGS.owner, OWNER)) {
        const t = new Map((s.Tags ?? []).map((x) => [x.Key ?? '', x.Value ?? '']));
        if (t.get(AWS_TAGS.owner) !== OWNER || s.SnapshotId === undefined) continue;
        const tags: SnapshotTags = { owner: OWNER, lease: t.get(AWS_TAGS.lease) ?? '', expires: t.get(AWS_TAGS.expires) ?? new Date(0).toISOString() };
        if (t.has(AWS_TAGS.scan)) tags.scan = t.get(AWS_TAGS.scan)!;
        this.#owners.set(s.SnapshotId, r);
        const ref = snapshotRef(r.config.region, s.SnapshotId);
        out.push({ snapshot: { provider: this.provider, id: ref, ref }, tags });
      }
    }
    return out;
  }
}

/** The account's own snapshots carrying tag `key` = `value` (every page). */
async function describeTagged(ec2: EC2Client, key: string, value: string): Promise<Ec2Snapshot[]> {
  const out: Ec2Snapshot[] = [];
  let next: string | undefined;
  do {
    const page = await ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters: [{ Name: `tag:${key}`, Values: [value] }], ...(next !== undefined && { NextToken: next }) }));
    out.push(...(page.Snapshots ?? []));
    next = page.NextToken ?? undefined;
  } while (next !== undefined);
  return out;
}
