/**
 * The environment file (YAML): accounts with their settings and, for the local provider, the
 * clusters, node pools and nodes whose disks are local image files, directories or URLs. The
 * shape is a contract (docs/control-plane.md); relative disk paths resolve against the file.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { parseNodeImage } from '../catalog/index.ts';
import { awsAccountSchema, azureAccountSchema, kubernetesAccountSchema, type AwsAccountConfig, type AzureAccountConfig, type KubernetesAccountConfig } from '../cloud/config.ts';
import type { DiscoveredCluster } from '../store/fleet-store.ts';
import { PROVIDERS, type AccountSettings, type Provider } from '../store/index.ts';
import { UsageError } from '../util/errors.ts';
import { parseSchedule } from './settings.ts';
import { isUrl } from '../util/url-policy.ts';

/** An environment file larger than this is refused (it lists accounts, not data). */
export const MAX_ENVIRONMENT_BYTES = 16 * 1024 * 1024;

const onOff = z.union([z.boolean(), z.enum(['on', 'off', 'true', 'false'])]).transform((v) => v === true || v === 'on' || v === 'true');
const tags = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String));

const settingsSchema = z
  .object({
    agentlessScanning: onOff.optional(),
    malware: onOff.optional(),
    exclusionTags: tags.optional(),
    schedule: z.union([z.string(), z.object({ every: z.string() }).strict(), z.object({ cron: z.string(), timezone: z.string().optional() }).strict()]).optional(),
    retentionDays: z.number().int().min(1).max(3650).optional(),
  })
  .strict();

const nodeSchema = z
  .object({
    name: z.string().min(1),
    disk: z.string().min(1).optional(),
    ephemeralOsDisk: z.boolean().optional(),
    kernel: z.string().optional(),
    osImage: z.string().optional(),
    providerId: z.string().optional(),
    tags: tags.optional(),
  })
  .strict();

const poolSchema = z
  .object({
    name: z.string().min(1),
    nodeImage: z.string().optional(),
    latestNodeImage: z.string().optional(),
    osSku: z.string().optional(),
    vmSize: z.string().optional(),
    mode: z.string().optional(),
    tags: tags.optional(),
    nodes: z.array(nodeSchema).default([]),
  })
  .strict();

const clusterSchema = z
  .object({
    name: z.string().min(1),
    region: z.string().optional(),
    kubernetesVersion: z.string().optional(),
    tags: tags.optional(),
    pools: z.array(poolSchema).default([]),
  })
  .strict();

const accountSchema = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, 'letters, digits, . _ : - (at most 128)'),
    provider: z.enum(PROVIDERS),
    name: z.string().optional(),
    externalId: z.string().optional(),
    settings: settingsSchema.optional(),
    clusters: z.array(clusterSchema).optional(),
    /** Provider settings (docs/cloud-providers.md); credentials come from the process environment. */
    azure: azureAccountSchema.optional(),
    aws: awsAccountSchema.optional(),
    kubernetes: kubernetesAccountSchema.optional(),
  })
  .strict();

const environmentSchema = z.object({ accounts: z.array(accountSchema) }).strict();

export interface AccountConfig {
  id: string;
  provider: Provider;
  name?: string;
  externalId?: string;
  /** Only what the file states; the store fills the rest with defaults. */
  settings?: Partial<AccountSettings>;
  /** Local provider: the clusters the file describes, disks resolved to absolute paths or URLs. */
  clusters?: DiscoveredCluster[];
  /** Cloud providers: where to look (file paths resolved against the file). */
  azure?: AzureAccountConfig;
  aws?: AwsAccountConfig;
  kubernetes?: KubernetesAccountConfig;
}

export interface Environment {
  path: string;
  accounts: AccountConfig[];
}


function resolveDisk(disk: string, base: string): string {
  return isUrl(disk) || isAbsolute(disk) ? disk : resolve(base, disk);
}

function toSettings(s: z.infer<typeof settingsSchema>): Partial<AccountSettings> {
  const out: Partial<AccountSettings> = {};
  if (s.agentlessScanning !== undefined) out.agentlessScanning = s.agentlessScanning;
  if (s.malware !== undefined) out.malware = s.malware;
  if (s.exclusionTags !== undefined) out.exclusionTags = s.exclusionTags;
  if (s.retentionDays !== undefined) out.retentionDays = s.retentionDays;
  if (s.schedule !== undefined) {
    const raw = s.schedule;
    out.schedule = typeof raw === 'string' ? parseSchedule(raw) : 'every' in raw ? parseSchedule(raw.every) : parseSchedule(`cron:${raw.cron}`, raw.timezone);
  }
  return out;
}

function describeZodError(err: z.ZodError): string {
  return err.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : '(top)'}: ${i.message}`)
    .join('; ');
}

/** Parses an environment document; `base` is the directory relative disk paths resolve against. */
export function parseEnvironment(text: string, base: string, path = '(environment)'): Environment {
  let doc: unknown;
  try {
    doc = parseYaml(text, { maxAliasCount: 100 });
  } catch (err) {
    throw new UsageError(`environment file ${path} is not valid YAML: ${(err as Error).message}`, { cause: err });
  }
  const parsed = environmentSchema.safeParse(doc);
  if (!parsed.success) throw new UsageError(`environment file ${path}: ${describeZodError(parsed.error)}`);
  const seen = new Set<string>();
  const accounts: AccountConfig[] = [];
  for (const a of parsed.data.accounts) {
    if (seen.has(a.id)) throw new UsageError(`environment file ${path}: account '${a.id}' is listed twice`);
    seen.add(a.id);
    if (a.clusters !== undefined && a.provider !== 'local') throw new UsageError(`environment file ${path}: account '${a.id}': only local accounts list clusters; ${a.provider} clusters are discovered`);
    const acc: AccountConfig = { id: a.id, provider: a.provider };
    if (a.name !== undefined) acc.name = a.name;
    if (a.externalId !== undefined) acc.externalId = a.externalId;
    if (a.settings !== undefined) {
      try {
        acc.settings = toSettings(a.settings);
      } catch (err) {
        throw new UsageError(`environment file ${path}: account '${a.id}': ${(err as Error).message}`, { cause: err });
      }
    }
    if (a.clusters !== undefined) acc.clusters = a.clusters.map((c) => toCluster(c, base, `${path}: account '${a.id}'`));
    if ((a.azure !== undefined && a.provider !== 'azure') || (a.aws !== undefined && a.provider !== 'aws')) throw new UsageError(`environment file ${path}: account '${a.id}': ${a.azure !== undefined ? 'azure' : 'aws'} settings on a ${a.provider} account`);
    if (a.provider === 'azure' && a.azure === undefined) throw new UsageError(`environment file ${path}: account '${a.id}': an azure account needs azure: { subscriptionId }`);
    if (a.provider === 'aws' && a.aws === undefined) throw new UsageError(`environment file ${path}: account '${a.id}': an aws account needs aws: { region }`);
    if (a.azure !== undefined) acc.azure = { ...a.azure, ...(a.azure.caFile !== undefined && { caFile: resolve(base, a.azure.caFile) }) };
    if (a.aws !== undefined) acc.aws = { ...a.aws, ...(a.aws.caFile !== undefined && { caFile: resolve(base, a.aws.caFile) }) };
    if (a.kubernetes !== undefined) acc.kubernetes = { ...a.kubernetes, ...(a.kubernetes.kubeconfig !== undefined && { kubeconfig: resolve(base, a.kubernetes.kubeconfig) }) };
    accounts.push(acc);
  }
  return { path, accounts };
}

function toCluster(c: z.infer<typeof clusterSchema>, base: string, where: string): DiscoveredCluster {
  const names = new Set<string>();
  const cluster: DiscoveredCluster = { name: c.name, pools: [] };
  if (c.region !== undefined) cluster.region = c.region;
  if (c.kubernetesVersion !== undefined) cluster.kubernetesVersion = c.kubernetesVersion;
  if (c.tags !== undefined) cluster.tags = c.tags;
  for (const p of c.pools) {
    if (names.has(p.name)) throw new UsageError(`environment file ${where}: cluster '${c.name}' lists pool '${p.name}' twice`);
    names.add(p.name);
    const pool: DiscoveredCluster['pools'][number] = { name: p.name, nodes: [] };
    if (p.nodeImage !== undefined) {
      const img = parseNodeImage(p.nodeImage);
      if (img) {
        pool.imageFamily = img.family;
        pool.imageVersion = img.version;
      } else {
        pool.imageFamily = p.nodeImage;
      }
    }
    if (p.latestNodeImage !== undefined) pool.latestImageVersion = parseNodeImage(p.latestNodeImage)?.version ?? p.latestNodeImage;
    if (p.osSku !== undefined) pool.osSku = p.osSku;
    if (p.vmSize !== undefined) pool.vmSize = p.vmSize;
    if (p.mode !== undefined) pool.mode = p.mode;
    if (p.tags !== undefined) pool.tags = p.tags;
    const nodeNames = new Set<string>();
    for (const n of p.nodes) {
      if (nodeNames.has(n.name)) throw new UsageError(`environment file ${where}: pool '${p.name}' lists node '${n.name}' twice`);
      nodeNames.add(n.name);
      const node: DiscoveredCluster['pools'][number]['nodes'][number] = { name: n.name, ephemeralOsDisk: n.ephemeralOsDisk ?? false };
      if (n.disk !== undefined) node.diskRef = resolveDisk(n.disk, base);
      if (n.kernel !== undefined) node.kernel = n.kernel;
      if (n.osImage !== undefined) node.osImage = n.osImage;
      if (n.providerId !== undefined) node.providerId = n.providerId;
      if (n.tags !== undefined) node.tags = n.tags;
      pool.nodes.push(node);
    }
    cluster.pools.push(pool);
  }
  return cluster;
}

/** Reads and parses an environment file. */
export function loadEnvironment(path: string): Environment {
  let text: string;
  try {
    const buf = readFileSync(path);
    if (buf.length > MAX_ENVIRONMENT_BYTES) throw new UsageError(`environment file ${path} is larger than ${MAX_ENVIRONMENT_BYTES} bytes`);
    text = buf.toString('utf8');
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(code === 'ENOENT' ? `environment file ${path} does not exist` : `cannot read environment file ${path}: ${(err as Error).message}`, { cause: err });
  }
  return parseEnvironment(text, dirname(resolve(path)), path);
}
