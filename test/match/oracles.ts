/**
 * Independent oracles over the RAW feeds, shared by the matcher's accuracy tests
 * (test/match/accuracy-*.test.ts, inventories from package lists) and the end-to-end ones
 * (test/e2e/accuracy.test.ts, inventories read from disk images). Each evaluates the feed's own
 * rules straight from its raw records with the distribution's own version comparison (the real
 * dpkg or python3-apt's apt_pkg, the real rpm), never with src/version/ or src/vulndb/.
 * The Ubuntu one (uctOracle) lives in helpers/accuracy.ts.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Package } from '../../src/inventory/index.ts';
import { dpkgLessThan, type Expected } from './helpers/accuracy.ts';
import { pkg } from './helpers/build.ts';

/** Debian's python, where the python3-apt package installs apt_pkg (pyenv's python3 has none). */
const APT_PYTHON = '/usr/bin/python3';

/** Compares many Debian version pairs: `a < b` for each `[a, b]`, keyed `${a}\0${b}`. */
export type DebLessThan = (pairs: [string, string][]) => Map<string, boolean>;

export function hasAptPkg(): boolean {
  return spawnSync(APT_PYTHON, ['-c', 'import apt_pkg'], { stdio: 'ignore' }).status === 0;
}

/**
 * `apt_pkg.version_compare(a, b) < 0` for many pairs in ONE python3-apt process (APT's own
 * implementation of the dpkg ordering, debian-policy 5.6.12): a spawn of `dpkg --compare-versions`
 * per pair costs milliseconds, which thousands of pairs turn into tens of seconds.
 */
export function aptLessThan(pairs: [string, string][]): Map<string, boolean> {
  const uniq = [...new Map(pairs.map((p) => [`${p[0]}\0${p[1]}`, p])).values()];
  for (const [a, b] of uniq) assert.ok(!/[\t\n]/.test(a + b), `version with a tab or newline: ${a} / ${b}`);
  const script = 'import sys, apt_pkg\napt_pkg.init_system()\nfor l in sys.stdin:\n  a, b = l.rstrip("\\n").split("\\t")\n  print(apt_pkg.version_compare(a, b))\n';
  const r = spawnSync(APT_PYTHON, ['-c', script], { input: uniq.map(([a, b]) => `${a}\t${b}\n`).join(''), maxBuffer: 64 * 1024 * 1024 });
  assert.equal(r.status, 0, `python3-apt failed: ${r.stderr?.toString()}`);
  const out = r.stdout.toString().trim().split('\n');
  assert.equal(out.length, uniq.length, `apt_pkg printed ${out.length} results for ${uniq.length} pairs`);
  return new Map(uniq.map(([a, b], i) => [`${a}\0${b}`, Number(out[i]) < 0]));
}

/** The fastest real Debian comparator available: python3-apt when installed, else dpkg per pair. */
export function debLessThan(): DebLessThan {
  return hasAptPkg() ? aptLessThan : dpkgLessThan;
}

export interface OsvRecord {
  id: string;
  related?: string[];
  aliases?: string[];
  affected: { package: { name: string; ecosystem: string }; ranges?: { events: Record<string, string>[] }[]; versions?: string[]; ecosystem_specific?: { urgency?: string } }[];
}

/**
 * Expected findings from raw Debian OSV (OSV schema "Evaluation", Debian entries being single
 * introduced/fixed pairs): vulnerable when introduced ≤ source version < fixed (no fixed: every
 * version), or the source version is listed in `versions`. Per CVE, the tracker's own CVE-*
 * record decides; a DSA naming the CVE decides only when there is no CVE-* record. Signed
 * kernel images (source linux-signed-*) are the `linux` kernel at their binary version. An
 * unfixed hit whose entry has the tracker urgency "unimportant" is expected in that state.
 */
export function debianOracle(records: OsvRecord[], packages: Package[], lessThan: DebLessThan = dpkgLessThan): Expected[] {
  const signed = (p: Package): boolean => /^linux-signed-/.test(p.source?.name ?? '');
  const bySource = new Map<string, Package[]>();
  for (const p of packages) {
    const src = signed(p) ? 'linux' : (p.source?.name ?? p.name);
    bySource.set(src, [...(bySource.get(src) ?? []), p]);
  }
  const version = (p: Package): string => (signed(p) ? p.version : (p.source?.version ?? p.version));
  const pairs: [string, string][] = [];
  for (const r of records) for (const a of r.affected) for (const p of bySource.get(a.package.name) ?? []) for (const rg of a.ranges ?? []) for (const e of rg.events) {
    if (e.introduced !== undefined && e.introduced !== '0') pairs.push([version(p), e.introduced]);
    if (e.fixed !== undefined) pairs.push([version(p), e.fixed]);
  }
  const lt = lessThan(pairs);
  // Per CVE: the CVE-* record if there is one, else every DSA/DLA naming it.
  const perCve = new Map<string, OsvRecord[]>();
  for (const r of records) {
    const cves = /^CVE-/.test(r.id) ? [r.id] : [...(r.aliases ?? []), ...(r.related ?? [])].filter((x) => /^CVE-/.test(x));
    for (const c of cves) perCve.set(c, [...(perCve.get(c) ?? []), r]);
  }
  const out: Expected[] = [];
  for (const [cve, list] of perCve) {
    const own = list.filter((r) => r.id === cve);
    const deciding = own.length > 0 ? own : list;
    for (const p of packages) {
      let hit: { fixed?: string; unimportant?: boolean } | undefined;
      for (const r of deciding) {
        for (const a of r.affected) {
          if (!(bySource.get(a.package.name) ?? []).includes(p)) continue;
          const v = version(p);
          for (const rg of a.ranges ?? []) {
            let introduced = '0';
            let fixed: string | undefined;
            for (const e of rg.events) {
              if (e.introduced !== undefined) introduced = e.introduced;
              if (e.fixed !== undefined) fixed = e.fixed;
            }
            const afterIntro = introduced === '0' || !lt.get(`${v}\0${introduced}`);
            const beforeFix = fixed === undefined || lt.get(`${v}\0${fixed}`) === true;
            // The tracker's urgency "unimportant" on an entry with no fix: vulnerable, no fix planned.
            const unimportant = a.ecosystem_specific?.urgency?.replace(/\*+$/, '') === 'unimportant';
            if (afterIntro && beforeFix && (hit === undefined || (fixed !== undefined && hit.fixed === undefined))) hit = fixed === undefined ? { unimportant } : { fixed };
          }
          if (hit === undefined && (a.versions ?? []).includes(v)) hit = {};
        }
      }
      if (hit !== undefined) out.push({ key: `${cve}|${p.id}`, ...(hit.fixed !== undefined && { fixedVersion: hit.fixed }), state: hit.fixed !== undefined ? 'fixed' : hit.unimportant ? 'unimportant' : 'affected', why: hit.fixed ? `< ${hit.fixed}` : 'no fix' });
    }
  }
  return out;
}

export function hasRpmVercmp(): boolean {
  return spawnSync('rpm', ['--eval', '%{lua: print(rpm.vercmp("1", "2"))}']).stdout?.toString().trim() === '-1';
}

/** rpm.vercmp for many pairs in one rpm process. */
export function rpmVercmp(pairs: [string, string][]): Map<string, number> {
  const uniq = [...new Map(pairs.map((p) => [`${p[0]}\0${p[1]}`, p])).values()];
  const q = (s: string): string => `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
  const lua = uniq.map(([a, b]) => `r[#r+1] = rpm.vercmp(${q(a)}, ${q(b)})`).join(' ');
  const r = spawnSync('rpm', ['--eval', `%{lua: local r = {} ${lua} print(table.concat(r, ","))}`]);
  const lines = r.stdout.toString().trim().split(',');
  assert.equal(lines.length, uniq.length, `rpm --eval printed ${lines.length} results for ${uniq.length} pairs: ${r.stderr.toString()}`);
  return new Map(uniq.map(([a, b], i) => [`${a}\0${b}`, Number(lines[i])]));
}

/** One row of test/data/match/aks-azurelinux3-*.packages.tsv. */
export interface RpmListRow {
  name: string;
  /** version-release */
  version: string;
  source: string;
  sourceVersion: string;
  arch: string;
}

export function rpmRowsFromTsv(path: string): RpmListRow[] {
  const out: RpmListRow[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const [name, version, source, sourceVersion, , arch] = line.split('\t');
    out.push({ name: name!, version: version!, source: source!, sourceVersion: sourceVersion!, arch: arch! });
  }
  return out;
}

export function rpmPackage(r: RpmListRow): Package {
  return pkg({ type: 'rpm', name: r.name, version: r.version, versionScheme: 'rpm', arch: r.arch, source: { name: r.source, version: r.sourceVersion } });
}

export function rpmPackagesFromTsv(path: string): Package[] {
  return rpmRowsFromTsv(path).map(rpmPackage);
}

/**
 * Expected findings from raw Azure Linux OVAL XML: each definition's rpminfo tests (object name,
 * state EVR and operation, criteria AND/OR) evaluated on the package's source name and EVR with
 * the real rpm's `rpm.vercmp` (OVAL 5.11 linux-definitions rpminfo_test, evr_string).
 */
export function ovalOracle(xml: string, packages: Package[]): Expected[] {
  const objects = new Map([...xml.matchAll(/<linux-def:rpminfo_object id="([^"]+)"[^>]*>\s*<linux-def:name>([^<]+)<\/linux-def:name>/g)].map((m) => [m[1]!, m[2]!]));
  const states = new Map([...xml.matchAll(/<linux-def:rpminfo_state id="([^"]+)"[^>]*>\s*<linux-def:evr datatype="evr_string" operation="([^"]+)">([^<]+)<\/linux-def:evr>/g)].map((m) => [m[1]!, { op: m[2]!, evr: m[3]! }]));
  const tests = new Map([...xml.matchAll(/<linux-def:rpminfo_test [^>]*id="([^"]+)"[^>]*>\s*<linux-def:object object_ref="([^"]+)"\/>\s*<linux-def:state state_ref="([^"]+)"\/>/g)].map((m) => [m[1]!, { name: objects.get(m[2]!)!, state: states.get(m[3]!)! }]));
  const defs = [...xml.matchAll(/<definition class="vulnerability" id="([^"]+)"[\s\S]*?<reference ref_id="([^"]+)"[\s\S]*?<criteria operator="(AND|OR)">([\s\S]*?)<\/criteria>/g)].map((m) => ({ id: m[1]!, cve: m[2]!, op: m[3]!, tests: [...m[4]!.matchAll(/test_ref="([^"]+)"/g)].map((t) => tests.get(t[1]!)!) }));
  const bySource = new Map<string, Package[]>();
  for (const p of packages) bySource.set(p.source!.name, [...(bySource.get(p.source!.name) ?? []), p]);
  const evr = (p: Package): string => `${p.epoch ?? 0}:${p.source!.version.replace(/^\d+:/, '')}`;
  const pairs: [string, string][] = [];
  for (const d of defs) for (const t of d.tests) for (const p of bySource.get(t.name) ?? []) pairs.push([evr(p), t.state.evr]);
  const cmp = rpmVercmp(pairs);
  const holds = (p: Package, t: { state: { op: string; evr: string } }): boolean => {
    const c = cmp.get(`${evr(p)}\0${t.state.evr}`)!;
    switch (t.state.op) {
      case 'less than': return c < 0;
      case 'less than or equal': return c <= 0;
      case 'greater than': return c > 0;
      case 'greater than or equal': return c >= 0;
      case 'equals': return c === 0;
      default: throw new Error(`operation ${t.state.op}`);
    }
  };
  const out = new Map<string, Expected>();
  for (const d of defs) {
    const names = new Set(d.tests.map((t) => t.name));
    for (const name of names) {
      for (const p of bySource.get(name) ?? []) {
        const results = d.tests.filter((t) => t.name === name).map((t) => holds(p, t));
        const vulnerable = d.op === 'AND' ? results.every(Boolean) : results.some(Boolean);
        if (!vulnerable) continue;
        const fixed = d.tests.find((t) => t.name === name && t.state.op === 'less than')?.state.evr;
        out.set(`${d.cve}|${p.id}`, { key: `${d.cve}|${p.id}`, ...(fixed !== undefined && { fixedVersion: fixed }), why: d.id });
      }
    }
  }
  return [...out.values()];
}
