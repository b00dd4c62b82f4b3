/**
 * The Kubernetes API's view of a cluster's nodes (@kubernetes/client-node, CoreV1 `GET
 * /api/v1/nodes`): what the cloud API does not say. Each Node is mapped to its cloud instance by
 * `spec.providerID` (`azure:///subscriptions/…/virtualMachineScaleSets/…/virtualMachines/N`,
 * `aws:///zone/i-…`, `gce://project/zone/name`); from it come the node's name, its labels (agent
 * pool / node group, node-image version, instance type, zone) and `status.nodeInfo` (the running
 * kernel, OS image, kubelet and container runtime versions).
 */
import { CoreV1Api, KubeConfig, type V1Node } from '@kubernetes/client-node';
import type { KubernetesAccountConfig } from '../config.ts';

export interface KubeNode {
  name: string;
  providerId: string | undefined;
  /** Cloud, region / zone and instance parsed from the providerID. */
  instance: ProviderInstance | undefined;
  labels: Record<string, string>;
  pool: string | undefined;
  nodeImageVersion: string | undefined;
  instanceType: string | undefined;
  zone: string | undefined;
  kernel: string | undefined;
  osImage: string | undefined;
  kubelet: string | undefined;
  containerRuntime: string | undefined;
}

export type ProviderInstance =
  | { cloud: 'azure'; resourceId: string }
  | { cloud: 'aws'; zone: string; instanceId: string }
  | { cloud: 'gce'; project: string; zone: string; name: string };

/** Nodes listed per request page; a cluster has at most 5,000 nodes (Kubernetes' tested limit). */
const PAGE_NODES = 500;
const MAX_NODES = 5000;

export function parseProviderId(id: string): ProviderInstance | undefined {
  let m = /^azure:\/\/(\/subscriptions\/[^?#\s]+)$/i.exec(id);
  if (m) return { cloud: 'azure', resourceId: m[1]! };
  m = /^aws:\/\/\/([a-z0-9-]+)\/(i-[0-9a-f]+)$/.exec(id);
  if (m) return { cloud: 'aws', zone: m[1]!, instanceId: m[2]! };
  m = /^gce:\/\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(id);
  if (m) return { cloud: 'gce', project: m[1]!, zone: m[2]!, name: m[3]! };
  return undefined;
}

function first(labels: Record<string, string>, keys: readonly string[]): string | undefined {
  for (const k of keys) if (labels[k] !== undefined) return labels[k];
  return undefined;
}

export function kubeNodeOf(n: V1Node): KubeNode | undefined {
  const name = n.metadata?.name;
  if (name === undefined) return undefined;
  const labels = { ...(n.metadata?.labels ?? {}) };
  const providerId = n.spec?.providerID;
  const info = n.status?.nodeInfo;
  return {
    name,
    providerId,
    instance: providerId !== undefined ? parseProviderId(providerId) : undefined,
    labels,
    pool: first(labels, ['kubernetes.azure.com/agentpool', 'agentpool', 'eks.amazonaws.com/nodegroup', 'alpha.eksctl.io/nodegroup-name', 'karpenter.sh/nodepool', 'cloud.google.com/gke-nodepool']),
    nodeImageVersion: first(labels, ['kubernetes.azure.com/node-image-version', 'eks.amazonaws.com/nodegroup-image']),
    instanceType: first(labels, ['node.kubernetes.io/instance-type', 'beta.kubernetes.io/instance-type']),
    zone: first(labels, ['topology.kubernetes.io/zone', 'failure-domain.beta.kubernetes.io/zone']),
    kernel: info?.kernelVersion,
    osImage: info?.osImage,
    kubelet: info?.kubeletVersion,
    containerRuntime: info?.containerRuntimeVersion,
  };
}

/** The nodes of a cluster by lower-cased providerID (Azure resource ids compare case-insensitively), or undefined when no context reaches it. */
export interface ClusterNodes {
  nodes(cluster: string): Promise<Map<string, KubeNode> | undefined>;
}

/** Lists nodes through a kubeconfig: the context named after the cluster (or mapped in `contexts`). */
export class KubeconfigNodes implements ClusterNodes {
  readonly #config: KubernetesAccountConfig;

  constructor(config: KubernetesAccountConfig) {
    this.#config = config;
  }

  #load(): KubeConfig {
    const kc = new KubeConfig();
    if (this.#config.kubeconfig !== undefined) kc.loadFromFile(this.#config.kubeconfig);
    else kc.loadFromDefault();
    return kc;
  }

  async nodes(cluster: string): Promise<Map<string, KubeNode> | undefined> {
    const kc = this.#load();
    const wanted = this.#config.contexts?.[cluster];
    // `az aks get-credentials` names a context after the cluster; `aws eks update-kubeconfig` after its ARN (…:cluster/NAME).
    const context = kc.getContexts().find((c) => (wanted !== undefined ? c.name === wanted : c.name === cluster || c.name.endsWith(`:cluster/${cluster}`)));
    if (!context) return undefined;
    kc.setCurrentContext(context.name);
    return listNodes(kc);
  }
}

export async function listNodes(kc: KubeConfig): Promise<Map<string, KubeNode>> {
  const api = kc.makeApiClient(CoreV1Api);
  const out = new Map<string, KubeNode>();
  let cont: string | undefined;
  let seen = 0;
  do {
    const page = await api.listNode({ limit: PAGE_NODES, ...(cont !== undefined && { _continue: cont }) });
    for (const item of page.items) {
      if (++seen > MAX_NODES) return out;
      const node = kubeNodeOf(item);
      if (node?.providerId !== undefined) out.set(node.providerId.toLowerCase(), node);
    }
    cont = page.metadata?._continue || undefined;
  } while (cont !== undefined);
  return out;
}
