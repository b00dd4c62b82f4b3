/**
 * Accuracy helpers: an inventory from a package-list TSV, the real dpkg as the version oracle,
 * and precision / recall of our findings against an oracle's (vulnerability, package) pairs.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Package } from '../../../src/inventory/index.ts';
import type { Finding } from '../../../src/match/index.ts';
import { deb } from './build.ts';

/** Packages from test/data/match/*.packages.tsv (binary, version, source, source_version, how). */
export function packagesFromTsv(path: string): Package[] {
  const out: Package[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const [name, version, source, sourceVersion] = line.split('\t');
    out.push(deb(name!, version!, [source!, sourceVersion!]));
  }
  return out;
}

export function hasDpkg(): boolean {
  return spawnSync('dpkg', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** `dpkg --compare-versions a lt b` for many pairs (each pair once). */
export function dpkgLessThan(pairs: [string, string][]): Map<string, boolean> {
  const out = new Map<string, boolean>();
  for (const [a, b] of pairs) {
    const key = `${a}\0${b}`;
    if (out.has(key)) continue;
    const r = spawnSync('dpkg', ['--compare-versions', a, 'lt', b]);
    if (r.status !== 0 && r.status !== 1) throw new Error(`dpkg --compare-versions '${a}' lt '${b}' failed: ${r.stderr.toString()}`);
    out.set(key, r.status === 0);
  }
  return out;
}

export interface Expected {
  /** `${cve}|${package id}` */
  key: string;
  fixedVersion?: string;
  /** The state the oracle expects when it knows more than fixed / affected (UCT ignored → wont-fix). */
  state?: Finding['state'];
  why: string;
}

export interface Agreement {
  truePositives: number;
  falsePositives: string[];
  falseNegatives: string[];
  fixedVersionMismatches: string[];
  /** Pairs on both sides whose state differs (the oracle's `state`, else fixed with a fixed version, else affected). */
  stateMismatches: string[];
  precision: number;
  recall: number;
}

/** One (vulnerability, binary package) pair of our findings: a grouped kernel finding gives one per package. */
export interface FindingPair {
  key: string;
  findingId: string;
  state: Finding['state'];
  fixedVersion?: string;
  comparison: string;
}

/**
 * Our findings as (vulnerability, package) pairs, the unit the oracles count in: a grouped kernel
 * finding (docs/scanning.md "Kernels") stands for each of its binary packages, with that
 * package's own comparison from `evidence.packages`.
 */
export function findingPairs(findings: Finding[]): FindingPair[] {
  const out: FindingPair[] = [];
  for (const f of findings) {
    if (f.evidence.packages === undefined) {
      out.push({ key: `${f.vulnerabilityId}|${f.package.id}`, findingId: f.id, state: f.state, ...(f.fixedVersion !== undefined && { fixedVersion: f.fixedVersion }), comparison: f.evidence.comparison });
      continue;
    }
    for (const p of f.evidence.packages) out.push({ key: `${f.vulnerabilityId}|${p.packageId}`, findingId: f.id, state: p.state, ...(p.fixedVersion !== undefined && { fixedVersion: p.fixedVersion }), comparison: p.comparison });
  }
  return out;
}

export function agreement(findings: Finding[], expected: Expected[]): Agreement {
  const exp = new Map(expected.map((e) => [e.key, e]));
  const pairs = findingPairs(findings);
  const got = new Map(pairs.map((f) => [f.key, f]));
  if (got.size !== pairs.length) throw new Error(`${pairs.length - got.size} (vulnerability, package) pairs are reported twice`);
  let tp = 0;
  const fp: string[] = [];
  const fn: string[] = [];
  const fixed: string[] = [];
  const states: string[] = [];
  for (const [k, f] of got) {
    const e = exp.get(k);
    if (e === undefined) {
      fp.push(`${k} (${f.comparison})`);
      continue;
    }
    tp++;
    if (e.fixedVersion !== f.fixedVersion) fixed.push(`${k}: expected ${e.fixedVersion ?? 'none'}, got ${f.fixedVersion ?? 'none'}`);
    const want = e.state ?? (e.fixedVersion !== undefined ? 'fixed' : 'affected');
    if (f.state !== want) states.push(`${k}: expected ${want}, got ${f.state}`);
  }
  for (const [k, e] of exp) if (!got.has(k)) fn.push(`${k} (${e.why})`);
  return {
    truePositives: tp,
    falsePositives: fp,
    falseNegatives: fn,
    fixedVersionMismatches: fixed,
    stateMismatches: states,
    precision: tp + fp.length === 0 ? 1 : tp / (tp + fp.length),
    recall: tp + fn.length === 0 ? 1 : tp / (tp + fn.length),
  };
}

/**
 * The oracle's side of the kernel grouping, stated independently of the matcher: binary packages
 * built from one kernel source build are one finding per CVE. A package's kernel build is its
 * source name and version, a signed image (`linux-signed-*`) being the unsigned kernel at its
 * binary version; `kernelSources` names the kernel sources of the data at hand. Every other
 * package is its own unit.
 */
export function kernelBuildOf(kernelSources: ReadonlySet<string>, unsignedName: (signed: string) => string): (p: Package) => string | undefined {
  return (p) => {
    const src = p.source?.name ?? p.name;
    if (src.startsWith('linux-signed-')) return `${unsignedName(src)}@${p.version}`;
    return kernelSources.has(src) ? `${src}@${p.source?.version ?? p.version}` : undefined;
  };
}

/** How many findings the oracle's pairs make once each (CVE, kernel build) counts once. */
export function expectedFindingCount(expected: Expected[], packages: Package[], buildOf: (p: Package) => string | undefined): number {
  const byId = new Map(packages.map((p) => [p.id, p]));
  const units = new Set<string>();
  for (const e of expected) {
    const bar = e.key.indexOf('|');
    const cve = e.key.slice(0, bar);
    const p = byId.get(e.key.slice(bar + 1));
    if (p === undefined) throw new Error(`oracle names a package not in the list: ${e.key}`);
    units.add(`${cve}|${buildOf(p) ?? p.id}`);
  }
  return units.size;
}

export interface UctRecord {
  candidate: string;
  priority?: string;
  packages: { jammy?: Record<string, { status: string; note?: string }> };
}

const UCT_UNFIXED = new Set(['needed', 'needs-triage', 'pending', 'deferred', 'ignored', 'in-progress', 'end-of-life']);
const UCT_STATES: Record<string, Finding['state']> = { ignored: 'wont-fix', 'end-of-life': 'wont-fix', deferred: 'deferred' };

/**
 * The expected findings from raw UCT triage (ubuntu-cve-tracker README "status"): released
 * (version) → vulnerable below it; released without a version, needed, needs-triage, pending,
 * deferred, ignored, in-progress, end-of-life → vulnerable, no fix (with `states`: ignored and
 * end-of-life "won't fix", deferred "deferred"); not-affected, DNE → not vulnerable. The
 * signed kernel image (source linux-signed-azure) takes linux-azure's status with its own
 * version: it is that kernel, and UCT tracks no linux-signed-* package.
 */
export function uctOracle(uct: UctRecord[], packages: Package[], options: { states?: boolean } = {}): Expected[] {
  const signed = (p: Package): boolean => p.source!.name === 'linux-signed-azure';
  const bySource = new Map<string, Package[]>();
  for (const p of packages) {
    const src = signed(p) ? 'linux-azure' : p.source!.name;
    bySource.set(src, [...(bySource.get(src) ?? []), p]);
  }
  const version = (p: Package): string => (signed(p) ? p.version : p.source!.version);
  const pairs: [string, string][] = [];
  for (const r of uct) for (const [src, e] of Object.entries(r.packages.jammy ?? {})) if (e.status === 'released' && e.note) for (const p of bySource.get(src) ?? []) pairs.push([version(p), e.note]);
  const lt = dpkgLessThan(pairs);
  const out: Expected[] = [];
  for (const r of uct) {
    for (const [src, e] of Object.entries(r.packages.jammy ?? {})) {
      for (const p of bySource.get(src) ?? []) {
        const key = `${r.candidate}|${p.id}`;
        if (e.status === 'released' && e.note) {
          if (lt.get(`${version(p)}\0${e.note}`)) out.push({ key, fixedVersion: e.note, why: `released ${e.note}, installed ${version(p)}` });
        } else if (e.status === 'released' || UCT_UNFIXED.has(e.status)) {
          // With `states` (data that keeps UCT's words): ignored is "won't fix", deferred is deferred.
          const state = options.states ? UCT_STATES[e.status] ?? 'affected' : 'affected';
          out.push({ key, state, why: e.status });
        }
      }
    }
  }
  return out;
}
