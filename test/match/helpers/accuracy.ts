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
  why: string;
}

export interface Agreement {
  truePositives: number;
  falsePositives: string[];
  falseNegatives: string[];
  fixedVersionMismatches: string[];
  precision: number;
  recall: number;
}

export function agreement(findings: Finding[], expected: Expected[]): Agreement {
  const exp = new Map(expected.map((e) => [e.key, e]));
  const got = new Map(findings.map((f) => [`${f.vulnerabilityId}|${f.package.id}`, f]));
  let tp = 0;
  const fp: string[] = [];
  const fn: string[] = [];
  const fixed: string[] = [];
  for (const [k, f] of got) {
    const e = exp.get(k);
    if (e === undefined) {
      fp.push(`${k} (${f.evidence.comparison})`);
      continue;
    }
    tp++;
    if (e.fixedVersion !== f.fixedVersion) fixed.push(`${k}: expected ${e.fixedVersion ?? 'none'}, got ${f.fixedVersion ?? 'none'}`);
  }
  for (const [k, e] of exp) if (!got.has(k)) fn.push(`${k} (${e.why})`);
  return {
    truePositives: tp,
    falsePositives: fp,
    falseNegatives: fn,
    fixedVersionMismatches: fixed,
    precision: tp + fp.length === 0 ? 1 : tp / (tp + fp.length),
    recall: tp + fn.length === 0 ? 1 : tp / (tp + fn.length),
  };
}

export interface UctRecord {
  candidate: string;
  priority?: string;
  packages: { jammy?: Record<string, { status: string; note?: string }> };
}

const UCT_UNFIXED = new Set(['needed', 'needs-triage', 'pending', 'deferred', 'ignored', 'in-progress']);

/**
 * The expected findings from raw UCT triage (ubuntu-cve-tracker README "status"): released
 * (version) → vulnerable below it; released without a version, needed, needs-triage, pending,
 * deferred, ignored, in-progress → vulnerable, no fix; not-affected, DNE → not vulnerable. The
 * signed kernel image (source linux-signed-azure) takes linux-azure's status with its own
 * version: it is that kernel, and UCT tracks no linux-signed-* package.
 */
export function uctOracle(uct: UctRecord[], packages: Package[]): Expected[] {
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
          out.push({ key, why: e.status });
        }
      }
    }
  }
  return out;
}
