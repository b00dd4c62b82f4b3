/**
 * AKS discovery: the subscription's managed clusters (Microsoft.ContainerService
 * ManagedClusters_List), their agent pools (AgentPools_List: OS SKU, node-image version, VM
 * size, count, mode, OS disk type, tags) and each pool's upgrade profile (the newest node image
 * offered), then the node resource group's scale sets and their instances
 * (Microsoft.Compute VirtualMachineScaleSets_List, VirtualMachineScaleSetVMs_List: each
 * instance's OS disk, managed or ephemeral). The Kubernetes API, when a kubeconfig reaches the
 * cluster, adds what ARM does not know: the running kernel and OS image of each node.
 */
import type { AgentPool, ManagedCluster } from '@azure/arm-containerservice';
import type { VirtualMachineScaleSet, VirtualMachineScaleSetVM } from '@azure/arm-compute';
import type { Account } from '../../store/index.ts';
import type { AzureAccountConfig } from '../config.ts';
import type { DiscoveredCluster, DiscoveredNode, DiscoveredPool, Discovery } from '../index.ts';
import type { ClusterNodes } from '../kubernetes/nodes.ts';
import { statusOf, type AzureClients } from './clients.ts';
import { parseResourceId } from './ids.ts';

/** AKS tags each pool's scale set with its pool name. */
const POOL_TAG = 'aks-managed-poolName';
const VMSS_NAME = /^aks-(.+)-\d+-vmss$/;

/** "AKSUbuntu-2204gen2containerd-202309.06.0" or "AKSUbuntu:1604:2020.03.11" → family and version. */
export function splitNodeImage(v: string): { family: string; version: string } | undefined {
  const colon = v.split(':');
  if (colon.length === 3 && colon.every((p) => p !== '')) return { family: `${colon[0]}-${colon[1]}`, version: colon[2]! };
  const m = /^(.+)-(\d{6}\.\d{2}\.\d+)$/.exec(v);
  return m ? { family: m[1]!, version: m[2]! } : undefined;
}

function tagsOf(t: Record<string, string> | undefined): Record<string, string> {
  return { ...(t ?? {}) };
}

export interface AzureDiscoveryOptions {
  clients: AzureClients;
  config: AzureAccountConfig;
  /** Node details from each cluster's Kubernetes API, when configured. */
  kubernetes?: ClusterNodes;
}

export class AzureDiscovery implements Discovery {
  readonly provider = 'azure';
  readonly #o: AzureDiscoveryOptions;

  constructor(o: AzureDiscoveryOptions) {
    this.#o = o;
  }

  async discover(_account: Account): Promise<DiscoveredCluster[]> {
    const { aks } = this.#o.clients;
    const groups = this.#o.config.resourceGroups?.map((g) => g.toLowerCase());
    const out: DiscoveredCluster[] = [];
    for await (const mc of aks.managedClusters.list()) {
      const id = mc.id !== undefined ? parseResourceId(mc.id) : undefined;
      if (!id || mc.name === undefined) continue;
      if (groups !== undefined && !groups.includes(id.resourceGroup.toLowerCase())) continue;
      out.push(await this.#cluster(mc, id.resourceGroup));
    }
    return out;
  }

  async #cluster(mc: ManagedCluster, resourceGroup: string): Promise<DiscoveredCluster> {
    const { aks } = this.#o.clients;
    const name = mc.name!;
    const cluster: DiscoveredCluster = { name, pools: [] };
    if (mc.id !== undefined) cluster.providerId = mc.id;
    if (mc.location !== undefined) cluster.region = mc.location;
    const k8s = mc.currentKubernetesVersion ?? mc.kubernetesVersion;
    if (k8s !== undefined) cluster.kubernetesVersion = k8s;
    cluster.tags = tagsOf(mc.tags);
    const pools: AgentPool[] = [];
    for await (const p of aks.agentPools.list(resourceGroup, name)) pools.push(p);
    const instances = mc.nodeResourceGroup !== undefined ? await this.#instances(mc.nodeResourceGroup) : new Map<string, VirtualMachineScaleSetVM[]>();
    const kube = await this.#o.kubernetes?.nodes(name);
    for (const p of pools) {
      if (p.name === undefined) continue;
      const pool: DiscoveredPool = { name: p.name, nodes: [], tags: tagsOf(p.tags) };
      if (p.osSKU !== undefined) pool.osSku = p.osSKU;
      if (p.vmSize !== undefined) pool.vmSize = p.vmSize;
      if (p.mode !== undefined) pool.mode = p.mode;
      if (p.count !== undefined) pool.nodeCount = p.count;
      const image = p.nodeImageVersion !== undefined ? splitNodeImage(p.nodeImageVersion) : undefined;
      if (image) {
        pool.imageFamily = image.family;
        pool.imageVersion = image.version;
      } else if (p.nodeImageVersion !== undefined) pool.imageFamily = p.nodeImageVersion;
      try {
        const upgrade = await aks.agentPools.getUpgradeProfile(resourceGroup, name, p.name);
        const latest = upgrade.latestNodeImageVersion;
        if (latest !== undefined) pool.latestImageVersion = splitNodeImage(latest)?.version ?? latest;
      } catch (err) {
        // A pool being created or deleted has no upgrade profile yet: the latest image is then unknown, not an error.
        if (statusOf(err) !== 404) throw err;
      }
      const poolEphemeral = p.osDiskType === 'Ephemeral';
      for (const vm of instances.get(p.name.toLowerCase()) ?? []) {
        const node = nodeOf(vm, poolEphemeral);
        if (!node) continue;
        const k = node.providerId !== undefined ? kube?.get(node.providerId.toLowerCase()) : undefined;
        if (k) {
          node.name = k.name;
          if (k.kernel !== undefined) node.kernel = k.kernel;
          if (k.osImage !== undefined) node.osImage = k.osImage;
        }
        pool.nodes.push(node);
      }
      if (pool.nodeCount === undefined) pool.nodeCount = pool.nodes.length;
      cluster.pools.push(pool);
    }
    return cluster;
  }

  /** The node resource group's scale-set instances, by pool name (lower case). */
  async #instances(nodeResourceGroup: string): Promise<Map<string, VirtualMachineScaleSetVM[]>> {
    const { compute } = this.#o.clients;
    const out = new Map<string, VirtualMachineScaleSetVM[]>();
    const sets: VirtualMachineScaleSet[] = [];
    try {
      for await (const s of compute.virtualMachineScaleSets.list(nodeResourceGroup)) sets.push(s);
    } catch (err) {
      // The node resource group is gone (cluster being deleted): no nodes.
      if (statusOf(err) === 404) return out;
      throw err;
    }
    for (const s of sets) {
      if (s.name === undefined) continue;
      const pool = s.tags?.[POOL_TAG] ?? VMSS_NAME.exec(s.name)?.[1];
      if (pool === undefined) continue;
      const vms: VirtualMachineScaleSetVM[] = [];
      for await (const vm of compute.virtualMachineScaleSetVMs.list(nodeResourceGroup, s.name)) vms.push(vm);
      out.set(pool.toLowerCase(), [...(out.get(pool.toLowerCase()) ?? []), ...vms]);
    }
    return out;
  }
}

function nodeOf(vm: VirtualMachineScaleSetVM, poolEphemeral: boolean): DiscoveredNode | undefined {
  const name = vm.osProfile?.computerName ?? vm.name;
  if (name === undefined) return undefined;
  const osDisk = vm.storageProfile?.osDisk;
  // An ephemeral OS disk lives on the host's cache or temp disk: there is no managed disk to snapshot.
  const ephemeral = poolEphemeral || osDisk?.diffDiskSettings?.option === 'Local';
  const node: DiscoveredNode = { name, ephemeralOsDisk: ephemeral, tags: tagsOf(vm.tags) };
  if (vm.id !== undefined) node.providerId = `azure://${vm.id}`;
  const disk = osDisk?.managedDisk?.id;
  if (!ephemeral && disk !== undefined) node.diskRef = disk;
  return node;
}
