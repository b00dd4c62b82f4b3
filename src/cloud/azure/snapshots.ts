/**
 * Azure managed-disk snapshots of AKS node OS disks (Microsoft.Compute DiskRP):
 * - create: Disks_Get (region), then Snapshots_CreateOrUpdate — an **incremental** copy of the
 *   disk, in the disk's region, tagged as ours (owner, lease, scan, expiry); polled to the end
 *   as the SDK does (Azure-AsyncOperation / Location).
 * - open: Snapshots_GrantAccess (read, short-lived) → a SAS URL of the snapshot as a fixed VHD
 *   page blob, which the engine reads with HTTP ranges (disk/http-source.ts; the SAS is never
 *   logged: descriptions and errors keep scheme, host and path only).
 * - close: Snapshots_RevokeAccess. delete: Snapshots_Delete (gone already is success).
 * - listOurs: Snapshots_List per configured subscription, filtered by our owner tag.
 * Writes go through one budget per subscription (cloud/limiter.ts).
 */
import type { ComputeManagementClient } from '@azure/arm-compute';
import type { Node } from '../../store/index.ts';
import { redactSecrets } from '../../util/redact.ts';
import type { AzureAccountConfig } from '../config.ts';
import { SnapshotError, type Snapshot, type SnapshotFailure, type SnapshotProvider, type SnapshotTags, type SnapshotTarget, type TaggedSnapshot } from '../index.ts';
import { KeyedLimiter } from '../limiter.ts';
import { codeOf, statusOf, type AzureClients } from './clients.ts';
import { parseResourceId, snapshotId } from './ids.ts';

/** Tag keys on every snapshot we make (ARM tag names: no `<>%&\?/`). */
export const AZURE_TAGS = { owner: 'hullscan-owner', lease: 'hullscan-lease', scan: 'hullscan-scan', expires: 'hullscan-expires' } as const;
const OWNER = 'hullscan';
const DEFAULT_SAS_SECONDS = 3600;
const DEFAULT_WRITES_IN_FLIGHT = 4;

interface Subscription {
  clients: AzureClients;
  config: AzureAccountConfig;
}

/** The node scan's reason for an ARM error. */
function failure(err: unknown, what: string, notFound: SnapshotFailure): SnapshotError {
  const status = statusOf(err);
  const code = codeOf(err);
  const detail = redactSecrets(`${what}: ${code !== undefined ? `${code}: ` : ''}${(err as Error)?.message ?? String(err)}`);
  if (status === 404) return new SnapshotError(notFound, detail, { cause: err });
  if (status === 401 || status === 403) return new SnapshotError('snapshot-denied', detail, { cause: err });
  return new SnapshotError('snapshot-failed', detail, { cause: err });
}

export class AzureSnapshotProvider implements SnapshotProvider {
  readonly provider = 'azure';
  /** By lower-cased subscription id. */
  readonly #subs = new Map<string, Subscription>();
  readonly #writes = new Map<string, KeyedLimiter>();

  constructor(subscriptions: ReadonlyArray<Subscription>) {
    for (const s of subscriptions) this.#subs.set(s.config.subscriptionId.toLowerCase(), s);
  }

  #sub(resourceId: string): { sub: Subscription; id: NonNullable<ReturnType<typeof parseResourceId>> } {
    const id = parseResourceId(resourceId);
    if (!id) throw new SnapshotError('snapshot-failed', `'${resourceId}' is not an Azure resource id`);
    const sub = this.#subs.get(id.subscription.toLowerCase());
    if (!sub) throw new SnapshotError('snapshot-failed', `no azure account in the environment file has subscription ${id.subscription}`);
    return { sub, id };
  }

  #write<T>(sub: Subscription, fn: () => Promise<T>): Promise<T> {
    const key = sub.config.subscriptionId.toLowerCase();
    let l = this.#writes.get(key);
    if (!l) this.#writes.set(key, (l = new KeyedLimiter(sub.config.maxWritesInFlight ?? DEFAULT_WRITES_IN_FLIGHT)));
    return l.run(key, fn);
  }

  #poll(sub: Subscription): { updateIntervalInMs?: number } {
    return sub.config.pollIntervalMs !== undefined ? { updateIntervalInMs: sub.config.pollIntervalMs } : {};
  }

  async create(node: Node, tags: SnapshotTags): Promise<Snapshot> {
    if (node.diskRef === undefined || node.diskRef === '') throw new SnapshotError('no-disk', `node ${node.name} has no managed OS disk`);
    const { sub, id } = this.#sub(node.diskRef);
    if (id.path.length !== 1 || id.path[0]![0].toLowerCase() !== 'disks') throw new SnapshotError('no-disk', `node ${node.name}: '${node.diskRef}' is not a managed disk`);
    const compute: ComputeManagementClient = sub.clients.compute;
    let location: string;
    try {
      const disk = await compute.disks.get(id.resourceGroup, id.name);
      location = disk.location;
    } catch (err) {
      throw failure(err, `disk ${node.diskRef}`, 'disk-not-found');
    }
    const group = sub.config.snapshotResourceGroup ?? id.resourceGroup;
    const name = `hullscan-${tags.lease}`;
    const armTags: Record<string, string> = { [AZURE_TAGS.owner]: OWNER, [AZURE_TAGS.lease]: tags.lease, [AZURE_TAGS.expires]: tags.expires };
    if (tags.scan !== undefined) armTags[AZURE_TAGS.scan] = tags.scan;
    try {
      const created = await this.#write(sub, () =>
        compute.snapshots.createOrUpdate(group, name, { location, tags: armTags, creationData: { createOption: 'Copy', sourceResourceId: node.diskRef! }, incremental: true }, this.#poll(sub)).pollUntilDone(),
      );
      const ref = created.id ?? snapshotId(id.subscription, group, name);
      return { provider: this.provider, id: ref, ref };
    } catch (err) {
      throw failure(err, `snapshot of ${node.diskRef}`, 'disk-not-found');
    }
  }

  async open(snapshot: Snapshot): Promise<SnapshotTarget> {
    const { sub, id } = this.#sub(snapshot.ref);
    let sas: string | undefined;
    try {
      const access = await this.#write(sub, () =>
        sub.clients.compute.snapshots.grantAccess(id.resourceGroup, id.name, { access: 'Read', durationInSeconds: sub.config.sasSeconds ?? DEFAULT_SAS_SECONDS }, this.#poll(sub)).pollUntilDone(),
      );
      sas = access.accessSAS;
    } catch (err) {
      throw failure(err, `read access to ${snapshot.ref}`, 'snapshot-lost');
    }
    if (sas === undefined || sas === '') throw new SnapshotError('snapshot-failed', `read access to ${snapshot.ref}: ARM returned no SAS URL`);
    const target: SnapshotTarget = { spec: sas };
    if (sub.clients.ca !== undefined) target.options = { http: { ca: sub.clients.ca } };
    return target;
  }

  async close(snapshot: Snapshot): Promise<void> {
    const { sub, id } = this.#sub(snapshot.ref);
    try {
      await this.#write(sub, () => sub.clients.compute.snapshots.revokeAccess(id.resourceGroup, id.name, this.#poll(sub)).pollUntilDone());
    } catch (err) {
      if (statusOf(err) !== 404) throw failure(err, `revoking read access to ${snapshot.ref}`, 'snapshot-lost');
    }
  }

  async delete(snapshot: Snapshot): Promise<void> {
    const { sub, id } = this.#sub(snapshot.id);
    try {
      await this.#write(sub, () => sub.clients.compute.snapshots.delete(id.resourceGroup, id.name, this.#poll(sub)).pollUntilDone());
    } catch (err) {
      if (statusOf(err) !== 404) throw failure(err, `deleting ${snapshot.id}`, 'snapshot-lost');
    }
  }

  async listOurs(): Promise<TaggedSnapshot[]> {
    const out: TaggedSnapshot[] = [];
    for (const sub of this.#subs.values()) {
      for await (const s of sub.clients.compute.snapshots.list()) {
        const t = s.tags ?? {};
        if (t[AZURE_TAGS.owner] !== OWNER || s.id === undefined) continue;
        const tags: SnapshotTags = { owner: OWNER, lease: t[AZURE_TAGS.lease] ?? '', expires: t[AZURE_TAGS.expires] ?? new Date(0).toISOString() };
        if (t[AZURE_TAGS.scan] !== undefined) tags.scan = t[AZURE_TAGS.scan];
        out.push({ snapshot: { provider: this.provider, id: s.id, ref: s.id }, tags });
      }
    }
    return out;
  }
}
