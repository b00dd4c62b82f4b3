/**
 * EKS discovery: the region's clusters (ListClusters, DescribeCluster), their managed node
 * groups (ListNodegroups, DescribeNodegroup: AMI type, release version, instance types, size,
 * tags) and each group's instances (EC2 DescribeInstances filtered by the tags EKS puts on
 * them, `eks:cluster-name` and `eks:nodegroup-name`): the root EBS volume of each (the block
 * device mapping of its root device name). Node names are the instances' private DNS names,
 * as the kubelet registers them; the Kubernetes API, when reachable, adds the running kernel
 * and OS image.
 */
import { DescribeInstancesCommand, type Instance } from '@aws-sdk/client-ec2';
import { DescribeClusterCommand, DescribeNodegroupCommand, ListClustersCommand, ListNodegroupsCommand } from '@aws-sdk/client-eks';
import type { Account } from '../../store/index.ts';
import type { AwsAccountConfig } from '../config.ts';
import type { DiscoveredCluster, DiscoveredNode, DiscoveredPool, Discovery } from '../index.ts';
import type { ClusterNodes } from '../kubernetes/nodes.ts';
import type { AwsClients } from './clients.ts';
import { volumeRef } from './refs.ts';

export interface AwsDiscoveryOptions {
  account: string;
  clients: AwsClients;
  config: AwsAccountConfig;
  kubernetes?: ClusterNodes;
}

export class AwsDiscovery implements Discovery {
  readonly provider = 'aws';
  readonly #o: AwsDiscoveryOptions;

  constructor(o: AwsDiscoveryOptions) {
    this.#o = o;
  }

  async discover(_account: Account): Promise<DiscoveredCluster[]> {
    const { eks } = this.#o.clients;
    const names: string[] = [];
    let next: string | undefined;
    do {
      const page = await eks.send(new ListClustersCommand({ ...(next !== undefined && { nextToken: next }) }));
      names.push(...(page.clusters ?? []));
      next = page.nextToken ?? undefined;
    } while (next !== undefined);
    const wanted = this.#o.config.clusters;
    const out: DiscoveredCluster[] = [];
    for (const name of names) {
      if (wanted !== undefined && !wanted.includes(name)) continue;
      out.push(await this.#cluster(name));
    }
    return out;
  }

  async #cluster(name: string): Promise<DiscoveredCluster> {
    const { eks } = this.#o.clients;
    const c = (await eks.send(new DescribeClusterCommand({ name }))).cluster;
    const cluster: DiscoveredCluster = { name, region: this.#o.config.region, pools: [], tags: { ...(c?.tags ?? {}) } };
    if (c?.arn !== undefined) cluster.providerId = c.arn;
    if (c?.version !== undefined) cluster.kubernetesVersion = c.version;
    const groups: string[] = [];
    let next: string | undefined;
    do {
      const page = await eks.send(new ListNodegroupsCommand({ clusterName: name, ...(next !== undefined && { nextToken: next }) }));
      groups.push(...(page.nodegroups ?? []));
      next = page.nextToken ?? undefined;
    } while (next !== undefined);
    const kube = await this.#o.kubernetes?.nodes(name);
    for (const g of groups) {
      const ng = (await eks.send(new DescribeNodegroupCommand({ clusterName: name, nodegroupName: g }))).nodegroup;
      const pool: DiscoveredPool = { name: g, nodes: [], tags: { ...(ng?.tags ?? {}) } };
      // The AMI type is the image family (AL2023_x86_64_STANDARD, BOTTLEROCKET_x86_64, …); the release version its version.
      if (ng?.amiType !== undefined) pool.imageFamily = ng.amiType;
      if (ng?.releaseVersion !== undefined) pool.imageVersion = ng.releaseVersion;
      if (ng?.amiType !== undefined) pool.osSku = ng.amiType.replace(/_(x86_64|ARM_64|arm64).*$/i, '');
      if (ng?.instanceTypes?.[0] !== undefined) pool.vmSize = ng.instanceTypes[0];
      if (ng?.capacityType !== undefined) pool.mode = ng.capacityType;
      if (ng?.scalingConfig?.desiredSize !== undefined) pool.nodeCount = ng.scalingConfig.desiredSize;
      for (const i of await this.#instances(name, g)) {
        const node = this.#node(i);
        if (!node) continue;
        const k = node.providerId !== undefined ? kube?.get(node.providerId.toLowerCase()) : undefined;
        if (k) {
          node.name = k.name;
          if (k.kernel !== undefined) node.kernel = k.kernel;
          if (k.osImage !== undefined) node.osImage = k.osImage;
        }
        pool.nodes.push(node);
      }
      cluster.pools.push(pool);
    }
    return cluster;
  }

  async #instances(cluster: string, group: string): Promise<Instance[]> {
    const out: Instance[] = [];
    let next: string | undefined;
    do {
      const page = await this.#o.clients.ec2.send(
        new DescribeInstancesCommand({
          Filters: [
            { Name: 'tag:eks:cluster-name', Values: [cluster] },
            { Name: 'tag:eks:nodegroup-name', Values: [group] },
            { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
          ],
          ...(next !== undefined && { NextToken: next }),
        }),
      );
      for (const r of page.Reservations ?? []) out.push(...(r.Instances ?? []));
      next = page.NextToken ?? undefined;
    } while (next !== undefined);
    return out;
  }

  #node(i: Instance): DiscoveredNode | undefined {
    const name = i.PrivateDnsName || i.InstanceId;
    if (name === undefined) return undefined;
    const tags: Record<string, string> = {};
    for (const t of i.Tags ?? []) if (t.Key !== undefined) tags[t.Key] = t.Value ?? '';
    const node: DiscoveredNode = { name, ephemeralOsDisk: false, tags };
    const zone = i.Placement?.AvailabilityZone;
    if (zone !== undefined && i.InstanceId !== undefined) node.providerId = `aws:///${zone}/${i.InstanceId}`;
    const root = i.BlockDeviceMappings?.find((m) => m.DeviceName === i.RootDeviceName)?.Ebs?.VolumeId;
    // An instance-store root (no EBS root volume) has nothing to snapshot: like an ephemeral OS disk.
    if (root !== undefined) node.diskRef = volumeRef(this.#o.config.region, root);
    else node.ephemeralOsDisk = true;
    return node;
  }
}
