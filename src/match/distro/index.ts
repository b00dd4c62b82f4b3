/**
 * OS packages (deb, rpm, apk) against their distro release's namespace ("ubuntu:22.04",
 * "debian:12", "azurelinux:3.0", "alpine:3.21").
 *
 * Feeds keyed by SOURCE package (Debian, Ubuntu, Azure Linux OVAL: `nameKind` 'source') are
 * queried with the package's source name and compared with the SOURCE version: a binNMU
 * ("1.2-3+b1") changes only the binary version, and a fix is published as a source version.
 * Feeds keyed by binary name are compared with the binary version. Alpine's secdb and OSV are
 * keyed by origin (the apk's source), so apk packages are also looked up by origin whatever the
 * feed calls its names. Same approach as grype's dpkg matcher (grype/matcher/dpkg: match by
 * source, "indirect" upstream) and trivy's pkg/detector/ospkg.
 *
 * Kernels: Debian and Ubuntu build signed kernel images from a separate `linux-signed-*` source
 * whose version is not the kernel's; the trackers file CVEs under the unsigned source (Debian
 * "linux", Ubuntu "linux-azure"), so signed images are matched under that name with their binary
 * version (equal to the kernel source version).
 */
import type { Inventory, KernelInfo, Package } from '../../inventory/index.ts';
import type { Issue } from '../../util/issues.ts';
import { schemeFor } from '../../version/index.ts';
import type { AffectedRecord, Namespace, VulnDb } from '../../vulndb/index.ts';
import { osNamespace } from '../../vulndb/namespace.ts';
import { advisoryRank, decide, evaluate, namedIssue, vulnerabilityIds, type Candidate } from '../common.ts';
import type { Finding, Matcher, MatchResult } from '../index.ts';

const OS_TYPES = new Set<Package['type']>(['deb', 'rpm', 'apk']);

/** Source packages that build kernels: their findings are marked for the kernel that boots. */
const KERNEL_SOURCE = /^(?:linux|kernel|linux-signed(?:-[a-z0-9.+-]+)?|kernel-(?:azure|hci|64k|rt|uki|mshv|lpg-innovate)|linux-(?:azure|aws|gcp|gke|gkeop|hwe|oem|lowlatency|kvm|oracle|ibm|intel|nvidia|raspi|realtime|fips|riscv|bluefield|xilinx|starfive|iot|lts)(?:-[a-z0-9.+-]+)?)$/;

export function isKernelSource(name: string): boolean {
  return KERNEL_SOURCE.test(name);
}

/** The OS display name used in coverage messages: "flatcar 3815". */
export function osLabel(inventory: Inventory): string {
  const os = inventory.os;
  if (os === undefined) return 'unknown OS';
  return `${os.family === 'unknown' ? os.id || 'unknown' : os.family} ${os.versionId}`.trim();
}

interface LookupPlan {
  name: string;
  version: string;
  /** Which feed name kinds this lookup accepts. */
  kinds: ReadonlySet<AffectedRecord['affected']['nameKind']>;
  matchedOn: 'source' | 'binary';
  note?: string;
}

/** rpm SOURCERPM names carry no epoch; the binary's epoch is the source's (they are one build). */
function sourceVersion(pkg: Package): string {
  const v = pkg.source?.version ?? pkg.version;
  if (pkg.type === 'rpm' && pkg.epoch !== undefined && pkg.epoch !== 0 && !v.includes(':')) return `${pkg.epoch}:${v}`;
  return v;
}

function binaryVersion(pkg: Package): string {
  if (pkg.type === 'rpm' && pkg.epoch !== undefined && pkg.epoch !== 0 && !pkg.version.includes(':')) return `${pkg.epoch}:${pkg.version}`;
  return pkg.version;
}

function plans(pkg: Package, family: string): LookupPlan[] {
  const srcName = pkg.source?.name ?? pkg.name;
  const out: LookupPlan[] = [];
  const signed = /^linux-signed(-.+)?$/.exec(srcName);
  if (signed && pkg.type === 'deb') {
    const unsigned = family === 'debian' ? 'linux' : `linux${signed[1] ?? ''}`.replace(/-(amd64|arm64|i386)$/, '');
    out.push({ name: unsigned, version: pkg.version, kinds: new Set(['source']), matchedOn: 'source', note: `signed kernel: matched as ${unsigned} with the binary version` });
  }
  out.push({ name: srcName, version: sourceVersion(pkg), kinds: new Set(pkg.type === 'apk' ? ['source', 'binary'] : ['source']), matchedOn: 'source' });
  if (srcName !== pkg.name || pkg.type !== 'apk') out.push({ name: pkg.name, version: binaryVersion(pkg), kinds: new Set(['binary']), matchedOn: 'binary' });
  return out;
}

/**
 * Packages that carry a bootable kernel or its modules: deb linux-image-<release> (also -unsigned),
 * linux-modules[-extra]-<release>; rpm kernel, kernel-core, kernel-modules*, kernel-default,
 * kernel-azure, kernel-64k, … Headers, tools, devel and libc-dev packages come from the same
 * source and get the same findings, but no kernel mark: they do not boot.
 */
const DEB_KERNEL_CARRIER = /^linux-(?:image|modules(?:-extra)?)-(?:unsigned-)?(.+?)(?:-unsigned)?$/;
const RPM_KERNEL_CARRIER = /^kernel(?:-[a-z0-9]+)*$/;
const RPM_KERNEL_NOT_CARRIER = /-(?:devel|headers|tools|tools-libs|doc|cross-headers|abi-stablelists|srpm-macros|debuginfo|debugsource|libbpf|bpftool)(?:-|$)/;

function carriesKernel(pkg: Package): boolean {
  // Meta packages (linux-image-cloud-amd64) match the pattern but name no installed release.
  if (pkg.type === 'deb') return DEB_KERNEL_CARRIER.test(pkg.name);
  if (pkg.type === 'rpm') return RPM_KERNEL_CARRIER.test(pkg.name) && !RPM_KERNEL_NOT_CARRIER.test(pkg.name);
  return pkg.type === 'apk' && /^linux-(?:lts|virt|edge|rpi)$/.test(pkg.name);
}

/** The rpm version-release a kernel release string starts with ("6.6.57.1-5.azl3" or "….x86_64"). */
function rpmReleaseMatches(release: string, pkg: Package): boolean {
  const vr = pkg.version.replace(/^\d+:/, '');
  return release === vr || release.startsWith(`${vr}.`);
}

/**
 * The installed kernel release a kernel package carries, with whether it boots by default.
 * Meta packages (linux-image-cloud-amd64, linux-image-azure) and headers/tools get none: their
 * findings stand, but they are not "the kernel that boots".
 */
export function kernelOf(pkg: Package, kernel: KernelInfo | undefined): Finding['kernel'] | undefined {
  if (kernel === undefined || !isKernelSource(pkg.source?.name ?? pkg.name) || !carriesKernel(pkg)) return undefined;
  let image;
  if (pkg.type === 'rpm') {
    // Several kernels of one name stay installed side by side (installonly): the version decides.
    image = kernel.installed.find((k) => rpmReleaseMatches(k.release, pkg));
    if (image === undefined) {
      const byName = kernel.installed.filter((k) => k.packageName === pkg.name);
      if (byName.length === 1) image = byName[0];
    }
  } else {
    const release = DEB_KERNEL_CARRIER.exec(pkg.name)?.[1];
    image = kernel.installed.find((k) => k.packageName === pkg.name)
      ?? kernel.installed.find((k) => k.release === release)
      ?? kernel.installed.find((k) => pkg.name.endsWith(`-${k.release}`));
  }
  if (image === undefined) return undefined;
  const bootsByDefault = kernel.bootDefault !== undefined ? kernel.bootDefault === image.release : kernel.installed.length === 1;
  return { release: image.release, bootsByDefault };
}

/** A kernel-source package with its findings, before grouping. */
interface KernelMember {
  pkg: Package;
  /** The kernel source build it is compared as: "linux@6.1.176-1" (signed images: the unsigned source at the binary version). */
  build: string;
  /** Set when the package carries an installed kernel (image, modules). */
  carrier: Finding['kernel'] | undefined;
  findings: Finding[];
}

function bootsByDefault(release: string, kernel: KernelInfo): boolean {
  return kernel.bootDefault !== undefined ? kernel.bootDefault === release : kernel.installed.length === 1;
}

/**
 * The installed kernel a kernel-source package belongs to: its own (image, modules); else one
 * whose release it names (linux-headers-<release>) or, for rpm, whose version-release it has
 * (kernel-devel); else the kernel built from the same source build (the metapackage
 * linux-image-cloud-amd64, linux-libc-dev of the same `linux` version). Undefined when none:
 * Ubuntu's linux-libc-dev comes from "linux", not from the linux-azure kernel that is installed.
 */
function memberKernel(m: KernelMember, byBuild: Map<string, string>, kernel: KernelInfo | undefined): Finding['kernel'] | undefined {
  if (m.carrier !== undefined) return m.carrier;
  if (kernel === undefined) return undefined;
  const named = kernel.installed.find((k) => (m.pkg.type === 'rpm' ? rpmReleaseMatches(k.release, m.pkg) : m.pkg.name.endsWith(`-${k.release}`)));
  const release = named?.release ?? byBuild.get(m.build);
  return release === undefined ? undefined : { release, bootsByDefault: bootsByDefault(release, kernel) };
}

/**
 * One finding per (vulnerability, installed kernel) instead of one per binary package of the
 * kernel: a kernel CVE hit the versioned image, its modules, the metapackage, the headers and
 * linux-libc-dev alike, and users read that as several vulnerabilities. The grouped finding keeps
 * the kernel mark, lists every binary package (`packages`, carriers first) and keeps each one's
 * comparison in `evidence.packages`. Its id is `${vulnerabilityId}|kernel:${release}`, stable
 * from scan to scan for the same CVE on the same installed kernel; packages of a kernel source
 * that belong to no installed kernel are grouped per source build
 * (`${vulnerabilityId}|kernel-source:${name}@${version}`).
 */
function groupKernelFindings(members: KernelMember[], kernel: KernelInfo | undefined): Finding[] {
  const byBuild = new Map<string, string>();
  for (const m of members) {
    if (m.carrier === undefined) continue;
    // Two kernels from one build (rare): the booting one takes the build's other packages.
    if (!byBuild.has(m.build) || m.carrier.bootsByDefault) byBuild.set(m.build, m.carrier.release);
  }
  const groups = new Map<string, { unit: string; kernel: Finding['kernel'] | undefined; items: { m: KernelMember; f: Finding }[] }>();
  for (const m of members) {
    const k = memberKernel(m, byBuild, kernel);
    const unit = k !== undefined ? `kernel:${k.release}` : `kernel-source:${m.build}`;
    for (const f of m.findings) {
      const key = `${f.vulnerabilityId}|${unit}`;
      let g = groups.get(key);
      if (g === undefined) {
        g = { unit, kernel: k, items: [] };
        groups.set(key, g);
      }
      g.items.push({ m, f });
    }
  }
  const out: Finding[] = [];
  for (const [id, g] of groups) {
    // Carriers first (the booting one first), then by package name: the first is the finding's package.
    g.items.sort((a, b) => Number(b.m.carrier !== undefined) - Number(a.m.carrier !== undefined)
      || Number(b.m.carrier?.bootsByDefault === true) - Number(a.m.carrier?.bootsByDefault === true)
      || (a.m.pkg.name < b.m.pkg.name ? -1 : a.m.pkg.name > b.m.pkg.name ? 1 : 0)
      || (a.m.pkg.id < b.m.pkg.id ? -1 : 1));
    const first = g.items[0]!.f;
    const aliases = new Set<string>();
    for (const { f } of g.items) for (const a of f.aliases) aliases.add(a);
    const merged: Finding = {
      ...first,
      id,
      aliases: [...aliases].sort(),
      packages: g.items.map(({ f }) => ({ ...f.package })),
      evidence: {
        ...first.evidence,
        package: g.items.flatMap(({ f }) => f.evidence.package),
        packages: g.items.map(({ m, f }) => ({
          packageId: f.package.id,
          package: f.evidence.package,
          matchedOn: f.evidence.matchedOn,
          comparedName: f.evidence.comparedName,
          comparedVersion: f.evidence.comparedVersion,
          ...(f.evidence.range !== undefined && { range: f.evidence.range }),
          comparison: f.evidence.comparison,
          state: f.state,
          ...(f.fixedVersion !== undefined && { fixedVersion: f.fixedVersion }),
          carriesKernel: m.carrier !== undefined,
        })),
      },
    };
    if (g.kernel !== undefined) merged.kernel = { ...g.kernel };
    else delete merged.kernel;
    out.push(merged);
  }
  return out;
}

export const distroMatcher: Matcher = {
  id: 'distro',
  handles(pkg: Package): boolean {
    return OS_TYPES.has(pkg.type);
  },
  match(packages: Package[], inventory: Inventory, db: VulnDb): MatchResult {
    const issues: Issue[] = [];
    if (packages.length === 0) return { findings: [], issues, assessed: [] };
    const os = inventory.os;
    if (os === undefined) {
      issues.push({ severity: 'error', code: 'match.no-os', message: `no operating system detected: ${packages.length} OS packages not assessed for vulnerabilities` });
      return { findings: [], issues, assessed: [] };
    }
    const namespace: Namespace | undefined = osNamespace(os);
    if (namespace === undefined || !db.hasNamespace(namespace)) {
      const ns = namespace === undefined ? 'no namespace known' : `namespace ${namespace}`;
      issues.push({ severity: 'error', code: 'match.no-data', message: `no vulnerability data for ${osLabel(inventory)} (${ns}): ${packages.length} OS packages not assessed`, location: os.evidence[0]?.path ?? 'os-release' });
      return { findings: [], issues, assessed: [] };
    }
    const family = namespace.split(':')[0] ?? '';
    const cache = new Map<string, AffectedRecord[]>();
    const lookup = (name: string): AffectedRecord[] => {
      let rows = cache.get(name);
      if (rows === undefined) {
        rows = db.lookup(namespace, name);
        cache.set(name, rows);
      }
      return rows;
    };
    const findings: Finding[] = [];
    const unparseable: string[] = [];
    const undecidable = new Set<string>();
    // Binaries of one source share its name and version: their candidates are computed once.
    const byPlan = new Map<string, Candidate[]>();
    const planCandidates = (plan: LookupPlan, schemeId: Package['versionScheme']): Candidate[] => {
      const key = `${plan.name}\0${plan.version}\0${[...plan.kinds].join(',')}\0${plan.matchedOn}\0${schemeId}`;
      const cached = byPlan.get(key);
      if (cached !== undefined) return cached;
      const out: Candidate[] = [];
      for (const record of lookup(plan.name)) {
        if (!plan.kinds.has(record.affected.nameKind)) continue;
        const verdict = evaluate(record.affected, plan.version, schemeFor(record.affected.versionScheme));
        if (verdict === undefined) {
          undecidable.add(record.advisory.id);
          continue;
        }
        if (plan.note !== undefined) verdict.comparison += `; ${plan.note}`;
        for (const vid of vulnerabilityIds(record.advisory)) {
          out.push({ record, vulnerabilityId: vid, verdict, matchedOn: plan.matchedOn, comparedName: plan.name, comparedVersion: plan.version, rank: advisoryRank(record.advisory, namespace, vid) });
        }
      }
      byPlan.set(key, out);
      return out;
    };
    let assessed = 0;
    const kernelMembers: KernelMember[] = [];
    for (const pkg of packages) {
      const scheme = schemeFor(pkg.versionScheme);
      const pkgPlans = plans(pkg, family);
      const bad = pkgPlans.find((p) => !scheme.valid(p.version));
      if (bad !== undefined) {
        unparseable.push(`${pkg.name} ${bad.version}`);
        continue;
      }
      assessed++;
      const candidates: Candidate[] = [];
      for (const plan of pkgPlans) candidates.push(...planCandidates(plan, scheme.id));
      const pkgFindings = decide(pkg, namespace, candidates, db);
      if (isKernelSource(pkg.source?.name ?? pkg.name)) {
        const build = `${pkgPlans[0]!.name}@${pkgPlans[0]!.version}`;
        kernelMembers.push({ pkg, build, carrier: kernelOf(pkg, inventory.kernel), findings: pkgFindings });
      } else {
        findings.push(...pkgFindings);
      }
    }
    findings.push(...groupKernelFindings(kernelMembers, inventory.kernel));
    if (unparseable.length > 0) {
      issues.push(namedIssue('warning', 'match.version-unparseable', `${unparseable.length} packages not assessed: their versions do not parse in their scheme`, unparseable, namespace));
    }
    if (undecidable.size > 0) {
      issues.push(namedIssue('warning', 'match.advisory-undecidable', `${undecidable.size} advisories say "fixed" but give no version range, so they could not be compared`, [...undecidable].sort(), namespace));
    }
    return { findings, issues, assessed: [{ namespace, packages: assessed }] };
  },
};
