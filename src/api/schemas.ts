/** The API's request and response schemas: one zod schema each = validation + OpenAPI + types. */
import { z } from '@hono/zod-openapi';
import { ROLES } from '../store/auth-store.ts';
import { NODE_SCAN_REASONS, NODE_SCAN_STATES, PROVIDERS, RUN_STATES, RUN_TRIGGERS } from '../store/model.ts';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './route.ts';

export const Id = z.string().min(1).max(200).regex(/^[A-Za-z0-9._:@/+=-]+$/, 'an id: letters, digits and ._:@/+=-');
export const IdParam = z.object({ id: Id.openapi({ param: { name: 'id', in: 'path' } }) });

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    instance: z.string().optional(),
    requestId: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi('Problem');

export const PageQuery = z.object({
  cursor: z.string().max(2000).optional().openapi({ description: 'The "next" of the previous page' }),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(DEFAULT_PAGE_SIZE).optional(),
});

export function pageSchema<T extends z.ZodType>(item: T, name: string) {
  return z.object({ items: z.array(item), next: z.string().nullable() }).openapi(name);
}

const Tags = z.record(z.string(), z.string());

export const ScheduleSchema = z
  .union([
    z.object({ kind: z.literal('interval'), hours: z.number().int().min(1).max(24 * 366) }).strict(),
    z.object({ kind: z.literal('cron'), expression: z.string().min(1).max(200), timezone: z.string().max(100).optional() }).strict(),
  ])
  .openapi('Schedule');

export const SettingsSchema = z
  .object({
    agentlessScanning: z.boolean().openapi({ description: 'The plan setting "Agentless scanning for machines"' }),
    malware: z.boolean(),
    exclusionTags: Tags,
    schedule: ScheduleSchema,
    retentionDays: z.number().int().min(1).max(3650),
  })
  .openapi('AccountSettings');

export const SettingsPatchSchema = z
  .object({
    agentlessScanning: z.boolean(),
    malware: z.boolean(),
    exclusionTags: z.record(z.string().min(1).max(256), z.string().max(256)),
    schedule: ScheduleSchema,
    retentionDays: z.number().int().min(1).max(3650),
  })
  .partial()
  .strict()
  .openapi('AccountSettingsPatch');

export const SettingsResponse = z.object({ account: z.string(), version: z.number().int(), settings: SettingsSchema }).openapi('AccountSettingsVersion');

export const AccountSchema = z
  .object({ id: z.string(), account: z.string(), provider: z.enum(PROVIDERS), externalId: z.string(), name: z.string(), settings: SettingsSchema, settingsVersion: z.number().int(), createdAt: z.string(), updatedAt: z.string() })
  .openapi('Account');

export const SettingsHistorySchema = z.object({ items: z.array(z.object({ version: z.number().int(), settings: SettingsSchema, changedBy: z.string(), changedAt: z.string() })) }).openapi('SettingsHistory');

export const ClusterSchema = z
  .object({
    id: z.string(), account: z.string(), name: z.string(), providerId: z.string().optional(), region: z.string().optional(), kubernetesVersion: z.string().optional(),
    tags: Tags, firstSeen: z.string(), lastSeen: z.string(), goneAt: z.string().optional(),
  })
  .openapi('Cluster');

export const PoolSchema = z
  .object({
    id: z.string(), account: z.string(), cluster: z.string(), name: z.string(), osSku: z.string().optional(), imageFamily: z.string().optional(), imageVersion: z.string().optional(),
    latestImageVersion: z.string().optional(), vmSize: z.string().optional(), nodeCount: z.number().int(), mode: z.string().optional(), tags: Tags, firstSeen: z.string(), lastSeen: z.string(), goneAt: z.string().optional(),
  })
  .openapi('NodePool');

export const NodeScanSchema = z
  .object({
    id: z.string(), run: z.string(), node: z.string(), account: z.string(), state: z.enum(NODE_SCAN_STATES), reason: z.enum(NODE_SCAN_REASONS).optional(), reasonDetail: z.string().optional(),
    inventoryId: z.string().optional(), inventorySource: z.enum(['disk', 'reused', 'catalog']).optional(), bytesRead: z.number(), durationMs: z.number().optional(),
    findings: z.number().int().optional(), alerts: z.number().int().optional(), coverage: z.unknown().optional(), attempts: z.number().int(),
    createdAt: z.string(), startedAt: z.string().optional(), finishedAt: z.string().optional(),
  })
  .openapi('NodeScan');

export const CoverageSchema = z
  .object({
    state: z.enum(['scanned', 'not-scanned', 'scanning', 'failed', 'skipped', 'gone']),
    scannedAt: z.string().nullable(),
    reason: z.string().nullable(),
    detail: z.string().nullable(),
  })
  .openapi('Coverage');

export const NodeSchema = z
  .object({
    id: z.string(), account: z.string(), cluster: z.string(), pool: z.string(), clusterName: z.string(), poolName: z.string(), name: z.string(),
    providerId: z.string().optional(), kernel: z.string().optional(), osImage: z.string().optional(), ephemeralOsDisk: z.boolean(), tags: Tags,
    hasInventory: z.boolean(), firstSeen: z.string(), lastSeen: z.string(), goneAt: z.string().optional(),
    coverage: CoverageSchema, lastScan: NodeScanSchema.nullable(),
  })
  .openapi('Node');

export const ScanSchema = z
  .object({
    id: z.string(), account: z.string(), trigger: z.enum(RUN_TRIGGERS), state: z.enum(RUN_STATES), requestedBy: z.string(),
    scope: z.object({ cluster: z.string().optional(), pool: z.string().optional() }).optional(),
    counts: z.object({ total: z.number().int(), published: z.number().int(), failed: z.number().int(), skipped: z.number().int() }),
    error: z.string().optional(), createdAt: z.string(), startedAt: z.string().optional(), finishedAt: z.string().optional(),
  })
  .openapi('Scan');

export const ScanRequestSchema = z
  .object({ account: Id, cluster: Id.optional().openapi({ description: 'A cluster id of the account' }), pool: Id.optional().openapi({ description: 'A node pool id of the account' }) })
  .strict()
  .openapi('ScanRequest');

export const RoleSchema = z.enum(ROLES).openapi('Role');

export const TokenRequestSchema = z
  .object({
    name: z.string().min(1).max(100),
    role: RoleSchema,
    accounts: z.array(Id).min(1).max(1000).optional().openapi({ description: 'Omit for tenant scope' }),
    expiresInDays: z.number().int().min(1).max(3650).optional().openapi({ description: 'Default 90' }),
  })
  .strict()
  .openapi('TokenRequest');

export const TokenSchema = z
  .object({
    id: z.string(), name: z.string(), role: RoleSchema, accounts: z.array(z.string()).optional(), createdBy: z.string(), createdAt: z.string(),
    expiresAt: z.string().optional(), revokedAt: z.string().optional(), revokedBy: z.string().optional(), lastUsedAt: z.string().optional(),
  })
  .openapi('Token');

export const TokenCreatedSchema = z.object({ id: z.string(), token: z.string(), expiresAt: z.string().nullable() }).openapi('TokenCreated');

export const AssignmentRequestSchema = z
  .object({
    subject: z.string().min(1).max(320).openapi({ description: "The OIDC subject ('sub') or verified e-mail address of a person" }),
    role: RoleSchema,
    accounts: z.array(Id).min(1).max(1000).optional(),
  })
  .strict()
  .openapi('RoleAssignmentRequest');

export const AssignmentSchema = z
  .object({ id: z.string(), subject: z.string(), role: RoleSchema, accounts: z.array(z.string()).optional(), createdBy: z.string(), createdAt: z.string() })
  .openapi('RoleAssignment');

export const AuditSchema = z
  .object({
    id: z.string(), at: z.string(), actor: z.string(), action: z.string(), targetType: z.string(), targetId: z.string().optional(), account: z.string().optional(),
    before: z.unknown().optional(), after: z.unknown().optional(), requestId: z.string().optional(),
  })
  .openapi('AuditEntry');

export const MeSchema = z
  .object({
    id: z.string(), label: z.string(), kind: z.enum(['token', 'session']),
    grants: z.array(z.object({ role: RoleSchema, accounts: z.array(z.string()).optional() })),
    csrfToken: z.string().optional().openapi({ description: 'Session callers: send as X-CSRF-Token on state-changing requests' }),
  })
  .openapi('Me');

const Severity = z.enum(['critical', 'high', 'medium', 'low', 'negligible', 'unknown']);
const SeverityCounts = z.record(Severity, z.number().int());

export const RecommendationSchema = z
  .looseObject({
    recommendation: z.string(), title: z.string(), account: z.string(), cluster: z.string(), clusterId: z.string(), status: z.enum(['healthy', 'unhealthy', 'not-applicable', 'not-assessed']),
    reason: z.string().optional(), severity: Severity.nullable(), threshold: Severity, counts: SeverityCounts, affectedPools: z.array(z.string()), affectedNodes: z.number().int(),
    lastScanned: z.string().nullable(),
  })
  .openapi('ClusterRecommendation');

export const AccountRollupSchema = z
  .looseObject({ recommendation: z.string(), account: z.string(), status: z.enum(['healthy', 'unhealthy', 'not-applicable', 'not-assessed']), reason: z.string().optional(), counts: SeverityCounts, unhealthyClusters: z.array(z.string()) })
  .openapi('AccountRecommendation');

export const VulnerabilityItemSchema = z
  .object({
    vulnerabilityId: z.string(), title: z.string().nullable(), severity: Severity,
    cvss: z.object({ score: z.number().nullable(), vector: z.string(), version: z.string(), source: z.string().nullable() }).nullable(),
    epss: z.object({ score: z.number(), percentile: z.number() }).nullable(), kev: z.boolean(), kevDateAdded: z.string().nullable(),
    fixState: z.enum(['fixed', 'no-fix', 'wont-fix', 'deferred', 'unimportant']), fixedVersions: z.array(z.string()), packages: z.array(z.string()),
    nodes: z.number().int(), pools: z.number().int(), clusters: z.number().int(), findings: z.number().int(), exemptFindings: z.number().int(),
    status: z.enum(['open', 'exempt']), firstSeen: z.string(),
  })
  .openapi('VulnerabilityListItem');

export const FindingsPageSchema = z.object({ items: z.array(VulnerabilityItemSchema), next: z.string().nullable(), total: z.number().int() }).openapi('FindingsPage');

export const AffectedSchema = z
  .looseObject({
    account: z.string(), cluster: z.string(), nodePool: z.string(), node: z.string(), package: z.string(), installedVersion: z.string(), fixedVersion: z.string().nullable(),
    exempt: z.boolean(), firstSeen: z.string(), lastSeen: z.string(),
  })
  .openapi('AffectedResource');

export const CvePaneSchema = z
  .looseObject({
    vulnerabilityId: z.string(), title: z.string().nullable(), severity: Severity, fixState: z.string(), fixedVersions: z.array(z.string()),
    counts: z.object({ findings: z.number().int(), exempt: z.number().int(), nodes: z.number().int(), pools: z.number().int(), clusters: z.number().int() }),
    affected: z.array(AffectedSchema),
  })
  .openapi('CvePane');

const VulnPackages = z.object({ vulnerabilityId: z.string(), severity: Severity, packages: z.array(z.string()) });
export const RemediationSchema = z
  .looseObject({
    account: z.string(), cluster: z.string(), nodePool: z.string(), imageFamily: z.string().nullable(), currentImage: z.string().nullable(), targetImage: z.string().nullable(),
    nodes: z.number().int(), fixed: z.array(VulnPackages), remaining: z.array(VulnPackages), introduced: z.array(VulnPackages), summary: z.string(), note: z.string().optional(),
  })
  .openapi('PoolRemediation');

export const ImageCheckRequestSchema = z
  .object({ version: z.string().min(1).max(100), family: z.string().min(1).max(200).optional(), account: Id.optional(), cluster: Id.optional(), pool: Id.optional() })
  .strict()
  .openapi('ImageCheckRequest');

export const ImageCheckSchema = z.looseObject({ candidate: z.string(), candidateVulnerabilities: z.number().int(), pools: z.array(RemediationSchema) }).openapi('ImageCheckResult');

export const AlertSchema = z
  .object({
    id: z.string(), account: z.string(), cluster: z.string(), nodePool: z.string(), node: z.string(), nodeId: z.string(), status: z.enum(['active', 'dismissed', 'resolved']),
    statusReason: z.string().optional(), statusBy: z.string().optional(), statusAt: z.string().optional(), firstSeen: z.string(), lastSeen: z.string(), resolvedAt: z.string().optional(),
    alert: z.looseObject({}),
  })
  .openapi('Alert');

export const AlertReviewSchema = z.object({ reason: z.string().min(1).max(2000) }).strict().openapi('AlertReview');
export const AlertResolveSchema = z.object({ reason: z.string().min(1).max(2000).optional() }).strict().openapi('AlertResolve');

const ScopeSchema = z.object({ account: z.string(), cluster: z.string().optional(), pool: z.string().optional(), node: z.string().optional(), label: z.string() });

export const SuppressionRequestSchema = z
  .object({
    account: Id, cluster: z.string().max(200).optional().openapi({ description: 'Cluster name' }), pool: z.string().max(200).optional(), node: z.string().max(200).optional(),
    path: z.string().min(1).max(1000).optional(), rule: z.string().min(1).max(200).optional(), sha256: z.string().optional(), reason: z.string().min(1).max(2000),
    expires: z.string().max(40).optional(), existing: z.boolean().optional(),
  })
  .strict()
  .openapi('SuppressionRequest');

export const SuppressionSchema = z
  .looseObject({ id: z.string(), scope: ScopeSchema, reason: z.string(), createdBy: z.string().optional(), expiresAt: z.string().optional(), removedAt: z.string().optional() })
  .openapi('Suppression');

export const ExemptionRequestSchema = z
  .object({
    account: Id, cluster: z.string().max(200).optional().openapi({ description: 'Cluster name' }), pool: z.string().max(200).optional(), node: z.string().max(200).optional(),
    vulnerability: z.string().max(200).optional(), package: z.string().max(200).optional(), reason: z.enum(['mitigated', 'risk-accepted', 'false-positive']),
    owner: z.string().min(1).max(200), note: z.string().max(2000).optional(), expires: z.string().max(40).optional(),
  })
  .strict()
  .openapi('ExemptionRequest');

export const ExemptionSchema = z
  .looseObject({
    id: z.string(), account: z.string(), scope: ScopeSchema, vulnerability: z.string().optional(), package: z.string().optional(), reason: z.string(), owner: z.string(),
    note: z.string().optional(), expiresAt: z.string().optional(), removedAt: z.string().optional(), status: z.enum(['active', 'expired', 'removed']),
  })
  .openapi('Exemption');

export const HistorySchema = z.looseObject({ account: z.string(), cluster: z.string(), days: z.array(z.object({ date: z.string(), open: SeverityCounts })), resolved: z.number().int() }).openapi('ClusterHistory');

export const VulnDataSchema = z
  .object({
    available: z.boolean(),
    builtAt: z.string().nullable(),
    schemaVersion: z.number().int().nullable(),
    sources: z.array(z.object({ source: z.string(), feeds: z.array(z.string()), advisories: z.number().int(), affectedPackages: z.number().int(), newestRecord: z.string().nullable(), importedAt: z.string(), malformed: z.number().int() })),
    namespaces: z.array(z.object({ namespace: z.string(), advisories: z.number().int() })),
    kevEntries: z.number().int(),
    epssScores: z.number().int(),
    epssDate: z.string().nullable(),
  })
  .openapi('VulnerabilityDataStatus');

export const HealthSchema = z.object({ status: z.string() }).openapi('Health');
