/**
 * Fleet benchmark (issue #11), run as its own process by bench/run.ts: the control plane on the
 * embedded default scanning 100 nodes in 5 pools (shared images; a few drifted nodes with their
 * own images), vulnerability scanner only, against ONE node's scan by the same engine in the
 * same run.
 *  - the reference: one node's disk (AKS Ubuntu 22.04 202309.06.0, the largest package list,
 *    qcow2) scanned by scanNodeDisk with nothing to reuse — open, walk, fingerprint, inventory,
 *    match — in a fresh child process after one warm-up scan in that child (the steady cost of a
 *    node for a scanner that stays up); best of PASSES; its bytes read from the image;
 *  - the fleet: `ControlPlane.runOnce` in another fresh child over a SQLite store in a temporary
 *    directory: discovery, 100 node scans (lease, hard-link snapshot, read, match, publish in one
 *    transaction, delete), 2 at a time; total wall time, the sum of every node scan's bytes read,
 *    the child's peak RSS (process.resourceUsage().maxRSS), how many inventories were read from
 *    disk and how many reused;
 *  - goal: fleet time and bytes ≤ 10× the one node's.
 * Warm page cache throughout. Prints a markdown section on stdout, progress on stderr. Not a test.
 *
 * Child mode: node bench/fleet.ts --case '{"kind":"ref"|"fleet",…}'; prints one JSON line.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlPlane } from '../src/control/control-plane.ts';
import { scanNodeDisk } from '../src/scan/node-scan.ts';
import { importFeeds, openVulnDb } from '../src/vulndb/store.ts';
import { aksNodeImage } from '../test/fixtures/aks-node.ts';
import { setBuildLogger } from '../test/fixtures/node-image.ts';

const REPO = join(import.meta.dirname, '..');
const UBUNTU = 'AKSUbuntu-2204gen2containerd';
const AZURE_LINUX = 'AKSAzureLinuxV3-gen2';
const FEEDS = ['data/vulndb/ubuntu-22.04.osv.aks-slice.jsonl.gz', 'data/vulndb/azurelinux-3.0-oval.xml.gz', 'data/vulndb/known_exploited_vulnerabilities.json.gz', 'data/vulndb/epss-2026-08-16.ubuntu-22.04-aks-slice.csv.gz'];
const PASSES = 3;
const NODES_PER_POOL = 20;
const CONCURRENCY = 2;

interface Case {
  kind: 'ref' | 'fleet';
  db: string;
  image?: string;
  env?: string;
  data?: string;
}

interface Result {
  seconds: number;
  bytes: number;
  maxRssMiB: number;
  findings?: number;
  nodes?: number;
  published?: number;
  fromDisk?: number;
  reused?: number;
}

async function child(c: Case): Promise<Result> {
  if (c.kind === 'ref') {
    const db = openVulnDb(c.db);
    try {
      await scanNodeDisk(c.image!, { db }); // warm-up: code compiled, as in a scanner that stays up
      const t0 = performance.now();
      const r = await scanNodeDisk(c.image!, { db });
      return { seconds: (performance.now() - t0) / 1000, bytes: r.bytesRead, maxRssMiB: process.resourceUsage().maxRSS / 1024, findings: r.result.findings.length };
    } finally {
      db.close();
    }
  }
  const cp = await ControlPlane.open({ dataDir: c.data!, config: c.env!, dbPath: c.db, concurrency: CONCURRENCY, perAccount: CONCURRENCY });
  try {
    const t0 = performance.now();
    const { runs } = await cp.runOnce();
    const seconds = (performance.now() - t0) / 1000;
    const scans = await cp.store.listNodeScans({ run: runs[0]!.id });
    return {
      seconds,
      bytes: scans.reduce((s, x) => s + x.bytesRead, 0),
      maxRssMiB: process.resourceUsage().maxRSS / 1024,
      nodes: scans.length,
      published: scans.filter((s) => s.state === 'published').length,
      fromDisk: scans.filter((s) => s.inventorySource === 'disk').length,
      reused: scans.filter((s) => s.inventorySource === 'reused').length,
      findings: await cp.store.count('findings'),
    };
  } finally {
    await cp.close();
  }
}

function runChild(c: Case): Result {
  const r = spawnSync(process.execPath, [import.meta.filename, '--case', JSON.stringify(c)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 16 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`bench child ${c.kind} failed (${r.status ?? r.signal})`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Result;
}

function yamlEnv(pools: { name: string; family: string; version: string; disks: string[] }[]): string {
  const lines = ['accounts:', '  - id: bench', '    provider: local', '    settings: { agentlessScanning: true, malware: false }', '    clusters:'];
  for (const [ci, cluster] of [pools.slice(0, 3), pools.slice(3)].entries()) {
    lines.push(`      - name: cluster-${ci}`, '        pools:');
    for (const p of cluster) {
      lines.push(`          - name: ${p.name}`, `            nodeImage: ${p.family}-${p.version}`, '            nodes:');
      for (const [i, d] of p.disks.entries()) lines.push(`              - { name: ${p.name}-${i}, disk: ${JSON.stringify(d)} }`);
    }
  }
  return lines.join('\n') + '\n';
}

const fmt = (n: number, d = 2) => n.toFixed(d);
const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;

async function main(): Promise<void> {
  setBuildLogger((e) => void process.stderr.write(`[fleet] fixture ${e.name}: ${e.action}\n`));
  process.stderr.write('[fleet] building (or reusing) the node images\n');
  const [a, aHot, b, bInfected, c, d, azl] = await Promise.all([
    aksNodeImage(UBUNTU, '202309.06.0', 'qcow2'),
    aksNodeImage(UBUNTU, '202309.06.0', 'vhdx', { drift: 'hotpatch' }),
    aksNodeImage(UBUNTU, '202408.05.0', 'vhdx'),
    aksNodeImage(UBUNTU, '202408.05.0', 'vhdx', { malware: true }),
    aksNodeImage(UBUNTU, '202608.20.0', 'vhd-fixed'),
    aksNodeImage(UBUNTU, '202608.20.0', 'qcow2'),
    aksNodeImage(AZURE_LINUX, '202502.26.0', 'qcow2'),
  ]);
  const work = mkdtempSync(join(tmpdir(), 'hullscan-bench-fleet-'));
  try {
    const db = join(work, 'vuln.db');
    await importFeeds(db, FEEDS.map((f) => join(REPO, f)));
    const n = NODES_PER_POOL;
    // Five pools of 20; drifted nodes (their own images): two hot-patched in np1, one infected in np2.
    const pools = [
      { name: 'np1', family: UBUNTU, version: '202309.06.0', disks: [...Array<string>(n - 2).fill(a), aHot, aHot] },
      { name: 'np2', family: UBUNTU, version: '202408.05.0', disks: [...Array<string>(n - 1).fill(b), bInfected] },
      { name: 'np3', family: UBUNTU, version: '202608.20.0', disks: Array<string>(n).fill(c) },
      { name: 'np4', family: UBUNTU, version: '202608.20.0', disks: Array<string>(n).fill(d) },
      { name: 'azl', family: AZURE_LINUX, version: '202502.26.0', disks: Array<string>(n).fill(azl) },
    ];
    const env = join(work, 'env.yaml');
    writeFileSync(env, yamlEnv(pools));
    const refs: Result[] = [];
    for (let i = 0; i < PASSES; i++) {
      process.stderr.write(`[fleet] reference pass ${i + 1}/${PASSES}\n`);
      refs.push(runChild({ kind: 'ref', db, image: a }));
    }
    const ref = refs.reduce((best, r) => (r.seconds < best.seconds ? r : best));
    process.stderr.write('[fleet] 100-node run\n');
    const fleet = runChild({ kind: 'fleet', db, env, data: join(work, 'data') });
    const timeRatio = fleet.seconds / ref.seconds;
    const bytesRatio = fleet.bytes / ref.bytes;
    const out = [
      '### Fleet: 100 nodes in 5 pools on the embedded default (issue #11)',
      '',
      `One node (the reference): AKS Ubuntu 22.04 202309.06.0 (qcow2), scanNodeDisk with nothing to reuse, warm: ${fmt(ref.seconds)} s (best of ${PASSES}), ${mib(ref.bytes)} read, ${ref.findings} findings.`,
      `The fleet: ${fleet.nodes} node scans (${fleet.published} published; ${fleet.fromDisk} inventories read from disk, ${fleet.reused} reused by fingerprint), ${CONCURRENCY} at a time, SQLite store, ${fleet.findings} finding rows.`,
      '',
      '| figure | fleet | one node | ratio | goal |',
      '| --- | --- | --- | --- | --- |',
      `| wall time | ${fmt(fleet.seconds, 1)} s | ${fmt(ref.seconds)} s | ${fmt(timeRatio, 1)}× | ≤ 10× ${timeRatio <= 10 ? '(met)' : '(not met)'} |`,
      `| bytes read | ${mib(fleet.bytes)} | ${mib(ref.bytes)} | ${fmt(bytesRatio, 1)}× | ≤ 10× ${bytesRatio <= 10 ? '(met)' : '(not met)'} |`,
      `| nodes per hour | ${Math.round((fleet.nodes! / fleet.seconds) * 3600).toLocaleString('en')} | ${Math.round(3600 / ref.seconds).toLocaleString('en')} | | |`,
      `| peak RSS | ${fmt(fleet.maxRssMiB, 0)} MiB | ${fmt(ref.maxRssMiB, 0)} MiB | | |`,
    ];
    process.stdout.write(out.join('\n') + '\n');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const caseArg = process.argv.indexOf('--case');
if (caseArg > 0) process.stdout.write(JSON.stringify(await child(JSON.parse(process.argv[caseArg + 1]!) as Case)) + '\n');
else await main();
