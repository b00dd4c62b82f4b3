/** The control plane's model: what the store keeps, as typed records (store/index.ts). */

export const PROVIDERS = ['local', 'azure', 'aws', 'gcp'] as const;
export type Provider = (typeof PROVIDERS)[number];

/** When an account's scheduled runs fire: every N hours (daily = 24) or a cron expression (UTC unless timezone). */
export type Schedule = { kind: 'interval'; hours: number } | { kind: 'cron'; expression: string; timezone?: string };

export interface AccountSettings {
  /** The plan setting "Agentless scanning for machines". Off by default. */
  agentlessScanning: boolean;
  /** Malware scanning of node disks (needs agentlessScanning). */
  malware: boolean;
  /** A cluster, pool or node carrying any of these tags (key: value) is not scanned and shows as excluded. */
  exclusionTags: Record<string, string>;
  schedule: Schedule;
  /** Resolved findings, alerts and runs older than this are purged. */
  retentionDays: number;
}

export const DEFAULT_SETTINGS: AccountSettings = {
  agentlessScanning: false,
  malware: false,
  exclusionTags: {},
  schedule: { kind: 'interval', hours: 24 },
  retentionDays: 90,
};

export interface Account {
  id: string;
  provider: Provider;
  externalId: string;
  name: string;
  settings: AccountSettings;
  settingsVersion: number;
  createdAt: string;
  updatedAt: string;
}

export interface SettingsVersion {
  account: string;
  version: number;
  settings: AccountSettings;
  changedBy: string;
  changedAt: string;
}

export type Tags = Record<string, string>;

export interface Cluster {
  id: string;
  account: string;
  name: string;
  providerId?: string;
  region?: string;
  kubernetesVersion?: string;
  tags: Tags;
  firstSeen: string;
  lastSeen: string;
  goneAt?: string;
}

export interface NodePool {
  id: string;
  account: string;
  cluster: string;
  name: string;
  osSku?: string;
  /** Node-image family ("AKSUbuntu-2204gen2containerd") and version ("202309.06.0"). */
  imageFamily?: string;
  imageVersion?: string;
  /** The newest image the provider offers for this pool (its upgrade profile), when known. */
  latestImageVersion?: string;
  vmSize?: string;
  nodeCount: number;
  mode?: string;
  tags: Tags;
  firstSeen: string;
  lastSeen: string;
  goneAt?: string;
}

export interface Node {
  id: string;
  account: string;
  cluster: string;
  pool: string;
  name: string;
  providerId?: string;
  /** The running kernel and OS image as the cluster reports them (status.nodeInfo). */
  kernel?: string;
  osImage?: string;
  /** What the snapshot provider snapshots: a file path or URL (local), a disk resource id (cloud). */
  diskRef?: string;
  ephemeralOsDisk: boolean;
  tags: Tags;
  currentInventoryId?: string;
  lastScanId?: string;
  lastPublishedAt?: string;
  firstSeen: string;
  lastSeen: string;
  goneAt?: string;
}

export const RUN_TRIGGERS = ['schedule', 'on-demand', 'data-update'] as const;
export type RunTrigger = (typeof RUN_TRIGGERS)[number];
export const RUN_STATES = ['queued', 'running', 'completed', 'failed', 'cancelled'] as const;
export type RunState = (typeof RUN_STATES)[number];

export interface ScanRun {
  id: string;
  account: string;
  trigger: RunTrigger;
  state: RunState;
  requestedBy: string;
  /** Limits the run to a cluster or pool (on-demand), by id. */
  scope?: { cluster?: string; pool?: string };
  counts: { total: number; published: number; failed: number; skipped: number };
  error?: string;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
}

/** queued → snapshot → read → match → published | failed | skipped. */
export const NODE_SCAN_STATES = ['queued', 'snapshot', 'read', 'match', 'published', 'failed', 'skipped'] as const;
export type NodeScanState = (typeof NODE_SCAN_STATES)[number];
export const ACTIVE_NODE_SCAN_STATES = ['snapshot', 'read', 'match'] as const satisfies readonly NodeScanState[];
export const FINAL_NODE_SCAN_STATES = ['published', 'failed', 'skipped'] as const satisfies readonly NodeScanState[];

/** Why a node scan was skipped or failed (or, for a published one, a caveat such as ephemeral-disk). */
export const NODE_SCAN_REASONS = [
  'excluded',
  'ephemeral-disk',
  'no-disk',
  'disk-not-found',
  'snapshot-denied',
  'snapshot-failed',
  'snapshot-lost',
  'unreadable-disk',
  'unsupported-os',
  'budget-exceeded',
  'interrupted',
  'internal-error',
] as const;
export type NodeScanReason = (typeof NODE_SCAN_REASONS)[number];

/** Where a node scan's inventory came from. */
export type InventorySource = 'disk' | 'reused' | 'catalog';

export interface NodeScan {
  id: string;
  run: string;
  node: string;
  account: string;
  state: NodeScanState;
  reason?: NodeScanReason;
  reasonDetail?: string;
  inventoryId?: string;
  inventorySource?: InventorySource;
  fingerprint?: string;
  bytesRead: number;
  durationMs?: number;
  findings?: number;
  alerts?: number;
  /** Coverage issues from the engine (target, vuln, malware). */
  coverage?: unknown;
  attempts: number;
  worker?: string;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
}

export interface NodeRef {
  account: string;
  cluster: string;
  nodePool: string;
  node: string;
}

export const ALERT_STATUSES = ['active', 'dismissed', 'resolved'] as const;
export type AlertStatus = (typeof ALERT_STATUSES)[number];

export type LeaseState = 'intent' | 'created' | 'deleted' | 'delete-failed';

export interface SnapshotLease {
  id: string;
  provider: string;
  account: string;
  node?: string;
  nodeScan?: string;
  diskRef: string;
  snapshotRef?: string;
  state: LeaseState;
  owner: string;
  error?: string;
  createdAt: string;
  expiresAt: string;
  deletedAt?: string;
}
