/**
 * The e2e tests' independent side: the package set as the REAL package managers read it from the
 * tree the image was made from (`dpkg-query --admindir`, `rpm --root -qa`), never through our
 * readers, and a comparison of scan findings with an oracle's on (CVE, package, state, fixed
 * version).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { Package } from '../../src/inventory/index.ts';
import type { Finding } from '../../src/match/index.ts';
import { agreement, findingPairs, type Agreement, type Expected } from '../match/helpers/accuracy.ts';
import { pkg } from '../match/helpers/build.ts';

/** Larger than any package list here (a node has ~1,000 packages, a line ~200 bytes). */
const MAX_QUERY_OUTPUT_BYTES = 64 * 1024 * 1024;

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: MAX_QUERY_OUTPUT_BYTES });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** The installed packages of root as the real dpkg-query reports them (source:Package / source:Version). */
export function dpkgQueryPackages(root: string): Package[] {
  const out = run('dpkg-query', [`--admindir=${join(root, 'var/lib/dpkg')}`, '-W', '-f', '${db:Status-Abbrev}\\t${Package}\\t${Architecture}\\t${Version}\\t${source:Package}\\t${source:Version}\\n']);
  return out.split('\n').filter((l) => l.startsWith('ii')).map((l) => {
    const [, name, arch, version, source, sourceVersion] = l.split('\t');
    return pkg({ type: 'deb', name: name!, version: version!, versionScheme: 'deb', arch: arch!, source: { name: source!, version: sourceVersion! } });
  });
}

/** The packages of root's rpmdb as the real rpm reports them; the source from SOURCERPM (name-version-release.src.rpm). */
export function rpmQaPackages(root: string): Package[] {
  const out = run('rpm', ['--define=_dbpath /var/lib/rpm', `--root=${root}`, '-qa', '--qf', '%{NAME}\\t%{EPOCHNUM}\\t%{VERSION}-%{RELEASE}\\t%{ARCH}\\t%{SOURCERPM}\\n']);
  return out.split('\n').filter((l) => l !== '' && !l.startsWith('gpg-pubkey\t')).map((l) => {
    const [name, epoch, version, arch, srpm] = l.split('\t');
    const m = /^(.+)-([^-]+-[^-]+)\.src\.rpm$/.exec(srpm!);
    if (!m) throw new Error(`SOURCERPM ${srpm} of ${name}`);
    return pkg({ type: 'rpm', name: name!, version: version!, versionScheme: 'rpm', arch: arch!, ...(epoch !== '0' && { epoch: Number(epoch) }), source: { name: m[1]!, version: m[2]! } });
  });
}

export interface E2eAgreement extends Agreement {
  /** Findings present on both sides whose state differs (oracle: its `state`, else `fixed` with a fixed version, else `affected`). */
  stateMismatches: string[];
}

export function compareWithOracle(findings: Finding[], expected: Expected[]): E2eAgreement {
  const a = agreement(findings, expected);
  const exp = new Map(expected.map((e) => [e.key, e]));
  const stateMismatches: string[] = [];
  // A grouped kernel finding counts once per binary package (findingPairs), as the oracles do.
  for (const f of findingPairs(findings)) {
    const e = exp.get(f.key);
    if (e === undefined) continue;
    const want = e.state ?? (e.fixedVersion !== undefined ? 'fixed' : 'affected');
    if (f.state !== want) stateMismatches.push(`${f.key}: expected ${want}, got ${f.state}`);
  }
  return { ...a, stateMismatches };
}

export function summary(label: string, packages: number, findings: number, expected: number, a: E2eAgreement): string {
  return `${label}: packages ${packages}, findings ${findings}, oracle ${expected}, TP ${a.truePositives}, FP ${a.falsePositives.length}, FN ${a.falseNegatives.length}, fixed-version mismatches ${a.fixedVersionMismatches.length}, state mismatches ${a.stateMismatches.length}, precision ${a.precision.toFixed(4)}, recall ${a.recall.toFixed(4)}`;
}

/** Package key without the id's trailing fields, for set comparisons with a list. */
export function nva(p: Pick<Package, 'name' | 'version' | 'arch' | 'source'>): string {
  return `${p.name} ${p.version} ${p.arch ?? ''} ${p.source?.name ?? ''} ${p.source?.version ?? ''}`;
}
