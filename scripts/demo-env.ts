/**
 * Builds the demo fleet for the control plane (docs/node-images.md "The demo fleet"):
 *
 *   node scripts/demo-env.ts [--out DIR]        (default .cache/demo)
 *
 * Writes DIR/environment.yaml (accounts → clusters → node pools → nodes; disk paths relative to
 * the file), DIR/images/ (hard links to the cached fixture artefacts, symlinks across
 * filesystems: nothing large is copied) and DIR/vuln.db (the bundled Ubuntu 22.04 AKS slice,
 * KEV and EPSS, imported by `hullscan db import`). Node disks are real GPT disks of real AKS
 * package lists (test/fixtures/aks-node.ts), built by the real tools and cached in
 * .cache/fixtures: the first run takes a minute or two, later runs seconds. Progress on stderr;
 * the paths on stdout.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { aksNodeImage, catalogImage, type AksNodeFormat, type AksNodeOptions } from '../test/fixtures/aks-node.ts';
import { setBuildLogger } from '../test/fixtures/node-image.ts';

const REPO = join(import.meta.dirname, '..');
const UBUNTU = 'AKSUbuntu-2204gen2containerd';
const AZURE_LINUX = 'AKSAzureLinuxV3-gen2';
const EXCLUDE_TAGS = { 'hullscan-exclude': 'true' };
/** The bundled feeds the demo database is imported from (data/vulndb/README.md). */
export const DEMO_FEEDS = [
  'data/vulndb/ubuntu-22.04.osv.aks-slice.jsonl.gz',
  'data/vulndb/azurelinux-3.0-oval.xml.gz',
  'data/vulndb/known_exploited_vulnerabilities.json.gz',
  'data/vulndb/epss-2026-08-16.ubuntu-22.04-aks-slice.csv.gz',
];

interface NodeSpec {
  name: string;
  /** Disk: format and variant; absent for an ephemeral OS disk. */
  disk?: { file: string; format: AksNodeFormat; options?: AksNodeOptions };
  /** What this node is in the demo (printed, and kept in the YAML as a comment). */
  role?: string;
}

interface PoolSpec {
  name: string;
  /** Node-image family (default AKSUbuntu-2204gen2containerd). */
  family?: string;
  version: string;
  tags?: Record<string, string>;
  nodes: NodeSpec[];
}

interface AccountSpec {
  id: string;
  name: string;
  settings: { agentlessScanning: boolean; malware: boolean; exclusionTags: Record<string, string> };
  clusters: { name: string; pools: PoolSpec[] }[];
}

function disks(prefix: string, n: number, format: AksNodeFormat, ext: string): NodeSpec[] {
  return Array.from({ length: n }, (_, i) => ({ name: `aks-${prefix}-${i}`, disk: { file: `${prefix}-${i}.${ext}`, format } }));
}

/** The demo fleet. Pools' nodes share one image (hard links of one artefact); drifted and infected nodes have their own. */
export const DEMO_FLEET: AccountSpec[] = [
  {
    id: 'sub-demo',
    name: 'Demo',
    settings: { agentlessScanning: true, malware: true, exclusionTags: EXCLUDE_TAGS },
    clusters: [
      {
        name: 'aks-dev',
        pools: [
          {
            name: 'np1',
            version: '202309.06.0',
            nodes: [
              ...disks('np1', 2, 'qcow2', 'qcow2'),
              { name: 'aks-np1-2', disk: { file: 'np1-2-hotpatched.vhdx', format: 'vhdx', options: { drift: 'hotpatch' } }, role: 'drifted: openssl upgraded by hand, gdb installed' },
            ],
          },
          { name: 'np2', version: '202408.05.0', tags: EXCLUDE_TAGS, nodes: disks('np2', 2, 'raw', 'raw').map((n) => ({ ...n, role: 'excluded by pool tag' })) },
        ],
      },
      {
        name: 'aks-web',
        pools: [
          {
            name: 'web',
            version: '202408.05.0',
            nodes: [
              ...disks('web', 2, 'vhdx', 'vhdx'),
              { name: 'aks-web-2', disk: { file: 'web-2-infected.vhdx', format: 'vhdx', options: { malware: true } }, role: 'malware: EICAR as /var/tmp/.cache/kworker, a miner config' },
            ],
          },
          { name: 'sys', version: '202608.20.0', nodes: disks('sys', 2, 'vhd-fixed', 'vhd') },
          { name: 'eph', version: '202508.20.0', nodes: [0, 1].map((i) => ({ name: `aks-eph-${i}`, role: 'ephemeral OS disk: assessed from the catalogue' })) },
        ],
      },
      // Azure Linux: rpm packages, matched against the Azure Linux 3.0 OVAL (two days older than the image).
      { name: 'aks-ops', pools: [{ name: 'azl', family: AZURE_LINUX, version: '202502.26.0', nodes: disks('azl', 2, 'qcow2', 'qcow2') }] },
    ],
  },
  {
    id: 'sub-prod',
    name: 'Production',
    settings: { agentlessScanning: false, malware: false, exclusionTags: EXCLUDE_TAGS },
    clusters: [{ name: 'aks-prod', pools: [{ name: 'np1', version: '202608.20.0', nodes: disks('prod-np1', 2, 'qcow2', 'qcow2').map((n) => ({ ...n, role: 'not scanned: agentless scanning off' })) }] }],
  },
];

/** Plain scalars YAML 1.1 / 1.2 readers would take for booleans or null. */
const YAML_RESERVED = new Set(['true', 'false', 'yes', 'no', 'on', 'off', 'y', 'n', 'null', '~']);

function scalar(v: unknown): string {
  if (typeof v !== 'string') return String(v);
  // JSON strings are valid YAML double-quoted scalars.
  return /^[A-Za-z][\w./-]*$/.test(v) && !YAML_RESERVED.has(v.toLowerCase()) ? v : JSON.stringify(v);
}

/** A YAML flow mapping of scalars and nested mappings. */
function flow(o: Record<string, unknown>): string {
  const parts = Object.entries(o).map(([k, v]) => `${scalar(k)}: ${typeof v === 'object' && v !== null ? flow(v as Record<string, unknown>) : scalar(v)}`);
  return `{ ${parts.join(', ')} }`;
}

function nodeEntry(family: string, version: string, n: NodeSpec): Record<string, unknown> {
  const img = catalogImage(family, version);
  return {
    name: n.name,
    ...(n.disk !== undefined ? { disk: `images/${n.disk.file}` } : { ephemeralOsDisk: true }),
    ...(img.kernel !== undefined && { kernel: img.kernel }),
    ...(img.os.prettyName !== undefined && { osImage: img.os.prettyName }),
  };
}

/** The environment as data: what environment.yaml must parse to. */
export function environmentOf(fleet: AccountSpec[]): { accounts: Record<string, unknown>[] } {
  return {
    accounts: fleet.map((a) => ({
      id: a.id,
      provider: 'local',
      name: a.name,
      settings: a.settings,
      clusters: a.clusters.map((c) => ({
        name: c.name,
        pools: c.pools.map((p) => ({ name: p.name, nodeImage: `${p.family ?? UBUNTU}-${p.version}`, ...(p.tags !== undefined && { tags: p.tags }), nodes: p.nodes.map((n) => nodeEntry(p.family ?? UBUNTU, p.version, n)) })),
      })),
    })),
  };
}

/** environment.yaml in the control plane's documented layout: block structure, flow-mapped settings, tags and nodes, a comment per special node. */
export function environmentYaml(fleet: AccountSpec[]): string {
  const out = ['# Hullscan demo fleet: written by scripts/demo-env.ts; disk paths are relative to this file.', 'accounts:'];
  for (const a of fleet) {
    out.push(`  - id: ${scalar(a.id)}`, '    provider: local', `    name: ${scalar(a.name)}`, `    settings: ${flow(a.settings as unknown as Record<string, unknown>)}`, '    clusters:');
    for (const c of a.clusters) {
      out.push(`      - name: ${scalar(c.name)}`, '        pools:');
      for (const p of c.pools) {
        out.push(`          - name: ${scalar(p.name)}`, `            nodeImage: ${scalar(`${p.family ?? UBUNTU}-${p.version}`)}`);
        if (p.tags !== undefined) out.push(`            tags: ${flow(p.tags)}`);
        out.push('            nodes:');
        for (const n of p.nodes) out.push(`              - ${flow(nodeEntry(p.family ?? UBUNTU, p.version, n))}${n.role !== undefined ? `  # ${n.role}` : ''}`);
      }
    }
  }
  const text = `${out.join('\n')}\n`;
  // A generator bug must fail here, not in the control plane.
  assert.deepEqual(parseYaml(text), environmentOf(fleet), 'environment.yaml does not parse back to the fleet');
  return text;
}

/** Places target at link: a hard link (same filesystem), else a symlink. Replaces what was there. */
function place(target: string, link: string): 'hard link' | 'symlink' {
  rmSync(link, { force: true });
  try {
    linkSync(target, link);
    return 'hard link';
  } catch {
    symlinkSync(target, link);
    return 'symlink';
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: 'string', default: join(REPO, '.cache', 'demo') }, help: { type: 'boolean', short: 'h' } } });
  if (values.help === true) {
    process.stdout.write('Usage: node scripts/demo-env.ts [--out DIR]   (default .cache/demo)\n');
    return;
  }
  const dir = resolve(values.out!);
  const images = join(dir, 'images');
  mkdirSync(images, { recursive: true });
  const log = (s: string): boolean => process.stderr.write(`${s}\n`);
  const started = performance.now();
  setBuildLogger((e) => {
    if (e.action !== 'reused') log('seconds' in e ? `  ${e.action} ${e.name} (${e.seconds.toFixed(1)} s)` : `  building ${e.name} …`);
  });

  log(`demo fleet → ${dir}`);
  for (const a of DEMO_FLEET) {
    for (const c of a.clusters) {
      for (const p of c.pools) {
        for (const n of p.nodes) {
          if (n.disk === undefined) {
            log(`${a.id}/${c.name}/${p.name}/${n.name}: no disk (${n.role ?? 'ephemeral OS disk'})`);
            continue;
          }
          const artefact = await aksNodeImage(p.family ?? UBUNTU, p.version, n.disk.format, n.disk.options ?? {});
          const how = place(artefact, join(images, n.disk.file));
          log(`${a.id}/${c.name}/${p.name}/${n.name}: images/${n.disk.file} (${how} to ${relative(REPO, artefact)})${n.role !== undefined ? ` — ${n.role}` : ''}`);
        }
      }
    }
  }
  const yamlPath = join(dir, 'environment.yaml');
  const yamlText = environmentYaml(DEMO_FLEET);
  writeFileSync(yamlPath, yamlText);

  const db = join(dir, 'vuln.db');
  // A fresh database each run: one of an older schema (an older hullscan) is not reused.
  for (const f of [db, `${db}-wal`, `${db}-shm`, `${db}.raw`]) rmSync(f, { recursive: true, force: true });
  log(`importing ${DEMO_FEEDS.join(', ')} → ${db}`);
  execFileSync(process.execPath, [join(REPO, 'bin', 'hullscan.js'), 'db', 'import', '--db', db, ...DEMO_FEEDS.map((f) => join(REPO, f))], { stdio: ['ignore', 2, 2] });
  if (!existsSync(db)) throw new Error(`db import wrote no ${db}`);
  log(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  process.stdout.write(`environment\t${yamlPath}\nvulndb\t${db}\nimages\t${images}\n`);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
