/**
 * The fleet commands: `serve`, `run --once`, and the store's views `nodes`, `findings`,
 * `alerts`, `runs`, `accounts`. Names, options and JSON keys are a contract
 * (docs/control-plane.md): scripts and later issues build on them.
 */
import { serveApi, type RunningServer } from '../../api/index.ts';
import type { CliIo } from '../args.ts';
import { ArgumentError, parseOptions } from '../args.ts';
import { ControlPlane, DEFAULT_RETRY, defaultDataDir, ROLES, type ControlPlaneOptions, type Role } from '../../control/control-plane.ts';
import { createLogger } from '../../control/log.ts';
import { describeSchedule, parseAssignments } from '../../control/settings.ts';
import { openStore, type Account, type FleetStore, type NodeScan, type ScanRun } from '../../store/index.ts';
import { defaultStoreLocation } from '../../store/open.ts';
import type { StoredAlert, StoredFinding } from '../../store/fleet-store.ts';
import { UsageError } from '../../util/errors.ts';
import { renderTable } from '../table.ts';
import { ALERTS_SECURITY_HELP, FINDINGS_VIEW_HELP, FINDINGS_VIEW_SPEC, wantsFindingsView } from './security-help.ts';

const COMMON_HELP = `Common options:
  --data DIR            Data directory: the store (hullscan.db), snapshots/, vuln.db
                        (default: $HULLSCAN_DATA, else ~/.local/share/hullscan)
  --store URL           The store: a SQLite file or postgres://user@host/db (default: DIR/hullscan.db)
  -h, --help            Show this help`;

const FORMAT_HELP = `  --format FORMAT       table | json (default: table)`;

export const SERVE_HELP = `Usage: hullscan serve [--data DIR] [--config FILE] [--listen HOST:PORT] [options]

Runs the control plane in one process: applies the environment file's accounts, re-queues
scans a crash interrupted and sweeps leftover snapshots, then runs the scheduler (each
account with "Agentless scanning for machines" on is scanned on its schedule, daily by
default; a vulnerability-data update re-matches stored inventories) and the workers until
SIGTERM or SIGINT, when it finishes the node scans in progress and stops.

Options:
  --config FILE         Environment file (YAML): accounts, settings, local clusters and disks
  --listen HOST:PORT    Serve the REST API (docs/api.md), /healthz and /readyz here
                        (default: 127.0.0.1:7220; 'off' to disable). On an empty store the
                        first owner token is $HULLSCAN_BOOTSTRAP_TOKEN, else printed once here
  --db PATH             Vulnerability database (default: DIR/vuln.db)
  --concurrency N       Node scans at once (default 2); --per-account N (default 2)
  --node-timeout SEC    Time budget of one node scan (default 1800)
      --allow-private-urls  Allow http:// and loopback / private addresses for URL disks
                            (labs, internal mirrors). Cloud metadata addresses stay refused.
      --full-fingerprint    Walk and fingerprint every disk; never reuse an inventory by the
                            metadata-only quick key (docs/control-plane.md, "Scanning an image once")

Scale-out (docs/deployment.md):
  --role ROLE           all | api | scheduler | worker (default all). Any number of each; one
                        scheduler is active at a time (a leadership lease in the store)
  --queue URL           redis://HOST:PORT: the BullMQ job queue shared by every process
                        (default: in-process, the store's table). With --store postgres://…
  --isolate             Run each node scan in a child process (default with --queue)
  --scan-memory MIB     Heap limit of a node-scan child process (default 1024)
  --rate N/SEC          At most N node scans of one account started per SEC seconds
  --stall-after SEC     A job whose worker stopped renewing its lock this long is run again (default 30)
${COMMON_HELP}

Logs: JSON lines on stderr (one readable line per event on a terminal); HULLSCAN_LOG_LEVEL.
Docs: docs/control-plane.md
`;

export const RUN_HELP = `Usage: hullscan run --once [--data DIR] [--config FILE] [--account ID] [options]

One discovery + scan cycle for every account with "Agentless scanning for machines" on (or
only --account ID), in this process; returns when every node scan has ended. For cron and CI.

Options:
  --once                Required: one cycle, then exit (serve runs them on a schedule)
  --config FILE         Environment file (YAML)
  --account ID          Only this account (its scanning must be on)
  --db PATH             Vulnerability database (default: DIR/vuln.db)
  --concurrency N       Node scans at once (default 2); --per-account N (default 2)
  --node-timeout SEC    Time budget of one node scan (default 1800)
      --allow-private-urls  Allow http:// and loopback / private addresses for URL disks
      --full-fingerprint    Walk and fingerprint every disk (no reuse by quick key alone)
${FORMAT_HELP}
${COMMON_HELP}

Exit codes: 0 every node scan published or skipped, 1 some failed (their count and reasons
are printed), 2 usage error, 3 no vulnerability database, 4 internal error.
`;

export const NODES_HELP = `Usage: hullscan nodes [--account ID] [--cluster C] [--pool P] [--all] [options]

Every node with its cluster, node pool, image and its last node scan: published, failed or
skipped, and why (excluded, ephemeral disk, unreadable disk, …). --all includes gone nodes.

Options:
  --account ID, --cluster NAME, --pool NAME   Filter
  --all                 Include nodes that discovery no longer finds
${FORMAT_HELP}
${COMMON_HELP}
`;

export const FINDINGS_HELP = `Usage: hullscan findings [--cluster C] [--pool P] [--node N] [--cve ID] [--severity LIST] [--all] [options]
       hullscan findings --by cve [--sort KEY] [--kev] [--fix-available] [--package P] [--search T] [--page N] [options]
       hullscan findings --cve ID [--pane] [options]

Open vulnerability findings of every scanned node (--all: resolved ones too), each with the
node it is on and when it was first seen, last seen and resolved. --by cve: the Findings
list, one row per vulnerability; --cve ID in a table: the CVE pane (every affected resource).

Options:
  --account ID, --cluster NAME, --pool NAME, --node NAME   Filter
  --cve ID              One vulnerability (every node it affects)
  --severity LIST       critical,high,medium,low,negligible,unknown
  --all                 Include resolved findings
  --limit N             Show the first N rows of the table (the summary counts all)
${FINDINGS_VIEW_HELP}
${FORMAT_HELP}
${COMMON_HELP}
`;

export const ALERTS_HELP = ALERTS_SECURITY_HELP;

export const RUNS_HELP = `Usage: hullscan runs [--account ID] [--run ID] [--limit N] [options]

Scan runs, newest first, with their node counts; --run ID lists that run's node scans.

Options:
  --account ID          Filter
  --run ID              The node scans of one run (state, reason, inventory source, bytes, time)
  --limit N             Runs to list (default 20)
${FORMAT_HELP}
${COMMON_HELP}
`;

export const ACCOUNTS_HELP = `Usage: hullscan accounts [list] [options]
       hullscan accounts set ID KEY=VALUE… [--by NAME] [options]
       hullscan accounts history ID [options]

Accounts (subscriptions, cloud accounts, local environments) and their settings.
Settings: agentlessScanning=on|off ("Agentless scanning for machines"), malware=on|off,
exclusionTags=key:value,… (empty clears), schedule=daily|weekly|hourly|12h|cron:EXPR,
retentionDays=N. Every change is a new version with who and when (history).

Options:
  --config FILE         Apply an environment file's accounts first
  --by NAME             Who makes the change (default: $USER)
${FORMAT_HELP}
${COMMON_HELP}
`;

export const FLEET_HELPS: Record<string, string> = {
  serve: SERVE_HELP,
  run: RUN_HELP,
  nodes: NODES_HELP,
  findings: FINDINGS_HELP,
  alerts: ALERTS_HELP,
  runs: RUNS_HELP,
  accounts: ACCOUNTS_HELP,
};

/** Options every store-reading command takes (the security views' commands too). */
export const COMMON_SPEC = {
  data: { type: 'string' },
  store: { type: 'string' },
  format: { type: 'string', default: 'table' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface Common {
  data?: string | undefined;
  store?: string | undefined;
  format: string;
}

export function dataDir(v: Common): string {
  return v.data !== undefined ? v.data : defaultDataDir();
}

export function storeOf(v: Common): string {
  return v.store ?? defaultStoreLocation(dataDir(v));
}

export function format(v: Common): 'table' | 'json' {
  if (v.format !== 'table' && v.format !== 'json') throw new ArgumentError(`unknown --format '${v.format}': use table or json`);
  return v.format;
}

/** Indented on a terminal; compact when piped (a fleet's findings run to hundreds of MB indented). */
function json(v: unknown): string {
  return (process.stdout.isTTY ? JSON.stringify(v, null, 2) : JSON.stringify(v)) + '\n';
}

export function positiveInt(name: string, v: string | undefined, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > max) throw new ArgumentError(`--${name} must be a whole number 1..${max}, got '${v}'`);
  return Number(v);
}

async function withStore<T>(v: Common, body: (store: FleetStore) => Promise<T>): Promise<T> {
  const store = await openStore(storeOf(v));
  try {
    return await body(store);
  } finally {
    await store.close();
  }
}

// ---- JSON forms (the contract) ----------------------------------------------------------

export function findingJson(f: StoredFinding): Record<string, unknown> {
  const { node: _engineNode, ...finding } = f.finding;
  return { ...finding, node: f.ref, firstSeen: f.firstSeen, lastSeen: f.lastSeen, resolvedAt: f.resolvedAt ?? null };
}

export function alertJson(a: StoredAlert): Record<string, unknown> {
  const { node: _engineNode, ...alert } = a.alert;
  return {
    ...alert,
    node: a.ref,
    status: a.status,
    ...(a.statusReason !== undefined && { statusReason: a.statusReason }),
    ...(a.statusBy !== undefined && { statusBy: a.statusBy }),
    firstSeen: a.firstSeen,
    lastSeen: a.lastSeen,
    resolvedAt: a.resolvedAt ?? null,
  };
}

function nodeScanJson(s: NodeScan): Record<string, unknown> {
  return {
    id: s.id,
    run: s.run,
    state: s.state,
    reason: s.reason ?? null,
    ...(s.reasonDetail !== undefined && { reasonDetail: s.reasonDetail }),
    inventorySource: s.inventorySource ?? null,
    findings: s.findings ?? null,
    alerts: s.alerts ?? null,
    bytesRead: s.bytesRead,
    durationMs: s.durationMs ?? null,
    attempts: s.attempts,
    startedAt: s.startedAt ?? null,
    finishedAt: s.finishedAt ?? null,
  };
}

function accountJson(a: Account): Record<string, unknown> {
  return { id: a.id, provider: a.provider, externalId: a.externalId, name: a.name, settings: a.settings, settingsVersion: a.settingsVersion, updatedAt: a.updatedAt };
}

// ---- commands ---------------------------------------------------------------------------

function controlOptions(v: Common & { config?: string | undefined; db?: string | undefined; concurrency?: string | undefined; 'per-account'?: string | undefined; 'node-timeout'?: string | undefined; 'allow-private-urls'?: boolean | undefined; 'full-fingerprint'?: boolean | undefined; queue?: string | undefined; isolate?: boolean | undefined; 'scan-memory'?: string | undefined; rate?: string | undefined; 'stall-after'?: string | undefined }, log: ControlPlaneOptions['log']): ControlPlaneOptions {
  const o: ControlPlaneOptions = { dataDir: dataDir(v), store: storeOf(v) };
  if (v.config !== undefined) o.config = v.config;
  if (v.db !== undefined) o.dbPath = v.db;
  if (log !== undefined) o.log = log;
  const c = positiveInt('concurrency', v.concurrency, 64);
  if (c !== undefined) o.concurrency = c;
  const p = positiveInt('per-account', v['per-account'], 64);
  if (p !== undefined) o.perAccount = p;
  const t = positiveInt('node-timeout', v['node-timeout'], 7 * 24 * 3600);
  if (t !== undefined) o.timeBudgetMs = t * 1000;
  if (v['allow-private-urls']) o.allowPrivateUrls = true;
  if (v['full-fingerprint']) o.fullFingerprint = true;
  if (v.queue !== undefined) {
    o.queue = v.queue;
    o.retry = DEFAULT_RETRY;
  }
  const memoryMib = positiveInt('scan-memory', v['scan-memory'], 1024 * 1024);
  if (v.isolate || (v.queue !== undefined && v.queue !== 'in-process') || memoryMib !== undefined) o.isolate = memoryMib !== undefined ? { memoryMib } : {};
  if (v.rate !== undefined) {
    const m = /^(\d+)\/(\d+)$/.exec(v.rate);
    if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) throw new ArgumentError(`--rate must be N/SEC (e.g. 10/60), got '${v.rate}'`);
    o.rate = { max: Number(m[1]), perMs: Number(m[2]) * 1000 };
  }
  // Several deployments (or test runs) on one Redis: each its own key prefix.
  if (process.env['HULLSCAN_QUEUE_PREFIX']) o.queuePrefix = process.env['HULLSCAN_QUEUE_PREFIX'];
  const stall = positiveInt('stall-after', v['stall-after'], 24 * 3600);
  if (stall !== undefined) o.stallMs = stall * 1000;
  return o;
}

const CONTROL_SPEC = {
  ...COMMON_SPEC,
  config: { type: 'string' },
  db: { type: 'string' },
  concurrency: { type: 'string' },
  'per-account': { type: 'string' },
  'node-timeout': { type: 'string' },
  'allow-private-urls': { type: 'boolean', default: false },
  'full-fingerprint': { type: 'boolean', default: false },
  queue: { type: 'string' },
  isolate: { type: 'boolean', default: false },
  'scan-memory': { type: 'string' },
  rate: { type: 'string' },
  'stall-after': { type: 'string' },
} as const;

function parseListen(v: string): { host: string; port: number } | undefined {
  if (v === 'off') return undefined;
  const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(v);
  if (!m || Number(m[2]) > 65535) throw new ArgumentError(`--listen must be HOST:PORT (or off), got '${v}'`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

async function serve(args: string[], io: CliIo): Promise<number> {
  const { values: v, positionals } = parseOptions({ args, allowPositionals: true, options: { ...CONTROL_SPEC, listen: { type: 'string', default: '127.0.0.1:7220' }, role: { type: 'string', default: 'all' } } });
  if (v.help) {
    io.out(SERVE_HELP);
    return 0;
  }
  if (positionals.length) throw new ArgumentError(`serve takes no arguments, got '${positionals[0]}'`);
  const listen = parseListen(v.listen);
  if (!(ROLES as readonly string[]).includes(v.role)) throw new ArgumentError(`--role must be one of ${ROLES.join(', ')}, got '${v.role}'`);
  const role = v.role as Role;
  const log = createLogger();
  const cp = await ControlPlane.open(controlOptions(v, log));
  const stop = new AbortController();
  const onSignal = (sig: string) => {
    log.info({ signal: sig }, 'shutdown requested');
    stop.abort();
  };
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  process.once('SIGINT', () => onSignal('SIGINT'));
  let ready = false;
  let server: RunningServer | undefined;
  try {
    if (listen) server = await serveApi({ controlPlane: cp, listen, ready: () => ready, log, onBootstrapToken: (t) => io.out(`bootstrap owner token (shown once; keep it, or revoke it once you made your own): ${t}\n`) });
    await cp.serve(stop.signal, { onReady: () => (ready = true), role });
  } finally {
    ready = false;
    await server?.close();
    await cp.close();
  }
  return 0;
}

function runLine(r: ScanRun): string {
  const c = r.counts;
  return `run ${r.id.slice(0, 8)} ${r.account}: ${r.state} — ${c.total} nodes: ${c.published} published, ${c.failed} failed, ${c.skipped} skipped${r.error ? ` (${r.error})` : ''}`;
}

async function runOnce(args: string[], io: CliIo): Promise<number> {
  const { values: v, positionals } = parseOptions({ args, allowPositionals: true, options: { ...CONTROL_SPEC, once: { type: 'boolean', default: false }, account: { type: 'string' } } });
  if (v.help) {
    io.out(RUN_HELP);
    return 0;
  }
  if (!v.once) throw new ArgumentError("run needs --once (use 'hullscan serve' for scheduled runs)");
  if (positionals.length) throw new ArgumentError(`run takes no arguments, got '${positionals[0]}'`);
  const fmt = format(v);
  const log = createLogger(io.isTty ? { level: process.env['HULLSCAN_LOG_LEVEL'] ?? 'warn' } : {});
  const cp = await ControlPlane.open(controlOptions(v, log));
  try {
    let last = '';
    const result = await cp.runOnce({
      ...(v.account !== undefined && { account: v.account }),
      onProgress: (r) => {
        if (!io.isTty || fmt === 'json') return;
        const line = runLine(r);
        if (line !== last) io.err(`hullscan: ${line}\n`);
        last = line;
      },
    });
    const scans = new Map<string, NodeScan[]>();
    for (const r of result.runs) scans.set(r.id, await cp.store.listNodeScans({ run: r.id }));
    const failed = [...scans.values()].flat().filter((s) => s.state === 'failed');
    if (fmt === 'json') {
      io.out(json({ runs: result.runs, scanningOff: result.off, failed: failed.length }));
    } else {
      for (const r of result.runs) io.out(runLine(r) + '\n');
      for (const a of result.off) io.out(`account ${a}: scanning is off (hullscan accounts set ${a} agentlessScanning=on)\n`);
      if (result.runs.length === 0 && result.off.length === 0) io.out('no accounts: give --config FILE (an environment file) or add accounts\n');
      if (failed.length) {
        const nodes = new Map((await cp.store.listNodes({ includeGone: true })).map((n) => [n.node.id, n.ref]));
        io.out(`\n${failed.length} node scan${failed.length === 1 ? '' : 's'} failed:\n`);
        for (const s of failed) {
          const ref = nodes.get(s.node);
          io.out(`  ${ref ? `${ref.cluster}/${ref.nodePool}/${ref.node}` : s.node}: ${s.reason}${s.reasonDetail ? ` — ${s.reasonDetail}` : ''}\n`);
        }
      }
    }
    if (failed.length) io.err(`hullscan: ${failed.length} node scan${failed.length === 1 ? '' : 's'} failed\n`);
    return failed.length > 0 || result.runs.some((r) => r.state === 'failed') ? 1 : 0;
  } finally {
    await cp.close();
  }
}

async function nodes(args: string[], io: CliIo): Promise<number> {
  const { values: v, positionals } = parseOptions({ args, allowPositionals: true, options: { ...COMMON_SPEC, account: { type: 'string' }, cluster: { type: 'string' }, pool: { type: 'string' }, all: { type: 'boolean', default: false } } });
  if (v.help) {
    io.out(NODES_HELP);
    return 0;
  }
  if (positionals.length) throw new ArgumentError(`nodes takes no arguments, got '${positionals[0]}'`);
  const fmt = format(v);
  await withStore(v, async (store) => {
    const list = await store.listNodes({ includeGone: v.all, ...(v.account !== undefined && { account: v.account }), ...(v.cluster !== undefined && { cluster: v.cluster }), ...(v.pool !== undefined && { pool: v.pool }) });
    const pools = new Map((await store.listPools({ includeGone: true })).map((p) => [p.id, p]));
    const scanningOn = new Map((await store.listAccounts()).map((a) => [a.id, a.settings.agentlessScanning]));
    if (fmt === 'json') {
      io.out(json(list.map((n) => {
        const pool = pools.get(n.node.pool);
        return {
          ...n.ref,
          id: n.node.id,
          nodeImage: pool?.imageFamily ? { name: pool.imageFamily, version: pool.imageVersion ?? null } : null,
          kernel: n.node.kernel ?? null,
          osImage: n.node.osImage ?? null,
          ephemeralOsDisk: n.node.ephemeralOsDisk,
          firstSeen: n.node.firstSeen,
          lastSeen: n.node.lastSeen,
          goneAt: n.node.goneAt ?? null,
          lastPublishedAt: n.node.lastPublishedAt ?? null,
          scanning: scanningOn.get(n.node.account) ? 'on' : 'off',
          lastScan: n.lastScan ? nodeScanJson(n.lastScan) : null,
          state: n.lastScan?.state ?? null,
          reason: n.lastScan?.reason ?? (scanningOn.get(n.node.account) ? null : 'scanning-off'),
        };
      })));
      return;
    }
    if (list.length === 0) return io.out('no nodes yet: run hullscan run --once --config FILE (or serve)\n');
    const rows = list.map((n) => {
      const pool = pools.get(n.node.pool);
      const s = n.lastScan;
      return [
        n.ref.account, n.ref.cluster, n.ref.nodePool, n.ref.node + (n.node.goneAt ? ' (gone)' : ''), pool?.imageVersion ?? '',
        s ? s.state : 'not scanned', s?.reason ?? (scanningOn.get(n.node.account) ? '' : 'scanning off'), s?.findings !== undefined ? String(s.findings) : '', s?.inventorySource ?? '', s?.finishedAt?.slice(0, 16).replace('T', ' ') ?? '',
      ];
    });
    io.out(renderTable(['ACCOUNT', 'CLUSTER', 'POOL', 'NODE', 'IMAGE', 'LAST SCAN', 'REASON', 'FINDINGS', 'INVENTORY', 'WHEN (UTC)'], rows));
  });
  return 0;
}

const SEVERITY_ORDER = ['critical', 'high', 'medium', 'low', 'negligible', 'unknown'];

function parseSeverityList(v: string): string[] {
  const out = v.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  for (const s of out) if (!SEVERITY_ORDER.includes(s)) throw new ArgumentError(`unknown severity '${s}': use ${SEVERITY_ORDER.join(', ')}`);
  return out;
}

async function findings(args: string[], io: CliIo): Promise<number> {
  const { values: v, positionals } = parseOptions({
    args, allowPositionals: true,
    options: { ...COMMON_SPEC, account: { type: 'string' }, cluster: { type: 'string' }, pool: { type: 'string' }, node: { type: 'string' }, cve: { type: 'string' }, severity: { type: 'string' }, all: { type: 'boolean', default: false }, limit: { type: 'string' }, ...FINDINGS_VIEW_SPEC },
  });
  if (v.help) {
    io.out(FINDINGS_HELP);
    return 0;
  }
  if (positionals.length) throw new ArgumentError(`findings takes no arguments, got '${positionals[0]}'`);
  // The Findings list (--by cve) and the CVE pane (--cve ID as a table, or --pane): the security views.
  if (wantsFindingsView(v)) return (await import('./security.ts')).findingsView(v, io);
  const fmt = format(v);
  await withStore(v, async (store) => {
    const list = await store.listFindings({
      all: v.all,
      ...(v.account !== undefined && { account: v.account }),
      ...(v.cluster !== undefined && { cluster: v.cluster }),
      ...(v.pool !== undefined && { pool: v.pool }),
      ...(v.node !== undefined && { node: v.node }),
      ...(v.cve !== undefined && { vulnerabilityId: v.cve }),
      ...(v.severity !== undefined && { severities: parseSeverityList(v.severity) }),
    });
    if (fmt === 'json') return io.out(json(list.map(findingJson)));
    io.out(findingsSummary(list, v.all) + '\n');
    if (list.length === 0) return;
    const limit = positiveInt('limit', v.limit, 10_000_000) ?? list.length;
    const rows = list.slice(0, limit).map((f) => [
      f.finding.severity.toUpperCase(), f.finding.vulnerabilityId, f.finding.package.name, f.finding.package.version,
      f.finding.fixedVersion ?? (f.finding.state === 'wont-fix' ? "won't fix" : 'no fix yet'), `${f.ref.cluster}/${f.ref.nodePool}/${f.ref.node}`, f.firstSeen.slice(0, 10), f.resolvedAt ? `resolved ${f.resolvedAt.slice(0, 10)}` : '',
    ]);
    io.out('\n' + renderTable(['SEVERITY', 'VULNERABILITY', 'PACKAGE', 'INSTALLED', 'FIXED IN', 'CLUSTER/POOL/NODE', 'FIRST SEEN', ''], rows));
    if (list.length > limit) io.out(`… and ${list.length - limit} more (--limit, or --format json for all)\n`);
  });
  return 0;
}

export function findingsSummary(list: readonly StoredFinding[], all: boolean): string {
  const open = list.filter((f) => f.resolvedAt === undefined);
  const by = new Map<string, number>();
  for (const f of open) by.set(f.finding.severity, (by.get(f.finding.severity) ?? 0) + 1);
  const sev = SEVERITY_ORDER.filter((s) => by.has(s)).map((s) => `${s} ${by.get(s)}`).join(', ');
  const cves = new Set(open.map((f) => f.finding.vulnerabilityId)).size;
  const nodesN = new Set(open.map((f) => f.nodeId)).size;
  const clusters = new Set(open.map((f) => `${f.ref.account}/${f.ref.cluster}`)).size;
  const resolved = all ? `; ${list.length - open.length} resolved` : '';
  return `${open.length} open findings (${sev || 'none'}): ${cves} vulnerabilities on ${nodesN} node${nodesN === 1 ? '' : 's'} in ${clusters} cluster${clusters === 1 ? '' : 's'}${resolved}`;
}

async function alerts(args: string[], io: CliIo): Promise<number> {
  // Review (dismiss / resolve / suppression rules) and the list with suppression rules applied: the security views.
  return (await import('./security.ts')).alertsCommand(args, io);
}

async function runs(args: string[], io: CliIo): Promise<number> {
  const { values: v, positionals } = parseOptions({ args, allowPositionals: true, options: { ...COMMON_SPEC, account: { type: 'string' }, run: { type: 'string' }, limit: { type: 'string' } } });
  if (v.help) {
    io.out(RUNS_HELP);
    return 0;
  }
  if (positionals.length) throw new ArgumentError(`runs takes no arguments, got '${positionals[0]}'`);
  const fmt = format(v);
  const limit = positiveInt('limit', v.limit, 10_000) ?? 20;
  await withStore(v, async (store) => {
    if (v.run !== undefined) {
      const all = await store.listRuns({ limit: 10_000 });
      const run = all.find((r) => r.id === v.run || r.id.startsWith(v.run!));
      if (!run) throw new UsageError(`no run '${v.run}'`);
      const scans = await store.listNodeScans({ run: run.id });
      const refs = new Map((await store.listNodes({ includeGone: true })).map((n) => [n.node.id, n.ref]));
      if (fmt === 'json') return io.out(json({ ...run, nodeScans: scans.map((s) => ({ ...refs.get(s.node), ...nodeScanJson(s) })) }));
      io.out(runLine(run) + '\n\n');
      io.out(renderTable(['CLUSTER/POOL/NODE', 'STATE', 'REASON', 'INVENTORY', 'FINDINGS', 'BYTES READ', 'SECONDS'], scans.map((s) => {
        const r = refs.get(s.node);
        return [r ? `${r.cluster}/${r.nodePool}/${r.node}` : s.node, s.state, s.reason ?? '', s.inventorySource ?? '', s.findings !== undefined ? String(s.findings) : '', String(s.bytesRead), s.durationMs !== undefined ? (s.durationMs / 1000).toFixed(1) : ''];
      })));
      return;
    }
    const list = await store.listRuns({ limit, ...(v.account !== undefined && { account: v.account }) });
    if (fmt === 'json') return io.out(json(list));
    if (list.length === 0) return io.out('no runs yet\n');
    io.out(renderTable(['RUN', 'ACCOUNT', 'TRIGGER', 'STATE', 'NODES', 'PUBLISHED', 'FAILED', 'SKIPPED', 'STARTED (UTC)', 'SECONDS'], list.map((r) => [
      r.id.slice(0, 8), r.account, r.trigger, r.state, String(r.counts.total), String(r.counts.published), String(r.counts.failed), String(r.counts.skipped),
      r.createdAt.slice(0, 19).replace('T', ' '), r.finishedAt && r.startedAt ? ((Date.parse(r.finishedAt) - Date.parse(r.startedAt)) / 1000).toFixed(1) : '',
    ])));
  });
  return 0;
}

async function accounts(args: string[], io: CliIo): Promise<number> {
  const { values: v, positionals } = parseOptions({ args, allowPositionals: true, options: { ...COMMON_SPEC, config: { type: 'string' }, by: { type: 'string' } } });
  if (v.help) {
    io.out(ACCOUNTS_HELP);
    return 0;
  }
  const [sub = 'list', id, ...assignments] = positionals;
  const fmt = format(v);
  if (v.config !== undefined) {
    const cp = await ControlPlane.open({ dataDir: dataDir(v), store: storeOf(v), config: v.config });
    try {
      await cp.applyConfig();
    } finally {
      await cp.close();
    }
  }
  await withStore(v, async (store) => {
    if (sub === 'list') {
      if (id !== undefined) throw new ArgumentError(`accounts list takes no arguments, got '${id}'`);
      const list = await store.listAccounts();
      if (fmt === 'json') return io.out(json(list.map(accountJson)));
      if (list.length === 0) return io.out('no accounts: hullscan accounts --config FILE (or run/serve --config FILE) adds them\n');
      io.out(renderTable(['ACCOUNT', 'PROVIDER', 'NAME', 'AGENTLESS SCANNING', 'MALWARE', 'EXCLUSION TAGS', 'SCHEDULE', 'RETENTION', 'VERSION'], list.map((a) => [
        a.id, a.provider, a.name, a.settings.agentlessScanning ? 'on' : 'off', a.settings.malware ? 'on' : 'off',
        Object.entries(a.settings.exclusionTags).map(([k, val]) => `${k}: ${val}`).join(', ') || '-', describeSchedule(a.settings.schedule), `${a.settings.retentionDays} d`, String(a.settingsVersion),
      ])));
      return;
    }
    if (sub === 'set') {
      if (id === undefined || assignments.length === 0) throw new ArgumentError('accounts set needs an account id and KEY=VALUE settings');
      const patch = parseAssignments(assignments);
      if (!(await store.getAccount(id))) throw new UsageError(`no account '${id}'`);
      const by = v.by ?? process.env['USER'] ?? 'cli';
      const updated = await store.updateSettings(id, patch, { by: `cli:${by}`, at: new Date().toISOString() });
      if (fmt === 'json') return io.out(json(accountJson(updated)));
      io.out(`account ${id}: settings version ${updated.settingsVersion}: agentlessScanning ${updated.settings.agentlessScanning ? 'on' : 'off'}, malware ${updated.settings.malware ? 'on' : 'off'}, schedule ${describeSchedule(updated.settings.schedule)}\n`);
      return;
    }
    if (sub === 'history') {
      if (id === undefined) throw new ArgumentError('accounts history needs an account id');
      if (!(await store.getAccount(id))) throw new UsageError(`no account '${id}'`);
      const h = await store.settingsHistory(id);
      if (fmt === 'json') return io.out(json(h));
      io.out(renderTable(['VERSION', 'CHANGED (UTC)', 'BY', 'AGENTLESS SCANNING', 'MALWARE', 'EXCLUSION TAGS', 'SCHEDULE'], h.map((s) => [
        String(s.version), s.changedAt.slice(0, 19).replace('T', ' '), s.changedBy, s.settings.agentlessScanning ? 'on' : 'off', s.settings.malware ? 'on' : 'off',
        Object.entries(s.settings.exclusionTags).map(([k, val]) => `${k}: ${val}`).join(', ') || '-', describeSchedule(s.settings.schedule),
      ])));
      return;
    }
    throw new ArgumentError(`unknown accounts command '${sub}': use list, set or history`);
  });
  return 0;
}

const COMMANDS: Record<string, (args: string[], io: CliIo) => Promise<number>> = { serve, run: runOnce, nodes, findings, alerts, runs, accounts };

export function fleetCommand(cmd: string, args: string[], io: CliIo): Promise<number> {
  const run = COMMANDS[cmd];
  if (run === undefined) throw new ArgumentError(`unknown command '${cmd}'`);
  return run(args, io);
}
