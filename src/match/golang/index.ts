/**
 * Go modules and the Go standard library found in binaries' build info (Package.type 'golang')
 * against the OSV Go ecosystem (namespace "go", as imported from the Go vulnerability database's
 * OSV export). The standard library is the module "stdlib" there (and "toolchain" for the go
 * command); its versions are written as semver ("1.22.5"), the binary records "go1.22.5", so the
 * toolchain form is converted with golang.org/x/vuln's GoTagToSemver rules
 * (version/go.ts goToolchainToSemver). Module versions ("v1.2.3") and OSV's "1.2.3" compare with
 * Go's own ordering (version/go.ts), whatever scheme the record names.
 */
import type { Inventory, Package } from '../../inventory/index.ts';
import type { Issue } from '../../util/issues.ts';
import { goToolchainToSemver } from '../../version/go.ts';
import { schemeFor } from '../../version/index.ts';
import type { VulnDb } from '../../vulndb/index.ts';
import { advisoryRank, decide, evaluate, namedIssue, vulnerabilityIds, type Candidate } from '../common.ts';
import type { Finding, Matcher, MatchResult } from '../index.ts';

export const GO_NAMESPACE = 'go';

/** The version to compare: the stdlib's toolchain tag as semver, a module version as is. */
export function goComparedVersion(pkg: Package): string {
  if (pkg.name === 'stdlib' || pkg.name === 'toolchain') return goToolchainToSemver(pkg.version) ?? pkg.version;
  return pkg.version;
}

export const goMatcher: Matcher = {
  id: 'golang',
  handles(pkg: Package): boolean {
    return pkg.type === 'golang';
  },
  match(packages: Package[], _inventory: Inventory, db: VulnDb): MatchResult {
    const issues: Issue[] = [];
    if (packages.length === 0) return { findings: [], issues, assessed: [] };
    if (!db.hasNamespace(GO_NAMESPACE)) {
      const binaries = new Set(packages.map((p) => p.binaryPath ?? p.name)).size;
      issues.push({ severity: 'warning', code: 'match.no-data', message: `no vulnerability data for Go modules (namespace go; import the OSV Go ecosystem): ${packages.length} modules in ${binaries} binaries not assessed` });
      return { findings: [], issues, assessed: [] };
    }
    const scheme = schemeFor('go');
    const findings: Finding[] = [];
    const unparseable: string[] = [];
    let assessed = 0;
    for (const pkg of packages) {
      const version = goComparedVersion(pkg);
      if (!scheme.valid(version)) {
        unparseable.push(`${pkg.name} ${pkg.version}${pkg.binaryPath ? ` (${pkg.binaryPath})` : ''}`);
        continue;
      }
      assessed++;
      const candidates: Candidate[] = [];
      for (const record of db.lookup(GO_NAMESPACE, pkg.name)) {
        const verdict = evaluate(record.affected, version, scheme);
        if (verdict === undefined) continue;
        for (const vid of vulnerabilityIds(record.advisory)) {
          candidates.push({ record, vulnerabilityId: vid, verdict, matchedOn: 'module', comparedName: pkg.name, comparedVersion: version, rank: advisoryRank(record.advisory, GO_NAMESPACE, vid) });
        }
      }
      findings.push(...decide(pkg, GO_NAMESPACE, candidates, db));
    }
    if (unparseable.length > 0) {
      issues.push(namedIssue('warning', 'match.version-unparseable', `${unparseable.length} Go modules not assessed: their versions are not Go versions ("(devel)" builds have none)`, unparseable, GO_NAMESPACE));
    }
    return { findings, issues, assessed: [{ namespace: GO_NAMESPACE, packages: assessed }] };
  },
};
