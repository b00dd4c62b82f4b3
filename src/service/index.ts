/**
 * service/ — what a security team and a platform team act on, built on the control plane's
 * store: the recommendation per cluster (and per account), the Findings list and the CVE pane,
 * remediation by node-image upgrade with drift and the candidate-image gate, exemptions, alert
 * review and suppression rules, history. Central interface: {@link SecurityService}; the CLI,
 * the REST API and the portal all call it, and hold no view logic of their own.
 *
 * It reads the store (store/fleet-store.ts for the fleet, store/security-store.ts for its own
 * queries and tables); remediation matches catalogue images (catalog/) with the engine's
 * matcher (match/) against the vulnerability database (vulndb/). It never reads a disk.
 */
import { existsSync } from 'node:fs';
import { catalogDirForDb, catalogInventory, loadCatalog, type NodeImageCatalog } from '../catalog/index.ts';
import type { Inventory } from '../inventory/index.ts';
import type { AlertStatus, FleetStore } from '../store/index.ts';
import type { StoredAlert } from '../store/fleet-store.ts';
import { SecurityStore, type Exemption, type Suppression } from '../store/security-store.ts';
import type { VulnDb } from '../vulndb/index.ts';
import { openVulnDb } from '../vulndb/store.ts';
import * as alerts from './alerts.ts';
import { loadFleet, type FleetView, type ResourceFilter } from './context.ts';
import { ServiceError } from './errors.ts';
import * as exemptions from './exemptions.ts';
import * as findings from './findings.ts';
import * as history from './history.ts';
import * as recommendations from './recommendations.ts';
import * as remediation from './remediation.ts';
import type { Severity } from './types.ts';

export { ServiceError } from './errors.ts';
export { SEVERITY_ORDER, parseSeverity, type Severity, type SeverityCounts } from './types.ts';
export type { ClusterAssessment, AccountRollup, RecommendationStatus } from './recommendations.ts';
export { RECOMMENDATION_TITLE, RECOMMENDATION_STATUSES } from './recommendations.ts';
export type { FindingsQuery, FindingsPage, VulnerabilityListItem, CvePane, AffectedResource, FixSummary } from './findings.ts';
export { findingsCsv, fixLabel } from './findings.ts';
export type { PoolRemediation, NodeDrift, VulnerabilityPackages, ImageCheckResult, RemediationQuery } from './remediation.ts';
export { remediationSentence, vulnerabilitiesOf } from './remediation.ts';
export type { ExemptionRequest, ExemptionView } from './exemptions.ts';
export type { SuppressionRequest, AlertQuery } from './alerts.ts';
export type { ClusterHistory } from './history.ts';
export type { ResourceFilter } from './context.ts';
export { VULNERABILITY_SORTS, EXEMPTION_REASONS, type VulnerabilitySort } from '../store/security-store.ts';

export interface SecurityServiceOptions {
  store: FleetStore;
  /** The node-image catalogue (default: the repository's data/node-images, plus `<dbPath>.catalog/` when dbPath is given). */
  catalog?: NodeImageCatalog;
  /** The vulnerability database, for remediation, the image gate and the CVE pane's references. */
  vulnDb?: () => VulnDb | undefined;
  /** Or its path: opened when first needed (when it exists), closed by close(). */
  dbPath?: string;
  now?: () => Date;
}

/** The one entry point of the security views. Each call reads the store afresh. */
export class SecurityService {
  readonly store: FleetStore;
  readonly security: SecurityStore;
  readonly #o: SecurityServiceOptions;
  #catalog: NodeImageCatalog | undefined;
  #opened: VulnDb | undefined;

  constructor(o: SecurityServiceOptions) {
    this.store = o.store;
    this.security = new SecurityStore(o.store.driver);
    this.#o = o;
    this.#catalog = o.catalog;
  }

  get catalog(): NodeImageCatalog {
    // The shipped catalogue plus the one `db update --catalog` refreshed next to the database.
    return (this.#catalog ??= loadCatalog(this.#o.dbPath === undefined ? {} : { extraDirs: [catalogDirForDb(this.#o.dbPath)] }));
  }

  #now(): string {
    return (this.#o.now ?? (() => new Date()))().toISOString();
  }

  #vulnDb(): VulnDb | undefined {
    if (this.#o.vulnDb !== undefined) return this.#o.vulnDb();
    if (this.#opened === undefined && this.#o.dbPath !== undefined && existsSync(this.#o.dbPath)) this.#opened = openVulnDb(this.#o.dbPath);
    return this.#opened;
  }

  /** Closes the vulnerability database it opened (not the store: the caller's). */
  close(): void {
    this.#opened?.close();
    this.#opened = undefined;
  }

  #db(): VulnDb {
    const db = this.#vulnDb();
    if (db === undefined) throw new ServiceError('no vulnerability database: remediation matches node images against one (hullscan db import / update, or --db PATH)');
    return db;
  }

  /** The fleet as the store has it now (one snapshot for a view). */
  fleet(): Promise<FleetView> {
    return loadFleet(this.store, this.security, this.#now());
  }

  // -- recommendations --

  async recommendations(filter: { account?: string; cluster?: string } = {}): Promise<recommendations.ClusterAssessment[]> {
    return recommendations.assessClusters(await this.fleet(), this.security, filter);
  }

  async accountRollups(filter: { account?: string } = {}): Promise<recommendations.AccountRollup[]> {
    const view = await this.fleet();
    const clusters = await recommendations.assessClusters(view, this.security, filter);
    return recommendations.rollupAccounts(view, clusters).filter((r) => filter.account === undefined || r.account === filter.account);
  }

  /** The account's threshold: findings at or above it make a cluster unhealthy (default: every severity). */
  async setThreshold(account: string, severity: Severity, by: string): Promise<void> {
    if ((await this.store.getAccount(account)) === undefined) throw new ServiceError(`no account '${account}'`, 'not-found');
    await this.security.setThreshold(account, severity, by, this.#now());
  }

  // -- findings --

  async findings(q: findings.FindingsQuery = {}): Promise<findings.FindingsPage> {
    return findings.listFindings(await this.fleet(), this.security, q);
  }

  async cvePane(id: string, filter: ResourceFilter = {}): Promise<findings.CvePane> {
    return findings.cvePane(await this.fleet(), this.security, id, filter, this.#vulnDb());
  }

  // -- remediation --

  async remediation(q: remediation.RemediationQuery = {}): Promise<remediation.PoolRemediation[]> {
    return remediation.remediation(await this.fleet(), this.store, this.security, this.catalog, this.#db(), q);
  }

  /** What a catalogue version of a family (the pool's family when --against names one pool) would fix and introduce. */
  async checkCatalogImage(version: string, against: ResourceFilter & { family?: string } = {}): Promise<remediation.ImageCheckResult> {
    const view = await this.fleet();
    let family = against.family;
    if (family === undefined) {
      const fams = new Set([...view.pools.values()].filter((p) => p.goneAt === undefined && (against.pool === undefined || p.name === against.pool) && (against.cluster === undefined || view.clusters.get(p.cluster)?.name === against.cluster)).flatMap((p) => (p.imageFamily ? [p.imageFamily] : [])));
      const withVersion = [...fams].filter((f) => this.catalog.get(f, version) !== undefined);
      if (withVersion.length !== 1) throw new ServiceError(withVersion.length === 0 ? `no node-image family of the selected pools has version ${version} in the catalogue` : `several families have ${version}: give --family (${withVersion.join(', ')})`);
      family = withVersion[0]!;
    }
    const img = this.catalog.get(family, version);
    if (img === undefined) throw new ServiceError(`${family} ${version} is not in the catalogue`, 'not-found');
    return remediation.imageCheck(view, this.security, this.#db(), { label: `${family}-${version}`, inventory: catalogInventory(img), family }, against);
  }

  /** The same for an inventory read elsewhere (the CLI reads a candidate disk through the engine). */
  async checkInventory(label: string, inventory: Inventory, against: ResourceFilter = {}): Promise<remediation.ImageCheckResult> {
    const family = inventory.node?.nodeImage?.name;
    return remediation.imageCheck(await this.fleet(), this.security, this.#db(), { label, inventory, ...(family !== undefined && { family }) }, against);
  }

  // -- exemptions --

  async addExemption(r: exemptions.ExemptionRequest): Promise<Exemption> {
    return exemptions.addExemption(await this.fleet(), this.security, r);
  }

  async listExemptions(filter: { account?: string; all?: boolean } = {}): Promise<exemptions.ExemptionView[]> {
    return exemptions.listExemptions(await this.fleet(), this.security, filter);
  }

  async removeExemption(idOrPrefix: string, by: string): Promise<Exemption> {
    return exemptions.removeExemption(await this.fleet(), this.security, idOrPrefix, by);
  }

  // -- alerts --

  async alerts(q: alerts.AlertQuery = {}): Promise<StoredAlert[]> {
    return alerts.listAlerts(await this.fleet(), this.store, this.security, q);
  }

  async dismissAlert(idOrPrefix: string, reason: string, by: string): Promise<string> {
    return alerts.dismissAlert(await this.fleet(), this.security, idOrPrefix, reason, by);
  }

  async resolveAlert(idOrPrefix: string, reason: string | undefined, by: string): Promise<string> {
    return alerts.resolveAlert(await this.fleet(), this.security, idOrPrefix, reason, by);
  }

  async reactivateAlert(idOrPrefix: string, by: string): Promise<string> {
    return alerts.reactivateAlert(await this.fleet(), this.security, idOrPrefix, by);
  }

  async alertHistory(id: string): Promise<{ status: AlertStatus; reason?: string; by: string; at: string }[]> {
    return this.security.alertHistory(id);
  }

  async addSuppression(r: alerts.SuppressionRequest): Promise<{ rule: Suppression; dismissed: number }> {
    return alerts.addSuppression(await this.fleet(), this.security, r);
  }

  listSuppressions(filter: { account?: string; all?: boolean } = {}): Promise<Suppression[]> {
    return this.security.listSuppressions({ ...(filter.account !== undefined && { account: filter.account }), includeRemoved: filter.all === true });
  }

  async removeSuppression(idOrPrefix: string, by: string): Promise<void> {
    const hits = (await this.security.listSuppressions()).filter((s) => s.id === idOrPrefix || (idOrPrefix.length >= 4 && s.id.startsWith(idOrPrefix)));
    if (hits.length !== 1) throw new ServiceError(hits.length === 0 ? `no suppression rule '${idOrPrefix}'` : `'${idOrPrefix}' names several rules`, hits.length ? 'invalid' : 'not-found');
    await this.security.removeSuppression(hits[0]!.id, by, this.#now());
  }

  // -- history --

  async history(q: { account?: string; cluster?: string; days?: number } = {}): Promise<history.ClusterHistory[]> {
    return history.clusterHistory(await this.fleet(), this.security, q);
  }
}
