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
 */
import { CreateSnapshotCommand, DeleteSnapshotCommand, DescribeSnapshotsCommand, type Snapshot as Ec2Snapshot } from '@aws-sdk/client-ec2';
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
  readonly #regions = new Map<string, Region>();
  readonly #writes = new KeyedLimiter(DEFAULT_WRITES_IN_FLIGHT);

  /** One entry per account; snapshots are told apart by the region in their reference. */
  constructor(accounts: ReadonlyArray<Region>) {
    for (const a of accounts) if (!this.#regions.has(a.config.region)) this.#regions.set(a.config.region, a);
  }

  #region(ref: string): { r: Region; id: string } {
    const p = parseRef(ref);
    if (!p) throw new SnapshotError('snapshot-failed', `'${ref}' is not an EBS volume or snapshot reference`);
    const r = this.#regions.get(p.region);
    if (!r) throw new SnapshotError('snapshot-failed', `no aws account in the environment file has region ${p.region}`);
    return { r, id: p.id };
  }

  async create(node: Node, tags: SnapshotTags): Promise<Snapshot> {
    if (node.diskRef === undefined || node.diskRef === '') throw new SnapshotError('no-disk', `node ${node.name} has no EBS root volume`);
    const { r, id } = this.#region(node.diskRef);
    const ec2Tags = [
      { Key: AWS_TAGS.owner, Value: OWNER },
      { Key: AWS_TAGS.lease, Value: tags.lease },
      { Key: AWS_TAGS.expires, Value: tags.expires },
      ...(tags.scan !== undefined ? [{ Key: AWS_TAGS.scan, Value: tags.scan }] : []),
    ];
    let snapshotId: string | undefined;
    try {
      const out = await this.#writes.run(r.account, () => r.clients.ec2.send(new CreateSnapshotCommand({ VolumeId: id, Description: `hullscan node scan ${tags.scan ?? ''} (lease ${tags.lease})`, TagSpecifications: [{ ResourceType: 'snapshot', Tags: ec2Tags }] })));
      snapshotId = out.SnapshotId;
    } catch (err) {
      throw failure(err, `snapshot of ${node.diskRef}`, 'disk-not-found');
    }
    if (snapshotId === undefined) throw new SnapshotError('snapshot-failed', `snapshot of ${node.diskRef}: EC2 returned no snapshot id`);
    const ref = snapshotRef(r.config.region, snapshotId);
    await this.#waitCompleted(r, snapshotId, ref);
    return { provider: this.provider, id: ref, ref };
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
    const { r, id } = this.#region(snapshot.ref);
    try {
      const source = await EbsDirectSource.open(r.clients.ebs, id, { ...(r.config.blockConcurrency !== undefined && { concurrency: r.config.blockConcurrency }) });
      return { spec: snapshot.ref, options: { source } };
    } catch (err) {
      throw failure(err, `EBS direct read of ${snapshot.ref}`, 'snapshot-lost');
    }
  }

  async delete(snapshot: Snapshot): Promise<void> {
    const { r, id } = this.#region(snapshot.id);
    try {
      await this.#writes.run(r.account, () => r.clients.ec2.send(new DeleteSnapshotCommand({ SnapshotId: id })));
    } catch (err) {
      if (awsCodeOf(err) !== 'InvalidSnapshot.NotFound') throw failure(err, `deleting ${snapshot.id}`, 'snapshot-lost');
    }
  }

  async listOurs(): Promise<TaggedSnapshot[]> {
    const out: TaggedSnapshot[] = [];
    for (const r of this.#regions.values()) {
      let next: string | undefined;
      do {
        const page = await r.clients.ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters: [{ Name: `tag:${AWS_TAGS.owner}`, Values: [OWNER] }], ...(next !== undefined && { NextToken: next }) }));
        for (const s of page.Snapshots ?? []) {
          const t = new Map((s.Tags ?? []).map((x) => [x.Key ?? '', x.Value ?? '']));
          if (t.get(AWS_TAGS.owner) !== OWNER || s.SnapshotId === undefined) continue;
          const tags: SnapshotTags = { owner: OWNER, lease: t.get(AWS_TAGS.lease) ?? '', expires: t.get(AWS_TAGS.expires) ?? new Date(0).toISOString() };
          if (t.has(AWS_TAGS.scan)) tags.scan = t.get(AWS_TAGS.scan)!;
          const ref = snapshotRef(r.config.region, s.SnapshotId);
          out.push({ snapshot: { provider: this.provider, id: ref, ref }, tags });
        }
        next = page.NextToken ?? undefined;
      } while (next !== undefined);
    }
    return out;
  }
}
