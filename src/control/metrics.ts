/**
 * Prometheus metrics (prom-client): what this process observed (scan durations, bytes read,
 * scans ended) plus, at scrape time, what the store and the queue say (queue depth, node scans
 * by state, open snapshot leases, open findings by severity). `metricsText()` is the /metrics
 * body; the HTTP listener (src/api/) mounts it. bindMetrics() names the store and queue to read.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { JobQueue } from '../jobs/index.ts';
import type { FleetStore, NodeScan } from '../store/index.ts';

export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'hullscan_process_' });

let source: { store: FleetStore; queue?: JobQueue } | undefined;

/** The store (and queue) whose state the gauges report, read at each scrape. */
export function bindMetrics(s: { store: FleetStore; queue?: JobQueue } | undefined): void {
  source = s;
}

const scanDuration = new Histogram({
  name: 'hullscan_node_scan_duration_seconds',
  help: 'Duration of node scans that ended in this process, by final state',
  labelNames: ['state'] as const,
  buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800],
  registers: [registry],
});
const bytesRead = new Counter({ name: 'hullscan_bytes_read_total', help: 'Disk bytes read by node scans that ended in this process', registers: [registry] });
const scansEnded = new Counter({ name: 'hullscan_node_scans_ended_total', help: 'Node scans that ended in this process, by state and reason', labelNames: ['state', 'reason'] as const, registers: [registry] });

new Gauge({
  name: 'hullscan_queue_depth',
  help: 'Node-scan jobs in the queue, by state (waiting, active, delayed)',
  labelNames: ['queue', 'state'] as const,
  registers: [registry],
  async collect() {
    this.reset();
    if (!source?.queue) return;
    const d = await source.queue.depth();
    for (const [state, n] of Object.entries(d)) this.set({ queue: source.queue.kind, state }, n);
  },
});
new Gauge({
  name: 'hullscan_node_scans',
  help: 'Node scans in the store, by state',
  labelNames: ['state'] as const,
  registers: [registry],
  async collect() {
    this.reset();
    if (!source) return;
    for (const [state, n] of Object.entries(await source.store.nodeScanStates())) this.set({ state }, n);
  },
});
new Gauge({
  name: 'hullscan_snapshot_leases_open',
  help: 'Snapshot leases not yet deleted (snapshots that exist or may exist)',
  registers: [registry],
  async collect() {
    this.set(source ? (await source.store.openLeases()).length : 0);
  },
});
new Gauge({
  name: 'hullscan_findings_open',
  help: 'Open findings in the store, by severity',
  labelNames: ['severity'] as const,
  registers: [registry],
  async collect() {
    this.reset();
    if (!source) return;
    for (const [severity, n] of Object.entries(await source.store.openFindingsBySeverity())) this.set({ severity }, n);
  },
});

/** Records a node scan that ended here. */
export function observeScanEnd(scan: NodeScan): void {
  if (scan.state !== 'published' && scan.state !== 'failed' && scan.state !== 'skipped') return;
  scansEnded.inc({ state: scan.state, reason: scan.reason ?? '' });
  if (scan.durationMs !== undefined) scanDuration.observe({ state: scan.state }, scan.durationMs / 1000);
  bytesRead.inc(scan.bytesRead);
}

export const METRICS_CONTENT_TYPE = registry.contentType;

/** The Prometheus text exposition of every metric. */
export function metricsText(): Promise<string> {
  return registry.metrics();
}
