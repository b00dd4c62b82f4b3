/**
 * The security views (issue #13): `recommendations`, `findings --by cve` (the Findings list) and
 * `findings --cve ID` (the CVE pane), `remediation`, `image check`, `exemptions`, `alerts
 * list|dismiss|resolve|reactivate|history|suppress`. Every answer comes from service/
 * (SecurityService); this file only parses options and prints. Names, options and JSON keys are
 * a contract (docs/cli.md, docs/security-views.md).
 */
import { join } from 'node:path';
import type { CliIo } from '../args.ts';
import { ArgumentError, parseOptions } from '../args.ts';
import { inventoryTarget } from '../../scan/inventory.ts';
import {
  fixLabel,
  findingsCsv,
  parseSeverity,
  remediationSentence,
  SecurityService,
  SEVERITY_ORDER,
  VULNERABILITY_SORTS,
  type CvePane,
  type ImageCheckResult,
  type PoolRemediation,
  type Severity,
  type SeverityCounts,
  type VulnerabilitySort,
} from '../../service/index.ts';
import { openStore } from '../../store/index.ts';
import { renderTable } from '../table.ts';
import { alertJson, COMMON_SPEC as FLEET_COMMON_SPEC, dataDir, format, positiveInt, storeOf, type Common as FleetCommon } from './fleet.ts';
import { ALERTS_SECURITY_HELP, EXEMPTIONS_HELP, IMAGE_CHECK_HELP, RECOMMENDATIONS_HELP, REMEDIATION_HELP } from './security-help.ts';

export const SECURITY_HELPS: Record<string, string> = {
  recommendations: RECOMMENDATIONS_HELP,
  remediation: REMEDIATION_HELP,
  'image check': IMAGE_CHECK_HELP,
  exemptions: EXEMPTIONS_HELP,
};

const COMMON_SPEC = { ...FLEET_COMMON_SPEC, db: { type: 'string' } } as const;

interface Common extends FleetCommon {
  db?: string | undefined;
}

function json(v: unknown): string {
  return JSON.stringify(v, null, 2) + '\n';
}

function who(by: string | undefined): string {
  return `cli:${by ?? process.env['USER'] ?? 'unknown'}`;
}

async function withService<T>(v: Common, body: (s: SecurityService) => Promise<T>): Promise<T> {
  const store = await openStore(storeOf(v));
  const service = new SecurityService({ store, dbPath: v.db ?? join(dataDir(v), 'vuln.db') });
  try {
    return await body(service);
  } finally {
    service.close();
    await store.close();
  }
}

function countsLine(c: SeverityCounts): string {
  return SEVERITY_ORDER.filter((s) => c[s] > 0).map((s) => `${s} ${c[s]}`).join(', ') || 'none';
}

function filterOf(v: { account?: string | undefined; cluster?: string | undefined; pool?: string | undefined; node?: string | undefined }): { account?: string; cluster?: string; pool?: string; node?: string } {
  return {
    ...(v.account !== undefined && { account: v.account }),
    ...(v.cluster !== undefined && { cluster: v.cluster }),
    ...(v.pool !== undefined && { pool: v.pool }),
    ...(v.node !== undefined && { node: v.node }),
  };
}

// ---- recommendations --------------------------------------------------------------------

export async function recommendationsCommand(args: string[], io: CliIo): Promise<number> {
  const { values: v, positionals } = parseOptions({ args, allowPositionals: true, options: { ...COMMON_SPEC, account: { type: 'string' }, cluster: { type: 'string' }, by: { type: 'string', default: 'cluster' }, days: { type: 'string' } } });
  if (v.help) {
    io.out(RECOMMENDATIONS_HELP);
    return 0;
  }
  const fmt = format(v);
  if (positionals[0] === 'threshold') {
    const [, account, severity, extra] = positionals;
    if (account === undefined || severity === undefined || extra !== undefined) throw new ArgumentError('recommendations threshold needs ACCOUNT and SEVERITY');
    const sev = parseSeverity(severity);
    await withService(v, (s) => s.setThreshold(account, sev, who(process.env['USER'])));
    io.out(fmt === 'json' ? json({ account, threshold: sev }) : `account ${account}: clusters are unhealthy with an open finding of severity ${sev} or above\n`);
    return 0;
  }
  if (positionals[0] === 'history') {
    if (positionals.length > 1) throw new ArgumentError(`recommendations history takes options only, got '${positionals[1]}'`);
    const days = positiveInt('days', v.days, 3650);
    await withService(v, async (s) => {
      const list = await s.history({ ...(v.account !== undefined && { account: v.account }), ...(v.cluster !== undefined && { cluster: v.cluster }), ...(days !== undefined && { days }) });
      if (fmt === 'json') return io.out(json(list));
      for (const h of list) {
        const m = h.meanTimeToRemediateHours;
        io.out(`${h.account}/${h.cluster}: ${h.resolved} findings resolved in the window; mean time to remediate ${m.all === null ? '-' : `${m.all} h`} (${SEVERITY_ORDER.filter((x) => m[x] !== null).map((x) => `${x} ${m[x]} h`).join(', ') || 'none resolved'})\n`);
        io.out(renderTable(['DAY (UTC)', ...SEVERITY_ORDER.map((x) => x.toUpperCase())], h.days.map((d) => [d.date, ...SEVERITY_ORDER.map((x) => String(d.open[x]))])) + '\n');
      }
    });
    return 0;
  }
  if (positionals.length) throw new ArgumentError(`unknown recommendations command '${positionals[0]}': use threshold or history`);
  if (v.by !== 'cluster' && v.by !== 'account') throw new ArgumentError(`--by must be cluster or account, got '${v.by}'`);
  await withService(v, async (s) => {
    if (v.by === 'account') {
      const list = await s.accountRollups(v.account !== undefined ? { account: v.account } : {});
      if (fmt === 'json') return io.out(json(list));
      io.out(renderTable(['ACCOUNT', 'STATUS', 'CLUSTERS (UNHEALTHY/HEALTHY/N.A./NOT ASSESSED)', 'VULNERABILITIES (SUM OF CLUSTERS)', 'REASON'], list.map((r) => [
        r.account, r.status, `${r.clusters.unhealthy}/${r.clusters.healthy}/${r.clusters['not-applicable']}/${r.clusters['not-assessed']}`, countsLine(r.counts), r.reason ?? '',
      ])));
      return;
    }
    const list = await s.recommendations(filterOf(v));
    if (fmt === 'json') return io.out(json(list));
    if (list.length === 0) return io.out('no clusters yet: hullscan run --once --config FILE discovers them\n');
    io.out(`${list[0]!.title}\n\n`);
    io.out(renderTable(['ACCOUNT', 'CLUSTER', 'STATUS', 'SEVERITY', 'VULNERABILITIES (OPEN, NOT EXEMPT)', 'EXEMPT', 'AFFECTED POOLS', 'NODES', 'LAST SCANNED (UTC)'], list.map((r) => [
      r.account, r.cluster, r.status, r.severity ?? '', r.status === 'unhealthy' || r.status === 'healthy' ? countsLine(r.counts) : '', String(r.exempt), r.affectedPools.join(', '),
      `${r.affectedNodes} affected / ${r.nodes.assessed} assessed / ${r.nodes.total}`, r.lastScanned?.slice(0, 16).replace('T', ' ') ?? '',
    ])));
    const reasons = list.filter((r) => r.reason !== undefined);
    if (reasons.length) io.out('\n' + reasons.map((r) => `${r.account}/${r.cluster}: ${r.reason}`).join('\n') + '\n');
    const bad = list.find((r) => r.status === 'unhealthy');
    if (bad) io.out(`\nRemediation:\n${bad.remediation.map((step, i) => `  ${i + 1}. ${step}`).join('\n')}\n`);
  });
  return 0;
}

// ---- findings: the list and the CVE pane ------------------------------------------------

interface FindingsViewValues extends Common {
  account?: string | undefined;
  cluster?: string | undefined;
  pool?: string | undefined;
  node?: string | undefined;
  cve?: string | undefined;
  severity?: string | undefined;
  by?: string | undefined;
  sort?: string | undefined;
  desc?: boolean | undefined;
  'fix-available'?: boolean | undefined;
  'no-fix'?: boolean | undefined;
  kev?: boolean | undefined;
  package?: string | undefined;
  search?: string | undefined;
  page?: string | undefined;
  'page-size'?: string | undefined;
  export?: string | undefined;
  pane?: boolean | undefined;
}

/** `hullscan findings --by cve …` and `hullscan findings --cve ID` (table, or --pane). */
export async function findingsView(v: FindingsViewValues, io: CliIo): Promise<number> {
  const fmt = format(v);
  if (v.cve !== undefined) {
    await withService(v, async (s) => {
      const pane = await s.cvePane(v.cve!, filterOf(v));
      if (fmt === 'json') return io.out(json(pane));
      io.out(paneText(pane));
    });
    return 0;
  }
  if (v.by !== 'cve') throw new ArgumentError(`--by must be cve, got '${v.by}'`);
  if (v['fix-available'] && v['no-fix']) throw new ArgumentError('--fix-available and --no-fix exclude each other');
  if (v.sort !== undefined && !(VULNERABILITY_SORTS as readonly string[]).includes(v.sort)) throw new ArgumentError(`--sort must be one of ${VULNERABILITY_SORTS.join(', ')}`);
  if (v.export !== undefined && v.export !== 'csv' && v.export !== 'json') throw new ArgumentError(`--export must be csv or json, got '${v.export}'`);
  const severities = v.severity?.split(',').filter(Boolean).map(parseSeverity);
  const query = {
    ...filterOf(v),
    ...(severities !== undefined && { severities }),
    ...(v['fix-available'] && { fixAvailable: true }),
    ...(v['no-fix'] && { fixAvailable: false }),
    ...(v.kev && { kev: true }),
    ...(v.package !== undefined && { package: v.package }),
    ...(v.search !== undefined && { search: v.search }),
    ...(v.sort !== undefined && { sort: v.sort as VulnerabilitySort }),
    ...(v.desc && { descending: true }),
  };
  await withService(v, async (s) => {
    if (v.export !== undefined) {
      const all = [];
      for (let page = 1; ; page++) {
        const p = await s.findings({ ...query, page, pageSize: 1000 });
        all.push(...p.items);
        if (all.length >= p.total || p.items.length === 0) break;
      }
      io.out(v.export === 'csv' ? findingsCsv(all) : json(all));
      return;
    }
    const p = await s.findings({ ...query, page: positiveInt('page', v.page, 1_000_000) ?? 1, pageSize: positiveInt('page-size', v['page-size'], 1000) ?? 50 });
    if (fmt === 'json') return io.out(json(p));
    const pages = Math.max(1, Math.ceil(p.total / p.pageSize));
    io.out(`${p.total} vulnerabilities (page ${p.page} of ${pages})\n\n`);
    if (p.items.length === 0) return;
    io.out(renderTable(['SEVERITY', 'VULNERABILITY', 'CVSS', 'EPSS', 'KEV', 'FIX', 'PACKAGES', 'NODES', 'POOLS', 'CLUSTERS', 'FIRST SEEN', 'STATUS'], p.items.map((i) => [
      i.severity.toUpperCase(), i.vulnerabilityId, i.cvss?.score?.toFixed(1) ?? '', i.epss ? i.epss.score.toFixed(3) : '', i.kev ? 'yes' : '', fixLabel(i.fixState, i.fixedVersions).slice(0, 40),
      i.packages.slice(0, 3).join(', ') + (i.packages.length > 3 ? ` +${i.packages.length - 3}` : ''), String(i.nodes), String(i.pools), String(i.clusters), i.firstSeen.slice(0, 10), i.status,
    ])));
  });
  return 0;
}

function paneText(p: CvePane): string {
  const lines: string[] = [];
  lines.push(`${p.vulnerabilityId} — ${p.severity.toUpperCase()}${p.kev ? ' — KNOWN EXPLOITED (CISA KEV, added ' + p.kev.dateAdded + ')' : ''}`);
  if (p.description) lines.push('', p.description);
  lines.push('');
  for (const c of p.cvss) lines.push(`CVSS ${c.version}: ${c.score ?? '?'} ${c.vector}${c.source ? ` (${c.source})` : ''}`);
  if (p.vendorSeverity) lines.push(`Vendor severity: ${p.vendorSeverity.level} (${p.vendorSeverity.source})`);
  if (p.epss) lines.push(`EPSS: ${p.epss.score} (percentile ${p.epss.percentile})`);
  lines.push(`Fix: ${fixLabel(p.fixState, p.fixedVersions)}${p.vendorStatus ? ` — ${p.vendorStatus.source}: ${p.vendorStatus.status}${p.vendorStatus.note ? ` (${p.vendorStatus.note})` : ''}` : ''}`);
  if (p.published || p.modified) lines.push(`Published: ${p.published?.slice(0, 10) ?? '?'}, modified: ${p.modified?.slice(0, 10) ?? '?'}`);
  if (p.aliases.length) lines.push(`Aliases: ${p.aliases.join(', ')}`);
  for (const a of p.advisories) lines.push(`Advisory: ${a.id} (${a.source}, ${a.feed})`);
  if (p.references.length) lines.push('References:', ...p.references.map((r) => `  ${r}`));
  const c = p.counts;
  lines.push('', `Affected: ${c.nodes} node${c.nodes === 1 ? '' : 's'} in ${c.pools} pool${c.pools === 1 ? '' : 's'} of ${c.clusters} cluster${c.clusters === 1 ? '' : 's'} (${c.findings} findings${c.exempt ? `, ${c.exempt} exempt` : ''})`, '');
  const rows = p.affected.map((a) => [
    `${a.account}/${a.cluster}`, a.nodePool, a.node, a.package + (a.packages.length > 1 ? ` +${a.packages.length - 1}` : ''), a.installedVersion, a.fixedVersion ?? fixLabel(a.state === 'fixed' ? 'fixed' : a.state === 'affected' ? 'no-fix' : a.state, []),
    a.runsVulnerableKernel === null ? '' : a.runsVulnerableKernel ? `yes (${a.kernelRelease})` : `no (runs ${a.nodeKernel})`, a.firstSeen.slice(0, 10), a.exempt ? 'exempt' : '',
  ]);
  return lines.join('\n') + '\n' + (rows.length ? renderTable(['CLUSTER', 'POOL', 'NODE', 'PACKAGE', 'INSTALLED', 'FIXED IN', 'RUNS THIS KERNEL', 'FIRST SEEN', ''], rows) : '');
}

// ---- remediation and the image gate -----------------------------------------------------

function remediationJson(r: PoolRemediation): Record<string, unknown> {
  const strip = (l: PoolRemediation['fixed']) => l.map((x) => ({ vulnerabilityId: x.vulnerabilityId, packages: x.packages, severity: x.severity }));
  return {
    account: r.account, cluster: r.cluster, nodePool: r.nodePool, imageFamily: r.imageFamily, currentImage: r.currentImage, targetImage: r.targetImage, targetFrom: r.targetFrom, nodes: r.nodes,
    fixed: strip(r.fixed), remaining: strip(r.remaining), introduced: strip(r.introduced), drift: r.drift, ...(r.note !== undefined && { note: r.note }),
  };
}

function remediationText(list: readonly PoolRemediation[], details: boolean): string {
  const out: string[] = [];
  for (const r of list) {
    out.push(remediationSentence(r));
    if (r.note && r.targetImage !== null) out.push(`  note: ${r.note}`);
    const bySev = (l: PoolRemediation['fixed']) => {
      const c: Partial<Record<Severity, number>> = {};
      for (const x of l) c[x.severity] = (c[x.severity] ?? 0) + 1;
      return SEVERITY_ORDER.filter((s) => c[s]).map((s) => `${s} ${c[s]}`).join(', ') || 'none';
    };
    if (r.targetImage !== null) out.push(`  fixed: ${bySev(r.fixed)}; remaining: ${bySev(r.remaining)}${r.introduced.length ? `; introduced: ${bySev(r.introduced)}` : ''}`);
    if (details) {
      for (const [name, l] of [['fixed', r.fixed], ['remaining', r.remaining], ['introduced', r.introduced]] as const) {
        for (const x of l) out.push(`    ${name.padEnd(10)} ${x.severity.padEnd(10)} ${x.vulnerabilityId.padEnd(20)} ${x.packages.join(', ')}`);
      }
    } else if (r.remaining.length) {
      const top = r.remaining.filter((x) => x.severity === 'critical' || x.severity === 'high').slice(0, 5);
      if (top.length) out.push(`  remaining critical/high: ${top.map((x) => `${x.vulnerabilityId} (${x.packages.join(', ')})`).join('; ')}${r.remaining.length > top.length ? ' … (--details)' : ''}`);
    }
    for (const d of r.drift) {
      const parts = [
        ...d.changed.map((p) => `${p.name} ${p.image} → ${p.node}`),
        ...d.added.map((p) => `+${p.name} ${p.node}`),
        ...d.removed.map((p) => `-${p.name} ${p.image}`),
      ];
      out.push(`  drift: ${d.node} differs from its image in ${parts.length} package${parts.length === 1 ? '' : 's'}: ${parts.slice(0, 8).join(', ')}${parts.length > 8 ? ', …' : ''}`);
    }
  }
  return out.join('\n') + '\n';
}

export async function remediationCommand(args: string[], io: CliIo): Promise<number> {
  const { values: v, positionals } = parseOptions({
    args, allowPositionals: true,
    options: { ...COMMON_SPEC, account: { type: 'string' }, cluster: { type: 'string' }, pool: { type: 'string' }, to: { type: 'string' }, details: { type: 'boolean', default: false } },
  });
  if (v.help) {
    io.out(REMEDIATION_HELP);
    return 0;
  }
  if (positionals.length) throw new ArgumentError(`remediation takes no arguments, got '${positionals[0]}'`);
  const fmt = format(v);
  await withService(v, async (s) => {
    const list = await s.remediation({ ...filterOf(v), ...(v.to !== undefined && { to: v.to }) });
    if (fmt === 'json') return io.out(json(list.map(remediationJson)));
    if (list.length === 0) return io.out('no node pools in accounts with scanning on\n');
    io.out(remediationText(list, v.details));
  });
  return 0;
}

export async function imageCheckCommand(args: string[], io: CliIo): Promise<number> {
  const { values: v, positionals } = parseOptions({
    args, allowPositionals: true,
    options: {
      ...COMMON_SPEC, catalog: { type: 'string' }, disk: { type: 'string' }, against: { type: 'string' }, cluster: { type: 'string' }, account: { type: 'string' }, family: { type: 'string' },
      'fail-on': { type: 'string', default: 'unknown' }, 'exit-code': { type: 'string', default: '1' }, 'allow-private-urls': { type: 'boolean', default: false },
    },
  });
  if (v.help) {
    io.out(IMAGE_CHECK_HELP);
    return 0;
  }
  if (positionals.length) throw new ArgumentError(`image check takes no arguments, got '${positionals[0]}'`);
  if ((v.catalog === undefined) === (v.disk === undefined)) throw new ArgumentError('image check needs one of --catalog VERSION or --disk IMAGE');
  const fmt = format(v);
  const failOn = parseSeverity(v['fail-on']);
  const exitCode = Number(v['exit-code']);
  if (!/^\d+$/.test(v['exit-code']) || exitCode < 1 || exitCode > 125) throw new ArgumentError('--exit-code must be 1..125');
  const against = { ...(v.account !== undefined && { account: v.account }), ...(v.cluster !== undefined && { cluster: v.cluster }), ...(v.against !== undefined && { pool: v.against }) };
  let result!: ImageCheckResult;
  await withService(v, async (s) => {
    if (v.catalog !== undefined) {
      result = await s.checkCatalogImage(v.catalog, { ...against, ...(v.family !== undefined && { family: v.family }) });
    } else {
      const opened = await inventoryTarget(v.disk!, v['allow-private-urls'] ? { open: { http: { allowHttp: true, allowPrivateNetwork: true } } } : {});
      try {
        result = await s.checkInventory(v.disk!, opened.inventory, against);
      } finally {
        await opened.close();
      }
    }
  });
  const rank = SEVERITY_ORDER.indexOf(failOn);
  const blocking = result.pools.flatMap((p) => p.introduced.filter((x) => SEVERITY_ORDER.indexOf(x.severity) <= rank).map((x) => ({ pool: `${p.cluster}/${p.nodePool}`, ...x })));
  if (fmt === 'json') io.out(json({ candidate: result.candidate, candidateVulnerabilities: result.candidateVulnerabilities, failOn, blocking: blocking.length, pools: result.pools.map(remediationJson) }));
  else {
    io.out(`candidate ${result.candidate}: ${result.candidateVulnerabilities} vulnerabilities of its own\n`);
    io.out(remediationText(result.pools, false));
    io.out(blocking.length ? `\nFAIL: introduces ${blocking.length} vulnerabilit${blocking.length === 1 ? 'y' : 'ies'} at or above ${failOn}: ${blocking.slice(0, 10).map((b) => `${b.vulnerabilityId} (${b.severity}, ${b.packages.join(', ')})`).join('; ')}${blocking.length > 10 ? ' …' : ''}\n` : `\nPASS: introduces nothing at or above ${failOn}\n`);
  }
  return blocking.length ? exitCode : 0;
}

// ---- exemptions ---------------------------------------------------------------------------

export async function exemptionsCommand(args: string[], io: CliIo): Promise<number> {
  const { values: v, positionals } = parseOptions({
    args, allowPositionals: true,
    options: {
      ...COMMON_SPEC, account: { type: 'string' }, cluster: { type: 'string' }, pool: { type: 'string' }, node: { type: 'string' }, cve: { type: 'string' }, package: { type: 'string' },
      reason: { type: 'string' }, owner: { type: 'string' }, expires: { type: 'string' }, note: { type: 'string' }, by: { type: 'string' }, all: { type: 'boolean', default: false },
    },
  });
  if (v.help) {
    io.out(EXEMPTIONS_HELP);
    return 0;
  }
  const fmt = format(v);
  const [sub = 'list', id, extra] = positionals;
  await withService(v, async (s) => {
    if (sub === 'list') {
      if (id !== undefined) throw new ArgumentError(`exemptions list takes no arguments, got '${id}'`);
      const list = await s.listExemptions({ ...(v.account !== undefined && { account: v.account }), all: v.all });
      if (fmt === 'json') return io.out(json(list));
      if (list.length === 0) return io.out('no exemptions in force\n');
      io.out(renderTable(['ID', 'STATUS', 'SCOPE', 'VULNERABILITY', 'PACKAGE', 'REASON', 'OWNER', 'EXPIRES (UTC)', 'BY', 'NOTE'], list.map((e) => [
        e.id.slice(0, 8), e.status, e.scope.label, e.vulnerability ?? '*', e.package ?? '*', e.reason, e.owner, e.expiresAt?.slice(0, 16).replace('T', ' ') ?? 'never', e.createdBy, e.note ?? '',
      ])));
      return;
    }
    if (sub === 'add') {
      if (id !== undefined) throw new ArgumentError(`exemptions add takes options only, got '${id}'`);
      if (v.account === undefined || v.reason === undefined || v.owner === undefined) throw new ArgumentError('exemptions add needs --account, --reason and --owner');
      const e = await s.addExemption({
        ...filterOf(v), account: v.account, reason: v.reason, owner: v.owner, by: who(v.by),
        ...(v.cve !== undefined && { vulnerability: v.cve }), ...(v.package !== undefined && { package: v.package }), ...(v.expires !== undefined && { expires: v.expires }), ...(v.note !== undefined && { note: v.note }),
      });
      if (fmt === 'json') return io.out(json(e));
      io.out(`exemption ${e.id.slice(0, 8)}: ${e.vulnerability ?? '*'} on ${e.package ?? '*'} in ${e.scope.label} (${e.reason}, owner ${e.owner}${e.expiresAt ? `, until ${e.expiresAt}` : ''})\n`);
      return;
    }
    if (sub === 'remove') {
      if (id === undefined || extra !== undefined) throw new ArgumentError('exemptions remove needs one exemption ID');
      const e = await s.removeExemption(id, who(v.by));
      if (fmt === 'json') return io.out(json(e));
      io.out(`exemption ${e.id.slice(0, 8)} removed: its findings count again\n`);
      return;
    }
    throw new ArgumentError(`unknown exemptions command '${sub}': use list, add or remove`);
  });
  return 0;
}

// ---- alerts -----------------------------------------------------------------------------

/** `hullscan alerts …` (fleet.ts hands every alerts command line here). */
export async function alertsCommand(args: string[], io: CliIo): Promise<number> {
  const { values: v, positionals } = parseOptions({
    args, allowPositionals: true,
    options: {
      ...COMMON_SPEC, account: { type: 'string' }, cluster: { type: 'string' }, pool: { type: 'string' }, node: { type: 'string' }, all: { type: 'boolean', default: false },
      reason: { type: 'string' }, by: { type: 'string' }, path: { type: 'string' }, rule: { type: 'string' }, sha256: { type: 'string' }, expires: { type: 'string' }, existing: { type: 'boolean', default: false },
    },
  });
  if (v.help) {
    io.out(ALERTS_SECURITY_HELP);
    return 0;
  }
  const fmt = format(v);
  const [sub = 'list', id, third, extra] = positionals;
  await withService(v, async (s) => {
    if (sub === 'list') {
      if (id !== undefined) throw new ArgumentError(`alerts list takes no arguments, got '${id}'`);
      const list = await s.alerts({ ...filterOf(v), statuses: v.all ? ['active', 'dismissed', 'resolved'] : ['active', 'dismissed'] });
      if (fmt === 'json') return io.out(json(list.map((a) => ({ ...alertJson(a), alertId: a.id }))));
      if (list.length === 0) return io.out('no alerts\n');
      io.out(renderTable(['ID', 'SEVERITY', 'STATUS', 'KIND', 'DETECTION', 'PATH', 'SHA-256', 'CLUSTER/POOL/NODE', 'FIRST SEEN', 'WHY'], list.map((a) => [
        a.id.slice(0, 8), a.alert.severity.toUpperCase(), a.status, a.alert.kind, `${a.alert.engine}: ${a.alert.rule}`, a.alert.path, a.alert.sha256.slice(0, 16), `${a.ref.cluster}/${a.ref.nodePool}/${a.ref.node}`,
        a.firstSeen.slice(0, 10), a.status !== 'active' ? a.statusReason ?? '' : '',
      ])));
      return;
    }
    if (sub === 'dismiss' || sub === 'resolve' || sub === 'reactivate') {
      if (id === undefined || third !== undefined) throw new ArgumentError(`alerts ${sub} needs one alert ID`);
      if (sub === 'dismiss' && v.reason === undefined) throw new ArgumentError('alerts dismiss needs --reason TEXT');
      const full = sub === 'dismiss' ? await s.dismissAlert(id, v.reason!, who(v.by)) : sub === 'resolve' ? await s.resolveAlert(id, v.reason, who(v.by)) : await s.reactivateAlert(id, who(v.by));
      const status = sub === 'dismiss' ? 'dismissed' : sub === 'resolve' ? 'resolved' : 'active';
      if (fmt === 'json') return io.out(json({ id: full, status }));
      io.out(`alert ${full.slice(0, 8)}: ${status}\n`);
      return;
    }
    if (sub === 'history') {
      if (id === undefined) throw new ArgumentError('alerts history needs an alert ID');
      const full = (await s.security.alertIdsByPrefix(id));
      if (full.length !== 1) throw new ArgumentError(full.length ? `'${id}' names several alerts` : `no alert '${id}'`);
      const h = await s.alertHistory(full[0]!);
      if (fmt === 'json') return io.out(json(h));
      io.out(h.length ? renderTable(['WHEN (UTC)', 'STATUS', 'BY', 'REASON'], h.map((x) => [x.at.slice(0, 19).replace('T', ' '), x.status, x.by, x.reason ?? ''])) : 'no status changes (active since first seen)\n');
      return;
    }
    if (sub === 'suppress') {
      const action = id ?? 'list';
      if (action === 'list') {
        const list = await s.listSuppressions({ ...(v.account !== undefined && { account: v.account }), all: v.all });
        if (fmt === 'json') return io.out(json(list));
        if (list.length === 0) return io.out('no suppression rules\n');
        io.out(renderTable(['ID', 'SCOPE', 'PATH', 'RULE', 'SHA-256', 'REASON', 'EXPIRES (UTC)', 'BY', 'REMOVED'], list.map((r) => [
          r.id.slice(0, 8), r.scope.label, r.pathGlob ?? '*', r.rule ?? '*', r.sha256?.slice(0, 16) ?? '*', r.reason, r.expiresAt?.slice(0, 16).replace('T', ' ') ?? 'never', r.createdBy, r.removedAt?.slice(0, 10) ?? '',
        ])));
        return;
      }
      if (action === 'add') {
        if (third !== undefined) throw new ArgumentError(`alerts suppress add takes options only, got '${third}'`);
        if (v.account === undefined || v.reason === undefined) throw new ArgumentError('alerts suppress add needs --account and --reason');
        const r = await s.addSuppression({
          ...filterOf(v), account: v.account, reason: v.reason, by: who(v.by), existing: v.existing,
          ...(v.path !== undefined && { path: v.path }), ...(v.rule !== undefined && { rule: v.rule }), ...(v.sha256 !== undefined && { sha256: v.sha256 }), ...(v.expires !== undefined && { expires: v.expires }),
        });
        if (fmt === 'json') return io.out(json(r));
        io.out(`suppression rule ${r.rule.id.slice(0, 8)} in ${r.rule.scope.label}${r.dismissed ? `: ${r.dismissed} existing alerts dismissed` : ': applies to alerts that appear from now on'}\n`);
        return;
      }
      if (action === 'remove') {
        if (third === undefined || extra !== undefined) throw new ArgumentError('alerts suppress remove needs one rule ID');
        await s.removeSuppression(third, who(v.by));
        io.out(fmt === 'json' ? json({ id: third, removed: true }) : `suppression rule ${third} removed\n`);
        return;
      }
      throw new ArgumentError(`unknown alerts suppress command '${action}': use list, add or remove`);
    }
    throw new ArgumentError(`unknown alerts command '${sub}': use list, dismiss, resolve, reactivate, history or suppress`);
  });
  return 0;
}

const COMMANDS: Record<string, (args: string[], io: CliIo) => Promise<number>> = {
  recommendations: recommendationsCommand,
  remediation: remediationCommand,
  'image check': imageCheckCommand,
  exemptions: exemptionsCommand,
};

export function securityCommand(cmd: string, args: string[], io: CliIo): Promise<number> {
  const run = COMMANDS[cmd];
  if (run === undefined) throw new ArgumentError(`unknown command '${cmd}'`);
  return run(args, io);
}
