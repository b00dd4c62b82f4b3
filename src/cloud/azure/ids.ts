/**
 * ARM resource ids: `/subscriptions/{sub}/resourceGroups/{rg}/providers/{namespace}/{type}/{name}[/{type}/{name}…]`
 * (Azure Resource Manager, "Resource identifier"; the `id` of every resource in the REST API
 * examples, and a node's `spec.providerID` after its `azure://` prefix). Compared
 * case-insensitively, as ARM does.
 */
export interface ResourceId {
  subscription: string;
  resourceGroup: string;
  namespace: string;
  /** Type/name pairs after the namespace: [["snapshots", "s1"]], [["virtualMachineScaleSets", "v"], ["virtualMachines", "0"]]. */
  path: Array<[string, string]>;
  /** The last name. */
  name: string;
}

/** Longest resource id accepted (ARM ids are far shorter). */
const MAX_RESOURCE_ID_CHARS = 2048;

export function parseResourceId(id: string): ResourceId | undefined {
  if (id.length > MAX_RESOURCE_ID_CHARS) return undefined;
  const parts = id.replace(/^azure:\/\//i, '').split('/');
  if (parts[0] !== '' || parts[1]?.toLowerCase() !== 'subscriptions' || parts[3]?.toLowerCase() !== 'resourcegroups' || parts[5]?.toLowerCase() !== 'providers') return undefined;
  const subscription = parts[2];
  const resourceGroup = parts[4];
  const namespace = parts[6];
  const rest = parts.slice(7);
  if (!subscription || !resourceGroup || !namespace || rest.length === 0 || rest.length % 2 !== 0 || rest.some((p) => p === '')) return undefined;
  const path: Array<[string, string]> = [];
  for (let i = 0; i < rest.length; i += 2) path.push([rest[i]!, decodeURIComponent(rest[i + 1]!)]);
  return { subscription, resourceGroup, namespace, path, name: path.at(-1)![1] };
}

export function sameResource(a: string, b: string): boolean {
  return a.replace(/^azure:\/\//i, '').toLowerCase() === b.replace(/^azure:\/\//i, '').toLowerCase();
}

/** The resource id of a snapshot. */
export function snapshotId(subscription: string, resourceGroup: string, name: string): string {
  return `/subscriptions/${subscription}/resourceGroups/${resourceGroup}/providers/Microsoft.Compute/snapshots/${name}`;
}
